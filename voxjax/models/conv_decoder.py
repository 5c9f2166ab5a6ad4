"""Conv decoder (vocoder): log-mel ``[B, T, n_mels]`` -> waveform ``[B, T * hop]``.

Two families, picked by ``config.model.family``:

* ``vocos`` (Vocos-like, the default): a conv embedding and ConvNeXt blocks run at frame rate
  (100 frames/s) and predict one STFT frame each, log-magnitude and phase angle; an inverse STFT
  in jnp (irfft, synthesis window, overlap-add) turns the frames into samples. Everything but
  the irfft runs at frame rate, which is what makes it cheap on a CPU.
* ``hifigan`` (HiFi-GAN-like): a conv, then upsampling stages whose rates multiply to the hop
  (8 * 5 * 4 = 160), each followed by a multi-receptive-field (MRF) block of dilated residual
  convs, then a conv and tanh. Transposed convs are written in their sub-pixel form (a conv
  producing ``rate * C`` channels, reshaped to ``rate`` samples of ``C``), which is the same
  function class and streams with a plain left context.

Input features are exactly ``voxjax.audio.log_mel``: natural log of power mel + 1e-6, frame ``t``'s
analysis window (``n_fft`` samples) ending at input sample ``(t + 1) * hop``.

Alignment (one convention for offline synthesis, streaming and the training targets):
``output[i]`` models ``input_audio[i - latency_samples]``; the decoder emits ``hop`` samples per
frame, output samples ``[t * hop, (t + 1) * hop)`` once frame ``t`` is in.

* vocos: synthesis frame ``t`` (``n = overlap * hop`` samples, Hann window) is placed at output
  samples ``[t * hop, t * hop + n)``. Output block ``t`` is then complete after frame ``t``
  (segments ``t - overlap + 1 .. t`` cover it), and the rest of the overlap-add buffer,
  ``(overlap - 1) * hop`` samples, is carried as streaming state. ``latency_samples =
  n / 2 + n_fft / 2 - hop`` puts the synthesis window's centre on the analysis window's centre
  (360 samples = 22.5 ms for n = 640, n_fft = 400, hop = 160). The first ``(overlap - 1) * hop``
  output samples of a crop lack the overlap-add of the frames before it
  (``incomplete_samples``); losses on training crops skip them.
* hifigan: block ``t`` comes from frames ``<= t``; ``latency_samples = n_fft / 2 - hop / 2``
  (120 samples = 7.5 ms) puts the block's centre on the analysis window's centre.

Non-causal models (``causal=False``: centred conv padding, they see future frames) keep the same
placement and latency so data and losses do not change, but can only run offline.

Streaming (``causal=True``) follows the contract of ``voxjax.models.contract``::

    streamer = Streamer(model)
    state = streamer.init_state(params, batch_size)             # zeros
    state, wave = streamer.step(params, state, mel_chunk)
    # mel_chunk [B, k, n_mels] (any k >= 1, may change between calls) -> wave [B, k * hop]

The state holds every causal conv's left context (``(kernel - 1) * dilation`` frames or samples)
and, for vocos, the overlap-add tail. Offline ``__call__`` is ``step`` from the zero state over
the whole input, so streamed chunks concatenate to the offline output (tested to ~1e-5).
"""
from __future__ import annotations

import dataclasses
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from voxjax import audio
from voxjax.models.layers import CausalConv1D

FAMILIES = ("vocos", "hifigan")


class ConvNeXtBlock(nn.Module):
    """Depthwise conv -> LayerNorm -> pointwise MLP -> layer scale, plus the residual."""

    dim: int  # channels
    intermediate: int  # MLP hidden width (3 x dim in the configs)
    kernel_size: int = 7  # depthwise taps (frames)
    causal: bool = True
    layer_scale_init: float = 0.1  # residual branch scale at init (Vocos: 1 / num_layers)

    @nn.compact
    def __call__(self, x, state=None):
        """``x [B, T, dim]`` -> ``(x [B, T, dim], new depthwise state)``."""
        y, state = CausalConv1D(self.dim, self.kernel_size, groups=self.dim,
                                causal=self.causal, name="depthwise")(x, state)
        y = nn.Dense(self.intermediate, name="expand")(nn.LayerNorm(name="norm")(y))
        y = nn.Dense(self.dim, name="project")(nn.gelu(y))
        gamma = self.param("layer_scale", nn.initializers.constant(self.layer_scale_init),
                           (self.dim,))
        return x + gamma * y, state


