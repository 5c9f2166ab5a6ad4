"""Every shipped config's ``tiny`` variant builds its task (every model and inference key read)
and runs one training step's loss and gradients on a batch of its own shapes."""
import glob
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from voxjax import config as config_lib, tasks

CONFIGS = sorted(os.path.basename(p)[:-3] for p in glob.glob(
    os.path.join(config_lib.CONFIG_DIR, "*.py")) if not p.endswith("__init__.py"))
_STEPPED: dict[str, float] = {}  # configs with the same task and model step once
FRAMES = 48  # a short batch: the step's cost, not the bucket sizes, is what is checked


def fake_batch(task, config, batch_size=2):
    """A batch of the config's shapes (random features, short labels), as the pipeline pads."""
    rng = np.random.default_rng(0)
    if config.task == "decoder":
        frames = FRAMES
        return {"mel": rng.normal(-8, 3, (batch_size, frames, task.mel.n_mels)).astype(np.float32),
                "wave": rng.normal(0, 0.1, (batch_size, frames * task.mel.hop_length)
                                   ).astype(np.float32),
                "weights": np.ones(batch_size, np.float32)}
    frames = FRAMES
    labels = np.zeros((batch_size, int(config.data.max_label_length)), np.int32)
    labels[:, :5] = rng.integers(1, 20, (batch_size, 5))
    batch = {"features": rng.normal(-8, 3, (batch_size, frames, task.mel.n_mels)
                                    ).astype(np.float32),
             "feature_lengths": np.full(batch_size, frames, np.int32),
             "labels": labels, "label_lengths": np.full(batch_size, 5, np.int32),
             "weights": np.ones(batch_size, np.float32)}
    if config.task in ("tts", "speaker", "vc"):
        batch["speaker"] = np.arange(batch_size, dtype=np.int32) % len(task.speakers)
    return batch


@pytest.fixture(scope="module", autouse=True)
def quick_compiles():
    """One step per model is all this module runs: compile it fast rather than well."""
    jax.config.update("jax_disable_most_optimizations", True)
    yield
    jax.config.update("jax_disable_most_optimizations", False)


@pytest.mark.parametrize("name", CONFIGS)
def test_tiny_config_builds_and_steps(name):
    config = config_lib.load(name, "tiny")
    if config.task in ("tts", "speaker", "vc"):
        config.data.speakers = ("a", "b")  # no manifest needed for the speaker table
    task = tasks.get(config)
    assert task.inference  # the inference block was read (unknown keys would have raised)
    key = json.dumps([config.task, config.model.to_dict(), config.data.get("n_mels")],
                     sort_keys=True, default=str)
    if key in _STEPPED:
        return
    if getattr(task.model, "normalization", "fixed") == "global":
        n = task.mel.n_mels  # training-data statistics would need the dataset: fixed ones here
        task.__dict__["feature_statistics"] = (np.full(n, -8.0, np.float32),
                                               np.full(n, 4.0, np.float32))
    batch = fake_batch(task, config)
    if config.task == "vc":  # the frozen content network would come from a trained workdir
        task.__dict__["content_params"] = task.content_task.init(jax.random.key(2), batch)
    params = task.init(jax.random.key(0), batch)

    @jax.jit
    def step(p, b):
        return jax.value_and_grad(lambda q: task.loss(q, b, jax.random.key(1))[0])(p)
    loss, grads = step(params, jax.tree.map(jnp.asarray, batch))
    assert np.isfinite(float(loss))
    norms = [float(jnp.linalg.norm(g)) for g in jax.tree.leaves(grads)]
    assert all(np.isfinite(norms)) and max(norms) > 0
    _STEPPED[key] = float(loss)


def test_a_config_key_nothing_reads_is_an_error():
    config = config_lib.load("stt_synth", "tiny")
    config.model.chunk_size = 160  # a key no model field reads
    with pytest.raises(ValueError, match="unknown config key.*model.chunk_size"):
        tasks.get(config)
    config = config_lib.load("decoder_synth", "tiny")
    config.model.widht = 3
    with pytest.raises(ValueError, match="model.widht"):
        tasks.get(config)
