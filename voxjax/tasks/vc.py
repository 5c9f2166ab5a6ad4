"""Conversion task (``vc``): content from a frozen causal STT model + a speaker -> log-mel.

Trained without parallel data: every utterance is reconstructed from its own content (the
frozen language model's per-frame outputs, ``voxjax.models.conversion_model``) and its own
speaker, so at inference the same content with another speaker is that speaker saying it.

Config: ``vc.content_workdir`` is the trained *causal* STT workdir (``model.streaming=True``)
whose outputs are the content; its stored config decides the content network, and before
a workdir exists ``vc.content_config`` (a config name) gives its shapes. Which outputs:
  ``vc.content = 'posteriors'``: the CTC log-posteriors (a phonetic posteriorgram, Sun et al.,
    2016): speaker-independent by construction, but mostly blank at 40 ms frames.
  ``vc.content = 'bottleneck'``: the output of RNN layer ``vc.content_layer`` (-1 = the last,
    under the CTC head): dense phonetic features, which may also carry some of the source voice.
The speaker input:
  ``vc.speaker = 'id'``: a one-hot over the training speakers (``config.data.speakers``, as in
    TTS); only those voices can be targets.
  ``vc.speaker = 'embedding'``: the unit embedding of the frozen speaker model in
    ``vc.speaker_workdir`` (task ``speaker``). Training embeds each utterance itself; at
    inference a *reference recording* gives any voice (zero-shot), and a training speaker's name
    gives the mean embedding of that speaker's training recordings (:meth:`speaker_centroid`).

Loss: L1 between predicted and real log-mel on the valid frames (``mel_l1``, per mel bin).
``vc.content_warp > 0`` reads each training step's content from the log-mel stretched along
its mel axis (a random factor per utterance, vocal tract length perturbation), the target
unchanged, so the source voice in the content stops predicting the output's voice.

The content network (and the speaker model) is frozen, so with ``vc.cache_content`` (default on)
training computes each item's content (and embedding) once, before the first step
(:meth:`ConversionTask.frozen_table`), and its batches carry them: the same numbers the step
would compute, without the frozen networks in it. The table lives in memory, bucket-padded:
0.59 GB of float32 content for the default corpus's 5,040 training items, and as much again in
each data worker process. For much larger data, turn it off (``--config.vc.cache_content=False``).
With ``vc.content_warp > 0`` (the default of configs/vc_synth.py) there is no table: each
step's content follows its own warp.
"""
from __future__ import annotations

import functools
import logging

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from tqdm import tqdm

from voxjax import audio, checkpoint, config as config_lib, tasks
from voxjax.data import augment, pipeline, splits
from voxjax.models import contract
from voxjax.models.conversion_model import ConversionModel
from voxjax.models.speaker_model import l2_normalise

log = logging.getLogger(__name__)

