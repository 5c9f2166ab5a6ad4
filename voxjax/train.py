"""The one training loop. It knows nothing about speech: a Task supplies data, init and loss.

``train_and_evaluate(config, workdir)`` reads, top to bottom: logging → distributed/mesh →
input → model init → optimizer → train state → checkpoint restore → update step → loop →
final eval. Resume order: build the iterator and a fresh state, then, if ``workdir`` holds a
checkpoint, overwrite both (state and iterator position) from its newest step, so a restarted
run continues exactly where the checkpoint left off.

Counting compilations: the jitted update step is compiled once per distinct batch shape (the
task's length buckets). ``compile_count(step_fn)`` returns how many executables the step's jit
cache holds (``jax.jit(...)._cache_size()``, a private but long-standing JAX method); the loop
logs it as ``compiles`` in every train row of ``metrics.jsonl`` and warns when it exceeds the
number of batch shapes seen. ``JAX_LOG_COMPILES=1`` additionally logs every compilation.
"""
from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from jax import lax
from jax.experimental import multihost_utils
from tqdm import tqdm

from voxjax import checkpoint, parallel, summaries
from voxjax.data import sources
from voxjax import tasks as tasks_lib

log = logging.getLogger(__name__)


@flax.struct.dataclass
class TrainState:
    """Everything that changes during training (the data position is checkpointed apart)."""
    step: jax.Array  # int32 scalar: number of updates applied
    params: Any
    opt_state: Any


def make_optimizer(optim: ml_collections.ConfigDict, total_steps: int
                   ) -> tuple[optax.GradientTransformation, optax.Schedule]:
    """Global-norm clipping then AdamW under linear warm-up + cosine decay to zero."""
    warmup = int(min(optim.warmup_steps, max(total_steps - 1, 0)))
    schedule = optax.warmup_cosine_decay_schedule(
        init_value=0.0, peak_value=float(optim.learning_rate), warmup_steps=warmup,
        decay_steps=max(int(total_steps), warmup + 1), end_value=0.0)
    # No decay on vectors (biases, norm scales): shrinking them only hurts, as in BERT/ViT.
    decay_mask = lambda params: jax.tree.map(lambda x: jnp.ndim(x) > 1, params)  # noqa: E731
    tx = optax.chain(
        optax.clip_by_global_norm(float(optim.clip_norm)),
        optax.adamw(schedule, weight_decay=float(optim.weight_decay), mask=decay_mask))
    return tx, schedule


