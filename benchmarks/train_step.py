"""Training-step cost of the speech-to-text network on this machine: where the time goes.

    python benchmarks/train_step.py [--config stt_synth] [--shapes 32x450 16x1550 8x1550]
                                    [--repeats 3] [--out benchmarks/results/train_step.json]

For each ``BATCHxFRAMES`` shape (10 ms feature frames) it times one jitted gradient of the CTC
loss of the config's model (random features and labels, freshly initialised parameters: the
cost does not depend on the values) for the model as configured and for two variants in the
same run, so the ratios compare like with like: the RNN stack unidirectional (what the two
directions cost) and a single RNN layer (what the conv front end and one layer cost). Compile
time is reported apart. Training steps also pay for the optimiser update and the data pipeline,
so a whole step is slower than this gradient.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

# `python benchmarks/train_step.py` from a checkout without `pip install -e .`: find the package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from voxjax import config as config_lib, evaluation
from voxjax.models.language_model import LanguageModel

VARIANTS = {"as configured": {}, "unidirectional": {"bidirectional": False},
            "one RNN layer": {"rnn_layers": 1}}


def time_gradient(model_kwargs: dict, batch: int, frames: int, repeats: int) -> dict:
    """Compile and steady-state seconds of one CTC-loss gradient at ``batch x frames``."""
    model = LanguageModel(**model_kwargs)
    rng = np.random.default_rng(0)
    features = jnp.asarray(rng.normal(size=(batch, frames, 80)), jnp.float32)
    lengths = jnp.full((batch,), frames, jnp.int32)
    labels = jnp.asarray(rng.integers(1, model.vocab_size, size=(batch, frames // 16)), jnp.int32)
    params = model.init(jax.random.key(0), features, lengths)

    def loss(p):
        logits, out_lengths = model.apply(p, features, lengths)
        pad = jnp.arange(logits.shape[1])[None] >= out_lengths[:, None]
        return jnp.mean(optax.ctc_loss(logits, pad.astype(jnp.float32), labels,
                                       jnp.zeros(labels.shape, jnp.float32)))

    grad = jax.jit(jax.grad(loss))
    start = time.perf_counter()
    jax.block_until_ready(grad(params))
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(grad(params))
        times.append(time.perf_counter() - start)
    steady = float(np.median(times))
    return {"grad_s": steady, "compile_s": first - steady}


def main() -> None:
    """Command-line entry: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="stt_synth")
    parser.add_argument("--shapes", nargs="+", default=["32x450", "16x1550", "8x1550"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/train_step.json")
    args = parser.parse_args()
    config = config_lib.load(args.config)
    model = config.model
    base = {"vocab_size": 30, "conv_channels": model.conv_channels,
            "conv_layers": model.conv_layers, "rnn_cell": model.rnn_cell,
            "rnn_hidden": model.rnn_hidden, "rnn_layers": model.rnn_layers,
            "bidirectional": model.bidirectional}
    rows = []
    for shape in args.shapes:
        batch, frames = (int(n) for n in shape.split("x"))
        for name, change in VARIANTS.items():
            result = time_gradient({**base, **change}, batch, frames, args.repeats)
            audio_seconds = batch * frames / 100  # 10 ms frames
            rows.append({"batch": batch, "frames": frames, "model": name, **result,
                         "ms_per_utterance_second": 1000 * result["grad_s"] / audio_seconds})
            print(evaluation.markdown_table(rows[-1:], list(rows[-1])), flush=True)
    print(evaluation.markdown_table(rows, list(rows[0])))
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"date": datetime.date.today().isoformat(), "machine": platform.processor()
                   or platform.machine(), "cpus": os.cpu_count(), "jax": jax.__version__,
                   "config": args.config, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
