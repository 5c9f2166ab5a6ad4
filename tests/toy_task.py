"""A toy Task for trainer tests: masked-mean MLP regression over variable-length sequences.

The data set is a fixed synthetic numpy array set with two sequence lengths (4 and 8 frames),
batched by length so the update step sees exactly two batch shapes — the "buckets" of a real
task. ``train_iterator`` is a grain pipeline (seeded shuffle over the batch plan, repeat),
so its position can be checkpointed. Knobs under ``config.toy``: ``delay`` sleeps per batch
(to kill a run mid-way), ``nan_from`` makes targets NaN from that batch position on.

Run as a script for subprocess tests: ``python tests/toy_task.py WORKDIR [key=value ...]``
(keys are dotted config paths, values parsed as Python literals); prints the result as JSON.
"""
from __future__ import annotations

import ast
import json
import sys
import time

import flax.linen as nn
import grain
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

LENGTHS = (4, 8)  # the two batch shapes
DIM = 3


def get_config() -> ml_collections.ConfigDict:
    """Trainer config with the same sections as ``configs/*.py``, sized for seconds on CPU."""
    c = ml_collections.ConfigDict()
    c.task = "toy"
    c.seed = 0
    c.data = ml_collections.ConfigDict(dict(eval_split="valid", batch_size=16))
    c.optim = ml_collections.ConfigDict(dict(learning_rate=3e-2, warmup_steps=2,
                                             weight_decay=1e-4, clip_norm=5.0))
    c.train = ml_collections.ConfigDict(dict(steps=12, log_every=1, eval_every=6,
                                             checkpoint_every=5, keep=2, eval_batches=2))
    c.parallel = ml_collections.ConfigDict(dict(data=-1, multihost=False,
                                                coordinator="127.0.0.1:12355",
                                                num_processes=1, process_id=0))
    c.toy = ml_collections.ConfigDict(dict(batches_per_length=3, hidden=16, delay=0.0,
                                           nan_from=-1))
    return c


class MLP(nn.Module):
    """Per-frame MLP, masked mean over valid frames → one scalar per sequence."""
    hidden: int = 16  # width of the single hidden layer

    @nn.compact
    def __call__(self, x, lengths):
        h = jnp.tanh(nn.Dense(self.hidden, name="hidden")(x))
        h = nn.Dense(1, name="out")(h)[..., 0]  # [B, T]
        mask = jnp.arange(x.shape[1])[None, :] < lengths[:, None]
        return jnp.sum(h * mask, axis=1) / jnp.maximum(lengths, 1)


def _make_batches(seed: int, n_per_length: int, batch_size: int) -> list[dict[str, np.ndarray]]:
    """Fixed synthetic data: targets from a hidden random teacher function of the frames."""
    rs = np.random.RandomState(seed)
    w_true = rs.normal(size=(DIM,)).astype(np.float32)
    batches = []
    for length in LENGTHS:
        for _ in range(n_per_length):
            x = rs.normal(size=(batch_size, length, DIM)).astype(np.float32)
            lengths = rs.randint(1, length + 1, size=batch_size).astype(np.int32)
            mask = np.arange(length)[None] < lengths[:, None]
            y = (np.sin(x @ w_true) * mask).sum(1) / lengths
            batches.append({"x": x, "lengths": lengths, "y": y.astype(np.float32)})
    return batches


class ToyTask:
    """Implements the ``voxjax.tasks.Task`` protocol for the toy regression."""

    def __init__(self, config):
        self.config = config
        toy = config.toy
        self.model = MLP(hidden=toy.hidden)
        self.train_batches = _make_batches(1, toy.batches_per_length, config.data.batch_size)
        self.eval_batches = _make_batches(2, 2, config.data.batch_size)
        self._predict = jax.jit(lambda p, x, n: self.model.apply({"params": p}, x, n))

    def train_iterator(self, process_index: int, process_count: int):
        """Endless grain iterator over this process's rows of each (shuffled) global batch."""
        batches, toy = self.train_batches, self.config.toy

        def load(position, plan_index):
            b = {k: v[process_index::process_count] for k, v in batches[plan_index].items()}
            if toy.delay:
                time.sleep(toy.delay)
            if 0 <= toy.nan_from <= position:
                b = dict(b, y=np.full_like(b["y"], np.nan))
            return b

        ds = (grain.MapDataset.range(len(batches)).shuffle(seed=self.config.seed).repeat()
              .map_with_index(load))
        return iter(ds.to_iter_dataset())

    def init(self, rng, batch):
        """Parameters for the MLP (shape-only use of the batch)."""
        return self.model.init(rng, batch["x"], batch["lengths"])["params"]

    def loss(self, params, batch, rng, train=True):
        """Mean squared error; ``abs_err`` as an extra metric."""
        del rng, train  # no dropout: makes the 1- vs 8-device comparison exact
        err = self.model.apply({"params": params}, batch["x"], batch["lengths"]) - batch["y"]
        return jnp.mean(err ** 2), {"abs_err": jnp.mean(jnp.abs(err))}

    def evaluate(self, params, split, max_batches=None):
        """Mean squared error over the fixed eval batches."""
        del split
        batches = self.eval_batches[:max_batches] if max_batches else self.eval_batches
        errs = [np.mean((np.asarray(self._predict(params, b["x"], b["lengths"])) - b["y"]) ** 2)
                for b in batches]
        return {"mse": float(np.mean(errs))}

    def write_examples(self, params, writer, step):
        """One image (first-layer kernel, 2-D → colormap) and one short audio clip."""
        writer.image(step, "toy/kernel", np.asarray(params["hidden"]["kernel"]))
        writer.audio(step, "toy/tone", np.sin(np.arange(800) * 0.1) * 0.5, 8000)


def _parse_overrides(config, items):
    for item in items:
        key, value = item.split("=", 1)
        node = config
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        node[leaf] = ast.literal_eval(value)
    return config


if __name__ == "__main__":
    from voxjax import train  # noqa: E402  (after sys.path set-up by the caller)
    cfg = _parse_overrides(get_config(), sys.argv[2:])
    out = train.train_and_evaluate(cfg, sys.argv[1], task=ToyTask(cfg))
    print("RESULT " + json.dumps(out), flush=True)
