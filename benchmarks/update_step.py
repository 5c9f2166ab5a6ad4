"""One whole training update (loss, gradient, Adam) of any config's model, in this checkout and
in other checkouts of voxjax, taking turns in one run: did a code change make training slower?

    python benchmarks/update_step.py [--trees . /tmp/old] [--configs stt_synth tts_synth]
                                     [--shape 32x450x80] [--repeats 5] [--rounds 2]
                                     [--out benchmarks/results/update_step.json]

Each (round, config, tree) runs in a fresh child process that imports voxjax from that tree
(``git worktree add /tmp/old <commit>`` makes one), builds the config's task, and times its
``task.loss`` under ``jax.value_and_grad`` plus an Adam update, jitted, on one random batch of
``BATCHxFRAMESxLABELS`` (features of 10 ms frames, 93% of them real; labels 75% real; 744
speakers for the tasks that know speakers). The values do not change the cost. The order of the
trees alternates between rounds, so a machine that slows down over the run penalises both alike.
Compile time is reported apart. The trainer also pays for the data pipeline, logging and
checkpoints, which this leaves out: compare whole runs with their ``steps_per_sec``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SPEAKERS = 744  # the default corpus's speaker table


def make_update(name: str, batch: int, frames: int, labels: int):
    """``(update, params, opt_state)``: ``name``'s task loss, gradient and Adam as one jitted
    ``update(params, opt_state, key) -> (params, opt_state, loss)`` on one fixed random batch of
    ``BATCH x FRAMES`` features and ``LABELS`` labels (the values do not change the cost)."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax
    from voxjax import config as config_lib, tasks
    config_name, _, arg = name.partition(":")  # NAME:tiny for a quick check
    config = config_lib.load(config_name, arg or None)
    if config.task in ("tts", "speaker", "vc"):
        config.data.speakers = tuple(f"s{i}" for i in range(SPEAKERS))
    task = tasks.get(config)
    rng = np.random.default_rng(0)
    real_labels = int(labels * 0.75)
    label_ids = np.zeros((batch, labels), np.int32)
    label_ids[:, :real_labels] = rng.integers(2, 30, (batch, real_labels))
    data = {"features": rng.normal(-6, 2, (batch, frames, task.mel.n_mels)).astype(np.float32),
            "feature_lengths": np.full(batch, int(frames * 0.93), np.int32),
            "labels": label_ids, "label_lengths": np.full(batch, real_labels, np.int32),
            "weights": np.ones(batch, np.float32),
            "speaker": (np.arange(batch) % SPEAKERS).astype(np.int32)}
    data = jax.tree.map(jnp.asarray, data)
    params = task.init(jax.random.key(0), data)
    optimizer = optax.adam(1e-4)

    @jax.jit
    def update(p, state, key):
        (loss, _), grads = jax.value_and_grad(lambda q: task.loss(q, data, key), has_aux=True)(p)
        updates, state = optimizer.update(grads, state, p)
        return optax.apply_updates(p, updates), state, loss

    return update, params, optimizer.init(params)


def time_update(tree: str, name: str, batch: int, frames: int, labels: int,
                repeats: int) -> dict:
    """In this process: compile and steady-state seconds of one update, voxjax from ``tree``."""
    sys.path.insert(0, os.path.abspath(tree))
    import jax
    import numpy as np
    update, params, state = make_update(name, batch, frames, labels)
    start = time.perf_counter()
    params, state, loss = update(params, state, jax.random.key(1))
    jax.block_until_ready(loss)
    first = time.perf_counter() - start
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        params, state, loss = update(params, state, jax.random.key(2 + i))
        jax.block_until_ready(loss)
        times.append(time.perf_counter() - start)
    steady = float(np.median(times))
    return {"update_s": steady, "compile_s": first - steady}


def main() -> None:
    """Command-line entry: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", nargs="+", default=[os.path.dirname(HERE)])
    parser.add_argument("--configs", nargs="+", default=["stt_synth", "tts_synth"])
    parser.add_argument("--shape", default="32x450x80", help="BATCHxFRAMESxLABELS")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/update_step.json")
    parser.add_argument("--child", nargs=2, metavar=("TREE", "CONFIG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    batch, frames, labels = (int(n) for n in args.shape.split("x"))
    if args.child:
        print(json.dumps(time_update(*args.child, batch, frames, labels, args.repeats)))
        return
    sys.path.insert(0, HERE)
    from common import machine_info, print_table, write_result
    machine = machine_info()
    rows = []
    for round_ in range(args.rounds):
        for name in args.configs:
            trees = args.trees if round_ % 2 == 0 else args.trees[::-1]
            for tree in trees:
                child = subprocess.run(
                    [sys.executable, os.path.abspath(__file__), "--child", tree, name, "--shape",
                     args.shape, "--repeats", str(args.repeats)],
                    capture_output=True, text=True, check=True, cwd=os.path.abspath(tree))
                result = json.loads(child.stdout.strip().splitlines()[-1])
                rows.append({"round": round_ + 1, "config": name, "tree": tree,
                             "commit": _commit(tree), **result})
                print_table(rows[-1:], list(rows[-1]))
    summary = []
    for name in args.configs:
        for tree in args.trees:
            mine = [r["update_s"] for r in rows if r["config"] == name and r["tree"] == tree]
            summary.append({"config": name, "tree": tree, "commit": _commit(tree),
                            "update_s_median": statistics.median(mine)})
        base = summary[-len(args.trees)]["update_s_median"]
        for row in summary[-len(args.trees):]:
            row["vs_first_tree"] = row["update_s_median"] / base
    print_table(summary, list(summary[0]))
    write_result({"machine": machine, "shape": args.shape, "repeats": args.repeats,
                  "rows": rows, "summary": summary}, args.out)


def _commit(tree: str) -> str:
    """The short commit a tree has checked out ('' outside git)."""
    out = subprocess.run(["git", "-C", tree, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True)
    return out.stdout.strip()


if __name__ == "__main__":
    main()
