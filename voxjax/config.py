"""Experiment configs: load ``configs/<name>.py`` files by name or path, outside absl flags."""
from __future__ import annotations

import importlib.util
import os

import ml_collections

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_DIR = os.path.join(REPO, "configs")
# Real recordings shared beside the repository (Mini LibriSpeech, Kathleen, FSDD, LJSpeech-32);
# the project never needs them, recipes that train on them point here by default.
SHARED_DATA = os.path.join(os.path.dirname(REPO), "shared", "data")


def load(name_or_path: str, arg: str | None = None) -> ml_collections.ConfigDict:
    """Calls ``get_config(arg)`` of ``configs/<name>.py`` (or of a file path)."""
    path = name_or_path if name_or_path.endswith(".py") else os.path.join(CONFIG_DIR, name_or_path + ".py")
    if not os.path.exists(path):
        raise FileNotFoundError(f"config file not found: {path}")
    spec = importlib.util.spec_from_file_location(f"voxjax_config_{os.path.basename(path)[:-3]}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(arg)


def override(config: ml_collections.ConfigDict, overrides: dict) -> ml_collections.ConfigDict:
    """Sets dotted keys (``model.rnn_cell``) on ``config``; an unknown key raises KeyError."""
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = config
        for p in parents:
            node = node[p]
        if leaf not in node:
            raise KeyError(f"unknown config key {dotted}")
        node[leaf] = value
    return config