class ConvDecoder(nn.Module):
    """Base of the decoder families: shared fields, the streaming contract, ``from_config``."""

    n_mels: int = 80  # input mel bins
    hop_length: int = 160  # output samples per frame
    mel_n_fft: int = 400  # analysis window of the input features (sets latency_samples)
    causal: bool = True  # causal convs: streamable; False: centred convs, offline only
    # Fixed per-frame affine on log-mel (streaming-safe), as in LanguageModel.
    feature_mean: float = -8.0
    feature_std: float = 4.0

    @classmethod
    def from_config(cls, model_config, mel_cfg) -> "ConvDecoder":
        """The family named by ``model_config.family`` (``vocos``|``hifigan``), sized by the
        keys of ``model_config`` that are fields of that family. Keys of the other family may
        sit in the same block (one config serves both); a key of neither is an error."""
        family = model_config.get("family", "vocos")
        classes = {"vocos": VocosDecoder, "hifigan": HiFiGANDecoder}
        if family not in classes:
            raise ValueError(f"model.family must be one of {', '.join(FAMILIES)}, got {family!r}")
        target = classes[family]
        fixed = {"parent", "name", "n_mels", "hop_length", "mel_n_fft"}
        names = {f.name for f in dataclasses.fields(target)} - fixed
        known = {f.name for c in classes.values() for f in dataclasses.fields(c)} - fixed
        unknown = sorted(set(model_config.keys()) - known - {"family"})
        if unknown:
            raise ValueError(f"unknown config key(s) model.{', model.'.join(unknown)} for the "
                             f"conv decoder")
        # Lists (e.g. from a JSON config) become tuples: module fields must be hashable for jit.
        kwargs = {k: tuple(v) if isinstance(v, list) else v
                  for k, v in model_config.items() if k in names}
        return target(n_mels=mel_cfg.n_mels, hop_length=mel_cfg.hop_length,
                      mel_n_fft=mel_cfg.n_fft, **kwargs)

    @property
    def latency_samples(self) -> int:
        """Output sample ``i`` models input sample ``i - latency_samples`` (module docstring)."""
        raise NotImplementedError

    @property
    def incomplete_samples(self) -> int:
        """Output samples at the start of a signal that miss contributions of frames before it
        other than through the conv contexts (vocos: the overlap-add of the previous
        ``overlap - 1`` frames); training losses on crops skip them."""
        return 0

    def _normalise(self, mel):
        return (mel.astype(jnp.float32) - self.feature_mean) / self.feature_std

    def _run(self, mel, state):
        """``(mel [B, k, n_mels], state or None) -> (state, wave [B, k * hop])``."""
        raise NotImplementedError

    def __call__(self, mel):
        """Offline synthesis: ``mel [B, T, n_mels]`` -> ``wave [B, T * hop]`` (float32)."""
        return self._run(mel, None)[1]

    def step(self, state, mel_chunk):
        """Streaming: ``(state, mel_chunk [B, k, n_mels]) -> (state, wave [B, k * hop])``.

        ``state`` comes from :meth:`init_state` or the previous call (``None`` = zero state).
        """
        self._check_causal()
        return self._run(mel_chunk, state)

    def init_state(self, batch_size: int):
        """Zero streaming state for ``batch_size`` streams (the contract's ``init_state``).

        Its structure is read off a shape-only trace of :meth:`step` (``jax.eval_shape``, no
        compute), so it always matches what ``step`` carries.
        """
        self._check_causal()
        module = self.clone(parent=None)
        mel = jax.ShapeDtypeStruct((batch_size, 1, self.n_mels), jnp.float32)
        (state, _), _ = jax.eval_shape(
            lambda m: module.init_with_output(jax.random.key(0), None, m,
                                              method=type(module).step), mel)
        return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), state)

    def _check_causal(self):
        if not self.causal:
            raise ValueError("this conv decoder is non-causal (model.causal=False: centred "
                             "convs see future frames) and cannot stream; train with "
                             "model.causal=True or synthesize offline")


def _sub(state, key):
    return None if state is None else state[key]


