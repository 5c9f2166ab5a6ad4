"""Judges of produced speech: speech recognisers that read the words (this project's STT model,
pocketsphinx), DNSMOS for naturalness, and a speaker model for the voice. The optional ones
come with the ``eval`` extra; each is loaded once per evaluation."""
from __future__ import annotations

import dataclasses
from typing import Callable

import librosa
import numpy as np

from voxjax import inference, text


@dataclasses.dataclass
class Judge:
    """A named speech recogniser: ``transcribe(wave) -> normalised text``."""

    name: str
    transcribe: Callable[[np.ndarray], str]


def stt_judge(workdir: str, beam: bool = True) -> Judge:
    """This project's STT model from ``workdir`` (its beam settings + text prior, or greedy)."""
    transcriber = inference.Transcriber(workdir, greedy=not beam)
    return Judge("stt_beam" if beam else "stt_greedy", transcriber.transcribe_wave)


def pocketsphinx_judge(sample_rate: int = 16000) -> Judge | None:
    """pocketsphinx's bundled English model, or None when the ``eval`` extra is missing."""
    try:
        from pocketsphinx import Decoder
    except ImportError:
        return None
    decoder = Decoder(samprate=sample_rate)

    def transcribe(wave: np.ndarray) -> str:
        decoder.start_utt()
        decoder.process_raw((np.clip(wave, -1, 1) * 32767).astype("<i2").tobytes(),
                            full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return text.normalize(hyp.hypstr) if hyp is not None else ""

    return Judge("pocketsphinx", transcribe)


DNSMOS_RATE = 16000  # the rate speechmos's DNSMOS models take


def dnsmos_scorer():
    """``score(wave, sample_rate) -> {'dnsmos_sig', 'dnsmos_bak', 'dnsmos_ovrl',
    'dnsmos_p808'}``: Microsoft's DNSMOS (P.835 signal, background, overall; P.808), from the
    ONNX models that ship inside the ``speechmos`` wheel (no download). None when the ``eval``
    extra is not installed. speechmos keeps its ONNX sessions after the first call, the slow
    one (model loading), so one evaluation loads them once."""
    try:
        from speechmos import dnsmos
    except ImportError:
        return None

    def score(wave: np.ndarray, sample_rate: int) -> dict[str, float]:
        wave = np.asarray(wave, np.float32)
        if sample_rate != DNSMOS_RATE:
            wave = librosa.resample(wave, orig_sr=sample_rate, target_sr=DNSMOS_RATE)
        result = dnsmos.run(np.clip(wave, -1.0, 1.0), DNSMOS_RATE)
        return {f"dnsmos_{key}": float(result[f"{key}_mos"])
                for key in ("sig", "bak", "ovrl", "p808")}
    return score



def words_judge(judge_workdir: str, sample_rate: int):
    """An STT workdir's beam search, or pocketsphinx for ``'pocketsphinx'``."""
    if judge_workdir != "pocketsphinx":
        return stt_judge(judge_workdir, beam=True)
    judge = pocketsphinx_judge(sample_rate)
    if judge is None:
        raise ValueError("the pocketsphinx judge needs the eval extra: pip install -e '.[eval]'")
    return judge


class SpeakerJudge:
    """Embeddings and identification with a trained speaker workdir."""

    def __init__(self, workdir: str):
        _, self.task, self.params = inference.load_workdir(workdir)
        classes = np.asarray(self.params["classes"], np.float64)
        self.classes = classes / np.linalg.norm(classes, axis=-1, keepdims=True)

    def embed(self, wave: np.ndarray, rate: int) -> np.ndarray:
        return np.asarray(self.task.embed(self.params, wave, rate), np.float64)

    def vector(self, target, rate: int) -> np.ndarray:
        """The voice vector of a conversion target (:class:`voxjax.evaluation.conversion.Target`):
        a reference clip's embedding, or a training speaker's class vector."""
        if target.reference is not None:
            return self.embed(target.reference, rate)
        return self.classes[self.task.speaker_id(target.name)]

    def nearest(self, embedding: np.ndarray) -> str:
        return self.task.speakers[int(np.argmax(self.classes @ embedding))]

    def class_vector(self, name: str) -> np.ndarray | None:
        known = name in self.task.speakers
        return self.classes[self.task.speaker_id(name)] if known else None
