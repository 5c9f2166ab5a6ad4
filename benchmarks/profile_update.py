"""Where one training update's time goes, by model part: a JAX profiler trace of a config's
update, its XLA ops summed under the source path that made them.

    python benchmarks/profile_update.py [--config tts_synth] [--shape 32x450x80] [--repeats 3]
        [--depth 3] [--top 15] [--out benchmarks/results/profile_update_<config>.json]

The update is ``benchmarks/update_step.py``'s (the task's loss, gradient and Adam, jitted, one
random batch), warmed up, then traced ``--repeats`` times with ``jax.profiler.trace``
(``create_perfetto_trace``). Every XLA op event of the trace is matched to its instruction in the
compiled HLO, whose ``op_name`` names the flax module and function that made it; the table sums
the op time per module path, cut to ``--depth`` parts, with forward and gradient apart (an
op_name with ``transpose(`` is the backward pass). ``busy_cores`` is the op time of all threads
over the untraced wall time of an update: how much of the machine the update keeps busy.
"""
from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import re
import sys
import tempfile
import time

import jax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine_info, print_table, write_result  # noqa: E402
from update_step import make_update  # noqa: E402

COLUMNS = ["part", "pass", "ms_per_update", "share", "ops"]
_INSTRUCTION = re.compile(r'^\s*(?:ROOT\s+)?%?([\w.\-]+) = .*?op_name="([^"]*)"', re.M)


def source_part(op_name: str, depth: int) -> tuple[str, str]:
    """``('AcousticModel/decoder_rnn_0/RNN_0', 'gradient')`` from an HLO op_name."""
    backward = "transpose(" in op_name
    parts = [p for p in op_name.split("/")[1:] if p]
    cleaned = []
    for part in parts:
        while (inner := re.fullmatch(r"\w+\((.*)\)", part)):  # jvp(X), transpose(X), jit(X)
            part = inner.group(1)
        if part and part not in ("while", "body", "closed_call"):
            cleaned.append(part)
    return "/".join(cleaned[:depth]) or "(other)", "gradient" if backward else "forward"


def main() -> None:
    """Command-line entry: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="tts_synth")
    parser.add_argument("--shape", default="32x450x80", help="BATCHxFRAMESxLABELS")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--out")
    args = parser.parse_args()
    batch, frames, labels = (int(n) for n in args.shape.split("x"))
    update, params, state = make_update(args.config, batch, frames, labels)
    params, state, loss = update(params, state, jax.random.key(0))  # compile
    jax.block_until_ready(loss)
    start = time.perf_counter()  # the wall time untraced: tracing slows the host side
    for i in range(args.repeats):
        params, state, loss = update(params, state, jax.random.key(1 + i))
        jax.block_until_ready(loss)
    wall_ms = 1e3 * (time.perf_counter() - start) / args.repeats
    names = dict(_INSTRUCTION.findall(
        update.lower(params, state, jax.random.key(0)).compile().as_text()))
    with tempfile.TemporaryDirectory() as trace_dir:
        with jax.profiler.trace(trace_dir, create_perfetto_trace=True):
            for i in range(args.repeats):
                params, state, loss = update(params, state, jax.random.key(10 + i))
                jax.block_until_ready(loss)
        path = glob.glob(os.path.join(trace_dir, "**", "*.json.gz"), recursive=True)[0]
        with gzip.open(path) as f:
            trace = json.load(f)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    totals, ops = collections.Counter(), collections.defaultdict(set)
    for e in events:
        if e.get("ph") == "X" and e.get("name") in names:
            key = source_part(names[e["name"]], args.depth)
            totals[key] += e["dur"] / 1e3 / args.repeats
            ops[key].add(e["name"])
    op_ms = sum(totals.values())
    rows = [{"part": part, "pass": kind, "ms_per_update": round(ms, 1),
             "share": f"{ms / op_ms:.0%}", "ops": len(ops[part, kind])}
            for (part, kind), ms in totals.most_common(args.top)]
    print_table(rows, COLUMNS)
    busy = op_ms / wall_ms
    print(f"\n{args.config} at {args.shape}: {wall_ms:.0f} ms per update (untraced), "
          f"{op_ms:.0f} ms of XLA ops over all threads ({busy:.2f} cores busy on average)")
    out = args.out or f"benchmarks/results/profile_update_{args.config}.json"
    write_result({**machine_info(), "command": " ".join(["python"] + sys.argv),
                  "config": args.config, "shape": args.shape, "wall_ms": wall_ms,
                  "op_ms": op_ms, "busy_cores": busy, "rows": rows}, out)


if __name__ == "__main__":
    main()
