"""Experiment configs: load ``configs/<name>.py`` files by name or path, outside absl flags.

Named configs are found in the repository's ``configs/`` folder (a source checkout or an
editable install) or, in an installed wheel (``pip install .``), in the package ``voxjax.configs``
that ``setup.py`` builds from that same folder.
"""
from __future__ import annotations

import importlib.util
import os

import ml_collections

from voxjax.errors import UnknownConfigKeyError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_DIR = os.path.join(REPO, "configs")
PACKAGE = "voxjax.configs"  # where setup.py puts configs/*.py in a wheel
# Real recordings shared beside the repository (Mini LibriSpeech, Kathleen, FSDD, LJSpeech-32);
# the project never needs them, recipes that train on them point here by default.
SHARED_DATA = os.path.join(os.path.dirname(REPO), "shared", "data")


def config_dirs() -> list[str]:
    """Folders searched for named configs: the checkout's ``configs/``, then the installed
    package ``voxjax.configs`` (each only if it exists)."""
    dirs = [CONFIG_DIR] if os.path.isdir(CONFIG_DIR) else []
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        spec = None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if os.path.isdir(folder) and os.path.abspath(folder) not in map(os.path.abspath, dirs):
            dirs.append(str(folder))
    return dirs


def find(name_or_path: str) -> str:
    """The file of a config: a path ending in ``.py`` as given, a name from :func:`config_dirs`."""
    if name_or_path.endswith(".py"):
        path = name_or_path
    else:
        candidates = [os.path.join(d, name_or_path + ".py") for d in config_dirs()]
        path = next((p for p in candidates if os.path.exists(p)),
                    candidates[0] if candidates else os.path.join(CONFIG_DIR, name_or_path + ".py"))
    if not os.path.exists(path):
        raise FileNotFoundError(f"config file not found: {path}")
    return path


def load(name_or_path: str, arg: str | None = None) -> ml_collections.ConfigDict:
    """Calls ``get_config(arg)`` of a named config (see :func:`find`) or of a file path."""
    path = find(name_or_path)
    spec = importlib.util.spec_from_file_location(f"voxjax_config_{os.path.basename(path)[:-3]}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(arg)


def override(config: ml_collections.ConfigDict, overrides: dict) -> ml_collections.ConfigDict:
    """Sets dotted keys (``model.rnn_cell``) on ``config``; an unknown key raises
    :class:`~voxjax.errors.UnknownConfigKeyError` (a KeyError and a user error)."""
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = config
        for p in parents:
            if p not in node:
                raise UnknownConfigKeyError(f"unknown config key {dotted}")
            node = node[p]
        if leaf not in node:
            raise UnknownConfigKeyError(f"unknown config key {dotted}")
        node[leaf] = value
    return config
