"""Checkpoints: Orbax ``CheckpointManager`` in ``workdir/checkpoints``, one step per folder.

Each step holds three items, saved and restored together through ``ocp.args.Composite``:
  state      the train state pytree (step, params, optimizer state)   StandardSave/Restore
  data_iter  the grain iterator position, one JSON file per process   grain.checkpoint.*
  config     the experiment config as JSON, for inference             JsonSave/JsonRestore

Saves are atomic: Orbax writes into ``<step>.orbax-checkpoint-tmp`` and renames it to
``<step>`` only when every item is written, so a process killed mid-save leaves the previous
step intact and the unfinished folder is invisible to ``latest_step`` (and removed on the next
start by ``cleanup_tmp_directories``). Old steps are dropped by a keep-latest-N preservation
policy.
"""
from __future__ import annotations

import logging
import os
from typing import Any

import grain
import jax
import jax.numpy as jnp
import ml_collections
import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers

log = logging.getLogger(__name__)


def checkpoint_dir(workdir: str) -> str:
    """Where a workdir keeps its checkpoints (absolute: Orbax wants absolute paths)."""
    return os.path.join(os.path.abspath(workdir), "checkpoints")


def _handlers() -> dict[str, Any]:
    # Explicit handlers let a fresh manager read metadata before its first save/restore call.
    return {"state": ocp.StandardCheckpointHandler(),
            "data_iter": grain.checkpoint.CheckpointHandler(),
            "config": ocp.JsonCheckpointHandler()}


class Checkpointer:
    """Saves and restores (train state, data iterator, config) in ``workdir/checkpoints``."""

    def __init__(self, workdir: str, keep: int = 2, config: ml_collections.ConfigDict | None = None,
                 async_save: bool = True):
        """``keep``: newest steps preserved; ``config``: stored as JSON with every step;
        ``async_save``: write arrays in a background thread while training continues."""
        self.directory = checkpoint_dir(workdir)
        self._config = {} if config is None else config.to_dict()
        options = ocp.CheckpointManagerOptions(
            preservation_policy=checkpoint_managers.LatestN(n=int(keep)),
            cleanup_tmp_directories=True,  # leftovers of a save killed half-way
            enable_async_checkpointing=async_save,
            create=True,
        )
        self._manager = ocp.CheckpointManager(self.directory, options=options,
                                              item_handlers=_handlers())

    def latest_step(self) -> int | None:
        """Newest complete step on disk, or None."""
        return self._manager.latest_step()

    def all_steps(self) -> list[int]:
        """Every complete step on disk, oldest first."""
        return sorted(self._manager.all_steps())

    def save(self, step: int, state: Any, iterator: Any) -> bool:
        """Starts saving ``state`` and the iterator position at ``step`` (async: returns once
        arrays are copied off the devices; call :meth:`wait` before relying on the files)."""
        if step in self._manager.all_steps():
            return False  # e.g. the final save right after a periodic one
        return self._manager.save(int(step), force=True, args=ocp.args.Composite(
            state=ocp.args.StandardSave(state),
            data_iter=grain.checkpoint.CheckpointSave(iterator),
            config=ocp.args.JsonSave(self._config)))

    def restore(self, state_template: Any, iterator: Any, step: int | None = None) -> Any:
        """Returns the state saved at ``step`` (default: latest) laid out like
        ``state_template`` (same tree, shapes, dtypes, shardings) and moves ``iterator`` to the
        saved position in place."""
        step = self.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {self.directory}")
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, state_template)
        restored = self._manager.restore(int(step), args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract),
            data_iter=grain.checkpoint.CheckpointRestore(iterator)))
        return restored["state"]

    def wait(self) -> None:
        """Blocks until an async save has been committed (renamed into place)."""
        self._manager.wait_until_finished()

    def close(self) -> None:
        """Waits for pending saves and releases the manager."""
        self._manager.wait_until_finished()
        self._manager.close()


def _read_only_manager(workdir: str) -> tuple[ocp.CheckpointManager, int]:
    directory = checkpoint_dir(workdir)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"no checkpoint in {workdir}")
    manager = ocp.CheckpointManager(
        directory, item_handlers=_handlers(),
        # Not read_only=True: it logs two warnings per load; create=False already
        # keeps inference from writing anything.
        options=ocp.CheckpointManagerOptions(create=False))
    step = manager.latest_step()
    if step is None:
        manager.close()
        raise FileNotFoundError(f"no checkpoint in {workdir}")
    return manager, step


def load_config(workdir: str) -> ml_collections.ConfigDict:
    """The config stored with the newest checkpoint of ``workdir`` (tuples come back as lists)."""
    manager, step = _read_only_manager(workdir)
    try:
        restored = manager.restore(step, args=ocp.args.Composite(config=ocp.args.JsonRestore()))
    finally:
        manager.close()
    return ml_collections.ConfigDict(restored["config"])


def load_params(workdir: str, step: int | None = None) -> Any:
    """The parameters of the newest (or given) checkpoint of ``workdir``, on one local device.

    Needs no template: shapes come from the checkpoint's metadata, and every array is placed
    on the first local device whatever mesh it was trained on (e.g. eight devices, one host).
    """
    manager, latest = _read_only_manager(workdir)
    step = latest if step is None else step
    try:
        metadata = manager.item_metadata(step)["state"]
        tree = getattr(metadata, "tree", metadata)
        device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
        abstract = jax.tree.map(
            lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device), tree,
            is_leaf=lambda m: hasattr(m, "shape") and hasattr(m, "dtype"))
        restored = manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract)))
    finally:
        manager.close()
    return restored["state"]["params"]


def init_params_from(workdir: str, params: Any) -> Any:
    """Parameters of ``workdir``'s newest checkpoint in place of freshly initialised ``params``
    (fine-tuning); a one-line ValueError names the first parameter whose path or shape differs."""
    keystr = jax.tree_util.keystr
    loaded = {keystr(k): v for k, v in jax.tree_util.tree_leaves_with_path(load_params(workdir))}
    wanted = {keystr(k): v for k, v in jax.tree_util.tree_leaves_with_path(params)}
    for key in sorted(set(wanted) | set(loaded)):
        have, want = getattr(loaded.get(key), "shape", "missing"), getattr(
            wanted.get(key), "shape", "absent")
        if have != want:
            raise ValueError(f"init_from {workdir}: parameter {key} is {have} there but {want} "
                             "in this model; the model configs must match")
    return jax.tree_util.tree_map_with_path(
        lambda k, new: jnp.asarray(loaded[keystr(k)], new.dtype), params)
