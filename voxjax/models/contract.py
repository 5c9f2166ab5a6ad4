"""The streaming contract: one interface for every streaming model (docs/architecture.md).

    streamer = Streamer(module)
    state = streamer.init_state(params, batch)           # zeros, fixed shapes
    state, out = streamer.step(params, state, chunk)      # one chunk in, its output out
    state, outs = scan_offline(streamer.step, params, state, chunks)   # offline: the same step

A flax module joins by defining two methods, ``init_state(self, batch)`` and
``step(self, state, chunk) -> (state, out)``; :class:`Streamer` binds them to parameters through
``apply``. Composite pipelines (``voxjax.streaming``: front end + model + decoder) expose the same
``init_state(params, batch)`` / ``step(params, state, chunk)`` pair and go through the same
:func:`scan_offline`, so offline inference is the streaming step under ``lax.scan`` and chunked
output equals offline output by construction (up to float reassociation; tests compare them).

Offline scans use bigger chunks than a live stream (:func:`offline_chunk`, about 1 s): the
same step, fewer and larger calls. Chunks are pytrees whose leaves carry a leading chunk axis
for :func:`scan_offline`;
:func:`to_chunks` and :func:`from_chunks` convert ``[B, T, ...]`` arrays to and from it.
"""
from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

StepFn = Callable[[Any, Any, Any], tuple[Any, Any]]  # (params, state, chunk) -> (state, out)


def variables(params):
    """A bare params tree (what tasks keep) or a full ``{'params': ...}`` variables dict."""
    return params if "params" in params else {"params": params}


class Streamer:
    """Binds a flax module's ``init_state``/``step`` methods to the contract's signatures."""

    def __init__(self, module, step_method: str = "step"):
        """``module``: an unbound flax module defining ``init_state`` and ``step``;
        ``step_method`` names another method with ``step``'s signature to bind instead (e.g. the
        language model's ``encode_step``, its step without the output head)."""
        for method in ("init_state", step_method):
            if not callable(getattr(module, method, None)):
                raise TypeError(f"{type(module).__name__} has no {method}(): not a streaming model")
        self.module, self.step_method = module, step_method

    def init_state(self, params, batch: int):
        """Zero state of ``batch`` streams (shapes may depend on the parameters)."""
        return self.module.apply(variables(params), batch, method="init_state")

    def step(self, params, state, chunk):
        """``(state, chunk) -> (state, out)``: one chunk of fixed shape."""
        return self.module.apply(variables(params), state, chunk, method=self.step_method)


def place_like(state, params):
    """``state`` committed to the device that holds ``params``. A jitted step returns committed
    arrays, and jit keys its cache on committedness: a zero state built with ``jnp.zeros``
    (uncommitted) would make the second chunk of every first stream compile the step again
    (about a second, mid-stream)."""
    leaf = jax.tree.leaves(params)[0]
    device = next(iter(leaf.devices())) if isinstance(leaf, jax.Array) else jax.devices()[0]
    return jax.device_put(state, device)


def scan_offline(step: StepFn, params, state, chunks):
    """Runs ``step`` over ``chunks`` (leading axis = chunk index) with ``lax.scan``.

    Returns ``(final state, outputs)`` with the outputs stacked on the same leading axis.
    """
    return jax.lax.scan(lambda carry, chunk: step(params, carry, chunk), state, chunks)


OFFLINE_CHUNK_FRAMES = 100  # offline scans take about 1 s (100 frames of 10 ms) per step


def offline_chunk(chunk: int, unit: int = OFFLINE_CHUNK_FRAMES) -> int:
    """The chunk an offline scan uses: the smallest multiple of the streaming ``chunk`` that is at
    least ``unit``. Chunked output equals offline output for any chunk size, and whole seconds
    per step spread the step's fixed cost (dispatch, small matmuls) over 10x more frames than a
    100 ms live chunk; being a multiple of ``chunk`` keeps the model's divisibility rules."""
    return chunk * max(1, -(-unit // chunk))


def to_chunks(x: jnp.ndarray, size: int) -> jnp.ndarray:
    """``[B, T, ...]`` (``T`` a multiple of ``size``) -> ``[T / size, B, size, ...]``."""
    b, t = x.shape[:2]
    if t % size:
        raise ValueError(f"length {t} is not a multiple of the chunk size {size}")
    return jnp.swapaxes(x.reshape(b, t // size, size, *x.shape[2:]), 0, 1)


def from_chunks(y: jnp.ndarray) -> jnp.ndarray:
    """``[N, B, k, ...]`` -> ``[B, N * k, ...]`` (inverse of :func:`to_chunks`)."""
    y = jnp.swapaxes(y, 0, 1)
    return y.reshape(y.shape[0], y.shape[1] * y.shape[2], *y.shape[3:])
