"""Audio I/O and log-mel features, in numpy (data pipeline) and jnp (inside jit and streaming).

Framing convention (shared by every path, so streaming equals offline exactly): the signal is
left-padded with ``n_fft - hop_length`` zeros and framed with ``center=False``; frame ``k`` ends at
sample ``(k + 1) * hop_length``, so a signal of ``n`` samples gives ``n // hop_length`` frames and
a streaming front end only needs the last ``n_fft - hop_length`` samples as state.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import os

import jax.numpy as jnp
import librosa
import numpy as np
import soundfile as sf

log = logging.getLogger(__name__)

LOG_FLOOR = 1e-6  # added to mel power before the log; keeps silence finite


class AudioError(ValueError):
    """A file that cannot be used as speech input (missing, corrupt, empty, NaN ...)."""


@dataclasses.dataclass(frozen=True)
class MelConfig:
    """Log-mel feature settings; the same object drives the numpy and the jnp front end."""

    sample_rate: int = 16000
    n_fft: int = 400  # 25 ms window
    hop_length: int = 160  # 10 ms hop
    n_mels: int = 80
    fmin: float = 20.0
    fmax: float = 7600.0

    @classmethod
    def from_config(cls, data_config) -> "MelConfig":
        """Builds the feature settings from a ``config.data`` ConfigDict."""
        return cls(**{f.name: data_config[f.name] for f in dataclasses.fields(cls) if f.name in data_config})

    @property
    def context(self) -> int:
        """Samples of left context a frame needs beyond its own hop."""
        return self.n_fft - self.hop_length


# ----------------------------------------------------------------------------- I/O

def load_audio(path: str | os.PathLike, sample_rate: int) -> np.ndarray:
    """Reads any soundfile-supported file as mono float32 at ``sample_rate``.

    Multi-channel audio is down-mixed, other rates are resampled (soxr via librosa) and 8/16/24/32
    bit PCM or float files are all accepted. Raises AudioError with a one-line reason otherwise.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise AudioError(f"audio file not found: {path}")
    try:
        with sf.SoundFile(path) as f:
            promised = f.frames  # from the header (libsndfile caps a WAV's at the file size)
            wave = f.read(dtype="float32", always_2d=True)
            rate = f.samplerate
    except Exception as e:  # soundfile raises LibsndfileError / RuntimeError subclasses
        raise AudioError(f"cannot decode audio file {path}: {str(e).splitlines()[0]}") from None
    promised = max(promised, _wav_declared_frames(path) or 0)
    if 0 < promised and len(wave) < promised:
        raise AudioError(f"audio file {path} is truncated: its header promises {promised} samples "
                         f"({promised / rate:.2f} s) but it holds {len(wave)}")
    return prepare_wave(wave, rate, sample_rate, name=path)


def _wav_declared_frames(path: str) -> int | None:
    """Frames a RIFF/WAVE header's ``data`` chunk declares (None if not a plain WAV, or if the
    size is a streaming placeholder). libsndfile reads a truncated WAV without complaint and
    reports the frames it found, so this is how a cut-off file is told from a short one."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            block_align = None
            while True:
                chunk = f.read(8)
                if len(chunk) < 8:
                    return None
                ident, size = chunk[:4], int.from_bytes(chunk[4:], "little")
                if ident == b"fmt ":
                    fmt = f.read(size)
                    block_align = int.from_bytes(fmt[12:14], "little") if len(fmt) >= 14 else None
                    f.seek(size % 2, 1)
                elif ident == b"data":
                    if not block_align or size in (0, 0xFFFFFFFF):
                        return None
                    return size // block_align
                else:
                    f.seek(size + size % 2, 1)
    except OSError:
        return None


def prepare_wave(wave: np.ndarray, rate: int, sample_rate: int, name: str = "audio") -> np.ndarray:
    """Validates, down-mixes ``[samples(, channels)]`` and resamples to ``sample_rate``."""
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim == 2:
        wave = wave.mean(axis=1)
    if wave.size == 0:
        raise AudioError(f"{name} is empty (0 samples)")
    if not np.all(np.isfinite(wave)):
        raise AudioError(f"{name} contains NaN or Inf samples")
    peak = float(np.max(np.abs(wave)))
    if peak >= 0.999 and np.mean(np.abs(wave) >= 0.999) > 0.01:
        log.warning("%s looks clipped (%.1f%% of samples at full scale)", name,
                    100 * np.mean(np.abs(wave) >= 0.999))
    if rate != sample_rate:
        wave = librosa.resample(wave, orig_sr=rate, target_sr=sample_rate, res_type="soxr_hq")
    return wave.astype(np.float32)


def is_silent(wave: np.ndarray, threshold_db: float = -60.0) -> bool:
    """True when the peak level is below ``threshold_db`` dBFS (nothing to transcribe)."""
    return wave.size == 0 or float(np.max(np.abs(wave))) < 10 ** (threshold_db / 20)


def save_audio(path: str | os.PathLike, wave: np.ndarray, sample_rate: int) -> None:
    """Writes mono float audio as 16-bit PCM wav (format from the extension, WAV by default),
    creating parent folders; atomically (temp file + rename), so a killed run leaves no torn
    file."""
    from voxjax import files
    path = os.fspath(path)
    ext = os.path.splitext(path)[1][1:].upper()
    fmt = ext if ext in sf.available_formats() else "WAV"
    with files.atomic_open(path, "wb") as f:
        sf.write(f, np.clip(np.asarray(wave, np.float32), -1.0, 1.0), sample_rate,
                 subtype="PCM_16", format=fmt)


# ----------------------------------------------------------------------------- features

@functools.lru_cache(maxsize=8)
def mel_filterbank(cfg: MelConfig) -> np.ndarray:
    """librosa's Slaney mel filters as ``[n_fft // 2 + 1, n_mels]`` float32."""
    return librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels,
                               fmin=cfg.fmin, fmax=cfg.fmax).T.astype(np.float32)


