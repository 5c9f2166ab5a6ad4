"""Streaming runtimes on the streaming contract (``voxjax.models.contract``, docs/architecture.md).

Both directions are composite streaming models with the contract's two functions,
``init_state(params, batch)`` and ``step(params, state, chunk) -> (state, out)``; offline
inference is :func:`~voxjax.models.contract.scan_offline` of the same step, and the live sessions
are thin Python loops calling the jitted step once per chunk.

* :class:`StreamingTranscriber` (speech -> text): chunk = ``chunk_ms`` of samples; step = jnp
  log-mel front end (carrying the last ``n_fft - hop`` samples) + the causal language model's
  step + log-softmax. The CTC decoder (greedy, or prefix beam search with the text prior) is
  frame-synchronous on the host (``voxjax.decoding``): a session feeds it each chunk's
  posteriors and reads a partial hypothesis, offline decoding feeds it all frames at once, so
  ``--stream`` and offline give the same text. A chunk of ``chunk_ms`` gives ``chunk_ms / 10``
  feature frames and ``chunk_ms / 40`` RNN frames (x4 subsampling): chunk_ms must be a multiple
  of 40.
* :class:`StreamingSynthesizer` (text -> speech): the text half runs once per sentence
  (encoder + durations, then the regulated conditioning frames); chunk = a run of conditioning
  frames; step = the acoustic model's step (decoder + causal postnet), silence past the
  predicted end, the conv decoder's step. The decoder lags the mel by ``latency_samples``, so each
  sentence drops that many leading samples, runs enough extra chunks to flush them, and is cut
  at ``frames * hop`` samples. The whole text is known before the first chunk, so chunk sizes
  set no algorithmic latency: :func:`chunk_schedule` starts at ``chunk_frames`` (time to first
  audio) and doubles up to ``max_chunk_frames`` once playback is ahead, which spreads the
  step's fixed cost (dispatch, ~150 small XLA ops) over more frames.
"""
from __future__ import annotations

import dataclasses
import logging

import jax
import jax.numpy as jnp
import numpy as np

from voxjax import audio, decoding
from voxjax.models import contract
from voxjax.text import CharTokenizer, TextError, split_sentences

log = logging.getLogger(__name__)

OFFLINE_PAD_MS = 2000  # offline transcription pads signals to a multiple of this (few shapes)
MAX_UNSETTLED_CHARS = 200  # TranscriberSession.settle keeps no more text than this unsettled


def chunk_samples(model, mel_cfg: audio.MelConfig, chunk_ms: int) -> int:
    """Samples per streamed chunk of a causal language model; ValueError unless ``chunk_ms`` is a
    positive multiple of hop x subsampling (40 ms for a 10 ms hop and x4)."""
    hop_ms = 1000 * mel_cfg.hop_length / mel_cfg.sample_rate
    sub = model.subsampling
    samples = chunk_ms * mel_cfg.sample_rate / 1000
    if chunk_ms <= 0 or samples != int(samples) or int(samples) % (mel_cfg.hop_length * sub):
        raise ValueError(f"chunk_ms must be a positive multiple of {hop_ms * sub:g} ms "
                         f"(hop {hop_ms:g} ms x subsampling {sub}), got {chunk_ms}")
    return int(samples)


def chunk_schedule(first: int, largest: int, total: int) -> list[int]:
    """Chunk sizes that cover ``total`` frames: ``first``, then doubling, capped at ``largest``.

    ``chunk_schedule(10, 40, 95) == [10, 20, 40, 40]``. Every size is a multiple of ``first``
    or equals ``largest``, so a step compiles for at most ``log2(largest / first) + 2`` shapes.
    """
    sizes, size = [], first
    while sum(sizes) < total or not sizes:
        sizes.append(size)
        size = min(2 * size, max(largest, first))
    return sizes


@dataclasses.dataclass
class Transcription:
    """One utterance's result: text, its label ids and the valid log posteriors ``[T', V]``."""

    text: str
    ids: list
    log_probs: np.ndarray