SILENCE = float(np.log(audio.LOG_FLOOR))  # log-mel of digital silence: the padding value
# ``config.inference`` keys and their defaults (see configs/vc_synth.py).
INFERENCE_DEFAULTS = {"chunk_ms": 40}
SPEAKER_MODES = ("id", "embedding")
CONTENT_KINDS = ("posteriors", "bottleneck")


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
        if self.content_kind not in CONTENT_KINDS:
            raise ValueError(f"vc.content must be one of {', '.join(CONTENT_KINDS)}, got "
                             f"{self.content_kind!r}")
        if not 0.0 <= self.content_warp < 1.0:
            raise ValueError(f"vc.content_warp must lie in [0, 1), got {self.content_warp}")
        if not -lm.rnn_layers <= self.content_layer < lm.rnn_layers:
            raise ValueError(f"vc.content_layer {self.content_layer} is out of range: the content "
                             f"model has {lm.rnn_layers} RNN layers")
        self._content_streamer = contract.Streamer(
            lm, "step" if self.content_kind == "posteriors" else "encode_step")
        self.model = ConversionModel.from_config(config.model, self.content_dim,
                                                 self.mel.n_mels, lm.subsampling)
        self.inference = tasks.inference_settings(config, INFERENCE_DEFAULTS)
        if config.vc.content_workdir:
            self.content_params  # load now: the loss reads it while being traced
        if self.speaker_mode == "embedding":
            self.speaker_params  # likewise; refuses a missing vc.speaker_workdir early
        self._forward_jit = jax.jit(self._predict)
        self._batch_forward_jit = jax.jit(
            lambda p, f, n, s: self._predict(p, f, n, self.speaker_vectors(s, f, n)))

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

    @property
    def content_kind(self) -> str:
        """``'posteriors'`` or ``'bottleneck'`` (``config.vc.content``)."""
        return self.config.vc.get("content", "posteriors")  # older workdirs: posteriors

    @property
    def content_layer(self) -> int:
        """The RNN layer whose output is the bottleneck content (``config.vc.content_layer``)."""
        return int(self.config.vc.get("content_layer", -1))

    @property
    def content_dim(self) -> int:
        """Content values per 40 ms frame: ``ctc_upsample * V`` posteriors, or ``rnn_hidden``."""
        lm = self.content_task.model
        if self.content_kind == "posteriors":
            return lm.ctc_upsample * lm.vocab_size
        return lm.rnn_hidden

    def content_init_state(self, content_params, batch: int):
        """Zero streaming state of the content network for ``batch`` streams."""
        return self._content_streamer.init_state(content_params, batch)

    def content_step(self, content_params, state, features):
        """One chunk of the frozen content network (the streaming contract): ``features
        [B, k * subsampling, n_mels]`` -> ``(state, content [B, k, content_dim])``."""
        state, out = self._content_streamer.step(content_params, state, features)
        if self.content_kind == "bottleneck":
            return state, out[self.content_layer].astype(jnp.float32)
        b, t, v = out.shape
        up = self.content_task.model.ctc_upsample
        return state, jax.nn.log_softmax(out.astype(jnp.float32)).reshape(b, t // up, up * v)

    def content(self, features, lengths):
        """``features [B, T, n_mels]`` (T a multiple of the content model's chunk) -> content
        ``[B, T / subsampling, content_dim]``, no gradient: :meth:`content_step` under
        ``lax.scan`` (causal, so ``lengths`` is not needed: padding cannot reach back).

        The scan steps about a second at a time (``contract.offline_chunk``): the same output
        as the live chunk, with fewer, larger scan steps."""
        del lengths
        params = contract.variables(self.content_params)
        t = features.shape[1]
        chunk = contract.offline_chunk(self.content_task.chunk_frames)
        features = jnp.pad(features, ((0, 0), (0, -t % chunk), (0, 0)), constant_values=SILENCE)
        state = self.content_init_state(params, features.shape[0])
        _, content = contract.scan_offline(self.content_step, params, state,
                                           contract.to_chunks(features, chunk))
        content = contract.from_chunks(content)[:, : t // self.content_task.model.subsampling]
        return jax.lax.stop_gradient(content)

    # ------------------------------------------------------------------ speaker input
    @property
    def speaker_mode(self) -> str:
        """``'id'`` or ``'embedding'`` (``config.vc.speaker``)."""
        return self.config.vc.speaker

    @functools.cached_property
    def speaker_task(self):
        """The frozen speaker model's task (``vc.speaker = 'embedding'`` only)."""
        return tasks.get(tasks.upgrade_config(checkpoint.load_config(self._speaker_workdir)))

    @functools.cached_property
    def speaker_params(self):
        """The frozen speaker model's parameters (``vc.speaker = 'embedding'`` only)."""
        return checkpoint.load_params(self._speaker_workdir)

    @property
    def _speaker_workdir(self) -> str:
        workdir = self.config.vc.get("speaker_workdir", "")
        if not workdir:
            raise ValueError("vc.speaker='embedding' needs vc.speaker_workdir: a trained speaker "
                             "model workdir (task speaker)")
        return workdir

    def speaker_vectors(self, speakers, features=None, lengths=None):
        """The model's speaker input ``[B, S]`` for a batch: one-hot of the table ids
        ``speakers [B]`` (``'id'``), or the speaker model's unit embedding of each utterance's
        own ``features`` (``'embedding'``, no gradient)."""
        if self.speaker_mode == "id":
            return jax.nn.one_hot(speakers, len(self.speakers))
        embeddings, _ = self.speaker_task.model.apply({"params": self.speaker_params},
                                                       features, lengths)
        return jax.lax.stop_gradient(l2_normalise(embeddings))

    def target_vector(self, speaker: str | None = None, reference: np.ndarray | None = None,
                      rate: int | None = None) -> np.ndarray:
        """The speaker input ``[1, S]`` of one conversion target: a training speaker by name
        (None = the default), or (``'embedding'`` only) a reference recording at ``rate``.
        ValueError, one line, for an unknown name or a reference the mode cannot use."""
        if reference is not None and speaker is not None:
            raise ValueError("give a target speaker or a reference recording, not both")
        if self.speaker_mode == "id":
            if reference is not None:
                raise ValueError("this conversion model knows its training speakers only "
                                 "(vc.speaker='id'); a reference recording needs one trained "
                                 "with vc.speaker='embedding'")
            return np.asarray(self.speaker_vectors(np.array([self.speaker_id(speaker)])),
                              np.float32)
        if reference is not None:
            vector = self.speaker_task.embed(self.speaker_params, reference, rate)
        else:
            self.speaker_id(speaker)  # the conversion model's own table decides the names
            vector = self.speaker_centroid(speaker or self.speakers[0])
        return np.asarray(vector, np.float32)[None]

    def speaker_centroid(self, name: str) -> np.ndarray:
        """``'embedding'`` mode, a training speaker: the unit mean of the speaker model's
        embeddings of that speaker's training recordings (read from the training split, cached).

        Training conditions on such per-recording embeddings; the speaker model's class vector
        lies elsewhere in the same cosine space, and conditioning on it failed: 0 of 100
        conversions named as the target, 40% nearer the target than the source (2026-12-06,
        docs/results/conversion.md)."""
        cache = self.__dict__.setdefault("_centroids", {})
        if name not in cache:
            utts = [u for u in self.utterances(self.config.data.train_split) if u.speaker == name]
            if not utts:
                raise ValueError(f"speaker {name!r} has no training recordings in "
                                 f"{self.config.data.root}: give a reference recording instead")
            rate = self.mel.sample_rate
            vectors = [self.speaker_task.embed(self.speaker_params,
                                               audio.load_audio(u.path, rate), rate) for u in utts]
            cache[name] = np.asarray(l2_normalise(np.mean(vectors, axis=0)), np.float32)
        return cache[name]

    def _padded(self, features, extra: int = 0):
        """``extra`` frames of silence, then up to whole content chunks."""
        pad = extra + -(features.shape[1] + extra) % self.content_task.chunk_frames
        return jnp.pad(jnp.asarray(features, jnp.float32), ((0, 0), (0, pad), (0, 0)),
                       constant_values=SILENCE)

    def _predict(self, params, features, lengths, vectors, content=None, source=None):
        """Source log-mel + target speaker vectors -> ``(predicted log-mel, padded source)``,
        frame for frame: the model's output is shifted back by its ``lookahead_frames``, which
        reads that many frames of silence past the end. ``content``: precomputed
        (:meth:`frozen_table`), or None to run the content network. ``source``: the log-mel the
        content and energy are read from, when it is not ``features`` (``vc.content_warp``)."""
        ahead = self.model.lookahead_frames
        features = self._padded(features, ahead)
        source = features if source is None else self._padded(source, ahead)
        if content is None:
            content = self.content(source, lengths)
        chunk = {"content": content,
                 "speaker": vectors, "energy": source.mean(-1)}
        aligned = features.shape[1] - ahead
        return (self.model.apply({"params": params}, chunk)[:, ahead:],
                features[:, :aligned])

    # ------------------------------------------------------------------ data and model
    def train_iterator(self, process_index: int = 0, process_count: int = 1):
        """Infinite, checkpointable grain iterator over training batches (with ``speaker``, and
        with ``vc.cache_content`` the frozen networks' outputs: :meth:`frozen_table`)."""
        utts = self.utterances(self.config.data.train_split)
        plan, make_batch = pipeline.train_plan(self.config, utts, process_index, process_count,
                                               speakers=self._speaker_ids(utts))
        if self.content_warp:  # a new warp every step: the content must follow it
            log.info("vc.content_warp is on: content is computed in every step, not cached")
        elif self.config.vc.get("cache_content", True):
            if make_batch.augment is None:
                make_batch.extras.update(self.frozen_table(plan, make_batch))
            else:  # augmented features differ every batch: content must follow them
                log.warning("vc.cache_content is off: data.augment changes the features")
        return pipeline.iterate(plan, make_batch, self.config.data.num_workers)

    def frozen_table(self, plan, make_batch) -> dict[str, list[np.ndarray]]:
        """What the frozen networks make of every training item, in ``make_batch``'s item order
        and as the training step would compute it, from the item's features padded to its
        bucket (built by ``make_batch`` itself): ``content`` ``[T_bucket' / subsampling, C]``
        (:meth:`_predict`: padded by the look-ahead and to whole content chunks) and, in
        ``'embedding'`` mode, ``speaker_vector`` ``[S]`` (:meth:`speaker_vectors`). One pass over
        the data, before training."""
        frozen = jax.jit(self.frozen_inputs)
        table: dict[str, list] = {}
        for item in tqdm(list(plan.item_batches()), desc="vc frozen inputs", leave=False):
            batch = make_batch(item)
            out = jax.device_get(frozen(batch["features"], batch["feature_lengths"]))
            for name, rows in out.items():
                column = table.setdefault(name, [None] * len(make_batch.paths))
                for row, index in enumerate(item.rows):
                    if index >= 0:
                        column[index] = rows[row]
        return table

    def frozen_inputs(self, features, lengths) -> dict:
        """One batch's frozen-network outputs (:meth:`frozen_table`): ``content`` from
        ``features`` padded as :meth:`_predict` pads them and, in ``'embedding'`` mode,
        ``speaker_vector``."""
        out = {"content": self.content(self._padded(features, self.model.lookahead_frames),
                                       lengths)}
        if self.speaker_mode == "embedding":
            out["speaker_vector"] = self.speaker_vectors(None, features, lengths)
        return out

    def init(self, rng, batch):
        """Initial parameters for a batch's shapes."""
        features = self._padded(batch["features"])
        t = features.shape[1] // self.content_task.model.subsampling
        chunk = {"content": jnp.zeros((features.shape[0], t, self.content_dim)),
                 "speaker": self._batch_vectors(batch),
                 "energy": features.mean(-1)}
        return self.model.init(rng, chunk)["params"]

    def _batch_vectors(self, batch):
        if "speaker_vector" in batch:  # precomputed: frozen_table
            return batch["speaker_vector"]
        return self.speaker_vectors(jnp.asarray(batch["speaker"]), jnp.asarray(batch["features"]),
                                    jnp.asarray(batch["feature_lengths"]))

    @property
    def content_warp(self) -> float:
        """``config.vc.content_warp``: how far training stretches the mel axis of the log-mel
        the content is read from (0 = not at all)."""
        return float(self.config.vc.get("content_warp", 0.0))

    def loss(self, params, batch, rng, train: bool = True):
        """Reconstruction L1 of each utterance's own log-mel from its content and speaker.

        With ``vc.content_warp`` the content (and energy) of a training step are read from the
        log-mel stretched along its mel axis (:func:`voxjax.data.augment.warp_frequencies`,
        another factor per utterance and step), while the target stays the utterance itself: the
        voice in the content no longer tells the model how the output should sound, so it
        learns to take the voice from the speaker input alone."""
        lengths = batch["feature_lengths"]
        source = None
        if train and self.content_warp:
            source = augment.warp_frequencies(rng, jnp.asarray(batch["features"]),
                                              self.content_warp)
        cached = batch.get("content") if source is None else None  # no cache when warping
        predicted, target = self._predict(params, batch["features"], lengths,
                                          self._batch_vectors(batch), cached, source)
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
                predicted, target = self._batch_forward_jit(
                    params, batch["features"], batch["feature_lengths"], batch["speaker"])
                valid = ((np.arange(target.shape[1])[None] < batch["feature_lengths"][:, None])
                         * batch["weights"][:, None])
                total += float(np.sum(np.abs(np.asarray(predicted) - np.asarray(target))
                                      * valid[..., None]))
                frames += float(np.sum(valid)) * target.shape[-1]
        finally:
            batches.close()
        return {"mel_l1": total / max(frames, 1.0), "utterances": float(sum(1 for _ in utts))}

    # ------------------------------------------------------------------ inference
    def convert(self, params, wave: np.ndarray, rate: int, speaker: str | None = None,
                reference: np.ndarray | None = None) -> np.ndarray:
        """Offline: one recording's log-mel ``[T, n_mels]`` in the voice of ``speaker`` (a
        training speaker) or of a ``reference`` recording at the same ``rate``
        (:meth:`target_vector`)."""
        wave = audio.prepare_wave(wave, rate, self.mel.sample_rate, "source recording")
        vector = self.target_vector(speaker, reference, rate)
        feats = audio.log_mel(wave, self.mel)
        predicted, _ = self._forward_jit(params, feats[None], np.array([len(feats)], np.int32),
                                         vector)
        return np.asarray(predicted)[0, : len(feats)]


def make_task(config) -> ConversionTask:
    """Registry hook: ``config.task == 'vc'``."""
    return ConversionTask(config)