class VocosDecoder(ConvDecoder):
    """ConvNeXt stack at frame rate -> STFT magnitude and phase -> iSTFT (module docstring)."""

    dim: int = 192  # channels of the ConvNeXt stack
    intermediate: int = 576  # MLP width inside each block (3 x dim)
    layers: int = 6  # ConvNeXt blocks
    kernel_size: int = 7  # taps of the embedding conv and of each depthwise conv (frames)
    overlap: int = 4  # synthesis FFT = overlap * hop (640 samples = 40 ms at 16 kHz)
    max_magnitude: float = 100.0  # exp(log-magnitude) is clipped here (Vocos), keeps exp finite

    @property
    def synthesis_fft(self) -> int:
        """Samples per synthesis frame (irfft size and window length)."""
        return self.overlap * self.hop_length

    @property
    def latency_samples(self) -> int:
        """Synthesis-window centre on the analysis-window centre: n/2 + n_fft/2 - hop."""
        return self.synthesis_fft // 2 + self.mel_n_fft // 2 - self.hop_length

    @property
    def incomplete_samples(self) -> int:
        """The first ``(overlap - 1) * hop`` samples lack the previous frames' overlap-add."""
        return (self.overlap - 1) * self.hop_length

    def setup(self):
        if self.overlap < 1:
            raise ValueError(f"overlap must be >= 1, got {self.overlap}")
        self.embed = CausalConv1D(self.dim, self.kernel_size, causal=self.causal, name="embed")
        self.embed_norm = nn.LayerNorm(name="embed_norm")
        self.blocks = [ConvNeXtBlock(self.dim, self.intermediate, self.kernel_size, self.causal,
                                     layer_scale_init=1.0 / self.layers, name=f"block_{i}")
                       for i in range(self.layers)]
        self.final_norm = nn.LayerNorm(name="final_norm")
        bins = self.synthesis_fft // 2 + 1
        self.head = nn.Dense(2 * bins, name="head")  # [log-magnitude, phase angle] per bin

    def _synthesis_window(self) -> np.ndarray:
        """Hann window divided by the steady-state sum of squared shifted windows: with it,
        overlap-adding the irfft of a signal's own STFT (same window, hop) gives the signal back."""
        n, hop = self.synthesis_fft, self.hop_length
        window = audio.hann_window(n)  # the project's periodic Hann (float64)
        envelope = (window ** 2).reshape(self.overlap, hop).sum(axis=0)  # per phase in a hop
        return (window / np.tile(envelope, self.overlap)).astype(np.float32)

    def _run(self, mel, state):
        new = {}
        x, new["embed"] = self.embed(self._normalise(mel), _sub(state, "embed"))
        x = self.embed_norm(x)
        for i, block in enumerate(self.blocks):
            x, new[f"block_{i}"] = block(x, _sub(state, f"block_{i}"))
        out = self.head(self.final_norm(x)).astype(jnp.float32)
        log_mag, angle = jnp.split(out, 2, axis=-1)
        magnitude = jnp.exp(jnp.minimum(log_mag, math.log(self.max_magnitude)))
        # cos/sin of a free angle: phase wraps for free, no discontinuity to learn (Vocos).
        spectrum = jax.lax.complex(magnitude * jnp.cos(angle), magnitude * jnp.sin(angle))
        frames = jnp.fft.irfft(spectrum, n=self.synthesis_fft, axis=-1)  # [B, k, n]
        frames = frames * jnp.asarray(self._synthesis_window())
        tail = _sub(state, "overlap_add")
        wave, new["overlap_add"] = overlap_add(frames, self.hop_length, tail)
        return new, wave


def overlap_add(frames: jnp.ndarray, hop: int, tail: jnp.ndarray | None = None):
    """Overlap-adds ``frames [B, k, R * hop]``, frame ``j`` starting at sample ``j * hop``.

    ``tail [B, (R - 1) * hop]`` holds the previous call's partial sums for the first samples
    (``None`` = zeros). Returns ``(wave [B, k * hop], tail)``: the samples no later frame
    touches, and the ``(R - 1) * hop`` partial sums to carry into the next call.
    """
    b, k, n = frames.shape
    r = n // hop
    blocks = frames.reshape(b, k, r, hop)
    # Block j of frame t lands on output block t + j: one shifted copy per j, no scatter.
    total = sum(jnp.pad(blocks[:, :, j], ((0, 0), (j, r - 1 - j), (0, 0))) for j in range(r))
    total = total.reshape(b, (k + r - 1) * hop)
    if tail is not None:
        total = total.at[:, : (r - 1) * hop].add(tail)
    return total[:, : k * hop], total[:, k * hop:]


