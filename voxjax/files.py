"""Atomic file writes: every file the project writes outside Orbax goes through here.

``atomic_open(path)`` writes into a temporary file in the destination's folder, flushes and
fsyncs it, then ``os.replace``-s it over ``path`` (atomic on POSIX and Windows), so a reader, or
a run killed half-way, sees either the old file or the complete new one, never a torn one.
On an exception inside the ``with`` block the temporary file is removed and ``path`` is left as
it was. Appending one line to a log (``metrics.jsonl``) is the one write that stays an append.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from typing import IO, Any, Iterator


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what a plain open() would give (mkstemp makes 0600 files)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = None
                ) -> Iterator[IO[Any]]:
    """Opens a temporary file beside ``path`` for writing (``mode`` ``"w"`` or ``"wb"``) and
    renames it onto ``path`` when the block ends without an exception (creates parent
    folders). Text mode defaults to UTF-8."""
    if mode not in ("w", "wt", "wb"):
        raise ValueError(f"atomic_open writes whole files (mode 'w' or 'wb'), got {mode!r}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        if "b" not in mode and encoding is None:
            encoding = "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def _fsync_dir(folder: str) -> None:
    """Makes the rename itself durable (best effort: not every platform can open folders)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text(path: str | os.PathLike, text: str) -> str:
    """Writes ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    with atomic_open(path, "w") as f:
        f.write(text)
    return os.fspath(path)


def write_json(path: str | os.PathLike, obj: Any, **dump_kwargs) -> str:
    """Writes ``obj`` as JSON to ``path`` atomically (``dump_kwargs`` go to ``json.dump``)."""
    with atomic_open(path, "w") as f:
        json.dump(obj, f, **dump_kwargs)
    return os.fspath(path)


def savefig(fig, path: str | os.PathLike, **kwargs) -> str:
    """``fig.savefig`` into a temporary file, renamed onto ``path`` (format from the
    extension unless ``format=`` is given)."""
    path = os.fspath(path)
    kwargs.setdefault("format", os.path.splitext(path)[1][1:].lower() or "png")
    with atomic_open(path, "wb") as f:
        fig.savefig(f, **kwargs)
    return path
