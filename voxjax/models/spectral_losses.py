"""Spectral reconstruction losses for waveform decoders, in float32 with eps guards.

* Multi-resolution STFT loss (Parallel WaveGAN, Yamamoto et al. 2020, eq. 4-6): per resolution,
  spectral convergence ``||S - S_hat||_F / ||S||_F`` plus mean ``|log S - log S_hat|`` of STFT
  magnitudes, each averaged over the resolutions. Default resolutions at 16 kHz:
  ``(fft, hop, window) = (512, 128, 512), (1024, 256, 1024), (256, 64, 256)``.
* Mel L1: mean ``|log-mel - log-mel_hat|`` with the project's own front end
  (``voxjax.audio.log_mel_jnp``: librosa's mel filters, the features the decoder is fed).

Every function takes ``weights [B]`` (1 real row, 0 padding) so padded eval rows do not count.
Waveforms are ``[B, samples]``.
"""
from __future__ import annotations

import jax.numpy as jnp

from voxjax import audio

DEFAULT_RESOLUTIONS = ((512, 128, 512), (1024, 256, 1024), (256, 64, 256))
_MAG_FLOOR = 1e-5  # magnitudes are floored here before the log (silence stays finite)


def weighted_mean(per_row: jnp.ndarray, weights: jnp.ndarray) -> jnp.ndarray:
    """``sum(per_row * w) / max(sum(w), 1)`` for ``per_row [B]``."""
    weights = weights.astype(jnp.float32)
    return jnp.sum(per_row * weights) / jnp.maximum(jnp.sum(weights), 1.0)


def stft_magnitude(wave: jnp.ndarray, fft_size: int, hop: int, win_length: int | None = None
                   ) -> jnp.ndarray:
    """``|STFT|`` ``[B, frames, fft_size // 2 + 1]`` of ``wave [B, n]`` (Hann, no centring).

    Signals shorter than one window are zero-padded to one. The eps inside the square root keeps
    the gradient finite where the spectrum is exactly zero.
    """
    wave = wave.astype(jnp.float32)
    if wave.shape[1] < fft_size:
        wave = jnp.pad(wave, ((0, 0), (0, fft_size - wave.shape[1])))
    # A shorter window sits centred in the FFT frame (audio.hann_window).
    spec = audio.stft_jnp(wave, fft_size, hop, win_length or fft_size)
    power = jnp.real(spec) ** 2 + jnp.imag(spec) ** 2
    return jnp.sqrt(power + 1e-12)


def spectral_convergence(target_mag, pred_mag, weights) -> jnp.ndarray:
    """Frobenius-norm ratio over the whole (weighted) batch; a batch-level ratio cannot blow up
    on one silent crop the way a per-row ratio would."""
    w = weights.astype(jnp.float32)[:, None, None]
    error = jnp.sum(w * (target_mag - pred_mag) ** 2)
    energy = jnp.sum(w * target_mag ** 2)
    return jnp.sqrt(error + 1e-12) / jnp.sqrt(energy + 1e-6)


def log_magnitude_l1(target_mag, pred_mag, weights) -> jnp.ndarray:
    """Weighted mean over rows of the mean ``|log max(S, floor) - log max(S_hat, floor)|``."""
    diff = jnp.abs(jnp.log(jnp.maximum(target_mag, _MAG_FLOOR))
                   - jnp.log(jnp.maximum(pred_mag, _MAG_FLOOR)))
    return weighted_mean(jnp.mean(diff, axis=(1, 2)), weights)


def multi_resolution_stft_loss(pred: jnp.ndarray, target: jnp.ndarray, weights: jnp.ndarray,
                               resolutions=DEFAULT_RESOLUTIONS) -> tuple[jnp.ndarray, jnp.ndarray]:
    """``(spectral convergence, log-magnitude L1)``, each averaged over ``resolutions``
    (``(fft_size, hop, win_length)`` triples)."""
    sc, mag = [], []
    for fft_size, hop, win in resolutions:
        t = stft_magnitude(target, int(fft_size), int(hop), int(win))
        p = stft_magnitude(pred, int(fft_size), int(hop), int(win))
        sc.append(spectral_convergence(t, p, weights))
        mag.append(log_magnitude_l1(t, p, weights))
    return sum(sc) / len(sc), sum(mag) / len(mag)


def mel_l1(pred: jnp.ndarray, target: jnp.ndarray, weights: jnp.ndarray,
           mel_cfg: audio.MelConfig) -> jnp.ndarray:
    """Weighted mean L1 between the log-mels of two aligned waves (lengths a multiple of hop)."""
    diff = jnp.abs(audio.log_mel_jnp(pred.astype(jnp.float32), mel_cfg)
                   - audio.log_mel_jnp(target.astype(jnp.float32), mel_cfg))
    return weighted_mean(jnp.mean(diff, axis=(1, 2)), weights)


def reconstruction_losses(pred, target, weights, mel_cfg: audio.MelConfig,
                          resolutions=DEFAULT_RESOLUTIONS) -> dict[str, jnp.ndarray]:
    """``{'mel_l1', 'stft_sc', 'stft_mag'}`` of ``pred`` against ``target`` (both ``[B, n]``)."""
    pred, target = pred.astype(jnp.float32), target.astype(jnp.float32)
    sc, mag = multi_resolution_stft_loss(pred, target, weights, resolutions)
    return {"mel_l1": mel_l1(pred, target, weights, mel_cfg), "stft_sc": sc, "stft_mag": mag}
