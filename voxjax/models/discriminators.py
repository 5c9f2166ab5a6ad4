"""GAN discriminators for the conv decoder and the LSGAN / feature-matching losses.

* Multi-period discriminator (HiFi-GAN, Kong et al. 2020): the wave folded into ``[n / p, p]``
  for each period ``p`` (2, 3, 5, 7, 11), 2-D convs with ``(k, 1)`` kernels along the folded time.
* Multi-resolution discriminator (UnivNet, Jang et al. 2021): 2-D convs over STFT magnitudes at
  several ``(fft, hop, window)`` resolutions.

Channel counts are small by default (CPU budget); each sub-discriminator returns its logits and
the activations of every layer (for feature matching).

One optimizer, one loss (``voxjax.train`` has exactly one of each): the task keeps
``params = {'generator': ..., 'discriminator': ...}`` and adds, in :func:`gan_losses`,

* the generator's terms (adversarial + feature matching), computed with
  ``stop_gradient(discriminator params)``: they move only the generator;
* the discriminator's term, computed on ``stop_gradient(fake wave)``: it moves only the
  discriminator.

So ``d(total)/d(generator) = d(reconstruction + generator terms)`` and
``d(total)/d(discriminator) = d(discriminator term)``, i.e. the alternating GAN updates done as one
simultaneous step. (Both share the optimizer's learning rate and its global-norm clip.)
"""
from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from voxjax.models.spectral_losses import DEFAULT_RESOLUTIONS, stft_magnitude, weighted_mean

DEFAULT_PERIODS = (2, 3, 5, 7, 11)


class PeriodDiscriminator(nn.Module):
    """One period of the MPD: ``wave [B, n]`` -> ``(logits [B, ...], features)``."""

    period: int
    channels: tuple = (16, 32, 64, 64)  # stride-3 convs along the folded time axis
    kernel_size: int = 5

    @nn.compact
    def __call__(self, wave):
        b, n = wave.shape
        pad = (-n) % self.period
        x = jnp.pad(wave, ((0, 0), (0, pad)), mode="reflect") if pad else wave
        x = x.reshape(b, (n + pad) // self.period, self.period, 1)  # [B, H, W=period, 1]
        features = []
        for i, c in enumerate(self.channels):
            stride = 3 if i < len(self.channels) - 1 else 1
            x = nn.leaky_relu(nn.Conv(c, (self.kernel_size, 1), strides=(stride, 1),
                                      padding="SAME", name=f"conv_{i}")(x), 0.1)
            features.append(x)
        x = nn.Conv(1, (3, 1), padding="SAME", name="out")(x)
        features.append(x)
        return x.reshape(b, -1), features


class ResolutionDiscriminator(nn.Module):
    """One resolution of the MRD: ``wave [B, n]`` -> ``(logits [B, ...], features)``."""

    fft_size: int
    hop: int
    win_length: int
    channels: int = 16
    layers: int = 4  # (3, 9) convs, all but the first stride 2 along frequency

    @nn.compact
    def __call__(self, wave):
        x = stft_magnitude(wave, self.fft_size, self.hop, self.win_length)[..., None]
        features = []
        for i in range(self.layers):
            x = nn.leaky_relu(nn.Conv(self.channels, (3, 9), strides=(1, 1 if i == 0 else 2),
                                      padding="SAME", name=f"conv_{i}")(x), 0.1)
            features.append(x)
        x = nn.Conv(1, (3, 3), padding="SAME", name="out")(x)
        features.append(x)
        return x.reshape(x.shape[0], -1), features


class Discriminators(nn.Module):
    """All sub-discriminators; ``wave [B, n]`` -> list of ``(logits [B, m], features)``."""

    periods: tuple = DEFAULT_PERIODS
    resolutions: tuple = DEFAULT_RESOLUTIONS
    period_channels: tuple = (16, 32, 64, 64)
    resolution_channels: int = 16

    @classmethod
    def from_config(cls, gan_config) -> "Discriminators":
        """Built from ``config.gan`` (periods, resolutions, period_channels, resolution_channels)."""
        kwargs = {}
        for key in ("periods", "period_channels"):
            if key in gan_config:
                kwargs[key] = tuple(int(v) for v in gan_config[key])
        if "resolutions" in gan_config:
            kwargs["resolutions"] = tuple(tuple(int(v) for v in r) for r in gan_config.resolutions)
        if "resolution_channels" in gan_config:
            kwargs["resolution_channels"] = int(gan_config.resolution_channels)
        return cls(**kwargs)

    @nn.compact
    def __call__(self, wave):
        wave = wave.astype(jnp.float32)
        outs = [PeriodDiscriminator(p, tuple(self.period_channels), name=f"period_{p}")(wave)
                for p in self.periods]
        outs += [ResolutionDiscriminator(f, h, w, self.resolution_channels,
                                         name=f"resolution_{f}")(wave)
                 for f, h, w in self.resolutions]
        return outs


def _row_mean(x: jnp.ndarray) -> jnp.ndarray:
    return jnp.mean(x.reshape(x.shape[0], -1), axis=1)


def gan_losses(discriminator: Discriminators, disc_params, real: jnp.ndarray, fake: jnp.ndarray,
               weights: jnp.ndarray) -> dict[str, jnp.ndarray]:
    """LSGAN + feature-matching terms with the gradient routing of the module docstring.

    Returns ``gan_generator`` (sum over sub-discriminators of mean ``(D(fake) - 1)^2``),
    ``gan_feature`` (mean over layers of mean ``|f_real - f_fake|``, summed over
    sub-discriminators) and ``gan_discriminator`` (sum of mean ``(D(real) - 1)^2 + D(fake)^2``).
    Only ``gan_discriminator`` has a gradient w.r.t. ``disc_params``; only the first two have one
    w.r.t. ``fake``.
    """
    real, fake = real.astype(jnp.float32), fake.astype(jnp.float32)
    apply = lambda p, x: discriminator.apply({"params": p}, x)  # noqa: E731
    # Discriminator side: the generator's output is fixed data here.
    real_outs = apply(disc_params, real)
    fake_outs_d = apply(disc_params, jax.lax.stop_gradient(fake))
    disc = sum(weighted_mean(_row_mean((r - 1.0) ** 2) + _row_mean(f ** 2), weights)
               for (r, _), (f, _) in zip(real_outs, fake_outs_d))
    # Generator side: the discriminator is a fixed function here. The real wave is data, so its
    # features under stop_gradient(params) are just stop_gradient(features): no second pass.
    fake_outs = apply(jax.lax.stop_gradient(disc_params), fake)
    adversarial = sum(weighted_mean(_row_mean((logits - 1.0) ** 2), weights)
                      for logits, _ in fake_outs)
    feature = 0.0
    for (_, f_real), (_, f_fake) in zip(real_outs, fake_outs):
        feature += sum(weighted_mean(_row_mean(jnp.abs(jax.lax.stop_gradient(a) - b)), weights)
                       for a, b in zip(f_real, f_fake)) / len(f_real)
    return {"gan_generator": adversarial, "gan_feature": feature, "gan_discriminator": disc}
