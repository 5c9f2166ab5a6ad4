"""Text-to-speech task: the acoustic model (text -> log-mel) trained on any manifest dataset.

Loss (all masked to real frames / tokens, averaged over real utterances):
  mel       L1 of the normalised log-mel before and after the postnet
  align     forward-sum (CTC) loss of the learned alignment
  bin       binarisation loss pulling the soft alignment to its MAS path
  duration  MSE of the predicted log(1 + frames) against the MAS durations

Speakers are named as in the manifest (the eSpeak voice id on the built-in corpus). The table is
the sorted set of training speakers with the most frequent one (the default) first; a speaker
not in the table (e.g. ``test_unseen`` voices) maps to the default.
"""
from __future__ import annotations

import collections
import functools
import logging

import jax
import jax.numpy as jnp
import numpy as np

from voxjax import audio, tasks, text
from voxjax.data import manifest, pipeline, splits
from voxjax.models import acoustic_model, contract
from voxjax.models.acoustic_model import AcousticModel

log = logging.getLogger(__name__)

TOKEN_PAD = 32  # synthesis pads token sequences to a multiple of this (few compiled shapes)
FRAME_PAD = 100  # ... and output frames to a multiple of this (1 s)
# ``config.inference`` keys and their defaults (see configs/tts_synth.py).
INFERENCE_DEFAULTS = {"pace": 1.0, "chunk_frames": 10, "max_chunk_frames": 40}


