"""Task registry: ``config.task`` names a module ``voxjax.tasks.<name>`` that builds the task.

A task is everything model- and data-specific; the trainer (``voxjax.train``) only calls the
methods of the :class:`Task` protocol below. Task modules are imported lazily so that asking
for one task never imports the dependencies of another (e.g. a TTS vocoder for an STT run).
"""
from __future__ import annotations

import importlib
import re
from typing import Any, Iterator, Mapping, Protocol, runtime_checkable

import jax
import numpy as np

Batch = Mapping[str, np.ndarray]


@runtime_checkable
class Task(Protocol):
    """What every trainable model provides to ``voxjax.train``.

    ``loss`` runs inside the ``jax.shard_map``'d update step on the local shard of the global
    batch, so it must be pure ``jnp`` (no host callbacks, no Python randomness) and should
    return per-shard *means*: the trainer averages loss, gradients and metrics over the
    ``'data'`` axis with ``lax.pmean``.
    """

    def train_iterator(self, process_index: int, process_count: int) -> Iterator[Batch]:
        """An endless, checkpointable grain iterator (``get_state``/``set_state``) of this
        process's share of each global batch, as numpy dicts with a few fixed shapes."""

    def init(self, rng: jax.Array, batch: Batch) -> Any:
        """Initial parameters (a pytree) for a batch of the iterator's shapes."""

    def loss(self, params: Any, batch: Batch, rng: jax.Array, train: bool = True
             ) -> tuple[jax.Array, dict[str, jax.Array]]:
        """Scalar loss and a flat dict of scalar metrics; pure, traced under jit."""

    def evaluate(self, params: Any, split: str, max_batches: int | None = None
                 ) -> dict[str, float]:
        """Flat dict of float metrics on ``split`` (runs outside jit, may jit internally)."""

    # Optional: ``write_examples(params, writer, step)`` logs audio/images to a
    # ``voxjax.summaries.SummaryWriter``; the trainer calls it only if the task defines it.
    # Optional: ``batch_audio_seconds(batch) -> float`` for batches that are not utterances
    # with ``feature_lengths`` (see :func:`batch_audio_seconds`).


def batch_audio_seconds(task, batch: Batch) -> float | None:
    """Seconds of real audio in one host batch, for the trainer's throughput figure: the task's
    own ``batch_audio_seconds`` if it has one, else the valid log-mel frames of the real rows
    (``feature_lengths`` x ``weights``) at the task's ``mel`` hop; None when neither applies."""
    if hasattr(task, "batch_audio_seconds"):
        return float(task.batch_audio_seconds(batch))
    mel = getattr(task, "mel", None)
    if mel is None or "feature_lengths" not in batch:
        return None
    return frames_audio_seconds(batch, mel)


def frames_audio_seconds(batch: Batch, mel, most_frames: int = 0) -> float:
    """Seconds of the real rows' valid log-mel frames (``feature_lengths`` x ``weights``) at
    ``mel``'s hop, each row counted up to ``most_frames`` frames when that is set."""
    lengths = np.asarray(batch["feature_lengths"], np.float64)
    if most_frames:
        lengths = np.minimum(lengths, most_frames)
    weights = np.asarray(batch.get("weights", np.ones_like(lengths)), np.float64)
    return float(np.sum(lengths * weights)) * mel.hop_length / mel.sample_rate


def get(config) -> Task:
    """Builds the task named by ``config.task`` (module ``voxjax.tasks.<name>``).

    The module provides ``make_task(config)`` (preferred) or a ``TASK`` class taking the config.
    """
    config = upgrade_config(config)
    name = str(config.task)
    # Module names only: keeps a config value from importing arbitrary dotted paths.
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"invalid task name {name!r}")
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{name}":
            raise  # the task exists but one of its own imports is missing
        raise ValueError(f"unknown task {name!r}: no module voxjax.tasks.{name}") from None
    if hasattr(module, "make_task"):
        return module.make_task(config)
    if hasattr(module, "TASK"):
        return module.TASK(config)
    raise ValueError(f"voxjax.tasks.{name} defines neither make_task(config) nor TASK")


def inference_settings(config, defaults: Mapping[str, Any], overrides: Mapping | None = None
                       ) -> dict[str, Any]:
    """The task's inference settings: ``defaults`` < ``config.inference`` < ``overrides``.

    Returns a new dict (the config is never changed). A key of ``config.inference`` or of
    ``overrides`` that the task does not read raises ValueError naming it; ``None`` overrides
    (flags not given) are skipped.
    """
    given = dict(config.get("inference", {}))
    given.update({k: v for k, v in (overrides or {}).items() if v is not None})
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"unknown inference setting(s) {', '.join(unknown)} for task "
                         f"{config.task!r} (known: {', '.join(sorted(defaults))})")
    return {**defaults, **given}


# Workdirs saved before the ``inference`` block existed keep inference settings elsewhere.
_LEGACY_INFERENCE = {("decode", "beam_size"): "beam_size", ("decode", "prior_order"): "prior_order",
                     ("decode", "prior_weight"): "prior_weight",
                     ("decode", "length_bonus"): "length_bonus", ("synthesis", "pace"): "pace",
                     ("model", "chunk_ms"): "chunk_ms"}


def upgrade_config(config):
    """A copy of a stored config with pre-``inference``-block keys moved into ``inference``
    (``decode.*``, ``synthesis.pace``, ``model.chunk_ms``); other configs come back as they are."""
    if not any(section in config and key in config[section]
               for section, key in _LEGACY_INFERENCE):
        return config
    config = config.copy_and_resolve_references()
    with config.unlocked():
        if "inference" not in config:
            config.inference = {}
        for (section, key), new in _LEGACY_INFERENCE.items():
            if section in config and key in config[section]:
                config.inference[new] = config[section][key]
                with config[section].unlocked():
                    del config[section][key]
        for section in ("decode", "synthesis"):
            if section in config and not config[section]:
                del config[section]
    return config
