"""Publishing: a trained workdir written as a model folder of :mod:`voxjax.registry` (apart
from the package's reading half, which :mod:`voxjax.checkpoint` itself uses)."""
from __future__ import annotations

import os

import jax
import numpy as np

from voxjax import checkpoint, inference, registry, summaries


def export(workdir: str, name: str, out_dir: str | None = None,
           requires: dict[str, str] | None = None) -> str:
    """Writes the newest checkpoint of training ``workdir`` as model ``name`` into ``out_dir``
    (default: the package's registry, where ``pip install`` picks it up); returns the folder.

    Only the parameters are kept (no optimiser state), stored float16, with the full config
    and, for speech-to-text, the text prior the workdir decodes with. A card (README.md) is
    started from the workdir's facts when the folder has none; an existing card is kept, to be
    brought up to date by hand with the new figures.
    """
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise registry.ModelError(f"model name {name!r}: use letters, digits, '-', '_' and '.'")
    if registry.is_model_dir(workdir):
        raise registry.ModelError(f"{workdir} is already a published model; export a training "
                                  "workdir")
    config, task, params = inference.load_workdir(workdir)
    step = checkpoint.stored_config(workdir)[0]
    prior = None
    if config.task == "stt":
        inference.load_prior(task, workdir)  # fitted from the training transcripts if absent
        prior = os.path.join(workdir, registry.PRIOR_FILE)
        prior = prior if os.path.exists(prior) else None
    path = os.path.join(out_dir or registry.REGISTRY_DIR, name)
    card = None if os.path.exists(os.path.join(path, registry.CARD_FILE)) else _card_stub(
        name, config, params, step, summaries.training_seconds(workdir))
    return registry.save(path, config, params, prior, card, requires)


def _card_stub(name: str, config, params, step: int, seconds: float) -> str:
    count = sum(int(np.size(leaf)) for leaf in jax.tree.leaves(params))
    return (f"# {name}\n\nA `{config.task}` model of {count:,} parameters, exported from step "
            f"{step:,} of its training (about {seconds / 3600:.1f} h of training wall time by "
            "its metrics log).\n\n## Figures\n\nNot yet measured.\n")