class TextToSpeech(splits.SpeakerTable):
    """The TTS task: builds tokenizer, speaker table and acoustic model from a config."""

    def __init__(self, config):
        self.config = config
        self.tokenizer = text.make_tts_tokenizer(config.text.tokens)
        self.mel = audio.MelConfig.from_config(config.data)
        if any(b % config.model.reduction for b in config.data.buckets):
            raise ValueError(f"data.buckets {tuple(config.data.buckets)} must be multiples of "
                             f"model.reduction={config.model.reduction}")
        self.model = AcousticModel.from_config(config.model, self.tokenizer.vocab_size,
                                               len(self.speakers), self.mel.n_mels)
        self.inference = tasks.inference_settings(config, INFERENCE_DEFAULTS)
        for key in ("chunk_frames", "max_chunk_frames"):
            self.check_chunk_frames(self.inference[key], f"inference.{key}")
        self._streamer = contract.Streamer(self.model)
        self._encode_jit = jax.jit(self._encode)
        self._regulate_jit = jax.jit(acoustic_model.regulate_length, static_argnums=(2,))
        # Offline synthesis from the zero state, the state made inside the same jitted call.
        self._scan_jit = jax.jit(lambda p, c: contract.scan_offline(
            self._streamer.step, p, self._streamer.init_state(p, c.shape[1]), c))
        self._forward_jit = jax.jit(functools.partial(self._forward, train=False))

    # ------------------------------------------------------------------ data
    @functools.lru_cache(maxsize=16384)  # the corpus fits; a long-running server stays bounded
    def _encode_text(self, sentence: str) -> tuple[int, ...]:
        return tuple(self.tokenizer.encode(sentence))

    def train_iterator(self, process_index: int = 0, process_count: int = 1):
        """Infinite, checkpointable grain iterator over training batches (with ``speaker``)."""
        utts = self.utterances(self.config.data.train_split)
        return pipeline.train_iterator(self.config, utts, process_index, process_count,
                                       encode=self._encode_text, speakers=self._speaker_ids(utts))

    def eval_batches(self, split: str):
        """One ordered pass over ``split`` (batches carry ``index`` and ``speaker``)."""
        utts = self.utterances(split)
        return pipeline.eval_batches(self.config, utts, encode=self._encode_text,
                                     speakers=self._speaker_ids(utts))

    # ------------------------------------------------------------------ model
    def init(self, rng, batch):
        """Initial parameters for a batch's shapes."""
        variables = self.model.init({"params": rng, "dropout": rng}, *self._inputs(batch),
                                    train=False)
        return variables["params"]

    @staticmethod
    def _inputs(batch):
        return (jnp.asarray(batch["labels"]), jnp.asarray(batch["label_lengths"]),
                jnp.asarray(batch["speaker"]), jnp.asarray(batch["features"]),
                jnp.asarray(batch["feature_lengths"]))

    def _forward(self, params, batch, rng=None, train: bool = False):
        rngs = {"dropout": rng} if rng is not None else {}
        return self.model.apply({"params": params}, *self._inputs(batch), train=train, rngs=rngs)

    def loss(self, params, batch, rng, train: bool = True):
        """Weighted sum of the mel, alignment, binarisation and duration losses, with metrics."""
        out = self._forward(params, batch, rng, train)
        return self._losses(out, batch)

    def _losses(self, out, batch):
        w = self.config.loss
        weights = jnp.asarray(batch["weights"], jnp.float32)
        utterances = jnp.maximum(jnp.sum(weights), 1.0)
        frames = jnp.asarray(batch["feature_lengths"])
        tokens = jnp.asarray(batch["label_lengths"])
        target = jnp.asarray(batch["features"], jnp.float32)
        frame_mask = (jnp.arange(target.shape[1])[None] < frames[:, None]) * weights[:, None]
        per_frame = lambda x: jnp.mean(jnp.abs(x - target), -1) / self.model.feature_std  # noqa
        denom = jnp.maximum(jnp.sum(frame_mask), 1.0)
        mel_l1 = jnp.sum(per_frame(out["mel"]) * frame_mask) / denom
        postnet_l1 = jnp.sum(per_frame(out["mel_postnet"]) * frame_mask) / denom
        align = jnp.sum(acoustic_model.alignment.forward_sum_loss(
            out["log_attn"], frames, tokens) * weights) / utterances
        hard = out["hard_alignment"] * weights[:, None, None]
        binarization = acoustic_model.alignment.binarization_loss(hard, out["log_attn"])
        token_mask = (jnp.arange(out["durations"].shape[1])[None] < tokens[:, None]) * weights[:, None]
        log_target = jnp.log1p(out["durations"].astype(jnp.float32))
        duration = (jnp.sum((out["log_durations"] - log_target) ** 2 * token_mask)
                    / jnp.maximum(jnp.sum(token_mask), 1.0))
        total = (mel_l1 + postnet_l1 + w.align * align + w.binarization * binarization
                 + w.duration * duration)
        # How peaked the soft alignment is on real frames: 1 = one token per frame.
        peak = jnp.sum(jnp.exp(jnp.max(out["log_attn"], -1)) * frame_mask) / denom
        # Share of real frames whose *learned* (prior-free) attention peaks within one token of
        # the MAS path: ~3/N at initialisation, near 1 once the aligner has learned the text.
        learned_peak = jnp.argmax(out["learned_log_attn"], -1)
        path = jnp.argmax(out["hard_alignment"], -1)
        agreement = jnp.sum((jnp.abs(learned_peak - path) <= 1) * frame_mask) / denom
        return total, {"mel_l1": mel_l1, "postnet_l1": postnet_l1, "align": align,
                       "binarization": binarization, "duration": duration, "attn_peak": peak,
                       "attn_agreement": agreement}

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, params, split: str, max_batches: int | None = None) -> dict[str, float]:
        """Teacher-forced losses, duration errors and alignment sharpness on ``split``."""
        sums: dict[str, float] = collections.defaultdict(float)
        count, batches = 0, self.eval_batches(split)
        try:
            for b, batch in enumerate(batches):
                if max_batches is not None and b >= max_batches:
                    break
                out = self._forward_jit(params, batch)
                _, metrics = self._losses(out, batch)
                n = float(np.sum(batch["weights"]))
                for k, v in metrics.items():
                    sums[k] += float(v) * n
                mae, ratio = self._duration_errors(out, batch)
                sums["duration_mae_frames"] += n * mae
                sums["duration_ratio"] += n * ratio
                count += n
        finally:
            batches.close()
        result = {k: v / max(count, 1.0) for k, v in sums.items()}
        result["utterances"] = float(count)
        return result

    def _duration_errors(self, out, batch) -> tuple[float, float]:
        """Over the real tokens of a batch: mean |predicted - MAS| frames per token, and total
        predicted / total MAS frames (< 1: synthesis at pace 1 speaks faster than the data)."""
        lengths = np.asarray(batch["label_lengths"])
        predicted = np.asarray(self.model.predict_durations(out["log_durations"], lengths))
        aligned = np.asarray(out["durations"])
        mask = (np.arange(aligned.shape[1])[None] < lengths[:, None]) & (batch["weights"][:, None] > 0)
        if not mask.any():
            return 0.0, 1.0
        mae = float(np.abs(predicted - aligned)[mask].mean())
        return mae, float(predicted[mask].sum() / max(aligned[mask].sum(), 1))

    def align(self, params, utt: manifest.Utterance) -> dict[str, np.ndarray]:
        """Teacher-forced pass over one utterance: ``target``, ``teacher_forced`` (log-mels
        ``[T, M]``), ``attention`` ``[T, N]``, ``durations`` (MAS) and ``predicted_durations``
        ``[N]``, and ``tokens`` (symbols)."""
        feats = audio.log_mel(audio.load_audio(utt.path, self.mel.sample_rate), self.mel)
        feats = feats[: len(feats) - len(feats) % self.model.reduction]
        ids = np.asarray(self._encode_text(utt.text), np.int32)
        lengths = np.array([len(ids)], np.int32)
        batch = {"labels": ids[None], "label_lengths": lengths,
                 "speaker": self._speaker_ids([utt]), "features": feats[None],
                 "feature_lengths": np.array([len(feats)], np.int32)}
        out = self._forward_jit(params, batch)
        predicted = self.model.predict_durations(out["log_durations"], lengths)
        return {"target": feats, "teacher_forced": np.asarray(out["mel_postnet"][0]),
                "attention": np.exp(np.asarray(out["log_attn"][0])),
                "durations": np.asarray(out["durations"][0]),
                "predicted_durations": np.asarray(predicted[0]),
                "tokens": [self.tokenizer.symbols[i] for i in ids]}

    def write_examples(self, params, writer, step: int) -> None:
        """One validation sentence: target, teacher-forced and synthesised log-mel, alignment."""
        utt = self.utterances(self.config.data.eval_split)[0]
        aligned = self.align(params, utt)
        known = utt.speaker in self._speaker_index
        mel = self.synthesize(params, utt.text, utt.speaker if known else None)
        writer.image(step, "example/target_log_mel", aligned["target"].T[::-1])
        writer.image(step, "example/teacher_forced_log_mel", aligned["teacher_forced"].T[::-1])
        writer.image(step, "example/synthesised_log_mel", mel.T[::-1])
        writer.image(step, "example/alignment", aligned["attention"].T[::-1])
        writer.text(step, "example/text", utt.text)

    # ------------------------------------------------------------------ synthesis
    def _encode(self, params, tokens, lengths, speakers, pace):
        return self.model.apply({"params": params}, tokens, lengths, speakers, pace,
                                method="encode_for_synthesis")

    def check_chunk_frames(self, chunk_frames: int, name: str = "chunk_frames") -> None:
        """ValueError unless ``chunk_frames`` is a positive multiple of the model's reduction."""
        r = self.model.reduction
        if chunk_frames <= 0 or chunk_frames % r:
            raise ValueError(f"{name} must be a positive multiple of the acoustic model's "
                             f"reduction ({r}), got {chunk_frames}")

    def token_batch(self, sentence: str) -> tuple[np.ndarray, np.ndarray]:
        """``(tokens [1, N_pad], lengths [1])`` of one sentence; raises TextError if unusable."""
        ids = list(self._encode_text(sentence))
        padded = np.zeros((1, -(-len(ids) // TOKEN_PAD) * TOKEN_PAD), np.int32)
        padded[0, : len(ids)] = ids
        return padded, np.array([len(ids)], np.int32)

    @property
    def default_pace(self) -> float:
        """``config.inference.pace``."""
        return float(self.inference["pace"])

    def encode(self, params, sentence: str, speaker: str | None = None,
               pace: float | None = None):
        """``(h [1, N_pad, D], durations [1, N_pad])`` of one sentence: the text half of
        synthesis, run once per sentence before any frame is generated. ``pace`` scales the
        predicted durations (> 1 is slower; None = :attr:`default_pace`)."""
        pace = self.default_pace if pace is None else pace
        if not pace > 0:
            raise ValueError(f"pace must be positive, got {pace}")
        tokens, lengths = self.token_batch(sentence)
        speakers = np.array([self.speaker_id(speaker)], np.int32)
        return self._encode_jit(params, tokens, lengths, speakers, pace)

    def conditioning(self, params, sentence: str, speaker: str | None = None,
                     pace: float | None = None, chunk_frames: int | None = None,
                     extra_frames: int = 0):
        """The acoustic model's input stream for one sentence: ``(conditioning [1, T, D + 2],
        speech mask [1, T], speech frames)``. ``T`` covers the speech plus ``extra_frames``,
        rounded up to whole seconds of whole chunks (few compiled shapes; the frames past the
        speech are masked and, everything being causal, cannot change the speech)."""
        chunk_frames = chunk_frames or self.inference["chunk_frames"]
        h, durations = self.encode(params, sentence, speaker, pace)
        frames = int(np.sum(durations))
        unit = chunk_frames * -(-FRAME_PAD // chunk_frames)
        num_frames = max(unit, -(-(frames + extra_frames) // unit) * unit)
        conditioning, mask = self._regulate_jit(h, durations, num_frames)
        return conditioning, mask, frames

    def synthesize(self, params, sentence: str, speaker: str | None = None,
                   pace: float | None = None) -> np.ndarray:
        """Log-mel ``[T, n_mels]`` of one sentence: the acoustic model's streaming step under
        ``lax.scan`` over chunks of ``contract.offline_chunk(inference.chunk_frames)`` frames
        (about 1 s; voxjax.streaming adds the conv decoder and streams it)."""
        k = contract.offline_chunk(self.inference["chunk_frames"], FRAME_PAD)
        conditioning, _, frames = self.conditioning(params, sentence, speaker, pace, k)
        _, mel = self._scan_jit(params, contract.to_chunks(conditioning, k))
        return np.asarray(contract.from_chunks(mel))[0, :frames]


def make_task(config) -> TextToSpeech:
    """Registry hook: ``config.task == 'tts'``."""
    return TextToSpeech(config)
