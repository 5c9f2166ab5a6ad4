"""Speaker task: an x-vector-style speaker embedding (``voxjax.models.speaker_model``) trained to
tell the training speakers apart with an additive-margin cosine softmax.

What it is for: conditioning voice conversion on a reference recording instead of a speaker id
(zero-shot targets), and judging speaker similarity of converted speech. ``evaluate`` reports
closed-set identification accuracy over the speaker table and the mean cosine of each
utterance to its own speaker's class vector and to the nearest other one; utterances of
speakers outside the table (e.g. ``test_unseen``) are counted apart, not scored.
"""
from __future__ import annotations

import collections

import jax
import jax.numpy as jnp
import numpy as np
import optax

from voxjax import audio, tasks
from voxjax.data import augment, pipeline, splits
from voxjax.models.speaker_model import SpeakerModel, l2_normalise

PAD_FRAMES = 100  # embed pads a recording's frames to a multiple of this (few shapes)
# ``config.inference`` keys and their defaults (see configs/speaker_synth.py).
INFERENCE_DEFAULTS = {"min_reference_seconds": 1.0}


class SpeakerTask(splits.SpeakerTable):
    """The speaker task: speaker table and model from a config; loss, evaluation, embeddings."""

    def __init__(self, config):
        self.config = config
        self.mel = audio.MelConfig.from_config(config.data)
        self.model = SpeakerModel.from_config(config.model, len(self.speakers))
        self.inference = tasks.inference_settings(config, INFERENCE_DEFAULTS)
        self._forward_jit = jax.jit(lambda p, f, n: self.model.apply({"params": p}, f, n))
        if self.crop_frames < 0:
            raise ValueError(f"data.train_crop_frames must be >= 0 (0: whole utterances), got "
                             f"{self.crop_frames}")

    # ------------------------------------------------------------------ data
    def train_iterator(self, process_index: int = 0, process_count: int = 1):
        """Infinite, checkpointable grain iterator over training batches (with ``speaker``)."""
        utts = self.utterances(self.config.data.train_split)
        return pipeline.train_iterator(self.config, utts, process_index, process_count,
                                       speakers=self._speaker_ids(utts))

    # ------------------------------------------------------------------ model
    def init(self, rng, batch):
        """Initial parameters for a batch's shapes."""
        return self.model.init(rng, jnp.asarray(batch["features"]),
                               jnp.asarray(batch["feature_lengths"]))["params"]

    @property
    def crop_frames(self) -> int:
        """``config.data.train_crop_frames``: training embeds a random window this many frames
        long of each utterance (0: whole utterances)."""
        return int(self.config.data.get("train_crop_frames", 0))

    def batch_audio_seconds(self, batch) -> float:
        """Seconds of audio the network trains on in a batch (throughput logging): each real
        row's frames, at most ``crop_frames`` of them when training on windows."""
        return tasks.frames_audio_seconds(batch, self.mel, self.crop_frames)

    def loss(self, params, batch, rng, train: bool = True):
        """Additive-margin softmax cross-entropy over the real rows, and accuracy (no margin).
        In training with ``data.train_crop_frames`` each row is a random window of its utterance
        (:func:`voxjax.data.augment.random_crop`), then SpecAugment masks it when
        ``data.augment`` asks for masks (:func:`voxjax.data.augment.spec_augment`)."""
        speakers = batch["speaker"]
        features, lengths = batch["features"], batch["feature_lengths"]
        if train and self.crop_frames:
            features, lengths = augment.random_crop(rng, jnp.asarray(features), lengths,
                                                    self.crop_frames)
        masks = self.config.data.get("augment", {})
        if train and masks:
            features = augment.spec_augment(
                jax.random.fold_in(rng, 1), jnp.asarray(features), lengths,
                freq_masks=int(masks.get("freq_masks", 0)),
                freq_width=int(masks.get("freq_width", 0)),
                time_masks=int(masks.get("time_masks", 0)),
                time_width=int(masks.get("time_width", 0)))
        _, logits = self.model.apply({"params": params}, features, lengths, speakers)
        per_row = optax.softmax_cross_entropy_with_integer_labels(logits, speakers)
        weights = batch["weights"]
        total = jnp.maximum(jnp.sum(weights), 1.0)
        loss = jnp.sum(per_row * weights) / total
        # The margin only lowers the target logit: add it back for the plain decision.
        plain = logits + self.model.scale * self.model.margin * jax.nn.one_hot(
            speakers, self.model.num_speakers)
        correct = (jnp.argmax(plain, -1) == speakers).astype(jnp.float32)
        return loss, {"am_softmax": loss, "accuracy": jnp.sum(correct * weights) / total}

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, params, split: str, max_batches: int | None = None) -> dict[str, float]:
        """Identification accuracy and cosine scores on the utterances of known speakers."""
        utts = self.utterances(split)
        known = np.asarray([u.speaker in self._speaker_index for u in utts])
        sums, count = collections.defaultdict(float), 0.0
        batches = pipeline.eval_batches(self.config, utts, speakers=self._speaker_ids(utts))
        try:
            for b, batch in enumerate(batches):
                if max_batches is not None and b >= max_batches:
                    break
                _, logits = self._forward_jit(params, batch["features"],
                                              batch["feature_lengths"])
                cos = np.asarray(logits) / self.model.scale
                index = np.asarray(batch["index"])
                rows = (index >= 0) & known[np.maximum(index, 0)]
                target = np.asarray(batch["speaker"])
                own = cos[np.arange(len(cos)), target]
                others = np.where(np.eye(cos.shape[1], dtype=bool)[target], -np.inf, cos)
                sums["accuracy"] += float(np.sum((np.argmax(cos, -1) == target)[rows]))
                sums["cos_own"] += float(np.sum(own[rows]))
                sums["cos_nearest_other"] += float(np.sum(others.max(-1)[rows]))
                count += float(np.sum(rows))
        finally:
            batches.close()
        result = {k: v / max(count, 1.0) for k, v in sums.items()}
        result["utterances"] = count
        result["unknown_speaker_utterances"] = float(np.sum(~known))
        return result

    # ------------------------------------------------------------------ inference
    def embed(self, params, wave: np.ndarray, rate: int) -> np.ndarray:
        """Unit-length embedding ``[E]`` of one recording (any rate; mono float). ValueError for
        a recording shorter than ``inference.min_reference_seconds`` of audio or silent."""
        wave = audio.prepare_wave(wave, rate, self.mel.sample_rate, "reference recording")
        if audio.is_silent(wave):
            raise audio.AudioError("reference recording is silent (peak below -60 dBFS)")
        seconds, least = len(wave) / self.mel.sample_rate, self.inference["min_reference_seconds"]
        if seconds < least:
            raise ValueError(f"reference recording is {seconds:.2f} s long; the speaker model "
                             f"needs at least {least:g} s (inference.min_reference_seconds)")
        feats = audio.log_mel(wave, self.mel)
        pad = -len(feats) % PAD_FRAMES
        padded = np.pad(feats, ((0, pad), (0, 0)))[None]
        embeddings, _ = self._forward_jit(params, padded, np.array([len(feats)], np.int32))
        return np.asarray(l2_normalise(embeddings))[0]

    def identify(self, params, embedding: np.ndarray) -> tuple[str, np.ndarray]:
        """The training speaker whose class vector is nearest ``embedding``, and all cosines."""
        cos = np.asarray(self.model.apply({"params": params}, jnp.asarray(embedding)[None],
                                          method="cosines"))[0]
        return self.speakers[int(np.argmax(cos))], cos


def make_task(config) -> SpeakerTask:
    """Registry hook: ``config.task == 'speaker'``."""
    return SpeakerTask(config)
