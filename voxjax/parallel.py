"""Data parallelism: a 1-D device mesh with a ``'data'`` axis and a ``jax.shard_map`` step.

``jax.shard_map`` is what ``jax.pmap`` is built on since JAX 0.8: the per-device function sees
its local shard of the batch (``P('data')``) and the full replicated parameters (``P()``), and
cross-device reductions are explicit ``lax.pmean``/``lax.psum`` over the ``'data'`` axis. Host
batches enter as one global array per field via ``jax.make_array_from_process_local_data``, so
the same code runs on one CPU, eight fake CPU devices, or several hosts.
"""
from __future__ import annotations

import functools
import logging
from typing import Any, Callable, Mapping, Sequence

import jax
import numpy as np
from jax import lax
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

log = logging.getLogger(__name__)

AXIS = "data"


def maybe_initialize_distributed(parallel_config) -> bool:
    """Starts ``jax.distributed`` when ``parallel_config.multihost``; returns whether it did.

    Must run before anything touches a JAX device (device lists are fixed at backend start).
    """
    if not parallel_config.get("multihost", False):
        return False
    # The CPU backend needs a collectives implementation to talk across processes; gloo ships
    # with jaxlib and must be chosen before the backend starts. It only affects the CPU client,
    # so it is harmless on GPU/TPU hosts.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=parallel_config.coordinator,
        num_processes=int(parallel_config.num_processes),
        process_id=int(parallel_config.process_id),
    )
    log.info("jax.distributed: process %d of %d", jax.process_index(), jax.process_count())
    return True


def make_mesh(parallel_config=None) -> Mesh:
    """A 1-D mesh over ``parallel_config.data`` devices (all devices when -1 or missing)."""
    n = -1 if parallel_config is None else int(parallel_config.get("data", -1))
    total = jax.device_count()
    if n == -1:
        n = total
    if not 1 <= n <= total:
        raise ValueError(f"parallel.data={n} but only {total} devices are available")
    # Auto axis types: arrays outside the step keep the classic propagate-by-XLA behaviour, so
    # tasks can mix replicated params with host numpy in their own jitted eval functions.
    return jax.make_mesh((n,), (AXIS,), axis_types=(AxisType.Auto,),
                         devices=jax.devices()[:n])


def global_batch(mesh: Mesh, local_batch: Mapping[str, np.ndarray]) -> dict[str, jax.Array]:
    """Host numpy dict (this process's rows) → dict of global arrays sharded on ``'data'``.

    Every process passes its own rows; the global leading dimension is the sum over processes.
    """
    sharding = NamedSharding(mesh, P(AXIS))
    return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v))
            for k, v in local_batch.items()}


def replicate(mesh: Mesh, tree: Any) -> Any:
    """Copies a pytree (params, optimizer state, PRNG keys) to every device of the mesh (``P()``).

    Every process must pass the same values (same seed). Goes through host memory because
    ``jax.device_put`` refuses shardings that span other processes' devices.
    """
    sharding = NamedSharding(mesh, P())

    def put(x):
        if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            # Typed keys have no numpy form: move their raw data and re-wrap it.
            return jax.random.wrap_key_data(put(jax.random.key_data(x)),
                                            impl=jax.random.key_impl(x))
        host = np.asarray(x)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    return jax.tree.map(put, tree)


def pmean(tree: Any) -> Any:
    """Mean of a pytree over the ``'data'`` axis (call inside ``data_parallel_step``)."""
    return lax.pmean(tree, AXIS)


def data_parallel_step(fn: Callable, mesh: Mesh, batch_argnums: Sequence[int] = (1,)) -> Callable:
    """Wraps a per-device ``fn(*args)`` with ``jax.shard_map`` over the ``'data'`` axis.

    Arguments at ``batch_argnums`` are split on their leading axis (``P('data')``); all other
    arguments (params, optimizer state, rng) are replicated (``P()``). Every output must be
    replicated, i.e. ``fn`` reduces per-device values with :func:`pmean` (``lax.pmean``).
    Wrap the result in ``jax.jit``.

    ``check_vma=False`` gives pmap semantics: the gradient of a replicated input is each
    device's local gradient (with the check on, JAX would sum it over devices as the transpose
    of an implicit broadcast), and scan carries made inside the model (RNN zero states) need no
    varying-axis casts. The 1-vs-8-device test pins the resulting update to the 1-device one.
    """
    batch_argnums = frozenset(batch_argnums)

    @functools.wraps(fn)
    def wrapped(*args):
        # Specs depend on the argument count, known only at call (trace) time.
        in_specs = tuple(P(AXIS) if i in batch_argnums else P() for i in range(len(args)))
        return jax.shard_map(fn, mesh=mesh, in_specs=in_specs, out_specs=P(),
                             check_vma=False)(*args)

    return wrapped