class ResBlock(nn.Module):
    """HiFi-GAN ResBlock1: per dilation, leaky-ReLU -> dilated conv -> leaky-ReLU -> conv, +x."""

    channels: int
    kernel_size: int
    dilations: tuple = (1, 3, 5)
    causal: bool = True

    @nn.compact
    def __call__(self, x, state=None):
        """``x [B, T, C]`` -> ``(x, state)``; state is a tuple of the convs' contexts."""
        new = []
        for i, d in enumerate(self.dilations):
            dilated = CausalConv1D(self.channels, self.kernel_size, dilation=d,
                                   causal=self.causal, name=f"dilated_{i}")
            plain = CausalConv1D(self.channels, self.kernel_size, causal=self.causal,
                                 name=f"plain_{i}")
            y, s1 = dilated(nn.leaky_relu(x, 0.1), _sub(state, 2 * i))
            y, s2 = plain(nn.leaky_relu(y, 0.1), _sub(state, 2 * i + 1))
            x = x + y
            new += [s1, s2]
        return x, tuple(new)


class HiFiGANDecoder(ConvDecoder):
    """Conv -> sub-pixel upsampling stages with MRF blocks -> conv -> tanh (module docstring)."""

    channels: int = 128  # after the first conv; halved by every upsampling stage
    upsample_rates: tuple = (8, 5, 4)  # product must equal hop_length
    upsample_taps: int = 2  # input frames per upsampled block (HiFi-GAN's kernel = 2 x rate)
    resblock_kernels: tuple = (3, 7)  # one ResBlock per kernel in every MRF, outputs averaged
    resblock_dilations: tuple = (1, 3, 5)
    pre_kernel: int = 7  # taps of the first conv (frames)
    post_kernel: int = 7  # taps of the last conv (samples)

    @property
    def latency_samples(self) -> int:
        """Output block centre on the analysis-window centre: n_fft/2 - hop/2."""
        return self.mel_n_fft // 2 - self.hop_length // 2

    def setup(self):
        if math.prod(self.upsample_rates) != self.hop_length:
            raise ValueError(f"upsample_rates {tuple(self.upsample_rates)} multiply to "
                             f"{math.prod(self.upsample_rates)}, not the hop {self.hop_length}")
        self.pre = CausalConv1D(self.channels, self.pre_kernel, causal=self.causal, name="pre")
        ups, mrfs = [], []
        for i, rate in enumerate(self.upsample_rates):
            width = self._width(i + 1)
            ups.append(CausalConv1D(rate * width, self.upsample_taps, causal=self.causal,
                                    name=f"up_{i}"))
            mrfs += [ResBlock(width, k, tuple(self.resblock_dilations), self.causal,
                              name=f"mrf_{i}_{j}") for j, k in enumerate(self.resblock_kernels)]
        self.ups, self.mrfs = ups, mrfs
        self.post = CausalConv1D(1, self.post_kernel, causal=self.causal, name="post")

    def _width(self, stage: int) -> int:
        return max(self.channels // 2 ** stage, 1)

    def _run(self, mel, state):
        new = {}
        x, new["pre"] = self.pre(self._normalise(mel), _sub(state, "pre"))
        per_stage = len(self.resblock_kernels)
        for i, (rate, up) in enumerate(zip(self.upsample_rates, self.ups)):
            y, new[f"up_{i}"] = up(nn.leaky_relu(x, 0.1), _sub(state, f"up_{i}"))
            b, t, _ = y.shape
            x = y.reshape(b, t * rate, self._width(i + 1))  # sub-pixel: block of `rate` samples
            outs = []
            for j in range(per_stage):
                name = f"mrf_{i}_{j}"
                out, new[name] = self.mrfs[i * per_stage + j](x, _sub(state, name))
                outs.append(out)
            x = sum(outs) / per_stage
        y, new["post"] = self.post(nn.leaky_relu(x, 0.1), _sub(state, "post"))
        return new, jnp.tanh(y[..., 0].astype(jnp.float32))
