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
import logging

import jax
import jax.numpy as jnp
import numpy as np

from voxjax import audio
from voxjax.text import CharTokenizer

log = logging.getLogger(__name__)


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


# ============================================================================ text to speech

class StreamingSynthesizer:
    """Text -> audio in chunks: acoustic decoder, postnet and conv decoder over one carried state.

    Per sentence (long text is split with :func:`voxjax.text.split_sentences`), the text half
    runs once (encoder + durations, ``tts.encode``); then every chunk of ``chunk_frames`` mel
    frames is one jitted call of :meth:`step`: regulate that chunk's frames, run the
    autoregressive decoder and causal postnet (``acoustic_model.generate_chunk``), replace frames
    past the predicted end by silence, and run the conv decoder's ``step``. The decoder's output
    lags the mel by ``latency_samples``, so each sentence drops that many leading samples, is fed
    enough trailing silent frames to flush them, and is cut at ``frames * hop`` samples.

    :meth:`synthesize` is the offline path over the same functions with one ``lax.scan`` and one
    conv-decoder call per sentence; :meth:`stream` concatenates to it (tested).
    """

    def __init__(self, tts_task, tts_params, decoder, decoder_params, chunk_frames: int = 10):
        """``tts_task``: a ``voxjax.tasks.tts.TextToSpeech``; ``decoder``: a causal
        ``ConvDecoder`` with matching mel settings; ``chunk_frames``: a multiple of the acoustic
        model's reduction (10 frames = 100 ms)."""
        from voxjax.models import acoustic_model
        self._acoustic = acoustic_model
        self.task, self.tts_params = tts_task, tts_params
        self.decoder, self.decoder_params = decoder, _variables(decoder_params)
        self.mel_cfg = tts_task.mel
        self.model = tts_task.model
        r = self.model.reduction
        if chunk_frames <= 0 or chunk_frames % r:
            raise ValueError(f"chunk_frames must be a positive multiple of the acoustic model's "
                             f"reduction ({r}), got {chunk_frames}")
        if decoder.hop_length != self.mel_cfg.hop_length or decoder.n_mels != self.mel_cfg.n_mels:
            raise ValueError(f"decoder expects {decoder.n_mels} mels at hop {decoder.hop_length}, "
                             f"the acoustic model makes {self.mel_cfg.n_mels} at hop "
                             f"{self.mel_cfg.hop_length}")
        self.chunk_frames = chunk_frames
        self.hop = self.mel_cfg.hop_length
        self.latency = int(decoder.latency_samples)
        self.silence = float(np.log(audio.LOG_FLOOR))
        self._zero_state = None
        self.step = jax.jit(self._step)
        self._offline = jax.jit(self._offline_impl, static_argnums=(4,))

    @property
    def sample_rate(self) -> int:
        """Output sample rate (the mel config's)."""
        return self.mel_cfg.sample_rate

    def init_state(self):
        """Zero state of one stream: acoustic decoder carry and conv decoder state."""
        if self._zero_state is None:  # the decoder derives its state by tracing: do it once
            self._zero_state = {"acoustic": self.model.init_state(1),
                                "decoder": self.decoder.init_state(1)}
        return self._zero_state

    def _frames(self, tts_params, state, h, durations, start, num_frames: int):
        conditioning, mask = self._acoustic.regulate_length(h, durations, num_frames, start)
        acoustic_state, mel = self._acoustic.generate_chunk(self.model, {"params": tts_params},
                                                            state, conditioning)
        return acoustic_state, jnp.where(mask[..., None], mel, self.silence)

    def _step(self, tts_params, decoder_params, state, h, durations, start):
        """One chunk: ``-> (state, (log_mel [1, k, n_mels], wave [1, k * hop]))``."""
        acoustic_state, mel = self._frames(tts_params, state["acoustic"], h, durations, start,
                                           self.chunk_frames)
        decoder_state, wave = self.decoder.apply(decoder_params, state["decoder"], mel,
                                                 method=type(self.decoder).step)
        return {"acoustic": acoustic_state, "decoder": decoder_state}, (mel, wave)

    def _offline_impl(self, tts_params, decoder_params, h, durations, num_frames: int):
        _, mel = self._frames(tts_params, self.model.init_state(1), h, durations, 0, num_frames)
        return mel, self.decoder.apply(decoder_params, mel)

    def _plan(self, sentence: str, speaker: str | None, pace: float | None):
        h, durations = self.task.encode(self.tts_params, sentence, speaker, pace)
        frames = int(np.sum(durations))
        # Enough chunks to cover the speech plus the decoder's lag.
        chunks = -(-(frames + -(-self.latency // self.hop)) // self.chunk_frames)
        return h, durations, frames, chunks

    def _sentences(self, text: str) -> list[str]:
        """Speakable sentences of ``text``; unspeakable ones (e.g. only emoji) are skipped with
        a warning, and if none is left the first one's TextError is raised."""
        from voxjax.text import TextError, split_sentences
        sentences = split_sentences(text) if isinstance(text, str) else []
        if not sentences:
            self.task.token_batch(text)  # raises the TextError that names the problem
        kept, first_error = [], None
        for sentence in sentences:
            try:
                self.task.token_batch(sentence)
                kept.append(sentence)
            except TextError as e:
                first_error = first_error or e
                log.warning("skipping unspeakable sentence %r: %s", sentence[:40], e)
        if not kept:
            raise first_error
        return kept

    def stream(self, text: str, speaker: str | None = None, pace: float | None = None):
        """Yields float32 audio chunks (``chunk_frames * hop`` samples, fewer at sentence
        edges) as soon as each is computed. Raises TextError/ValueError before the first chunk
        for unusable text or an unknown speaker."""
        sentences = self._sentences(text)  # fail fast: text and speaker before any audio
        self.task.speaker_id(speaker)
        for sentence in sentences:
            h, durations, frames, chunks = self._plan(sentence, speaker, pace)
            state, skip, left = self.init_state(), self.latency, frames * self.hop
            for c in range(chunks):
                state, (_, wave) = self.step(self.tts_params, self.decoder_params, state, h,
                                             durations, jnp.int32(c * self.chunk_frames))
                wave = np.asarray(wave[0])
                dropped = min(skip, wave.size)
                wave, skip = wave[dropped:], skip - dropped
                wave = wave[:left]
                left -= wave.size
                if wave.size:
                    yield wave
                if left == 0:
                    break

    def synthesize(self, text: str, speaker: str | None = None, pace: float | None = None
                   ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Offline: ``(wave [n], log_mels per sentence [T_i, n_mels])``; equals the
        concatenated :meth:`stream` output."""
        waves, mels = [], []
        for sentence in self._sentences(text):
            h, durations, frames, chunks = self._plan(sentence, speaker, pace)
            # Pad to whole seconds so sentences compile a few shapes; the extra frames are
            # silence after the speech, and everything is causal, so the kept part is unchanged.
            num_frames = -(-chunks * self.chunk_frames // 100) * 100
            mel, wave = self._offline(self.tts_params, self.decoder_params, h, durations,
                                      num_frames)
            waves.append(np.asarray(wave[0, self.latency: self.latency + frames * self.hop]))
            mels.append(np.asarray(mel[0, :frames]))
        return np.concatenate(waves), mels
