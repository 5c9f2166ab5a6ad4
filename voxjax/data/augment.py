"""Feature augmentation in jnp, run inside the jitted train step: SpecAugment (Park et al.,
2019) masks, a stretch of the mel axis (:func:`warp_frequencies`) and fixed-length random
windows (:func:`random_crop`).

Masks, warp factors and windows are drawn from the step's rng, so augmentation is deterministic
per (seed, step) and costs no host work. Masked cells are filled with each utterance's mean log-mel over its
valid frames, not zero: features here are un-normalised logs (silence is about -14), so zero would
be a loud, unnatural value, while the mean carries no information and keeps the input statistics.
Masks never touch padding frames, so padded positions stay exactly zero.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp


def _band_mask(rng, sizes, count: int, width: int, axis_len: int, max_width=None):
    """``[B, axis_len]`` bool: ``count`` bands of width ``U[0, width]`` inside ``[0, sizes)``."""
    k_width, k_start = jax.random.split(rng)
    batch = sizes.shape[0]
    widths = jax.random.randint(k_width, (batch, count), 0, width + 1)
    limit = sizes if max_width is None else jnp.minimum(sizes, max_width)
    widths = jnp.minimum(widths, limit[:, None])
    # Start uniform over the positions where the band still fits in the valid range.
    room = (sizes[:, None] - widths + 1).astype(jnp.float32)
    starts = jnp.floor(jax.random.uniform(k_start, (batch, count)) * room).astype(jnp.int32)
    pos = jnp.arange(axis_len)[None, None, :]
    inside = (pos >= starts[..., None]) & (pos < (starts + widths)[..., None])
    return jnp.any(inside, axis=1)


def spec_augment(rng: jax.Array, features: jax.Array, lengths: jax.Array, *, freq_masks: int,
                 freq_width: int, time_masks: int, time_width: int,
                 max_time_ratio: float = 0.2) -> jax.Array:
    """Applies frequency and time masks to ``features [B, T, F]`` with ``lengths [B]`` valid frames.

    Each of the ``freq_masks`` bands spans ``U[0, freq_width]`` mel bins over the valid frames;
    each of the ``time_masks`` bands spans ``U[0, time_width]`` frames, capped at
    ``max_time_ratio`` of the utterance's length so short utterances (spoken digits) keep most of
    their frames. Masked cells take the utterance's mean over valid frames; padding is unchanged.
    Pure and jittable (mask counts and widths are static).
    """
    if freq_masks == 0 and time_masks == 0:
        return features
    batch, frames, bins = features.shape
    lengths = jnp.asarray(lengths, jnp.int32)
    valid = jnp.arange(frames)[None, :] < lengths[:, None]  # [B, T]
    k_freq, k_time = jax.random.split(rng)
    freq = (_band_mask(k_freq, jnp.full((batch,), bins, jnp.int32), freq_masks, freq_width, bins)
            if freq_masks else jnp.zeros((batch, bins), bool))
    max_width = jnp.floor(lengths * max_time_ratio).astype(jnp.int32)
    time = (_band_mask(k_time, lengths, time_masks, time_width, frames, max_width)
            if time_masks else jnp.zeros((batch, frames), bool))
    mask = (time[:, :, None] | freq[:, None, :]) & valid[:, :, None]
    count = jnp.maximum(lengths, 1)[:, None, None] * bins
    mean = jnp.sum(jnp.where(valid[:, :, None], features, 0.0), axis=(1, 2), keepdims=True) / count
    return jnp.where(mask, mean.astype(features.dtype), features)


def warp_frequencies(rng: jax.Array, features: jax.Array, max_warp: float) -> jax.Array:
    """Stretches each utterance of ``features [B, T, F]`` along the mel axis by its own factor
    ``a``, log-uniform in ``[1 / (1 + max_warp), 1 + max_warp]``: bin ``f`` takes the value at
    ``f / a`` (linear interpolation; past the top bin, the top bin). ``a > 1`` moves formants and
    harmonics up, as a shorter vocal tract and higher voice would (vocal tract length
    perturbation, Jaitly and Hinton, 2013, here on the log-mel itself). Pure and jittable."""
    batch, _, bins = features.shape
    bound = jnp.log1p(max_warp)
    factor = jnp.exp(jax.random.uniform(rng, (batch,), minval=-bound, maxval=bound))
    position = jnp.clip(jnp.arange(bins)[None, :] / factor[:, None], 0.0, bins - 1.0)  # [B, F]
    low = jnp.floor(position).astype(jnp.int32)
    high = jnp.minimum(low + 1, bins - 1)
    frac = (position - low)[:, None, :].astype(features.dtype)
    take = lambda index: jnp.take_along_axis(features, index[:, None, :], axis=2)  # noqa: E731
    return take(low) * (1 - frac) + take(high) * frac


def random_crop(rng: jax.Array, features: jax.Array, lengths: jax.Array, frames: int
                ) -> tuple[jax.Array, jax.Array]:
    """A window of ``frames`` consecutive frames from each utterance of ``features [B, T, F]``,
    starting uniformly where it fits inside the row's ``lengths`` valid frames (at 0 for a row
    shorter than the window, which keeps all of its frames): ``(features [B, frames, F],
    lengths [B])``. Speaker embeddings train on such fixed segments (x-vectors: 2-4 s), which
    costs the network a window instead of the longest utterance in the batch. Pure and jittable.
    """
    lengths = jnp.asarray(lengths, jnp.int32)
    room = jnp.maximum(lengths - frames, 0) + 1
    starts = jnp.floor(jax.random.uniform(rng, lengths.shape) * room).astype(jnp.int32)
    if features.shape[1] < frames:  # a short bucket: pad so every window has `frames` rows
        features = jnp.pad(features, ((0, 0), (0, frames - features.shape[1]), (0, 0)))
    window = jax.vmap(lambda row, start: jax.lax.dynamic_slice_in_dim(row, start, frames))
    return window(features, starts), jnp.minimum(lengths, frames)
