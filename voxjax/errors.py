"""Which exceptions are the user's problem (one line, exit 2) and which are bugs (traceback).

A *user error* is bad input the user can fix: audio or text that cannot be used, a missing
file, dataset, corpus or checkpoint, a config that is wrong or that does not match the
checkpoint it should resume. Raise a subclass of :class:`UserError` (most also subclass
``ValueError``, which older callers catch). Every other exception is a bug in voxjax or a
library: the CLI shows its traceback and exits with 1.
"""
from __future__ import annotations


class UserError(Exception):
    """Base of every error caused by the user's input; the message is one line."""


class ConfigError(UserError, ValueError):
    """A config that is wrong, or differs from the stored config of the run it resumes."""


class UnknownConfigKeyError(ConfigError, KeyError):
    """A dotted config key that the config does not have (also a KeyError, as it was)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class Stopped(Exception):
    """A long job stopped on request (SIGTERM) with its progress saved: the same command
    resumes it. Not a failure of the input nor a bug: the CLI prints one line and exits 143
    (128 + SIGTERM)."""


def _known_user_error_types() -> tuple[type, ...]:
    """User-error classes defined before :class:`UserError` existed (imported lazily)."""
    found: list[type] = []
    for module, name in (("voxjax.audio", "AudioError"), ("voxjax.text", "TextError"),
                         ("voxjax.data.manifest", "DataError"),
                         ("voxjax.corpus.build", "CorpusError")):
        try:
            found.append(getattr(__import__(module, fromlist=[name]), name))
        except (ImportError, AttributeError):  # pragma: no cover - a module mid-refactor
            pass
    return tuple(found)


def is_user_error(error: BaseException) -> bool:
    """True for errors reported as one line with exit code 2 (see the module docstring).

    User errors: :class:`UserError` and the older domain errors (AudioError, TextError,
    DataError, CorpusError), ``FileNotFoundError`` (missing file or checkpoint),
    ``FloatingPointError`` (a diverged training run), and a plain ``ValueError`` raised as
    such (the codebase's convention for refused arguments). ``ValueError`` *subclasses* from
    libraries, ``KeyError``, ``TypeError`` ... are bugs.
    """
    if isinstance(error, (UserError, FileNotFoundError, FloatingPointError)):
        return True
    if type(error) is ValueError:
        return True
    return isinstance(error, _known_user_error_types())