def make_update_step(task, tx: optax.GradientTransformation, schedule: optax.Schedule,
                     mesh: jax.sharding.Mesh) -> Callable:
    """Jitted ``step(state, global_batch, base_rng) -> (state, metrics)`` over the mesh.

    Per device: rng = fold_in(fold_in(base_rng, step), device index), so dropout differs across
    devices and steps yet replays identically after a resume; loss, gradients and metrics are
    averaged over ``'data'``; the metrics dict adds ``loss``, ``grad_norm``, ``learning_rate``.
    """
    def per_device(state: TrainState, batch, base_rng):
        rng = jax.random.fold_in(base_rng, state.step)
        rng = jax.random.fold_in(rng, lax.axis_index(parallel.AXIS))

        def loss_fn(params):
            return task.loss(params, batch, rng, train=True)

        # Local gradients, then their mean over the data axis.
        (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
        grads = parallel.pmean(grads)
        metrics = parallel.pmean({**metrics, "loss": loss})
        updates, opt_state = tx.update(grads, state.opt_state, state.params)
        new_state = TrainState(step=state.step + 1,
                               params=optax.apply_updates(state.params, updates),
                               opt_state=opt_state)
        metrics["grad_norm"] = optax.tree_utils.tree_norm(grads)
        metrics["learning_rate"] = jnp.asarray(schedule(state.step), jnp.float32)
        return new_state, {k: jnp.asarray(v, jnp.float32) for k, v in metrics.items()}

    step_fn = parallel.data_parallel_step(per_device, mesh, batch_argnums=(1,))
    # Donating the old state lets XLA update params in place (halves peak memory).
    return jax.jit(step_fn, donate_argnums=(0,))


def compile_count(jitted_fn: Callable) -> int:
    """How many executables a ``jax.jit`` function has compiled (-1 if JAX hides it)."""
    size = getattr(jitted_fn, "_cache_size", None)
    return int(size()) if callable(size) else -1


@jax.jit
def _accumulate(total, metrics):
    # Sums on device, so metrics cost no host sync except every log_every steps.
    return jax.tree.map(jnp.add, total, metrics)


def check_finite(metrics: dict[str, float], step: int) -> None:
    """Raises a one-line FloatingPointError if any fetched metric is NaN or Inf."""
    bad = sorted(k for k, v in metrics.items() if not np.isfinite(v))
    if bad:
        what = "loss" if "loss" in bad else bad[0]
        raise FloatingPointError(f"non-finite {what} at step {step} (non-finite: {', '.join(bad)})")


class _SigtermFlag(contextlib.AbstractContextManager):
    """SIGTERM (preemption, ``kill``) only sets a flag; the loop then saves and exits."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        try:
            self._previous = signal.signal(signal.SIGTERM, self._handle)
        except ValueError:  # not the main thread (e.g. a notebook worker): no handler
            self._previous = None
        return self

    def _handle(self, signum, frame):
        del signum, frame
        self.requested = True

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)
        return False


def _param_count(tree) -> int:
    return int(sum(np.prod(x.shape) for x in jax.tree.leaves(tree)))


def _shape_key(batch) -> tuple:
    return tuple(sorted((k, tuple(np.shape(v))) for k, v in batch.items()))


def _every(step: int, period: int) -> bool:
    return period > 0 and step % period == 0


def _stop_requested(sigterm: "_SigtermFlag", step: int, every: int) -> bool:
    """Whether to stop before ``step``: this process's SIGTERM flag, or, with several
    processes, whether *any* process got one (an all-gather of the flags every ``every``
    steps, at the same steps everywhere), so that all processes stop and save at one step."""
    if jax.process_count() == 1:
        return sigterm.requested
    if step % max(int(every), 1):
        return False
    flags = multihost_utils.process_allgather(np.asarray(sigterm.requested, np.int32))
    return bool(np.any(np.asarray(flags)))


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str, task=None
                       ) -> dict[str, float]:
    """Trains ``config.train.steps`` updates in ``workdir`` (resuming from its newest
    checkpoint), evaluating and checkpointing periodically; returns the final metrics.

    Raises FloatingPointError (one line) if a fetched metric is NaN/Inf; that state is not
    saved. On SIGTERM (with several processes: on any one of them), saves the current step and
    returns early with ``preempted=1``. Resuming with a config that would change the run
    raises a one-line :class:`~voxjax.errors.ConfigError` naming the keys
    (:func:`checkpoint.check_resume_config`). Only training builds a missing synthetic corpus.
    """
    with sources.corpus_building():
        return _train_and_evaluate(config, workdir, task)


def _train_and_evaluate(config: ml_collections.ConfigDict, workdir: str, task=None
                        ) -> dict[str, float]:
    # ------------------------------------------------------------------ logging
    os.makedirs(workdir, exist_ok=True)
    tc = config.train
    total_steps = int(tc.steps)

    # ------------------------------------------------------------------ distributed / mesh
    parallel.maybe_initialize_distributed(config.parallel)
    mesh = parallel.make_mesh(config.parallel)
    is_main = jax.process_index() == 0
    writer = summaries.SummaryWriter(workdir, enabled=is_main)
    log.info("workdir %s, process %d/%d, mesh %s (%d devices)", workdir, jax.process_index(),
             jax.process_count(), dict(mesh.shape), mesh.devices.size)

    # ------------------------------------------------------------------ resume check
    # Before any data is read or built: a resumed run must be the run its checkpoints hold.
    stored = checkpoint.stored_config(workdir)
    if stored is not None:
        checkpoint.adopt_derived(stored[1], config)
        try:
            checkpoint.check_resume_config(stored[1], config.to_dict(), workdir, stored[0])
        except Exception:
            writer.close()
            raise

    # ------------------------------------------------------------------ input
    task = tasks_lib.get(config) if task is None else task
    train_iter = task.train_iterator(jax.process_index(), jax.process_count())
    # Peek at one batch for init without moving the data position.
    start_position = train_iter.get_state()
    first_batch = next(train_iter)
    train_iter.set_state(start_position)
    log.info("batch (local): %s", {k: (v.shape, str(v.dtype)) for k, v in first_batch.items()})

    # ------------------------------------------------------------------ model init
    rng = jax.random.key(int(config.seed))
    init_rng, train_rng = jax.random.split(rng)
    shapes = jax.eval_shape(task.init, init_rng, first_batch)  # nothing allocated yet
    log.info("parameters: %s", f"{_param_count(shapes):,}")
    params = task.init(init_rng, first_batch)
    if config.get("init_from"):  # fine-tuning; a resumed run's own checkpoint still wins below
        params = checkpoint.init_params_from(str(config.init_from), params)
        log.info("initialised parameters from %s", config.init_from)

    # ------------------------------------------------------------------ optimizer
    tx, schedule = make_optimizer(config.optim, total_steps)

    # ------------------------------------------------------------------ train state
    state = parallel.replicate(mesh, TrainState(step=jnp.zeros((), jnp.int32), params=params,
                                                opt_state=tx.init(params)))
    del params
    train_rng = parallel.replicate(mesh, train_rng)

    # ------------------------------------------------------------------ checkpoint restore
    ckpt = checkpoint.Checkpointer(workdir, keep=int(tc.keep), config=config)
    if ckpt.latest_step() is not None:
        state = ckpt.restore(state, train_iter)
        log.info("resumed from step %d", ckpt.latest_step())
    step = int(jax.device_get(state.step))

    # ------------------------------------------------------------------ update step
    update = make_update_step(task, tx, schedule, mesh)

    # ------------------------------------------------------------------ loop
    seen_shapes: set[tuple] = set()
    window = None  # on-device metric sums since the last fetch
    window_steps, window_start, last_train, last_eval = 0, time.time(), {}, {}
    window_audio = 0.0  # seconds of real audio in this process's batches since the last fetch
    preempted = False
    sync_every = int(config.parallel.get("preemption_sync_every", 10))
    progress = tqdm(total=total_steps, initial=step, disable=not is_main, desc="train",
                    dynamic_ncols=True, mininterval=2.0)

    def fetch_and_log() -> None:
        # The only per-step host sync: every log_every steps, before saves, and at the end.
        nonlocal window, window_steps, window_start, last_train, window_audio
        if window is None:
            return
        metrics = {k: float(v) / window_steps for k, v in jax.device_get(window).items()}
        check_finite(metrics, step)
        elapsed = max(time.time() - window_start, 1e-9)
        metrics["steps_per_sec"] = window_steps / elapsed
        if window_audio:  # every process reads its own share of each global batch
            metrics["audio_seconds_per_sec"] = window_audio * jax.process_count() / elapsed
        metrics["compiles"] = compile_count(update)
        if metrics["compiles"] > len(seen_shapes):
            log.warning("update step compiled %d times for %d batch shapes (recompiling?)",
                        metrics["compiles"], len(seen_shapes))
        writer.scalars(step, metrics, prefix="train")
        progress.set_postfix(loss=f"{metrics['loss']:.4g}", refresh=False)
        last_train, window, window_steps, window_start = metrics, None, 0, time.time()
        window_audio = 0.0

    def run_eval() -> None:
        nonlocal last_eval
        split = config.data.eval_split
        last_eval = {k: float(v) for k, v in
                     task.evaluate(state.params, split, tc.get("eval_batches", None)).items()}
        writer.scalars(step, last_eval, prefix=split)
        if hasattr(task, "write_examples"):
            task.write_examples(state.params, writer, step)
        log.info("step %d %s: %s", step, split,
                 " ".join(f"{k}={v:.4g}" for k, v in last_eval.items()))

    try:
        with _SigtermFlag() as sigterm:
            while step < total_steps:
                if _stop_requested(sigterm, step, sync_every):
                    preempted = True
                    break
                batch = next(train_iter)
                seen_shapes.add(_shape_key(batch))
                window_audio += tasks_lib.batch_audio_seconds(task, batch) or 0.0
                state, metrics = update(state, parallel.global_batch(mesh, batch), train_rng)
                window = metrics if window is None else _accumulate(window, metrics)
                window_steps += 1
                step += 1
                progress.update(1)
                saving = _every(step, tc.checkpoint_every)
                if _every(step, tc.log_every) or saving or step == total_steps:
                    fetch_and_log()
                if _every(step, tc.eval_every) and step < total_steps:
                    run_eval()
                if saving:
                    ckpt.save(step, state, train_iter)
            # Preempted or done: check the unlogged steps, then persist the current step.
            fetch_and_log()
            if step > 0:
                ckpt.save(step, state, train_iter)
            if preempted:
                log.warning("SIGTERM: saved step %d, exiting", step)
        # ------------------------------------------------------------------ final eval
        if not preempted:
            run_eval()
    finally:
        progress.close()
        ckpt.close()  # waits for the async save in flight
        writer.close()
        if hasattr(train_iter, "close"):
            train_iter.close()

    result = {"step": float(step), "preempted": float(preempted)}
    result.update({f"train_{k}": v for k, v in last_train.items()})
    result.update(last_eval)
    return result