class StreamingTranscriber:
    """Speech -> CTC posteriors with a causal ``LanguageModel``, chunk by chunk or scanned."""

    def __init__(self, model, params, mel_cfg: audio.MelConfig, chunk_ms: int = 160,
                 tokenizer: CharTokenizer | None = None, settings: dict | None = None,
                 prior=None):
        """Validates the chunk size and jits the step once; raises ValueError for offline models.

        ``params``: the bare params tree or the full variables dict. ``settings``: CTC decoding
        settings (an STT task's ``inference`` block; default greedy) and ``prior`` the text prior
        for the beam search.
        """
        if not getattr(model, "streaming", False):
            raise ValueError("cannot stream with a bidirectional/offline model (model.streaming="
                             "False); train with model.streaming=True")
        self.chunk_samples = chunk_samples(model, mel_cfg, chunk_ms)
        self.model, self.params, self.mel_cfg = model, params, mel_cfg
        self.chunk_ms = chunk_ms
        self.settings = settings or {"greedy": True}
        self.prior = prior
        self.tokenizer = tokenizer or CharTokenizer()
        self._model = contract.Streamer(model)
        self.step = jax.jit(self._step)
        self._scan = jax.jit(lambda p, s, c: contract.scan_offline(self._step, p, s, c))
        self._zero_states: dict[int, object] = {}

    # ------------------------------------------------------------------------- contract

    def init_state(self, params, batch: int):
        """Zero state: front-end samples and the model's conv contexts and RNN carries."""
        if batch not in self._zero_states:
            state = {"mel": audio.log_mel_init_state(batch, self.mel_cfg),
                     "model": self._model.init_state(params, batch)}
            self._zero_states[batch] = contract.place_like(state, params)
        return self._zero_states[batch]

    def _step(self, params, state, audio_chunk):
        """``audio_chunk [B, chunk_samples]`` -> ``(state, log_probs [B, k, V])``."""
        mel_state, feats = audio.log_mel_step(state["mel"], audio_chunk, self.mel_cfg)
        model_state, logits = self._model.step(params, state["model"], feats)
        return {"mel": mel_state, "model": model_state}, jax.nn.log_softmax(logits, axis=-1)

    # ------------------------------------------------------------------------- decoding

    def valid_frames(self, num_samples: int) -> int:
        """CTC frames that ``num_samples`` real samples cover (the rest is flush padding)."""
        return int(self.model.output_lengths(audio.num_frames(num_samples, self.mel_cfg)))

    def decoder(self):
        """A fresh frame-synchronous CTC decoder with this transcriber's settings."""
        return decoding.make_decoder(self.settings, self.prior)

    def transcribe_offline(self, wave):
        """Whole signal(s) via :func:`contract.scan_offline`: ``[n]`` -> Transcription,
        ``[B, n]`` -> list.

        The signal is zero-padded to whole chunks (what a stream flushed by
        :meth:`TranscriberSession.finish` sees, plus whole silent chunks so that lengths compile
        few shapes; the model is causal, so they cannot change earlier outputs), and the
        posteriors are trimmed to the frames the real samples cover.
        """
        wave = np.asarray(wave, np.float32)
        single = wave.ndim == 1
        wave = wave[None] if single else wave
        batch, n = wave.shape
        unit = self.chunk_samples * max(1, OFFLINE_PAD_MS // self.chunk_ms)
        padded = np.zeros((batch, max(1, -(-n // unit)) * unit), np.float32)
        padded[:, :n] = wave
        chunks = contract.to_chunks(jnp.asarray(padded), self.chunk_samples)
        _, log_probs = self._scan(self.params, self.init_state(self.params, batch), chunks)
        log_probs = np.asarray(contract.from_chunks(log_probs))[:, : self.valid_frames(n)]
        results = []
        for lp in log_probs:
            decoder = self.decoder()
            decoder.advance(lp)
            ids = decoder.finish()
            results.append(Transcription(self.tokenizer.decode(ids), ids, lp))
        return results[0] if single else results

    def session(self, keep_log_probs: bool = True) -> "TranscriberSession":
        """A single-stream live session: ``feed(samples) -> partial text``, ``finish() -> text``
        (see :class:`TranscriberSession` for ``keep_log_probs``)."""
        return TranscriberSession(self, keep_log_probs)


class TranscriberSession:
    """Buffers arbitrary-size sample blocks, runs the jitted step per full chunk and feeds the
    frame-synchronous decoder; the partial hypothesis is readable after every chunk."""

    def __init__(self, transcriber: StreamingTranscriber, keep_log_probs: bool = True):
        """Starts from the zero state (batch 1). ``keep_log_probs=False``: :attr:`log_probs`
        stays empty, so a session of any length holds a bounded amount of memory (with
        :meth:`settle` taking the text out as it becomes final)."""
        self.t = transcriber
        self.state = transcriber.init_state(transcriber.params, 1)
        self.decoder = transcriber.decoder()
        self._pending = np.zeros((0,), np.float32)
        self._samples = 0  # real samples received
        self._frames = 0  # posterior frames fed to the decoder
        self.keep_log_probs = keep_log_probs
        self._log_probs: list[np.ndarray] = []
        self._text_ids: list[int] = []  # the hypothesis last turned into text ...
        self._text_pieces: list[str] = []  # ... and its symbols, one string per id
        self._taken_final = 0  # ids of the final hypothesis that settle() has taken
        self.finished = False

    def _run(self, chunk: np.ndarray) -> np.ndarray:
        # numpy in (jit's own transfer; jnp.asarray would dispatch a device_put op first) and
        # one host copy out (lp[0] would dispatch a device slice first).
        self.state, lp = self.t.step(self.t.params, self.state, chunk[None])
        return np.asarray(lp)[0]

    def _accept(self, lp: np.ndarray) -> None:
        if self.keep_log_probs:
            self._log_probs.append(lp)
        self.decoder.advance(lp)
        self._frames += len(lp)

    @property
    def text(self) -> str:
        """The current hypothesis (partial until :meth:`finish`), after the text
        :meth:`settle` has taken."""
        return "".join(self._pieces())

    def _pieces(self) -> list[str]:
        """The current hypothesis as one string per id."""
        ids = self.decoder.finish() if self.finished else self.decoder.partial()
        ids = ids[self._taken_final:]
        # Decode only what changed since the last call: hypotheses mostly grow at the end, and
        # decoding the whole of a long one after every chunk would cost O(length) each time.
        keep = min(len(ids), len(self._text_ids))
        while keep and ids[:keep] != self._text_ids[:keep]:
            keep = max(0, keep - 8)  # beam search revised the tail: step back a few symbols
        decode = self.t.tokenizer.decode
        self._text_pieces = self._text_pieces[:keep] + [decode([i]) for i in ids[keep:]]
        self._text_ids = list(ids)
        return self._text_pieces

    def settle(self, limit: int = MAX_UNSETTLED_CHARS) -> str:
        """Takes the start of the hypothesis that no later audio can change, up to its last
        space, out of the session and returns it; :attr:`text` then holds only the rest. The
        settled pieces and the last text join up to what the session would have given without
        settling. The rest is kept under ``limit`` characters: past it, the settled text is
        taken even mid-word (noise can make one endless "word"), and a beam search commits to
        its best beam (``decoder.commit``: the one case where a stream's text can differ from
        the offline one). After :meth:`finish` the whole rest is settled."""
        pieces = self._pieces()
        if not self.finished and len(pieces) > limit:
            self.decoder.commit(len(pieces) - limit)
        stable = len(pieces) if self.finished else self.decoder.stable()
        cut = next((i + 1 for i in range(stable - 1, -1, -1) if pieces[i].endswith(" ")), 0)
        if self.finished or len(pieces) - cut > limit:
            cut = stable
        if not cut:
            return ""
        if self.finished:  # the final hypothesis no longer changes: skip what was taken
            self._taken_final += cut
        else:
            self.decoder.drop(cut)
        settled = "".join(pieces[:cut])
        del self._text_ids[:cut], self._text_pieces[:cut]
        return settled

    @property
    def log_probs(self) -> np.ndarray:
        """Posteriors ``[frames, V]`` of every frame decoded so far (kept unless the session
        was made with ``keep_log_probs=False``)."""
        if not self._log_probs:
            return np.zeros((0, self.t.model.vocab_size), np.float32)
        return np.concatenate(self._log_probs, axis=0)

    def feed(self, samples) -> str:
        """Adds mono float samples (any length); processes every complete chunk; returns the
        partial text."""
        if self.finished:
            raise ValueError("session already finished; start a new one")
        samples = np.asarray(samples, np.float32).reshape(-1)
        self._samples += samples.size
        self._pending = np.concatenate([self._pending, samples])
        size = self.t.chunk_samples
        while self._pending.size >= size:
            lp = self._run(self._pending[:size])
            self._pending = self._pending[size:]
            self._accept(lp)
        return self.text

    def finish(self) -> str:
        """Flushes the partial chunk (zero-padded), keeps only the frames the real samples cover
        and returns the final text."""
        if not self.finished:
            if self._pending.size or not self._frames:  # nothing yet: one silent chunk
                chunk = np.zeros((self.t.chunk_samples,), np.float32)
                chunk[: self._pending.size] = self._pending
                lp = self._run(chunk)
                self._pending = self._pending[:0]
                self._accept(lp[: max(self.t.valid_frames(self._samples) - self._frames, 0)])
            self.finished = True
        return self.text


# ============================================================================ text to speech

class StreamingSynthesizer:
    """Text -> audio: acoustic model step and conv decoder step over one carried state.

    ``params = {'acoustic': tts params, 'decoder': decoder params}``; a chunk is
    ``{'conditioning': [B, k, D + 2], 'mask': [B, k]}`` (regulated text frames and which of them
    are speech); the step returns ``(log_mel [B, k, n_mels], wave [B, k * hop])``.
    :meth:`synthesize` scans it over a sentence, :meth:`stream` calls it chunk by chunk
    (sizes from :func:`chunk_schedule`).
    """

    def __init__(self, tts_task, tts_params, decoder, decoder_params, chunk_frames: int = 10,
                 max_chunk_frames: int | None = None):
        """``tts_task``: a ``voxjax.tasks.tts.TextToSpeech``; ``decoder``: a causal
        ``ConvDecoder`` with matching mel settings; ``chunk_frames``: the first chunk of every
        sentence, a multiple of the acoustic model's reduction (10 frames = 100 ms);
        ``max_chunk_frames``: where the doubling of later chunks stops (None = ``chunk_frames``,
        every chunk the same size)."""
        self.task = tts_task
        self.params = {"acoustic": tts_params, "decoder": contract.variables(decoder_params)}
        self.mel_cfg = tts_task.mel
        model = tts_task.model
        max_chunk_frames = max_chunk_frames or chunk_frames
        tts_task.check_chunk_frames(chunk_frames)
        tts_task.check_chunk_frames(max_chunk_frames, "max_chunk_frames")
        if max_chunk_frames < chunk_frames:
            raise ValueError(f"max_chunk_frames ({max_chunk_frames}) is smaller than "
                             f"chunk_frames ({chunk_frames})")
        if decoder.hop_length != self.mel_cfg.hop_length or decoder.n_mels != self.mel_cfg.n_mels:
            raise ValueError(f"decoder expects {decoder.n_mels} mels at hop {decoder.hop_length}, "
                             f"the acoustic model makes {self.mel_cfg.n_mels} at hop "
                             f"{self.mel_cfg.hop_length}")
        self.chunk_frames, self.max_chunk_frames = chunk_frames, max_chunk_frames
        self.hop = self.mel_cfg.hop_length
        self.latency = int(decoder.latency_samples)
        self.silence = float(np.log(audio.LOG_FLOOR))
        self._acoustic, self._decoder = contract.Streamer(model), contract.Streamer(decoder)
        self._zero_state = None
        self.step = jax.jit(self._step)
        self._scan = jax.jit(lambda p, s, c: contract.scan_offline(self._step, p, s, c))

    @property
    def sample_rate(self) -> int:
        """Output sample rate (the mel config's)."""
        return self.mel_cfg.sample_rate

    def init_state(self, params, batch: int = 1):
        """Zero state: acoustic decoder carry and conv decoder state (batch 1 is cached)."""
        if batch != 1 or self._zero_state is None:
            state = contract.place_like(
                {"acoustic": self._acoustic.init_state(params["acoustic"], batch),
                 "decoder": self._decoder.init_state(params["decoder"], batch)}, params)
            if batch != 1:
                return state
            self._zero_state = state
        return self._zero_state

    def _step(self, params, state, chunk):
        acoustic_state, mel = self._acoustic.step(params["acoustic"], state["acoustic"],
                                                  chunk["conditioning"])
        mel = jnp.where(chunk["mask"][..., None], mel, self.silence)
        decoder_state, wave = self._decoder.step(params["decoder"], state["decoder"], mel)
        return {"acoustic": acoustic_state, "decoder": decoder_state}, (mel, wave)

    def _sentences(self, text: str) -> list[str]:
        """Speakable sentences of ``text``; unspeakable ones (e.g. only emoji) are skipped with
        a warning, and if none is left the first one's TextError is raised."""
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

    def _conditioning(self, sentence: str, speaker: str | None, pace: float | None,
                      chunk_frames: int):
        """``(conditioning [1, T, D + 2], mask [1, T], speech frames, frames to run)``: the
        frames to run cover the speech and the decoder's lag; ``T`` is at least that."""
        lag = -(-self.latency // self.hop)
        conditioning, mask, frames = self.task.conditioning(
            self.params["acoustic"], sentence, speaker, pace, chunk_frames, lag)
        return conditioning, mask, frames, frames + lag

    def stream(self, text: str, speaker: str | None = None, pace: float | None = None):
        """Yields float32 audio chunks (``chunk_schedule`` sizes times ``hop`` samples, fewer at
        sentence edges) as soon as each is computed. Raises TextError/ValueError before the first
        chunk for unusable text or an unknown speaker."""
        sentences = self._sentences(text)  # fail fast: text and speaker before any audio
        self.task.speaker_id(speaker)
        for sentence in sentences:
            conditioning, mask, frames, needed = self._conditioning(sentence, speaker, pace,
                                                                    self.chunk_frames)
            sizes = chunk_schedule(self.chunk_frames, self.max_chunk_frames, needed)
            pad = ((0, 0), (0, max(0, sum(sizes) - conditioning.shape[1])))
            # Host arrays, so that taking a chunk is a numpy slice, not a device op; the padding
            # is what regulation gives past the speech (zeros, masked).
            conditioning = np.pad(np.asarray(conditioning), pad + ((0, 0),))
            mask = np.pad(np.asarray(mask), pad)
            starts = np.cumsum([0, *sizes[:-1]])
            chunks = [{"conditioning": conditioning[:, a: a + k], "mask": mask[:, a: a + k]}
                      for a, k in zip(starts, sizes)]
            skip, left = self.latency, frames * self.hop
            pending = self.step(self.params, self.init_state(self.params), chunks[0])
            for c in range(len(chunks)):
                state, (_, wave) = pending
                if c + 1 < len(chunks):
                    # Dispatch the next chunk before waiting on this one: it computes while
                    # this one is copied out and yielded (jax dispatches asynchronously).
                    pending = self.step(self.params, state, chunks[c + 1])
                wave = np.asarray(wave)[0]  # host copy, then slice (no device op)
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
        """Offline, the step under ``lax.scan`` in chunks of about 1 s
        (``contract.offline_chunk``): ``(wave [n], log_mels per sentence [T_i, n_mels])``;
        equals the concatenated :meth:`stream` output."""
        waves, mels = [], []
        offline_frames = contract.offline_chunk(self.chunk_frames)
        for sentence in self._sentences(text):
            conditioning, mask, frames, _ = self._conditioning(sentence, speaker, pace,
                                                               offline_frames)
            chunks = {"conditioning": contract.to_chunks(conditioning, offline_frames),
                      "mask": contract.to_chunks(mask, offline_frames)}
            _, (mel, wave) = self._scan(self.params, self.init_state(self.params), chunks)
            wave = np.asarray(contract.from_chunks(wave))[0]
            waves.append(wave[self.latency: self.latency + frames * self.hop])
            mels.append(np.asarray(contract.from_chunks(mel))[0, :frames])
        return np.concatenate(waves), mels


# ============================================================================ speech to speech

class StreamingConverter:
    """Speech -> speech in another voice: log-mel front end, the frozen causal language model's
    outputs (content: posteriors or a bottleneck), the conversion model and the conv decoder,
    over one carried state.

    ``params = {'content', 'vc', 'decoder'}``; a chunk is ``{'audio': [B, chunk_samples],
    'speaker': [B, S]}`` (the target's speaker vector, the same every chunk); the step returns
    ``(log_mel [B, k, n_mels], wave [B, k * hop])`` with ``k = chunk_samples / hop``. Output
    sample ``i`` renders input sample ``i - latency`` (the conversion model's
    ``lookahead_frames`` hops plus the decoder's ``latency_samples``);
    :meth:`convert` drops those leading samples and flushes them with silent chunks, so its
    output lines up with the input sample for sample. :meth:`session` is a live stream
    (``feed`` samples as they arrive, converted samples come back per whole chunk);
    :meth:`convert` with ``stream=True`` runs one, otherwise ``contract.scan_offline`` of the
    same step: the two give the same samples.
    """

    def __init__(self, vc_task, vc_params, decoder, decoder_params, chunk_ms: int | None = None):
        """``vc_task``: a ``voxjax.tasks.vc.ConversionTask`` (its content network loaded);
        ``decoder``: a causal ``ConvDecoder`` with the same mel settings; ``chunk_ms``: a
        multiple of the content model's 40 ms (None = the task's ``inference.chunk_ms``)."""
        content = vc_task.content_task
        self.task, self.mel_cfg = vc_task, vc_task.mel
        if decoder.hop_length != self.mel_cfg.hop_length or decoder.n_mels != self.mel_cfg.n_mels:
            raise ValueError(f"decoder expects {decoder.n_mels} mels at hop {decoder.hop_length}, "
                             f"the conversion model makes {self.mel_cfg.n_mels} at hop "
                             f"{self.mel_cfg.hop_length}")
        self.chunk_ms = chunk_ms or vc_task.inference["chunk_ms"]
        self.chunk_samples = chunk_samples(content.model, self.mel_cfg, self.chunk_ms)
        # The conversion model renders its input lookahead_frames late, the decoder its own.
        self.latency = (int(decoder.latency_samples)
                        + vc_task.model.lookahead_frames * self.mel_cfg.hop_length)
        self.params = {"content": contract.variables(vc_task.content_params),
                       "vc": contract.variables(vc_params),
                       "decoder": contract.variables(decoder_params)}
        self._vc, self._decoder = contract.Streamer(vc_task.model), contract.Streamer(decoder)
        self.step = jax.jit(self._step)
        self._scan = jax.jit(lambda p, s, c: contract.scan_offline(self._step, p, s, c))

    @property
    def sample_rate(self) -> int:
        """Input and output sample rate (the mel config's)."""
        return self.mel_cfg.sample_rate

    def init_state(self, params, batch: int = 1):
        """Zero state of every stage: front-end samples, content model, conversion, decoder."""
        return contract.place_like(
            {"mel": audio.log_mel_init_state(batch, self.mel_cfg),
             "content": self.task.content_init_state(params["content"], batch),
             "vc": self._vc.init_state(params["vc"], batch),
             "decoder": self._decoder.init_state(params["decoder"], batch)}, params)

    def _step(self, params, state, chunk):
        mel_state, feats = audio.log_mel_step(state["mel"], chunk["audio"], self.mel_cfg)
        content_state, content = self.task.content_step(params["content"], state["content"], feats)
        vc_state, mel = self._vc.step(params["vc"], state["vc"], {
            "content": content, "speaker": chunk["speaker"], "energy": feats.mean(-1)})
        decoder_state, wave = self._decoder.step(params["decoder"], state["decoder"], mel)
        return ({"mel": mel_state, "content": content_state, "vc": vc_state,
                 "decoder": decoder_state}, (mel, wave))

    def convert(self, wave, rate: int, speaker: str | None = None, stream: bool = False,
                reference: np.ndarray | None = None) -> np.ndarray:
        """One recording in the voice of ``speaker`` (a training speaker; None = the default) or
        of a ``reference`` recording at the same ``rate`` (conversion models trained with
        ``vc.speaker='embedding'``): float32 samples at :attr:`sample_rate`, as many as the
        input has after resampling."""
        wave = audio.prepare_wave(wave, rate, self.sample_rate, "source recording")
        if stream:
            session = self.session(speaker, reference, rate)
            out = [session.feed(wave[i:i + self.chunk_samples])
                   for i in range(0, len(wave), self.chunk_samples)]
            return np.concatenate(out + [session.finish()])
        vector = self.task.target_vector(speaker, reference, rate)
        size, n = self.chunk_samples, len(wave)
        chunks = -(-(n + self.latency) // size)  # the input, then silence to flush the lag
        per_second = max(1, self.sample_rate // size)  # whole seconds of chunks: one compile
        chunks = -(-chunks // per_second) * per_second  # per second of input, not per file
        padded = np.zeros((1, chunks * size), np.float32)
        padded[0, :n] = wave
        steps = {"audio": contract.to_chunks(jnp.asarray(padded), size),
                 "speaker": jnp.broadcast_to(vector, (chunks, *vector.shape))}
        _, (_, out) = self._scan(self.params, self.init_state(self.params), steps)
        return np.asarray(contract.from_chunks(out))[0, self.latency: self.latency + n]

    def session(self, speaker: str | None = None, reference: np.ndarray | None = None,
                rate: int | None = None) -> "ConverterSession":
        """A single-stream live session into one target voice (:meth:`convert` for the
        arguments): ``feed(samples) -> converted samples``, ``finish() -> the rest``."""
        return ConverterSession(self, self.task.target_vector(speaker, reference, rate))


class ConverterSession:
    """Buffers arbitrary-size blocks of samples at the converter's rate, runs the jitted step
    per full chunk and returns the converted audio as it is made. Output is aligned with the
    input: the first ``latency`` samples (rendering input before time zero) are
    dropped, and :meth:`finish` flushes the last ones with silence, so the feeds and the finish
    together return exactly as many samples as were fed (the same samples as the offline
    :meth:`StreamingConverter.convert`)."""

    def __init__(self, converter: StreamingConverter, vector: np.ndarray):
        self.c, self.vector = converter, vector
        self.state = converter.init_state(converter.params)
        self._pending = np.zeros((0,), np.float32)
        self._received = 0  # input samples fed
        self._made = 0  # output samples the steps have made, the dropped lag included
        self.finished = False

    def _run(self, chunk: np.ndarray) -> np.ndarray:
        self.state, (_, out) = self.c.step(self.c.params, self.state,
                                           {"audio": chunk[None], "speaker": self.vector})
        out = np.asarray(out)[0]
        drop = max(0, min(len(out), self.c.latency - self._made))
        self._made += len(out)
        return out[drop:]

    def feed(self, samples) -> np.ndarray:
        """Adds mono float samples (any length); returns the converted samples made so far."""
        if self.finished:
            raise ValueError("session already finished; start a new one")
        samples = np.asarray(samples, np.float32).reshape(-1)
        self._received += samples.size
        self._pending = np.concatenate([self._pending, samples])
        size, pieces = self.c.chunk_samples, []
        while self._pending.size >= size:
            pieces.append(self._run(self._pending[:size]))
            self._pending = self._pending[size:]
        return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)

    def finish(self) -> np.ndarray:
        """Ends the input: pads it with silence until every fed sample is rendered; returns the
        rest of the output (the total is exactly the number of samples fed)."""
        if self.finished:
            return np.zeros(0, np.float32)
        self.finished = True
        size, pieces = self.c.chunk_samples, []
        wanted = self._received + self.c.latency
        while self._made < wanted:
            chunk = np.zeros(size, np.float32)
            chunk[: self._pending.size] = self._pending[:size]
            self._pending = self._pending[size:]
            pieces.append(self._run(chunk))
        out = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        return out[: len(out) - (self._made - wanted)]  # the last chunk overshoots the input
