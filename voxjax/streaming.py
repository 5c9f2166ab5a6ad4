"""Streaming speech-to-text on the streaming contract (docs/architecture.md).

``StreamingTranscriber.step(params, state, audio_chunk)`` runs the jnp log-mel front end and the
causal model's ``step`` on one fixed-size chunk; the state carries the front end's last
``n_fft - hop`` samples, every causal conv's left context, every RNN carry and the last frame's
argmax (so greedy CTC collapsing works across chunk boundaries). Offline transcription is the
same step under ``lax.scan`` over the zero-padded, chunked signal, so the two cannot drift apart.

Chunk arithmetic: a chunk of ``chunk_ms`` gives ``chunk_ms / 10`` feature frames (10 ms hop) and
``chunk_ms / 40`` RNN frames (x4 subsampling), hence chunk_ms must be a multiple of 40.
"""
from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from voxjax import audio
from voxjax.text import CharTokenizer


@dataclasses.dataclass
class Transcription:
    """One utterance's result: greedy text, its label ids and the valid log posteriors ``[T', V]``."""

    text: str
    ids: list
    log_probs: np.ndarray


_LOG_PROB_FNS: dict = {}


def _variables(params):
    """Accepts a bare params tree (what tasks keep) or a full ``{'params': ...}`` variables dict."""
    return params if "params" in params else {"params": params}


def offline_log_probs(model, params, features, lengths):
    """Any model (bi or causal): ``features [B, T, n_mels]`` -> ``(log_probs [B, T', V], lengths [B])``.

    The jitted function is cached per model (flax modules are hashable), so evaluation loops
    compile once per feature shape.
    """
    fn = _LOG_PROB_FNS.get(model)
    if fn is None:
        def apply(p, f, n):
            logits, out_lengths = model.apply(_variables(p), f, n, train=False)
            return jax.nn.log_softmax(logits, axis=-1), out_lengths
        fn = _LOG_PROB_FNS[model] = jax.jit(apply)
    return fn(params, jnp.asarray(features), jnp.asarray(lengths, jnp.int32))


