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

Resuming checks the stored config against the new one (:func:`check_resume_config`): a run
whose data, model, optimizer, schedule or length would change is refused with one line naming
the keys; only the keys in :data:`RESUME_SAFE_KEYS` (logging, evaluation and checkpoint
periods, workers, parallelism, inference settings) may differ.
"""
from __future__ import annotations

import fnmatch
import json
import logging
import os
from typing import Any

import grain
import jax
import jax.numpy as jnp
import ml_collections
import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers

from voxjax import registry
from voxjax.errors import ConfigError

log = logging.getLogger(__name__)

# Config keys (fnmatch patterns over dotted paths) that a resumed run may change: they do not
# alter the sequence of updates. Every other difference is refused.
RESUME_SAFE_KEYS = (
    "train.log_every", "train.eval_every", "train.checkpoint_every", "train.keep",
    "train.eval_batches", "data.num_workers", "data.cache_dir", "data.cache_features",
    "data.eval_split", "parallel.*", "inference.*", "decode.*", "synthesis.*",
    "model.chunk_ms",  # an inference setting that lived under model before the inference block
    "init_from",  # a resumed run's own checkpoint wins over init_from
)
# Keys a run fills in itself when the config leaves them empty (the speaker table, read from the
# training manifest): a resumed run takes the stored value instead of deriving it again.
DERIVED_KEYS = ("data.speakers",)
# Folder-valued keys stored as absolute paths (a relative one means: from the training cwd).
PATH_KEYS = ("data.root", "data.synth_root", "init_from")


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict) and tree:
        out = {}
        for k, v in tree.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: tree}


def absolute_paths(config: dict, cwd: str | None = None) -> dict:
    """``config`` (a plain dict) with the :data:`PATH_KEYS` made absolute against ``cwd``."""
    config = json.loads(json.dumps(config))  # a deep copy, tuples as lists (as stored)
    for dotted in PATH_KEYS:
        *parents, leaf = dotted.split(".")
        node = config
        for p in parents:
            node = node.get(p) if isinstance(node, dict) else None
        value = node.get(leaf) if isinstance(node, dict) else None
        if isinstance(value, str) and value:
            node[leaf] = os.path.abspath(os.path.join(cwd or os.getcwd(),
                                                      os.path.expanduser(value)))
    return config


def config_differences(stored: dict, new: dict) -> list[tuple[str, Any, Any]]:
    """``(key, stored value, new value)`` of every dotted key that differs between two configs
    (plain dicts; paths compared as absolute) and is not in :data:`RESUME_SAFE_KEYS`."""
    missing = "<absent>"
    a, b = _flatten(absolute_paths(stored)), _flatten(absolute_paths(new))
    return [(k, a.get(k, missing), b.get(k, missing)) for k in sorted(set(a) | set(b))
            if a.get(k, missing) != b.get(k, missing)
            and not any(fnmatch.fnmatchcase(k, pattern) for pattern in RESUME_SAFE_KEYS)]


def adopt_derived(stored: dict | None, config) -> None:
    """Copies the :data:`DERIVED_KEYS` that ``config`` (an ml_collections ConfigDict) leaves
    empty from the ``stored`` config of the run being resumed, so the resumed run keeps the
    table its checkpoints were trained with (and the resume check sees no difference)."""
    for dotted in DERIVED_KEYS:
        *parents, leaf = dotted.split(".")
        node, saved = config, stored or {}
        for p in parents:
            node = node.get(p) if node is not None else None
            saved = saved.get(p, {}) if isinstance(saved, dict) else {}
        value = saved.get(leaf) if isinstance(saved, dict) else None
        if node is not None and leaf in node and not node[leaf] and value:
            node[leaf] = tuple(value)


def check_resume_config(stored: dict | None, new: dict, workdir: str, step: int) -> None:
    """Raises a one-line :class:`~voxjax.errors.ConfigError` when resuming ``workdir`` at
    ``step`` with config ``new`` would silently change the run stored there."""
    if not stored:  # a checkpoint saved without its config: nothing to compare
        return
    diffs = config_differences(stored, new)
    if diffs:
        shown = ", ".join(f"{k} ({_short(old)} -> {_short(value)})" for k, old, value in diffs[:8])
        more = f" and {len(diffs) - 8} more" if len(diffs) > 8 else ""
        raise ConfigError(f"cannot resume {workdir} at step {step}: the config differs from the "
                          f"checkpoint's in {shown}{more}; use a new --workdir or the stored "
                          "values")


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


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
        # Folders as absolute paths, so that the workdir's config means the same data when
        # eval/transcribe run from another directory.
        self._config = {} if config is None else absolute_paths(config.to_dict())
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


def _read_only_manager(workdir: str, partial: bool = False
                       ) -> tuple[ocp.CheckpointManager, int]:
    """A manager that only reads; ``partial``: its ``state`` item restores a sub-tree (the
    parameters without the optimiser state) through Orbax's PyTree handler, which reads the
    format the standard handler wrote."""
    directory = checkpoint_dir(workdir)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"no checkpoint in {workdir}")
    handlers = _handlers()
    if partial:
        handlers["state"] = ocp.PyTreeCheckpointHandler()
    manager = ocp.CheckpointManager(
        directory, item_handlers=handlers,
        # Not read_only=True: it logs two warnings per load; create=False already
        # keeps inference from writing anything.
        options=ocp.CheckpointManagerOptions(create=False))
    step = manager.latest_step()
    if step is None:
        manager.close()
        raise FileNotFoundError(f"no checkpoint in {workdir}")
    return manager, step


def stored_config(workdir: str) -> tuple[int, dict] | None:
    """``(latest step, its stored config as a plain dict)`` of ``workdir``, None without a
    checkpoint (reads only; creates nothing)."""
    try:
        manager, step = _read_only_manager(workdir)
    except FileNotFoundError:
        return None
    try:
        restored = manager.restore(step, args=ocp.args.Composite(config=ocp.args.JsonRestore()))
    finally:
        manager.close()
    return step, restored["config"]


def load_config(workdir: str) -> ml_collections.ConfigDict:
    """The config stored with the newest checkpoint of ``workdir`` (tuples come back as lists),
    or a published model's (a folder or a name: :func:`voxjax.registry.locate`)."""
    workdir = registry.locate(workdir)
    if registry.is_model_dir(workdir):
        return registry.load_config(workdir)
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
    Only the parameters are read, not the optimiser state beside them.
    A published model folder (:mod:`voxjax.registry`) gives its stored parameters.
    """
    workdir = registry.locate(workdir)
    if registry.is_model_dir(workdir):
        if step is not None:
            raise ValueError(f"{workdir} is a published model: it has no checkpoint steps")
        return registry.load_params(workdir)
    manager, latest = _read_only_manager(workdir, partial=True)
    step = latest if step is None else step
    try:
        metadata = manager.item_metadata(step)["state"]
        tree = getattr(metadata, "tree", metadata)
        device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
        abstract = {"params": jax.tree.map(
            lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device), tree["params"],
            is_leaf=lambda m: hasattr(m, "shape") and hasattr(m, "dtype"))}
        restored = manager.restore(step, args=ocp.args.Composite(state=ocp.args.PyTreeRestore(
            item=abstract, restore_args=ocp.checkpoint_utils.construct_restore_args(abstract),
            partial_restore=True)))
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
