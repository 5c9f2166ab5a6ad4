"""Published models: trained models that ship inside the package, one folder per model.

A model folder (``voxjax/registry/<name>/``, or any folder that
:func:`voxjax.registry.publish.export` wrote) holds

- ``config.json``: the full experiment config it was trained with;
- ``params.safetensors``: the parameters, stored float16 and loaded float32;
- ``text_prior.json``: a speech-to-text model's character n-gram text prior (beam search);
- ``README.md``: the model card (what it is, data and licences, how it was trained, its
  measured figures with their commands, known limits);
- ``checksums.json``: the SHA-256 of every file above but the card.

Every reader of a trained model (:func:`voxjax.checkpoint.load_config`,
:func:`voxjax.checkpoint.load_params`, and so every ``--workdir``, ``--stt``, ``vc.content_workdir``
...) accepts such a folder in place of a training workdir; ``--model NAME`` on the command line
names a published one (:func:`model_dir`). A missing file, or one whose checksum differs, is a
one-line :class:`ModelError`. Published models are written only through
:func:`voxjax.registry.publish.export`, from a trained workdir, and re-published only when
their figures improve: weights in git stay forever.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from typing import Any

import jax
import ml_collections
import numpy as np

from voxjax import files
from voxjax.errors import UserError

REGISTRY_DIR = os.path.dirname(os.path.abspath(__file__))
CONFIG_FILE = "config.json"
PARAMS_FILE = "params.safetensors"
PRIOR_FILE = "text_prior.json"  # the name a workdir keeps its prior under, too
CARD_FILE = "README.md"
CHECKSUMS_FILE = "checksums.json"
STORED_DTYPE = np.float16
_SEPARATOR = "/"  # joins a parameter's path into one safetensors key
# Data paths under the shared data folder are stored as this token + the rest, so a model's
# config names its data wherever the folder is (``voxjax.config.SHARED_DATA``).
SHARED_TOKEN = "${SHARED_DATA}"


class ModelError(UserError, ValueError):
    """A published model that is unknown, incomplete or corrupt; the message is one line."""


def is_model_dir(path: str | os.PathLike) -> bool:
    """True when ``path`` is a model folder (has ``config.json`` and ``checksums.json``), not a
    training workdir."""
    path = os.fspath(path)
    return (os.path.isfile(os.path.join(path, CONFIG_FILE))
            and os.path.isfile(os.path.join(path, CHECKSUMS_FILE)))


def names() -> list[str]:
    """The published models in the package, sorted."""
    if not os.path.isdir(REGISTRY_DIR):
        return []
    return sorted(n for n in os.listdir(REGISTRY_DIR)
                  if is_model_dir(os.path.join(REGISTRY_DIR, n)))


def model_dir(name: str) -> str:
    """The folder of published model ``name``, its files checked against their checksums."""
    path = os.path.join(REGISTRY_DIR, name)
    if not name or os.sep in name or not os.path.isdir(path):
        known = ", ".join(names()) or "none"
        raise ModelError(f"no published model {name!r} (published: {known}; `voxjax models` "
                         "lists them)")
    verify(path)
    return path


def locate(path_or_name: str) -> str:
    """``path_or_name`` itself when it exists (a workdir or model folder; a model folder is
    checked), else the folder of the published model of that name, else unchanged (for the
    caller's own "not found" error)."""
    path = os.fspath(path_or_name)
    if os.path.exists(path):
        if is_model_dir(path):
            verify(path)
        return path
    if path and os.sep not in path and os.path.isdir(os.path.join(REGISTRY_DIR, path)):
        return model_dir(path)
    return path


def output_dir(path_or_name: str) -> str:
    """Where an evaluation of ``path_or_name`` writes by default: a training workdir itself, a
    published model ``runs/eval/<name>`` (the package folder stays as installed)."""
    path = locate(path_or_name)
    if is_model_dir(path):
        return os.path.join("runs", "eval", os.path.basename(os.path.normpath(path)))
    return path


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums(path: str) -> dict[str, str]:
    """``{file: sha256}`` as listed in the folder's ``checksums.json``."""
    index = os.path.join(path, CHECKSUMS_FILE)
    try:
        with open(index, encoding="utf-8") as f:
            listed = json.load(f)["sha256"]
    except FileNotFoundError:
        raise ModelError(f"model folder {path} has no {CHECKSUMS_FILE}") from None
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ModelError(f"{index} is damaged (not a JSON object with 'sha256')") from None
    return dict(listed)


def verify(path: str) -> None:
    """Raises :class:`ModelError` naming the first listed file that is missing or corrupt."""
    listed = checksums(path)
    for required in (CONFIG_FILE, PARAMS_FILE):
        if required not in listed:
            raise ModelError(f"{os.path.join(path, CHECKSUMS_FILE)} does not list {required}")
    for name in sorted(listed):
        if not os.path.isfile(os.path.join(path, name)):
            raise ModelError(f"model file missing: {os.path.join(path, name)}")
    for name, expected in sorted(listed.items()):
        file = os.path.join(path, name)
        if _sha256(file) != expected:
            raise ModelError(f"model file corrupt (checksum differs): {file}")


def _map_strings(tree: Any, fn) -> Any:
    if isinstance(tree, dict):
        return {k: _map_strings(v, fn) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_map_strings(v, fn) for v in tree]
    return fn(tree) if isinstance(tree, str) else tree


def load_config(path: str) -> ml_collections.ConfigDict:
    """The config of a model folder (checked against its checksum first), its shared-data
    paths pointing into this machine's shared data folder."""
    from voxjax.config import SHARED_DATA
    verify(path)
    with open(os.path.join(path, CONFIG_FILE), encoding="utf-8") as f:
        stored = json.load(f)
    return ml_collections.ConfigDict(_map_strings(
        stored, lambda v: v.replace(SHARED_TOKEN, os.path.abspath(SHARED_DATA))))


def load_params(path: str) -> Any:
    """The parameters of a model folder as a nested dict of float32 arrays."""
    from safetensors.numpy import load_file
    verify(path)
    flat = load_file(os.path.join(path, PARAMS_FILE))
    tree: dict = {}
    for key, value in flat.items():
        *parents, leaf = key.split(_SEPARATOR)
        node = tree
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value.astype(np.float32) if value.dtype == STORED_DTYPE else value
    device = jax.local_devices()[0]
    return jax.tree.map(lambda a: jax.device_put(a, device), tree)


def _flatten(tree: Any) -> dict[str, np.ndarray]:
    flat = {}
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        key = _SEPARATOR.join(str(getattr(k, "key", getattr(k, "idx", k))) for k in path)
        value = np.asarray(leaf)
        flat[key] = value.astype(STORED_DTYPE) if value.dtype == np.float32 else value
    return flat


def save(path: str, config: ml_collections.ConfigDict, params: Any,
         prior_file: str | None = None, card: str | None = None,
         requires: dict[str, str] | None = None) -> str:
    """Writes a model folder at ``path`` (files written atomically, the checksum index last).

    ``requires``: ``{role: published model name}`` this model runs with (a TTS model's
    ``decoder``, a conversion model's ``content`` recogniser); each link records the other
    model's parameter checksum, so :func:`required` refuses a re-published companion."""
    from safetensors.numpy import save as save_bytes
    from voxjax.config import SHARED_DATA
    os.makedirs(path, exist_ok=True)
    with files.atomic_open(os.path.join(path, PARAMS_FILE), "wb") as f:
        f.write(save_bytes(_flatten(params), metadata={"format": "voxjax", "stored": "float16"}))
    shared = os.path.abspath(SHARED_DATA)
    portable = _map_strings(json.loads(json.dumps(config.to_dict())),
                            lambda v: v.replace(shared, SHARED_TOKEN))
    files.write_json(os.path.join(path, CONFIG_FILE), portable, indent=1, sort_keys=True)
    listed = [CONFIG_FILE, PARAMS_FILE]
    if prior_file:
        with open(prior_file, "rb") as src, files.atomic_open(os.path.join(path, PRIOR_FILE),
                                                               "wb") as dst:
            shutil.copyfileobj(src, dst)
        listed.append(PRIOR_FILE)
    elif os.path.exists(os.path.join(path, PRIOR_FILE)):
        os.remove(os.path.join(path, PRIOR_FILE))
    if card is not None:
        files.write_text(os.path.join(path, CARD_FILE), card)
    links = {role: {"name": name, "params_sha256": checksums(model_dir(name))[PARAMS_FILE]}
             for role, name in sorted((requires or {}).items())}
    files.write_json(os.path.join(path, CHECKSUMS_FILE),
                     {"sha256": {n: _sha256(os.path.join(path, n)) for n in listed},
                      **({"requires": links} if links else {})}, indent=1)
    return path


def required(path: str, role: str) -> str:
    """The folder of the published model that model folder ``path`` runs with as ``role``
    (see :func:`save`); a one-line :class:`ModelError` when it has none, or when that model
    was re-published with other parameters than the ones it was built on."""
    index = os.path.join(path, CHECKSUMS_FILE)
    with open(index, encoding="utf-8") as f:
        link = json.load(f).get("requires", {}).get(role)
    if link is None:
        raise ModelError(f"{path} names no {role} model")
    other = model_dir(link["name"])
    if checksums(other)[PARAMS_FILE] != link["params_sha256"]:
        raise ModelError(f"{os.path.basename(path)} was built on another {link['name']} than "
                         f"the one installed (parameter checksums differ); re-publish it")
    return other


def describe(path: str) -> dict:
    """One row of ``voxjax models``: name, task, parameters, size on disk, the card's title."""
    config = load_config(path)
    from safetensors import safe_open
    with safe_open(os.path.join(path, PARAMS_FILE), framework="numpy") as f:
        count = sum(int(np.prod(f.get_slice(k).get_shape())) for k in f.keys())
    title = ""
    card = os.path.join(path, CARD_FILE)
    if os.path.isfile(card):
        with open(card, encoding="utf-8") as f:
            title = next((line.lstrip("# ").strip() for line in f if line.startswith("# ")), "")
    size = sum(os.path.getsize(os.path.join(path, n)) for n in checksums(path))
    return {"name": os.path.basename(os.path.normpath(path)), "task": config.task,
            "parameters": count, "bytes": size, "title": title, "path": path}
