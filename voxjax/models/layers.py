"""Streamable building blocks: causal 1-D convs with left-context state, RNN stacks with carries.

Shape convention: every sequence tensor is batch-major ``[B, T, C]``.

Causal strided conv (:class:`CausalConv1D`, kernel ``k``, stride ``s``): output frame ``j``
sees input frames ``j*s + s - k .. j*s + s - 1``, i.e. it ends at the last frame of its own
stride block and never looks ahead. Offline this is a VALID conv on the input left-padded with ``k - s`` zeros (and
right-padded to a multiple of ``s``), giving ``ceil(T / s)`` outputs. Streaming keeps the last
``k - s`` input frames as state and runs the same VALID conv on ``state ++ chunk``: a chunk of
``c`` frames (``c`` a multiple of ``s``) gives ``(k - s + c - k) / s + 1 = c / s`` outputs, and
because the zero state is exactly the offline left padding, chunked output equals offline output.

The RNN layers project the inputs of all time steps with one big matmul outside the scan (much
faster on CPU than projecting inside every step) and only run the recurrent matmul sequentially;
they go through ``nn.RNN`` so ``seq_lengths`` handling (bidirectional backward pass starting at
each sequence's last valid frame) and carry selection are flax's.
"""
from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

Carry = Any


def model_kwargs(cls, model_config, exclude=frozenset()) -> dict:
    """The ``config.model`` entries as constructor arguments of the flax module ``cls``.

    A key that is not a field of ``cls`` raises ValueError naming it: a config key that nothing
    reads would silently do nothing. ``exclude``: fields the caller sets itself.
    """
    fields = set(cls.__dataclass_fields__) - {"parent", "name"} - set(exclude)
    unknown = sorted(set(model_config.keys()) - fields)
    if unknown:
        raise ValueError(f"unknown config key(s) model.{', model.'.join(unknown)} for "
                         f"{cls.__name__} (known: {', '.join(sorted(fields))})")
    return {k: model_config[k] for k in model_config.keys()}


class CausalConv1D(nn.Module):
    """1-D conv over time (stride, dilation, groups); ``causal`` ones stream with a left context.

    ``context = (kernel_size - 1) * dilation + 1 - stride`` input frames are carried between
    chunks (stride 1: ``(k - 1) * d``; stride ``s``, no dilation: ``k - s``). Non-causal convs
    split that context around the block (centred, sees future frames) and only run offline.
    """

    features: int  # output channels
    kernel_size: int = 5  # taps
    stride: int = 1  # frame-rate reduction
    dilation: int = 1  # gap between taps (frames)
    groups: int = 1  # feature groups (= channels for a depthwise conv)
    causal: bool = True  # False: centred padding, offline only

    @property
    def context(self) -> int:
        """Input frames the conv needs from before a chunk (the causal left padding)."""
        return (self.kernel_size - 1) * self.dilation + 1 - self.stride

    def zero_state(self, batch_size: int, in_features: int) -> jnp.ndarray:
        """Zero left context ``[B, context, in_features]`` (equals the offline left padding)."""
        return jnp.zeros((batch_size, self.context, in_features), jnp.float32)

    @nn.compact
    def __call__(self, x: jnp.ndarray, state: jnp.ndarray | None = None):
        """``x [B, T, C]`` -> ``(y [B, ceil(T / stride), features], new_state or None)``.

        Causal: a VALID conv on ``state ++ x``; ``state=None`` means zeros (the start of a
        signal), where a ragged end is zero-filled to a whole stride. A streamed chunk (state
        given) must be a whole number of strides. Centred: pads both sides, returns no state.
        """
        if self.context < 0:
            raise ValueError(f"conv kernel {self.kernel_size} smaller than stride {self.stride}")
        t = x.shape[1]
        fill = (-t) % self.stride
        if self.causal:
            if state is not None and fill:
                raise ValueError(f"chunk of {t} frames is not a multiple of stride {self.stride}")
            if state is None:
                state = jnp.zeros((x.shape[0], self.context, x.shape[2]), x.dtype)
            joined = jnp.concatenate([state.astype(x.dtype), x], axis=1)
            # Slice by start index: a context of 0 must give an empty state, not the whole input.
            new_state = joined[:, joined.shape[1] - self.context:]
            joined = jnp.pad(joined, ((0, 0), (0, fill), (0, 0)))
        else:
            left = self.context // 2
            joined = jnp.pad(x, ((0, 0), (left, self.context - left + fill), (0, 0)))
            new_state = None
        if self.groups > 1 and self.groups == x.shape[-1] == self.features and self.stride == 1:
            return DepthwiseConv(self.kernel_size, self.dilation, name="conv")(joined), new_state
        conv = nn.Conv(self.features, (self.kernel_size,), strides=(self.stride,),
                       kernel_dilation=(self.dilation,), feature_group_count=self.groups,
                       padding="VALID", name="conv")
        return conv(joined), new_state


class DepthwiseConv(nn.Module):
    """``nn.Conv(C, (k,), feature_group_count=C, padding='VALID')`` (stride 1) as ``k`` shifted
    multiply-adds, with nn.Conv's parameters (names, shapes, initialisers: checkpoints and seeds
    carry over). XLA's CPU grouped convolution has a large fixed cost: 0.17 ms vs 0.009 ms for
    this form on ``[1, 16, 192]``, k = 7 (measured 2026-12-03, docs/results/speed.md), and the
    Vocos decoder runs six of them in every 100 ms streaming step."""

    kernel_size: int
    dilation: int = 1

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        """``x [B, T, C]`` -> ``[B, T - (k - 1) * dilation, C]`` (a VALID conv)."""
        c = x.shape[-1]
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (self.kernel_size, 1, c),
                            jnp.float32)
        bias = self.param("bias", nn.initializers.zeros_init(), (c,), jnp.float32)
        n = x.shape[1] - (self.kernel_size - 1) * self.dilation
        taps = [x[:, j * self.dilation: j * self.dilation + n] * kernel[j, 0]
                for j in range(self.kernel_size)]
        return sum(taps[1:], taps[0]) + bias