def num_frames(num_samples: int, cfg: MelConfig) -> int:
    """Frames produced for a signal of ``num_samples`` samples."""
    return num_samples // cfg.hop_length


def log_mel(wave: np.ndarray, cfg: MelConfig) -> np.ndarray:
    """numpy log-mel ``[frames, n_mels]`` of a mono float signal (the data pipeline's features)."""
    wave = np.asarray(wave, np.float32)
    frames = num_frames(len(wave), cfg)
    if frames == 0:
        return np.zeros((0, cfg.n_mels), np.float32)
    padded = np.concatenate([np.zeros(cfg.context, np.float32), wave[: frames * cfg.hop_length]])
    spec = librosa.stft(padded, n_fft=cfg.n_fft, hop_length=cfg.hop_length, window="hann",
                        center=False)
    power = (np.abs(spec) ** 2).T  # [frames, freq]
    return np.log(power @ mel_filterbank(cfg) + LOG_FLOOR).astype(np.float32)


def log_mel_init_state(batch_size: int, cfg: MelConfig) -> jnp.ndarray:
    """Streaming front-end state: the last ``n_fft - hop`` samples seen (zeros at start)."""
    return jnp.zeros((batch_size, cfg.context), jnp.float32)


@functools.lru_cache(maxsize=32)
def _hann_window(win_length: int, fft_size: int) -> np.ndarray:
    window = librosa.util.pad_center(
        librosa.filters.get_window("hann", win_length, fftbins=True), size=fft_size)
    window.setflags(write=False)  # cached: callers share it
    return window


def hann_window(win_length: int, fft_size: int | None = None) -> np.ndarray:
    """The project's one analysis/synthesis window: periodic Hann of ``win_length`` samples
    (``scipy.signal.get_window('hann', n, fftbins=True)`` via librosa, float64, read-only),
    zero-padded centred to ``fft_size`` when that is longer (as ``librosa.stft`` does)."""
    fft_size = win_length if fft_size is None else fft_size
    if not 0 < win_length <= fft_size:
        raise ValueError(f"window length {win_length} must be in [1, fft size {fft_size}]")
    return _hann_window(int(win_length), int(fft_size))


def frame_signal(signal: jnp.ndarray, frame_length: int, hop: int) -> jnp.ndarray:
    """``[B, n]`` -> ``[B, (n - frame_length) // hop + 1, frame_length]``; frame ``k`` is
    ``signal[:, k * hop : k * hop + frame_length]`` (no padding, no centring; a signal shorter
    than one frame gives zero frames)."""
    frames = max((signal.shape[1] - frame_length) // hop + 1, 0)
    index = np.arange(frames)[:, None] * hop + np.arange(frame_length)[None, :]
    return signal[:, index]


def stft_jnp(wave: jnp.ndarray, n_fft: int, hop: int, win_length: int | None = None
             ) -> jnp.ndarray:
    """jnp STFT ``[B, frames, n_fft // 2 + 1]`` (complex) of ``wave [B, n]`` with
    :func:`hann_window` and ``center=False`` framing (:func:`frame_signal`); equals
    ``librosa.stft(..., window='hann', center=False)`` transposed, to float32 rounding."""
    window = jnp.asarray(hann_window(win_length or n_fft, n_fft), jnp.float32)
    return jnp.fft.rfft(frame_signal(wave, n_fft, hop) * window, axis=-1)


def log_mel_step(state: jnp.ndarray, chunk: jnp.ndarray, cfg: MelConfig):
    """jnp streaming log-mel: ``chunk [B, k * hop]`` -> ``(state, frames [B, k, n_mels])``.

    Offline features are this step from the zero state over the whole signal, so the two cannot
    drift apart. Matches :func:`log_mel` to float32 rounding.
    """
    signal = jnp.concatenate([state, chunk.astype(jnp.float32)], axis=1)
    power = jnp.abs(stft_jnp(signal, cfg.n_fft, cfg.hop_length)) ** 2  # [B, k, freq]
    mel = jnp.einsum("bkf,fm->bkm", power, jnp.asarray(mel_filterbank(cfg)))
    new_state = signal[:, signal.shape[1] - cfg.context:]
    return new_state, jnp.log(mel + LOG_FLOOR)


def log_mel_jnp(wave: jnp.ndarray, cfg: MelConfig) -> jnp.ndarray:
    """jnp log-mel of ``[B, samples]`` (samples a multiple of the hop) -> ``[B, frames, n_mels]``."""
    wave = jnp.asarray(wave)
    usable = num_frames(wave.shape[1], cfg) * cfg.hop_length
    return log_mel_step(log_mel_init_state(wave.shape[0], cfg), wave[:, :usable], cfg)[1]