class StreamingTranscriber:
    """Chunked, stateful greedy transcription with a streaming (causal) ``LanguageModel``."""

    def __init__(self, model, params, mel_cfg: audio.MelConfig, chunk_ms: int = 160,
                 tokenizer: CharTokenizer | None = None):
        """Validates the chunk size and jits the step once; raises ValueError for offline models.

        ``params``: the bare params tree or the full variables dict from ``model.init``.
        """
        if not getattr(model, "streaming", False):
            raise ValueError("cannot stream with a bidirectional/offline model (model.streaming="
                             "False); train with model.streaming=True or use offline_log_probs")
        hop_ms = 1000 * mel_cfg.hop_length / mel_cfg.sample_rate
        sub = model.subsampling
        samples = chunk_ms * mel_cfg.sample_rate / 1000
        if (chunk_ms <= 0 or samples != int(samples)
                or int(samples) % (mel_cfg.hop_length * sub)):
            raise ValueError(f"chunk_ms must be a positive multiple of {hop_ms * sub:g} ms "
                             f"(hop {hop_ms:g} ms x subsampling {sub}), got {chunk_ms}")
        self.model, self.params, self.mel_cfg = model, params, mel_cfg
        self.chunk_ms = chunk_ms
        self.chunk_samples = int(samples)
        self.chunk_frames = self.chunk_samples // mel_cfg.hop_length  # feature frames per chunk
        self.out_frames = self.chunk_frames // sub  # posteriors per chunk
        self.tokenizer = tokenizer or CharTokenizer()
        self.step = jax.jit(self._step)
        self._scan = jax.jit(self._scan_impl)

    # ------------------------------------------------------------------------- contract

    def init_state(self, batch_size: int):
        """Zero state: front-end samples, model state (conv contexts, RNN carries), last argmax."""
        state = {"mel": audio.log_mel_init_state(batch_size, self.mel_cfg),
                 "model": self.model.init_state(batch_size, self.mel_cfg.n_mels),
                 "last": jnp.zeros((batch_size,), jnp.int32)}
        # Commit the state to the params' device: the step returns committed arrays, and an
        # uncommitted first state would make jit compile the step a second time.
        leaf = jax.tree.leaves(self.params)[0]
        if isinstance(leaf, jax.Array) and leaf.committed:
            state = jax.device_put(state, next(iter(leaf.devices())))
        return state

    def _step(self, params, state, audio_chunk):
        """``audio_chunk [B, chunk_samples]`` -> ``(state, (log_probs [B,k,V], greedy_ids [B,k]))``.

        ``greedy_ids`` holds the label greedy CTC emits at each frame (argmax that is neither blank
        nor a repeat of the previous frame's argmax, across chunks too), 0 where nothing is emitted.
        """
        mel_state, feats = audio.log_mel_step(state["mel"], audio_chunk, self.mel_cfg)
        model_state, logits = self.model.apply(_variables(params), state["model"], feats,
                                               method=type(self.model).step)
        log_probs = jax.nn.log_softmax(logits, axis=-1)
        best = jnp.argmax(log_probs, axis=-1).astype(jnp.int32)  # [B, k]
        prev = jnp.concatenate([state["last"][:, None], best[:, :-1]], axis=1)
        emitted = jnp.where(best != prev, best, 0)
        new_state = {"mel": mel_state, "model": model_state, "last": best[:, -1]}
        return new_state, (log_probs, emitted)

    def _scan_impl(self, params, state, chunks):
        # chunks [N, B, chunk_samples] -> outputs stacked on a leading chunk axis.
        return jax.lax.scan(lambda s, c: self._step(params, s, c), state, chunks)

    # ------------------------------------------------------------------------- offline

    def _valid_out_frames(self, num_samples: int) -> int:
        frames = audio.num_frames(num_samples, self.mel_cfg)
        return int(self.model.output_lengths(frames))

    def transcribe_offline(self, wave):
        """Whole signal(s) via the scanned step: ``[n]`` -> Transcription, ``[B, n]`` -> list.

        The signal is zero-padded to a whole number of chunks (exactly what a stream that is
        flushed with :meth:`TranscriberSession.finish` sees), and the outputs are trimmed to the
        frames the real samples cover.
        """
        wave = np.asarray(wave, np.float32)
        single = wave.ndim == 1
        wave = wave[None] if single else wave
        batch, n = wave.shape
        num_chunks = max(1, -(-n // self.chunk_samples))
        padded = np.zeros((batch, num_chunks * self.chunk_samples), np.float32)
        padded[:, :n] = wave
        chunks = padded.reshape(batch, num_chunks, self.chunk_samples).transpose(1, 0, 2)
        _, (log_probs, emitted) = self._scan(self.params, self.init_state(batch), jnp.asarray(chunks))
        log_probs = np.asarray(log_probs).transpose(1, 0, 2, 3).reshape(batch, -1, log_probs.shape[-1])
        emitted = np.asarray(emitted).transpose(1, 0, 2).reshape(batch, -1)
        valid = self._valid_out_frames(n)
        results = []
        for b in range(batch):
            ids = [int(i) for i in emitted[b, :valid] if i]
            results.append(Transcription(self.tokenizer.decode(ids), ids, log_probs[b, :valid]))
        return results[0] if single else results

    # ------------------------------------------------------------------------- live

    def session(self) -> "TranscriberSession":
        """A Python-level single-stream session: ``feed(samples) -> text`` and ``finish() -> text``."""
        return TranscriberSession(self)


class TranscriberSession:
    """Buffers arbitrary-size sample blocks, runs the jitted step per full chunk, keeps the hypothesis."""

    def __init__(self, transcriber: StreamingTranscriber):
        """Starts from the zero state (batch 1)."""
        self.t = transcriber
        self.state = transcriber.init_state(1)
        self._pending = np.zeros((0,), np.float32)
        self._samples = 0  # real samples received
        self._log_probs: list[np.ndarray] = []
        self.ids: list[int] = []
        self.finished = False

    def _run(self, chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.state, (lp, emitted) = self.t.step(self.t.params, self.state, jnp.asarray(chunk[None]))
        return np.asarray(lp[0]), np.asarray(emitted[0])

    @property
    def text(self) -> str:
        """The running greedy hypothesis."""
        return self.t.tokenizer.decode(self.ids)

    @property
    def log_probs(self) -> np.ndarray:
        """Posteriors ``[frames, V]`` of every chunk processed so far."""
        if not self._log_probs:
            return np.zeros((0, self.t.model.vocab_size), np.float32)
        return np.concatenate(self._log_probs, axis=0)

    def feed(self, samples) -> str:
        """Adds mono float samples (any length); processes every complete chunk; returns the text."""
        if self.finished:
            raise ValueError("session already finished; start a new one")
        samples = np.asarray(samples, np.float32).reshape(-1)
        self._samples += samples.size
        self._pending = np.concatenate([self._pending, samples])
        size = self.t.chunk_samples
        while self._pending.size >= size:
            lp, emitted = self._run(self._pending[:size])
            self._pending = self._pending[size:]
            self._log_probs.append(lp)
            self.ids.extend(int(i) for i in emitted if i)
        return self.text

    def finish(self) -> str:
        """Flushes the partial chunk (zero-padded), trims to the real audio and returns the final text."""
        if not self.finished:
            if self._pending.size or not self._log_probs:
                chunk = np.zeros((self.t.chunk_samples,), np.float32)
                chunk[: self._pending.size] = self._pending
                lp, emitted = self._run(chunk)
                self._log_probs.append(lp)
                self._pending = self._pending[:0]
                valid = self.t._valid_out_frames(self._samples)
                start = sum(len(x) for x in self._log_probs[:-1])
                self.ids.extend(int(i) for i in emitted[: max(valid - start, 0)] if i)
            self.finished = True
            valid = self.t._valid_out_frames(self._samples)
            self._log_probs = [self.log_probs[:valid]]
        return self.text

    def beam_input(self):
        """``(log_probs [T', V], T')`` for a beam search over the finished stream."""
        lp = self.log_probs
        return lp, lp.shape[0]