class ProjectedGRUCell(nn.RNNCellBase):
    """GRU cell whose input arrives already projected to ``[..., 3H]`` (r, z, n pre-activations)."""

    features: int  # hidden size H

    @nn.compact
    def __call__(self, carry, inputs):
        """One step: ``(h [B, H], x_proj [B, 3H]) -> (h, h)`` (PyTorch/flax GRU equations)."""
        h = carry
        hp = nn.Dense(3 * self.features, kernel_init=nn.initializers.orthogonal(),
                      name="recurrent")(h)
        xr, xz, xn = jnp.split(inputs, 3, axis=-1)
        hr, hz, hn = jnp.split(hp, 3, axis=-1)
        r = jax.nn.sigmoid(xr + hr)
        z = jax.nn.sigmoid(xz + hz)
        n = jnp.tanh(xn + r * hn)
        h = (1.0 - z) * n + z * h
        return h, h

    @nn.nowrap
    def initialize_carry(self, rng, input_shape):
        """Zero hidden state for batch dims ``input_shape[:-1]``."""
        return jnp.zeros(tuple(input_shape[:-1]) + (self.features,), jnp.float32)

    @property
    def num_feature_axes(self) -> int:
        """Feature axes of the input (flax's RNN uses this to find the time axis)."""
        return 1


class ProjectedLSTMCell(nn.RNNCellBase):
    """LSTM cell whose input arrives already projected to ``[..., 4H]`` (i, f, g, o)."""

    features: int  # hidden size H

    @nn.compact
    def __call__(self, carry, inputs):
        """One step: ``((c, h), x_proj [B, 4H]) -> ((c, h), h)``."""
        c, h = carry
        hp = nn.Dense(4 * self.features, kernel_init=nn.initializers.orthogonal(),
                      name="recurrent")(h)
        i, f, g, o = jnp.split(inputs + hp, 4, axis=-1)
        c = jax.nn.sigmoid(f + 1.0) * c + jax.nn.sigmoid(i) * jnp.tanh(g)  # +1: remember by default
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (c, h), h

    @nn.nowrap
    def initialize_carry(self, rng, input_shape):
        """Zero ``(c, h)`` for batch dims ``input_shape[:-1]``."""
        zeros = jnp.zeros(tuple(input_shape[:-1]) + (self.features,), jnp.float32)
        return zeros, zeros

    @property
    def num_feature_axes(self) -> int:
        """Feature axes of the input (flax's RNN uses this to find the time axis)."""
        return 1


_GATES = {"gru": (ProjectedGRUCell, 3), "lstm": (ProjectedLSTMCell, 4)}


def rnn_zero_carry(cell: str, batch_size: int, hidden: int) -> Carry:
    """Zero carry of one unidirectional layer: ``h [B, H]`` (gru) or ``(c, h)`` (lstm)."""
    if cell not in _GATES:
        raise ValueError(f"unknown rnn_cell {cell!r}; expected 'gru' or 'lstm'")
    zeros = jnp.zeros((batch_size, hidden), jnp.float32)
    return zeros if cell == "gru" else (zeros, zeros)


class RNNLayer(nn.Module):
    """One GRU/LSTM layer (optionally bidirectional) with explicit carries and ``seq_lengths``."""

    cell: str = "gru"  # gru | lstm
    hidden: int = 256  # per direction
    bidirectional: bool = False  # output is [fwd, bwd] concatenated (2H)

    @nn.compact
    def __call__(self, x, seq_lengths=None, initial_carry=None, return_carry: bool = False):
        """``x [B, T, C] -> y [B, T, H * directions]``, or ``(carry, y)`` with ``return_carry``.

        ``initial_carry`` (unidirectional only) continues a stream; the returned carry is the one
        after each sequence's last valid frame when ``seq_lengths`` is given, else after frame T.
        Without ``return_carry`` flax does not keep the per-step carry history (cheaper).
        """
        if self.cell not in _GATES:
            raise ValueError(f"unknown rnn_cell {self.cell!r}; expected 'gru' or 'lstm'")
        cell_cls, gates = _GATES[self.cell]
        dirs = 2 if self.bidirectional else 1
        # One matmul for every time step and direction; the scan only does h @ W_h.
        proj = nn.Dense(dirs * gates * self.hidden, name="input")(x)
        fwd = nn.RNN(cell_cls(self.hidden, name="forward"))
        if not self.bidirectional:
            return fwd(proj, seq_lengths=seq_lengths, initial_carry=initial_carry,
                       return_carry=return_carry)
        if initial_carry is not None:
            raise ValueError("a bidirectional layer cannot continue from a carry (not streamable)")
        proj_f, proj_b = jnp.split(proj, 2, axis=-1)
        bwd = nn.RNN(cell_cls(self.hidden, name="backward"))
        # reverse + keep_order with seq_lengths: flax flips each sequence inside its own length,
        # so the backward pass starts at the last valid frame, not at the padding.
        out_f = fwd(proj_f, seq_lengths=seq_lengths, return_carry=return_carry)
        out_b = bwd(proj_b, seq_lengths=seq_lengths, return_carry=return_carry, reverse=True,
                    keep_order=True)
        if not return_carry:
            return jnp.concatenate([out_f, out_b], axis=-1)
        (carry_f, y_f), (carry_b, y_b) = out_f, out_b
        return (carry_f, carry_b), jnp.concatenate([y_f, y_b], axis=-1)
