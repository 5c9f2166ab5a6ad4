"""Metrics out: ``workdir/metrics.jsonl`` for machines, TensorBoard (tensorboardX) for people.

Only process 0 writes (pass ``enabled=jax.process_index() == 0``); on other processes every
method is a no-op so callers need no ``if``. TensorBoard goes through tensorboardX, which writes
event files without TensorFlow.
"""
from __future__ import annotations

import json
import math
import os
import time
from typing import Any, Mapping

import numpy as np


def _to_float(value: Any) -> float:
    """A scalar metric as a Python float (numpy/jax scalars and 0-d arrays included)."""
    return float(np.asarray(value))


def colorize(array: np.ndarray, cmap: str = "viridis") -> np.ndarray:
    """Maps a 2-D array to an ``[H, W, 3]`` uint8 image, min–max normalised, through a
    matplotlib colormap (grey levels when the ``plots`` extra is not installed)."""
    a = np.asarray(array, np.float32)
    finite = np.isfinite(a)
    lo, hi = (a[finite].min(), a[finite].max()) if finite.any() else (0.0, 1.0)
    a = np.where(finite, (a - lo) / max(hi - lo, 1e-12), 0.0)
    try:
        import matplotlib  # lazy: only image summaries need it
    except ImportError:
        return np.repeat((a[..., None] * 255).round().astype(np.uint8), 3, axis=-1)
    rgba = matplotlib.colormaps[cmap](a)
    return (rgba[..., :3] * 255).round().astype(np.uint8)


METRICS_FILE = "metrics.jsonl"


def _drop_torn_tail(path: str) -> None:
    """Cuts an unfinished last line (a run killed mid-write) off ``path`` before appending."""
    try:
        with open(path, "rb+") as f:
            size = f.seek(0, os.SEEK_END)
            if size == 0:
                return
            f.seek(size - 1)
            if f.read(1) == b"\n":
                return
            block = min(size, 1 << 16)
            f.seek(size - block)
            tail = f.read(block)
            f.truncate(size - block + tail.rfind(b"\n") + 1 if b"\n" in tail else
                       (0 if block == size else size))
    except FileNotFoundError:
        pass


def read_metrics(workdir_or_path: str, split: str | None = None) -> list[dict]:
    """The rows of a ``metrics.jsonl`` (a workdir or the file itself), oldest step first.

    Survives what a killed and resumed run leaves: unparseable lines (a torn last line) are
    skipped, and a step logged twice (a resumed run re-logs the steps after its last checkpoint)
    keeps its *last* row per split. ``split`` (``'train'``, ``'valid'`` ...) keeps only that
    split's rows. A missing file gives ``[]``.
    """
    path = workdir_or_path
    if os.path.isdir(path):
        path = os.path.join(path, METRICS_FILE)
    if not os.path.exists(path):
        return []
    latest: dict[tuple, dict] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                row = json.loads(line)
            except ValueError:
                continue  # torn by a kill (or a resume that appended to a torn line)
            if not isinstance(row, dict) or "step" not in row:
                continue
            if split is not None and row.get("split") != split:
                continue
            key = (row.get("split"), row["step"])
            latest.pop(key, None)  # re-insert: order of the last occurrence
            latest[key] = row
    return sorted(latest.values(), key=lambda r: r["step"])


def training_seconds(workdir: str, max_gap: float = 900.0) -> float:
    """Wall seconds a (possibly many times resumed) training spent, from its metrics log: the
    sum of the gaps between consecutive rows, leaving out gaps longer than ``max_gap`` (the run
    was stopped). A lower bound: each run's start-up before its first row is not counted."""
    path = os.path.join(workdir, METRICS_FILE)
    if not os.path.exists(path):
        return 0.0
    times = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and isinstance(row.get("time"), (int, float)):
                times.append(float(row["time"]))
    gaps = np.diff(times) if len(times) > 1 else np.zeros(0)
    return float(np.sum(gaps[(gaps > 0) & (gaps <= max_gap)]))


class SummaryWriter:
    """Writes scalars to JSON lines and TensorBoard; audio, images and text to TensorBoard."""

    def __init__(self, workdir: str, enabled: bool = True):
        """Opens ``workdir/metrics.jsonl`` (appending, so resumed runs keep history) and
        ``workdir/tensorboard``; does nothing when ``enabled`` is False."""
        self.enabled = enabled
        self.workdir = workdir
        self._jsonl = None
        self._tb = None
        if enabled:
            os.makedirs(workdir, exist_ok=True)
            path = os.path.join(workdir, "metrics.jsonl")
            _drop_torn_tail(path)  # a killed run's half line would swallow our first record
            self._jsonl = open(path, "a", buffering=1)
            from tensorboardX import SummaryWriter as _TBWriter  # lazy: not needed off process 0
            self._tb = _TBWriter(os.path.join(workdir, "tensorboard"), flush_secs=30)

    def scalars(self, step: int, metrics: Mapping[str, Any], prefix: str = "train") -> None:
        """Logs a flat dict of scalars: one JSON line ``{step, split: prefix, time, **metrics}``
        and one TensorBoard scalar ``prefix/name`` each. Non-finite values become ``null``."""
        if not self.enabled:
            return
        values = {k: _to_float(v) for k, v in metrics.items()}
        # JSON has no NaN/Inf; null keeps the file parseable by strict readers.
        row = {"step": int(step), "split": prefix, "time": round(time.time(), 3)}
        row.update({k: (v if math.isfinite(v) else None) for k, v in values.items()})
        self._jsonl.write(json.dumps(row) + "\n")
        for k, v in values.items():
            self._tb.add_scalar(f"{prefix}/{k}" if prefix else k, v, int(step))

    def audio(self, step: int, name: str, wave: np.ndarray, sample_rate: int) -> None:
        """Logs a mono waveform (float in [-1, 1]) as a TensorBoard audio clip."""
        if not self.enabled:
            return
        wave = np.clip(np.asarray(wave, np.float32).reshape(-1), -1.0, 1.0)
        self._tb.add_audio(name, wave, int(step), sample_rate=int(sample_rate))

    def image(self, step: int, name: str, array: np.ndarray, cmap: str = "viridis") -> None:
        """Logs an image: ``[H, W, 3|4]`` (uint8, or float in [0, 1]) as is, or a 2-D array
        (row 0 at the top) rendered with a matplotlib colormap."""
        if not self.enabled:
            return
        a = np.asarray(array)
        if a.ndim == 2:
            a = colorize(a, cmap)
        elif a.ndim != 3 or a.shape[-1] not in (1, 3, 4):
            raise ValueError(f"image {name!r}: expected [H, W] or [H, W, C], got {a.shape}")
        elif a.dtype != np.uint8:
            a = (np.clip(a.astype(np.float32), 0.0, 1.0) * 255).round().astype(np.uint8)
        self._tb.add_image(name, a, int(step), dataformats="HWC")

    def text(self, step: int, name: str, value: str) -> None:
        """Logs a string (e.g. reference and hypothesis) to TensorBoard's text tab."""
        if not self.enabled:
            return
        self._tb.add_text(name, str(value), int(step))

    def flush(self) -> None:
        """Pushes buffered events to disk."""
        if self.enabled:
            self._jsonl.flush()
            self._tb.flush()

    def close(self) -> None:
        """Flushes and closes both outputs; safe to call twice."""
        if self.enabled and self._tb is not None:
            self._jsonl.close()
            self._tb.close()
            self._jsonl = self._tb = None
            self.enabled = False

    def __enter__(self) -> "SummaryWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
