"""Conversion via text, the baseline for direct conversion: streaming STT -> words as they
become final -> streaming TTS in the target voice.

The transcriber decodes greedily: a greedy CTC hypothesis only ever grows, so every word
followed by a space is final the moment it appears, and the session hands those words to the
synthesizer at once (``min_words`` at a time; the rest at :meth:`ViaTextSession.finish`). The
words are spoken anew: timing, rhythm and energy of the source are lost, and so is anything
the recogniser got wrong; what it keeps is the target voice, exactly as the TTS model has it.
Output is not sample-aligned with the input (it is as long as the TTS makes it).
"""
from __future__ import annotations

import time

import numpy as np

from voxjax import audio, text as textlib


class ViaTextConverter:
    """A greedy :class:`voxjax.streaming.StreamingTranscriber` and a
    :class:`voxjax.streaming.StreamingSynthesizer` with the same sample rate."""

    def __init__(self, transcriber, synthesizer, min_words: int = 1):
        if transcriber.settings.get("greedy") is not True:
            raise ValueError("conversion via text needs a greedy transcriber: a beam search may "
                             "revise words it has already shown")
        if transcriber.mel_cfg.sample_rate != synthesizer.sample_rate:
            raise ValueError(f"the STT model reads {transcriber.mel_cfg.sample_rate} Hz, the TTS "
                             f"model makes {synthesizer.sample_rate} Hz")
        self.transcriber, self.synthesizer, self.min_words = transcriber, synthesizer, min_words

    @property
    def sample_rate(self) -> int:
        """Input and output sample rate."""
        return self.synthesizer.sample_rate

    @property
    def chunk_samples(self) -> int:
        """The transcriber's input chunk."""
        return self.transcriber.chunk_samples

    def session(self, speaker: str | None = None) -> "ViaTextSession":
        """A live session into the TTS voice ``speaker`` (None = its default)."""
        self.synthesizer.task.speaker_id(speaker)  # unknown voices fail before any audio
        return ViaTextSession(self, speaker)

    def convert(self, wave, rate: int, speaker: str | None = None, stream: bool = True,
                reference: np.ndarray | None = None) -> np.ndarray:
        """One recording, fed chunk by chunk as a live session would (``stream`` is accepted
        for the direct converter's signature: this path always streams): the words it holds
        spoken in ``speaker``'s voice (empty when no word was recognised)."""
        del stream
        if reference is not None:
            raise ValueError("conversion via text speaks in the TTS model's training voices; "
                             "it cannot take a reference recording")
        wave = audio.prepare_wave(wave, rate, self.sample_rate, "source recording")
        session, pieces = self.session(speaker), []
        for start in range(0, len(wave), self.chunk_samples):
            pieces += session.feed(wave[start:start + self.chunk_samples])
        pieces += session.finish()
        return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)


class ViaTextSession:
    """``feed(samples) -> [audio chunks]``, ``finish() -> [audio chunks]``; :attr:`events` logs
    when each group of words became final (input samples so far) and what it cost."""

    def __init__(self, converter: ViaTextConverter, speaker: str | None):
        self.c, self.speaker = converter, speaker
        self.stt = converter.transcriber.session()
        self.spoken = 0  # characters of the transcript already handed to the synthesizer
        self.samples = 0
        self.events: list[dict] = []

    def _speak(self, upto: int) -> list[np.ndarray]:
        words = self.stt.text[self.spoken:upto].strip()
        self.spoken = upto
        if not words:
            return []
        start = time.perf_counter()
        chunks, first = [], None
        try:
            for chunk in self.c.synthesizer.stream(words, self.speaker):
                chunks.append(chunk)
                first = first if first is not None else time.perf_counter() - start
        except textlib.TextError:  # e.g. a lone apostrophe: nothing the TTS can say
            pass
        self.events.append({"words": words, "input_samples": self.samples,
                            "first_audio_s": first, "synthesis_s": time.perf_counter() - start,
                            "output_samples": int(sum(len(c) for c in chunks))})
        return chunks

    def feed(self, samples) -> list[np.ndarray]:
        """Adds input samples; returns the audio of the words that became final."""
        samples = np.asarray(samples, np.float32).reshape(-1)
        self.samples += samples.size
        text = self.stt.feed(samples)
        end = text.rfind(" ")
        if end > self.spoken and len(text[self.spoken:end].split()) >= self.c.min_words:
            return self._speak(end)
        return []

    def finish(self) -> list[np.ndarray]:
        """Ends the input; returns the audio of the words not spoken yet."""
        text = self.stt.finish()
        return self._speak(len(text))
