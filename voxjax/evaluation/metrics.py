"""Metrics: error rates (jiwer), latency, mel-cepstral distortion, the Griffin-Lim baseline and
markdown tables of results."""
from __future__ import annotations

import math
import time

import jiwer
import librosa
import numpy as np


def error_rates(references: list[str], hypotheses: list[str]) -> dict[str, float]:
    """Corpus-level CER and WER (jiwer) over normalised strings; empty references are skipped.

    Errors are summed over the corpus before dividing (not averaged per utterance), as in ESPnet
    and NeMo reports.
    """
    pairs = [(r, h) for r, h in zip(references, hypotheses) if r.strip()]
    if not pairs:
        return {"cer": float("nan"), "wer": float("nan")}
    refs, hyps = zip(*pairs)
    return {"cer": float(jiwer.cer(list(refs), list(hyps))),
            "wer": float(jiwer.wer(list(refs), list(hyps)))}


def latency_summary(seconds: list[float]) -> dict[str, float]:
    """Median and 95th percentile (in milliseconds) of a list of timings in seconds."""
    arr = np.asarray(seconds, np.float64) * 1e3
    return {"median_ms": float(np.median(arr)), "p95_ms": float(np.percentile(arr, 95))}


class Stopwatch:
    """Context manager that records wall time; block on JAX results inside the block."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    """Rows of dicts as a GitHub markdown table (floats to 4 significant digits)."""
    def fmt(v):
        return f"{v:.4g}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- TTS metrics

def mel_cepstra(wave: np.ndarray, sample_rate: int, order: int = 24,
                n_mels: int = 80) -> np.ndarray:
    """Mel-cepstral coefficients ``c_1..c_order`` per frame, ``[frames, order]`` (c0 excluded).

    Frames of 25 ms (``n_fft`` the next power of two, Hann window), 5 ms hop, ``center=True``.
    The spectrum is librosa's 80-band Slaney mel power spectrogram (0 Hz to Nyquist); its natural
    log *amplitude* (``0.5 ln(P + 1e-10)``) goes through an orthonormal DCT-II
    (``librosa.feature.mfcc(dct_type=2, norm="ortho")``), then is divided by ``sqrt(2 n_mels)`` so
    that ``ln|X_n| = c_0 + 2 sum_m c_m cos(pi m (2n + 1) / (2 n_mels))``: the cepstral convention
    the MCD formula assumes.
    """
    wave = np.asarray(wave, np.float32)
    win = int(round(0.025 * sample_rate))
    n_fft = 1 << (win - 1).bit_length()
    power = librosa.feature.melspectrogram(y=wave, sr=sample_rate, n_fft=n_fft, win_length=win,
                                           hop_length=int(round(0.005 * sample_rate)),
                                           window="hann", center=True, power=2.0, n_mels=n_mels)
    log_amp = 0.5 * np.log(power + 1e-10)
    cep = librosa.feature.mfcc(S=log_amp, n_mfcc=order + 1, dct_type=2, norm="ortho")
    return (cep[1:] / math.sqrt(2 * n_mels)).T.astype(np.float64)


def mel_cepstral_distortion(ref_wave: np.ndarray, syn_wave: np.ndarray, sample_rate: int,
                            order: int = 24) -> float:
    """Mel-cepstral distortion in dB between a reference and a synthesised wave, DTW-aligned.

    ``MCD = mean over the DTW path of (10 / ln 10) * sqrt(2 * sum_{m=1..order} (c_m - c'_m)^2)``
    with the cepstra of :func:`mel_cepstra` (order 24, 25 ms frames, 5 ms hop, c0 excluded, all
    frames including silence). Time warping: ``librosa.sequence.dtw`` with Euclidean cost over
    the cepstra and steps (1,1), (0,1), (1,0). No all-pass frequency warping (alpha): the mel
    scale comes from the filterbank. This is MFCC-based, not SPTK ``mcep``, so absolute values
    are not comparable with papers; use it to compare systems with each other.
    """
    if np.size(ref_wave) == 0 or np.size(syn_wave) == 0:
        raise ValueError("mel_cepstral_distortion needs two non-empty waves")
    ref = mel_cepstra(ref_wave, sample_rate, order)
    syn = mel_cepstra(syn_wave, sample_rate, order)
    _, path = librosa.sequence.dtw(X=ref.T, Y=syn.T, metric="euclidean")
    diff = ref[path[:, 0]] - syn[path[:, 1]]
    return float(np.mean(10.0 / math.log(10.0) * np.sqrt(2.0 * np.sum(diff ** 2, axis=1))))


def griffin_lim(log_mel: np.ndarray, mel_cfg, n_iter: int = 32, seed: int = 0) -> np.ndarray:
    """Baseline vocoder: log-mel ``[T, n_mels]`` (:func:`voxjax.audio.log_mel`) -> ``[T * hop]``.

    Inverts ``log(mel power + LOG_FLOOR)`` (same Slaney filterbank, non-negative least squares via
    ``librosa.feature.inverse.mel_to_stft``), then runs ``librosa.griffinlim`` (fast Griffin-Lim,
    momentum 0.99, random initial phase seeded by ``seed``) with the front end's own framing:
    Hann window of ``n_fft``, ``center=False`` over a signal left-padded by ``context`` samples.
    The first ``context`` samples are dropped, so frame ``t`` ends at sample ``(t + 1) * hop``
    exactly as in the front end and the result has ``T * hop`` samples, sample-aligned with the
    wave the features came from.
    """
    from voxjax.audio import LOG_FLOOR

    log_mel = np.asarray(log_mel, np.float64)
    if log_mel.ndim != 2 or log_mel.shape[1] != mel_cfg.n_mels:
        raise ValueError(f"log_mel must be [T, {mel_cfg.n_mels}], got {log_mel.shape}")
    frames = log_mel.shape[0]
    if frames == 0:
        return np.zeros(0, np.float32)
    power = np.maximum(np.exp(log_mel) - LOG_FLOOR, 0.0).T  # [n_mels, T]
    magnitude = librosa.feature.inverse.mel_to_stft(power, sr=mel_cfg.sample_rate,
                                                    n_fft=mel_cfg.n_fft, power=2.0,
                                                    fmin=mel_cfg.fmin, fmax=mel_cfg.fmax)
    padded = librosa.griffinlim(magnitude, n_iter=n_iter, hop_length=mel_cfg.hop_length,
                                win_length=mel_cfg.n_fft, n_fft=mel_cfg.n_fft, window="hann",
                                center=False, length=mel_cfg.context + frames * mel_cfg.hop_length,
                                random_state=seed)
    return padded[mel_cfg.context:].astype(np.float32)
