"""Conversion task (``vc``): content from a frozen causal STT model + a speaker -> log-mel.

Trained without parallel data: every utterance is reconstructed from its own content (the
frozen language model's CTC log-posteriors, ``voxjax.models.conversion_model``) and its own
speaker, so at inference the same content with another speaker is that speaker saying it.

Config: ``vc.content_workdir`` is the trained *causal* STT workdir (``model.streaming=True``)
whose posteriors are the content; its stored config decides the content network, and before
a workdir exists ``vc.content_config`` (a config name) gives its shapes. ``vc.speaker = 'id'``
conditions on a one-hot over the training speakers (``config.data.speakers``, as in TTS).
Conditioning on a speaker model's embedding of a reference recording (zero-shot targets) is
not built yet.

Loss: L1 between predicted and real log-mel on the valid frames (``mel_l1``, per mel bin).
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from voxjax import audio, checkpoint, config as config_lib, tasks
from voxjax.data import pipeline, splits
from voxjax.models.conversion_model import ConversionModel

SILENCE = float(np.log(audio.LOG_FLOOR))  # log-mel of digital silence: the padding value
# ``config.inference`` keys and their defaults (see configs/vc_synth.py).
INFERENCE_DEFAULTS = {"chunk_ms": 40}
SPEAKER_MODES = ("id",)


class ConversionTask(splits.SpeakerTable):
    """The ``vc`` task: content network (frozen), speaker table, conversion model."""

    def __init__(self, config):
        self.config = config
        self.mel = audio.MelConfig.from_config(config.data)
        if config.vc.speaker not in SPEAKER_MODES:
            raise ValueError(f"vc.speaker must be one of {', '.join(SPEAKER_MODES)}, got "
                             f"{config.vc.speaker!r}")
        content = self.content_task
        lm = content.model
        if not lm.streaming:
            raise ValueError("vc.content_workdir holds a bidirectional STT model; conversion "
                             "streams, so its content model must be causal (model.streaming=True)")
        if content.mel != self.mel:
            raise ValueError(f"mel settings differ: the content model reads {content.mel}, this "
                             f"config has {self.mel}")
        self.model = ConversionModel.from_config(config.model, lm.ctc_upsample * lm.vocab_size,
                                                 self.mel.n_mels, lm.subsampling)
        self.inference = tasks.inference_settings(config, INFERENCE_DEFAULTS)
        if config.vc.content_workdir:
            self.content_params  # load now: the loss reads it while being traced
        self._forward_jit = jax.jit(self._predict)

    # ------------------------------------------------------------------ content network
    @functools.cached_property
    def content_task(self):
        """The STT task of the content workdir (or of ``vc.content_config`` before it exists)."""
        workdir = self.config.vc.content_workdir
        stored = checkpoint.stored_config(workdir) if workdir else None
        if stored is not None:
            return tasks.get(tasks.upgrade_config(ml_collections.ConfigDict(stored[1])))
        name, _, arg = str(self.config.vc.content_config).partition(":")  # e.g. "x:tiny"
        return tasks.get(config_lib.load(name, arg or None))

    @functools.cached_property
    def content_params(self):
        """The frozen content network's parameters; ValueError without a trained workdir."""
        workdir = self.config.vc.content_workdir
        if not workdir:
            raise ValueError("vc.content_workdir is not set: conversion needs a trained causal "
                             "STT workdir for its content features")
        return checkpoint.load_params(workdir)

    def content(self, features, lengths):
        """``features [B, T, n_mels]`` (T a multiple of the content model's chunk) -> content
        ``[B, T / subsampling, ctc_upsample * V]``: log-posteriors, no gradient."""
        log_probs, _ = self.content_task.posteriors(self.content_params, features, lengths)
        b, t, v = log_probs.shape
        up = self.content_task.model.ctc_upsample
        return jax.lax.stop_gradient(log_probs.reshape(b, t // up, up * v))

    def speaker_vectors(self, speakers):
        """Table ids ``[B]`` -> the model's speaker input ``[B, S]`` (one-hot)."""
        return jax.nn.one_hot(speakers, len(self.speakers))

    def _padded(self, features):
        pad = -features.shape[1] % self.content_task.chunk_frames  # whole content chunks
        return jnp.pad(jnp.asarray(features, jnp.float32), ((0, 0), (0, pad), (0, 0)),
                       constant_values=SILENCE)

    def _predict(self, params, features, lengths, speakers):
        """Source log-mel + target speaker ids -> ``(predicted log-mel, padded source)``."""
        features = self._padded(features)
        chunk = {"content": self.content(features, lengths),
                 "speaker": self.speaker_vectors(speakers), "energy": features.mean(-1)}
        return self.model.apply({"params": params}, chunk), features

    # ------------------------------------------------------------------ data and model
    def train_iterator(self, process_index: int = 0, process_count: int = 1):
        """Infinite, checkpointable grain iterator over training batches (with ``speaker``)."""
        utts = self.utterances(self.config.data.train_split)
        return pipeline.train_iterator(self.config, utts, process_index, process_count,
                                       speakers=self._speaker_ids(utts))

    def init(self, rng, batch):
        """Initial parameters for a batch's shapes."""
        features = self._padded(batch["features"])
        t = features.shape[1] // self.content_task.model.subsampling
        lm = self.content_task.model
        chunk = {"content": jnp.zeros((features.shape[0], t, lm.ctc_upsample * lm.vocab_size)),
                 "speaker": self.speaker_vectors(jnp.asarray(batch["speaker"])),
                 "energy": features.mean(-1)}
        return self.model.init(rng, chunk)["params"]

    def loss(self, params, batch, rng, train: bool = True):
        """Reconstruction L1 of each utterance's own log-mel from its content and speaker."""
        del rng, train  # no dropout or augmentation
        lengths = batch["feature_lengths"]
        predicted, target = self._predict(params, batch["features"], lengths, batch["speaker"])
        valid = (jnp.arange(target.shape[1])[None] < lengths[:, None]) * batch["weights"][:, None]
        mel_l1 = jnp.sum(jnp.abs(predicted - target) * valid[..., None]) / (
            jnp.maximum(jnp.sum(valid), 1.0) * target.shape[-1])
        return mel_l1, {"mel_l1": mel_l1}

    def evaluate(self, params, split: str, max_batches: int | None = None) -> dict[str, float]:
        """Reconstruction mel L1 (own speaker) on ``split``."""
        utts = self.utterances(split)
        total, frames = 0.0, 0.0
        batches = pipeline.eval_batches(self.config, utts, speakers=self._speaker_ids(utts))
        try:
            for b, batch in enumerate(batches):
                if max_batches is not None and b >= max_batches:
                    break
                predicted, target = self._forward_jit(params, batch["features"],
                                                      batch["feature_lengths"], batch["speaker"])
                valid = ((np.arange(target.shape[1])[None] < batch["feature_lengths"][:, None])
                         * batch["weights"][:, None])
                total += float(np.sum(np.abs(np.asarray(predicted) - np.asarray(target))
                                      * valid[..., None]))
                frames += float(np.sum(valid)) * target.shape[-1]
        finally:
            batches.close()
        return {"mel_l1": total / max(frames, 1.0), "utterances": float(sum(1 for _ in utts))}

    # ------------------------------------------------------------------ inference
    def convert(self, params, wave: np.ndarray, rate: int, speaker: str | None) -> np.ndarray:
        """Offline: one recording's log-mel ``[T, n_mels]`` in the voice of ``speaker``."""
        wave = audio.prepare_wave(wave, rate, self.mel.sample_rate, "source recording")
        feats = audio.log_mel(wave, self.mel)
        speakers = np.array([self.speaker_id(speaker)], np.int32)
        predicted, _ = self._forward_jit(params, feats[None], np.array([len(feats)], np.int32),
                                         speakers)
        return np.asarray(predicted)[0, : len(feats)]


def make_task(config) -> ConversionTask:
    """Registry hook: ``config.task == 'vc'``."""
    return ConversionTask(config)
