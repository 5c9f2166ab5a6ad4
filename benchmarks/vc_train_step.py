"""Training-step cost of the conversion model: the frozen content network inside the step, or
its output read from the batch (``vc.cache_content``, the default).

    python benchmarks/vc_train_step.py [--shapes 32x304 32x512] [--repeats 5]
                                       [--out benchmarks/results/vc_train_step.json]

For each ``BATCHxFRAMES`` shape (10 ms frames) it times one jitted gradient of the ``vc`` loss
of ``configs/vc_synth.py`` (random features, freshly initialised conversion and content
networks: the cost does not depend on the values) twice, interleaved repeat by repeat in one
run: with the content network run inside the loss, and with the batch carrying the content it
would compute. The ratio is the training-step speed-up the cache buys on this machine, before the
optimiser update and the input pipeline, which both paths pay alike. The cache is paid once per
training item before step 1: ``table_ms_per_item`` times the jitted content pass the table runs
(``ConversionTask.frozen_table``), per item. Compile time is reported apart.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import numpy as np

# `python benchmarks/vc_train_step.py` from a checkout without `pip install -e .`: find it.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from voxjax import config as config_lib, tasks  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine_info, print_table, write_result  # noqa: E402

COLUMNS = ["batch", "frames", "live_ms", "cached_ms", "speedup", "table_ms_per_item",
           "compile_live_s", "compile_cached_s"]


def random_task():
    """The vc_synth task with random content parameters and two speakers."""
    config = config_lib.load("vc_synth")
    config.vc.content_workdir = ""
    config.vc.content_warp = 0.0  # the warp is one gather; the content network is the cost
    config.data.speakers = ("a", "b")
    task = tasks.get(config)
    batch = {"features": np.zeros((1, 64, config.data.n_mels), np.float32) - 8,
             "feature_lengths": np.array([64], np.int32), "speaker": np.zeros(1, np.int32)}
    task.__dict__["content_params"] = task.content_task.init(jax.random.key(0), batch)
    return task


def time_shape(task, batch_size: int, frames: int, repeats: int) -> dict:
    """Median seconds of the live and the cached gradient, interleaved, and the table's pass."""
    rng = np.random.default_rng(0)
    live = {"features": rng.normal(-8, 3, (batch_size, frames, task.mel.n_mels)).astype(np.float32),
            "feature_lengths": np.full((batch_size,), frames, np.int32),
            "weights": np.ones((batch_size,), np.float32),
            "speaker": rng.integers(0, 2, batch_size).astype(np.int32)}
    frozen = jax.jit(task.frozen_inputs)
    cached = {**live, "content": np.asarray(frozen(live["features"],
                                                   live["feature_lengths"])["content"])}
    params = task.init(jax.random.key(1), live)
    grad = jax.jit(jax.grad(lambda p, b: task.loss(p, b, None)[0]))
    paths = {"live": (grad, live), "cached": (grad, cached), "table": (frozen, live)}
    compile_s, times = {}, {name: [] for name in paths}
    for name, (fn, batch) in paths.items():
        args = ((batch["features"], batch["feature_lengths"]) if name == "table"
                else (params, batch))
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        compile_s[name] = time.perf_counter() - start
    for _ in range(repeats):
        for name, (fn, batch) in paths.items():
            args = ((batch["features"], batch["feature_lengths"]) if name == "table"
                else (params, batch))
            start = time.perf_counter()
            jax.block_until_ready(fn(*args))
            times[name].append(time.perf_counter() - start)
    median = {name: float(np.median(t)) for name, t in times.items()}
    return {"batch": batch_size, "frames": frames, "live_ms": 1e3 * median["live"],
            "cached_ms": 1e3 * median["cached"], "speedup": median["live"] / median["cached"],
            "table_ms_per_item": 1e3 * median["table"] / batch_size,
            "compile_live_s": compile_s["live"] - median["live"],
            "compile_cached_s": compile_s["cached"] - median["cached"]}


def main() -> None:
    """Command-line entry: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=["32x304", "32x512"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/results/vc_train_step.json")
    args = parser.parse_args()
    task = random_task()
    rows = []
    for shape in args.shapes:
        batch_size, frames = (int(n) for n in shape.split("x"))
        rows.append(time_shape(task, batch_size, frames, args.repeats))
    print_table(rows, COLUMNS)
    write_result({**machine_info(), "command": " ".join(["python"] + sys.argv),
                  "config": "vc_synth", "rows": rows}, args.out)


if __name__ == "__main__":
    main()
