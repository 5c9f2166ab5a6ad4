"""What training costs on this machine: one update, where its time goes, the conversion model's
content cache, and the main job's trainings one after another or two at a time.

    python benchmarks/training_cost.py update [--configs stt_synth tts_synth]
        [--shapes 32x450x80] [--variant KEY=VALUE ...] [--trees . /tmp/old] [--repeats 5]
        [--rounds 2] [--out benchmarks/results/update_step.json]
    python benchmarks/training_cost.py profile [--config tts_synth] [--shape 32x450x80]
        [--repeats 3] [--depth 3] [--top 15] [--out benchmarks/results/profile_update_<config>.json]
    python benchmarks/training_cost.py vc-cache [--config vc_synth] [--shapes 32x304 32x512]
        [--repeats 5] [--out benchmarks/results/vc_train_step.json]
    python benchmarks/training_cost.py trainings [--corpus runs/corpus]
        [--content runs/stt_synth_streaming] [--configs stt_synth ...] [--steps 80]
        [--set KEY=VALUE ...] [--lanes 1 2] [--out benchmarks/results/main_job_trainings.json]

A config is a name or ``NAME:ARG`` (``stt_synth:tiny`` for a quick check); a shape is
``BATCHxFRAMESxLABELS`` (10 ms feature frames, 93% of them real; labels 75% real; 744 speakers
for the tasks that know speakers) or ``BATCHxFRAMES`` (80 labels per 450 frames). Inputs are
random and parameters fresh: the values do not change the cost. Every mode compiles before it
times and reports compile time apart, and every ratio compares two things timed in the same run.
Training also pays for the data pipeline, logging and checkpoints; only ``trainings`` includes
them.

``update``: one whole training update (the task's loss under ``jax.value_and_grad`` and an Adam
update, jitted) of each config on one random batch per shape. Each (round, shape, config,
variant, tree) runs in a fresh child process that imports voxjax from that tree (``git worktree
add /tmp/old <commit>`` makes one), so the rows answer "did a code change make training slower";
the order of the trees alternates between rounds, so a machine that slows down over the run
penalises both alike. Each ``--variant`` (config overrides, e.g. ``model.bidirectional=False``) is
timed beside the config as configured, its peer. The child also records XLA's temporary buffer
size for the compiled update and its own peak resident memory.

``profile``: ``update``'s update, warmed up, traced ``--repeats`` times with
``jax.profiler.trace``. Every XLA op event is matched to its instruction in the compiled HLO,
whose ``op_name`` names the flax module and function that made it; the table sums op time per
module path cut to ``--depth`` parts, forward and gradient apart (an op_name with ``transpose(``
is the backward pass). ``busy_cores`` is the op time of all threads over the untraced wall time
of an update: how much of the machine the update keeps busy.

``vc-cache``: one jitted gradient of the ``vc`` loss with the frozen content network inside the
loss, and with the batch carrying the content it would compute (``vc.cache_content``),
interleaved repeat by repeat; ``speedup`` is what the cache buys per step. The cache is paid once
per training item before step 1: ``table_ms_per_item`` times the content pass the table runs
(``ConversionTask.frozen_table``), per item.

``trainings``: the real trainer (``train.train_and_evaluate``) of each model the main job trains
(``voxjax.main_job.EXPERIMENTS``) for ``--steps`` steps in a temporary workdir, with the grain
pipeline over ``--corpus`` (its feature cache warm, as in every run after the first epoch), no
evaluation or checkpoint until the end, and the metrics fetched after every step. A step that
compiled a new bucket shape is set apart: ``step_s`` is the mean of the others, ``compile_s`` the
mean excess of the compiling steps (the first also holds the pipeline's start).
``projected_train_s = config steps x step_s + buckets x compile_s``: the training loop without
periodic evaluations, checkpoints or first-epoch featurisation, so a lower bound. ``--set``
changes a key of every config timed. ``vc_synth`` reads its frozen content from ``--content`` (any
trained ``stt_synth_streaming`` workdir). ``--lanes 1 2`` times the trainings one after another in
this process, then through :mod:`voxjax.lanes` as the main job runs them (its order and
dependencies, each in a process pinned to its share of the cores); in lanes each model runs
``--steps`` scaled by its config's length over 2,000 steps, so the short run keeps the main job's
proportions, and the lanes' wall time replays the scheduler (:func:`replay_schedule`) over the
projected loops at the paired rates.

voxjax is imported inside the functions that use it: a child of ``update --trees`` must import it
from its own tree.
"""
from __future__ import annotations

import argparse
import ast
import collections
import functools
import glob
import gzip
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import jax
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import machine_info, print_table, write_result  # noqa: E402  (imports no voxjax)

SPEAKERS = 744  # the default corpus's speaker table
BUDGET_S = 90 * 60  # the whole main job's budget, trainings and evaluation together
AS_CONFIGURED = "as configured"
UPDATE_COLUMNS = ["round", "shape", "config", "variant", "tree", "commit", "update_s",
                  "compile_s", "ms_per_audio_s", "xla_temp_mb", "max_rss_mb"]
PROFILE_COLUMNS = ["part", "pass", "ms_per_update", "share", "ops"]
VC_COLUMNS = ["batch", "frames", "live_ms", "cached_ms", "speedup", "table_ms_per_item",
              "compile_live_s", "compile_cached_s"]
TRAINING_COLUMNS = ["config", "steps", "step_s", "step_s_p10_p90", "audio_s_per_s", "buckets",
                    "compile_s", "projected_train_s"]
_INSTRUCTION = re.compile(r'^\s*(?:ROOT\s+)?%?([\w.\-]+) = .*?op_name="([^"]*)"', re.M)


# ----------------------------------------------------------------------------- shared helpers

def parse_shape(shape: str) -> tuple[int, int, int]:
    """``'32x450x80'`` -> ``(32, 450, 80)``; without LABELS, 80 labels per 450 frames."""
    sizes = [int(n) for n in shape.split("x")]
    if len(sizes) == 2:
        sizes.append(max(1, sizes[1] * 80 // 450))
    batch, frames, labels = sizes
    return batch, frames, labels


def parse_overrides(items) -> dict:
    """``['model.rnn_layers=1', 'data.root=x']`` -> ``{'model.rnn_layers': 1, 'data.root': 'x'}``
    (values as Python literals; a bare word stays a string)."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"expected KEY=VALUE, got {item!r}")
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    return overrides


def load_config(spec: str, overrides: tuple[str, ...] = ()):
    """The config ``NAME[:ARG]`` with ``KEY=VALUE`` overrides applied."""
    from voxjax import config as config_lib
    name, _, arg = spec.partition(":")
    config = config_lib.load(name, arg or None)
    if overrides:
        config_lib.override(config, parse_overrides(overrides))
    return config


def _commit(tree: str) -> str:
    """The short commit a tree has checked out, ``+dirty`` with uncommitted changes to tracked
    files ('' outside git)."""
    head = subprocess.run(["git", "-C", tree, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()
    changed = subprocess.run(["git", "-C", tree, "status", "--porcelain", "--untracked-files=no"],
                             capture_output=True, text=True).stdout.strip()
    return head + ("+dirty" if head and changed else "")


# ----------------------------------------------------------------------------- update

def make_update(spec: str, batch: int, frames: int, labels: int, overrides=()):
    """``(update, params, opt_state, audio_s)``: ``spec``'s task loss, gradient and Adam as one
    jitted ``update(params, opt_state, key) -> (params, opt_state, loss)`` on one fixed random
    batch, and the seconds of audio in that batch."""
    import jax.numpy as jnp
    import optax
    from voxjax import tasks
    config = load_config(spec, tuple(overrides))
    if config.task in ("tts", "speaker", "vc"):
        config.data.speakers = tuple(f"s{i}" for i in range(SPEAKERS))
    task = tasks.get(config)
    rng = np.random.default_rng(0)
    real_frames, real_labels = int(frames * 0.93), int(labels * 0.75)
    label_ids = np.zeros((batch, labels), np.int32)
    label_ids[:, :real_labels] = rng.integers(2, 30, (batch, real_labels))
    data = {"features": rng.normal(-6, 2, (batch, frames, task.mel.n_mels)).astype(np.float32),
            "feature_lengths": np.full(batch, real_frames, np.int32),
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

    audio_s = batch * real_frames * task.mel.hop_length / task.mel.sample_rate
    return update, params, optimizer.init(params), audio_s


def time_update(tree: str, spec: str, shape: str, repeats: int, overrides=()) -> dict:
    """In this process, voxjax from ``tree``: compile and steady-state seconds of one update,
    XLA's temporary buffers for it and this process's peak memory."""
    sys.path.insert(0, os.path.abspath(tree))
    import voxjax
    found = os.path.dirname(os.path.dirname(os.path.realpath(voxjax.__file__)))
    if found != os.path.realpath(tree):
        raise RuntimeError(f"voxjax was imported from {found}, not from {tree}")
    update, params, state, audio_s = make_update(spec, *parse_shape(shape), overrides)
    start = time.perf_counter()
    compiled = update.lower(params, state, jax.random.key(1)).compile()
    compile_s = time.perf_counter() - start
    memory = compiled.memory_analysis()
    params, state, loss = compiled(params, state, jax.random.key(1))  # warm-up
    jax.block_until_ready(loss)
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        params, state, loss = compiled(params, state, jax.random.key(2 + i))
        jax.block_until_ready(loss)
        times.append(time.perf_counter() - start)
    update_s = float(np.median(times))
    return {"update_s": update_s, "compile_s": compile_s,
            "ms_per_audio_s": 1e3 * update_s / audio_s,
            "xla_temp_mb": (round(memory.temp_size_in_bytes / 2 ** 20, 1)
                            if memory is not None else None),
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def run_update(args) -> None:
    """``update``: every (round, shape, config, variant, tree) in a fresh child, then medians."""
    variants = [()] + [tuple(v) for v in args.variant]
    for spec in args.configs:
        for variant in variants:
            try:  # an unknown key fails here, before any child runs
                load_config(spec, variant)
            except KeyError as e:
                sys.exit(f"{spec}: {e.args[0]}")
    rows = []
    for round_ in range(args.rounds):
        trees = args.trees if round_ % 2 == 0 else args.trees[::-1]
        for shape in args.shapes:
            for spec in args.configs:
                for variant in variants:
                    for tree in trees:
                        child = subprocess.run(
                            [sys.executable, os.path.abspath(__file__), "_child", tree, spec,
                             shape, str(args.repeats), *variant],
                            capture_output=True, text=True, cwd=os.path.abspath(tree))
                        if child.returncode:
                            sys.exit(f"{spec} {' '.join(variant)} in {tree} failed:\n"
                                     f"{child.stderr[-3000:]}")
                        result = json.loads(child.stdout.strip().splitlines()[-1])
                        rows.append({"round": round_ + 1, "shape": shape, "config": spec,
                                     "variant": " ".join(variant) or AS_CONFIGURED,
                                     "tree": tree, "commit": _commit(tree), **result})
                        print_table(rows[-1:], UPDATE_COLUMNS)
    summary = []
    for shape in args.shapes:
        for spec in args.configs:
            for variant in variants:
                name = " ".join(variant) or AS_CONFIGURED
                for tree in args.trees:
                    key = (shape, spec, name, tree)
                    mine = [r["update_s"] for r in rows
                            if (r["shape"], r["config"], r["variant"], r["tree"]) == key]
                    summary.append({"shape": shape, "config": spec, "variant": name, "tree": tree,
                                    "commit": _commit(tree),
                                    "update_s_median": statistics.median(mine)})
    for row in summary:
        peers = [r for r in summary if (r["shape"], r["config"]) == (row["shape"], row["config"])]
        first_tree = next(r for r in peers if r["variant"] == row["variant"]
                          and r["tree"] == args.trees[0])
        configured = next(r for r in peers if r["variant"] == AS_CONFIGURED
                          and r["tree"] == row["tree"])
        row["vs_first_tree"] = row["update_s_median"] / first_tree["update_s_median"]
        row["vs_configured"] = row["update_s_median"] / configured["update_s_median"]
    print()
    print_table(summary, list(summary[0]))
    write_result({"machine": machine_info(), "command": " ".join(["python"] + sys.argv),
                  "shapes": args.shapes, "repeats": args.repeats, "rows": rows,
                  "summary": summary}, args.out)


# ----------------------------------------------------------------------------- profile

def source_part(op_name: str, depth: int) -> tuple[str, str]:
    """``('AcousticModel/decoder_rnn_0/RNN_0', 'gradient')`` from an HLO op_name."""
    backward = "transpose(" in op_name
    cleaned = []
    for part in (p for p in op_name.split("/")[1:] if p):
        while (inner := re.fullmatch(r"\w+\((.*)\)", part)):  # jvp(X), transpose(X), jit(X)
            part = inner.group(1)
        if part and part not in ("while", "body", "closed_call"):
            cleaned.append(part)
    return "/".join(cleaned[:depth]) or "(other)", "gradient" if backward else "forward"


def run_profile(args) -> None:
    """``profile``: the update's XLA op time per module path, from a profiler trace."""
    update, params, state, _ = make_update(args.config, *parse_shape(args.shape))
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
    print_table(rows, PROFILE_COLUMNS)
    busy = op_ms / wall_ms
    print(f"\n{args.config} at {args.shape}: {wall_ms:.0f} ms per update (untraced), "
          f"{op_ms:.0f} ms of XLA ops over all threads ({busy:.2f} cores busy on average)")
    out = args.out or f"benchmarks/results/profile_update_{args.config.replace(':', '_')}.json"
    write_result({**machine_info(), "command": " ".join(["python"] + sys.argv),
                  "config": args.config, "shape": args.shape, "wall_ms": wall_ms,
                  "op_ms": op_ms, "busy_cores": busy, "rows": rows}, out)


# ----------------------------------------------------------------------------- vc-cache

def random_vc_task(spec: str):
    """The conversion task of ``spec`` with random content parameters and two speakers."""
    from voxjax import tasks
    config = load_config(spec)
    config.vc.content_workdir = ""
    config.vc.content_warp = 0.0  # the warp is one gather; the content network is the cost
    config.data.speakers = ("a", "b")
    task = tasks.get(config)
    batch = {"features": np.zeros((1, 64, config.data.n_mels), np.float32) - 8,
             "feature_lengths": np.array([64], np.int32), "speaker": np.zeros(1, np.int32)}
    task.__dict__["content_params"] = task.content_task.init(jax.random.key(0), batch)
    return task


def time_vc_shape(task, batch_size: int, frames: int, repeats: int) -> dict:
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
    calls = {"live": lambda: grad(params, live), "cached": lambda: grad(params, cached),
             "table": lambda: frozen(live["features"], live["feature_lengths"])}
    first, times = {}, {name: [] for name in calls}
    for name, call in calls.items():
        start = time.perf_counter()
        jax.block_until_ready(call())
        first[name] = time.perf_counter() - start
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            jax.block_until_ready(call())
            times[name].append(time.perf_counter() - start)
    median = {name: float(np.median(t)) for name, t in times.items()}
    return {"batch": batch_size, "frames": frames, "live_ms": 1e3 * median["live"],
            "cached_ms": 1e3 * median["cached"], "speedup": median["live"] / median["cached"],
            "table_ms_per_item": 1e3 * median["table"] / batch_size,
            "compile_live_s": first["live"] - median["live"],
            "compile_cached_s": first["cached"] - median["cached"]}


def run_vc_cache(args) -> None:
    """``vc-cache``: the conversion gradient with and without the cached content, per shape."""
    task = random_vc_task(args.config)
    rows = [time_vc_shape(task, *parse_shape(shape)[:2], args.repeats) for shape in args.shapes]
    print_table(rows, VC_COLUMNS)
    write_result({**machine_info(), "command": " ".join(["python"] + sys.argv),
                  "config": args.config, "rows": rows}, args.out)


# ----------------------------------------------------------------------------- trainings

def time_training(spec: str, corpus: str, content: str, steps: int,
                  overrides: tuple[str, ...] = ()) -> dict:
    """Runs ``spec``'s trainer for ``steps`` steps and summarises its per-step log."""
    from voxjax import summaries, train
    config = load_config(spec, overrides)
    config.data.root = corpus
    if config.task == "vc":
        config.vc.content_workdir = content
    full_steps = int(config.train.steps)
    config.train.steps = steps
    config.train.log_every = 1
    config.train.eval_every = 10 ** 9
    config.train.checkpoint_every = 10 ** 9
    with tempfile.TemporaryDirectory() as workdir:
        start = time.perf_counter()
        train.train_and_evaluate(config, workdir)
        wall = time.perf_counter() - start
        rows = [r for r in summaries.read_metrics(workdir, "train") if r.get("steps_per_sec")]
    seconds = np.array([1.0 / r["steps_per_sec"] for r in rows])
    compiled = np.diff(np.array([r["compiles"] for r in rows]), prepend=0) > 0
    plain = seconds[~compiled]
    step_s = float(np.mean(plain))
    compile_s = float(np.mean(seconds[compiled] - step_s))
    buckets = len(config.data.buckets) if "buckets" in config.data else 1  # fixed crops: one
    audio = [r["audio_seconds_per_sec"] for r, c in zip(rows, compiled)
             if not c and r.get("audio_seconds_per_sec")]
    return {"config": " ".join((spec,) + tuple(overrides)), "steps": full_steps,
            "step_s": round(step_s, 3),
            "step_s_p10_p90": "{:.3f}-{:.3f}".format(*np.percentile(plain, [10, 90])),
            "audio_s_per_s": round(float(np.median(audio)), 1) if audio else None,
            "buckets": buckets, "compile_s": round(compile_s, 1),
            "projected_train_s": round(full_steps * step_s + buckets * compile_s),
            "steps_timed": len(plain), "compiles_timed": int(compiled.sum()),
            "run_wall_s": round(wall, 1)}


def time_training_job(job, corpus: str, content: str, steps: int,
                      overrides: tuple[str, ...]) -> dict:
    """:func:`time_training` as a lane's work, its steps scaled to the config's length."""
    scaled = max(20, round(steps * load_config(job.name).train.steps / 2000))
    return time_training(job.name, corpus, content, scaled, overrides)


def replay_schedule(durations: dict[str, float], num_lanes: int) -> float:
    """Wall seconds of ``voxjax.lanes`` running the main job's trainings with these durations
    (keyed by config name): a free lane takes the first job of ``main_job.TRAINING_ORDER`` whose
    dependencies are done; configs the main job does not train come last, in the given order."""
    from voxjax import main_job
    free_at = [0.0] * num_lanes
    done_at: dict[str, float] = {}
    pending = ([n for n in main_job.TRAINING_ORDER if n in durations]
               + [n for n in durations if n not in main_job.TRAINING_ORDER])
    while pending:
        lane = min(range(num_lanes), key=free_at.__getitem__)
        now = free_at[lane]
        ready = [n for n in pending if all(done_at.get(a, float("inf")) <= now
                                           for a in main_job.TRAINING_AFTER.get(n, ())
                                           if a in durations)]
        if not ready:  # wait for the next job to finish elsewhere
            free_at[lane] = min(t for t in done_at.values() if t > now)
            continue
        pending.remove(ready[0])
        done_at[ready[0]] = free_at[lane] = now + durations[ready[0]]
    return max(free_at)


def run_trainings(args) -> None:
    """``trainings``: each lane count in turn, a table and the projected wall time for each."""
    from voxjax import lanes, main_job
    configs = args.configs or list(main_job.EXPERIMENTS)
    base = {spec.partition(":")[0]: spec for spec in configs}
    overrides = tuple(args.set)
    modes = []
    for num_lanes in args.lanes:
        if num_lanes == 1:
            rows = []
            for spec in configs:
                rows.append(time_training(spec, args.corpus, args.content, args.steps, overrides))
                print(rows[-1], flush=True)
        else:
            work = functools.partial(time_training_job, corpus=args.corpus,
                                     content=args.content, steps=args.steps, overrides=overrides)
            order = ([base[n] for n in main_job.TRAINING_ORDER if n in base]
                     + [s for s in configs if s.partition(":")[0] not in main_job.TRAINING_ORDER])
            jobs = [lanes.Job(spec, after=tuple(base[a] for a in main_job.TRAINING_AFTER.get(
                spec.partition(":")[0], ()) if a in base)) for spec in order]
            start = time.perf_counter()
            results = lanes.run(jobs, work, num_lanes)
            rows = [results[spec] for spec in configs]
            print(f"{num_lanes} lanes: {time.perf_counter() - start:.0f} s for the short run")
        print(f"\n{num_lanes} lane(s):")
        print_table(rows, TRAINING_COLUMNS)
        projected = replay_schedule({r["config"].split()[0].partition(":")[0]:
                                     r["projected_train_s"] for r in rows}, num_lanes)
        print(f"projected training loops: {projected:.0f} s ({projected / 60:.0f} min) "
              f"against the whole job's {BUDGET_S // 60} min")
        modes.append({"lanes": num_lanes, "rows": rows, "projected_total_s": round(projected)})
    write_result({**machine_info(), "command": " ".join(["python"] + sys.argv),
                  "steps_timed": args.steps, "modes": modes, "budget_s": BUDGET_S}, args.out)


# ----------------------------------------------------------------------------- command line

def build_parser() -> argparse.ArgumentParser:
    """The four modes' flags (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True,
                                  metavar="{update,profile,vc-cache,trainings}")
    p = modes.add_parser("update", help="one update per config, variant and checkout")
    p.add_argument("--configs", nargs="+", default=["stt_synth", "tts_synth"])
    p.add_argument("--shapes", nargs="+", default=["32x450x80"], help="BATCHxFRAMES[xLABELS]")
    p.add_argument("--variant", nargs="+", action="append", default=[], metavar="KEY=VALUE",
                   help="config overrides timed beside the config as configured (repeatable)")
    p.add_argument("--trees", nargs="+", default=[os.path.dirname(HERE)],
                   help="voxjax checkouts to compare (the first is the peer)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--out", default="benchmarks/results/update_step.json")
    p.set_defaults(run=run_update)
    p = modes.add_parser("profile", help="an update's XLA op time per flax module")
    p.add_argument("--config", default="tts_synth")
    p.add_argument("--shape", default="32x450x80", help="BATCHxFRAMES[xLABELS]")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--top", type=int, default=15)
    p.add_argument("--out", help="default benchmarks/results/profile_update_<config>.json")
    p.set_defaults(run=run_profile)
    p = modes.add_parser("vc-cache", help="the vc gradient with and without cached content")
    p.add_argument("--config", default="vc_synth")
    p.add_argument("--shapes", nargs="+", default=["32x304", "32x512"], help="BATCHxFRAMES")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", default="benchmarks/results/vc_train_step.json")
    p.set_defaults(run=run_vc_cache)
    p = modes.add_parser("trainings", help="the main job's trainings, in one or more lanes")
    p.add_argument("--corpus", default="runs/corpus")
    p.add_argument("--content", default="runs/stt_synth_streaming")
    p.add_argument("--configs", nargs="+", help="default: the main job's six")
    p.add_argument("--steps", type=int, default=80)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    p.add_argument("--lanes", nargs="+", type=int, default=[1],
                   help="lane counts to time in turn (1: one training after another)")
    p.add_argument("--out", default="benchmarks/results/main_job_trainings.json")
    p.set_defaults(run=run_trainings)
    p = modes.add_parser("_child")  # one update timed in a fresh process, for ``update``
    p.add_argument("tree")
    p.add_argument("config")
    p.add_argument("shape")
    p.add_argument("repeats", type=int)
    p.add_argument("overrides", nargs="*")
    return parser


def main(argv=None) -> None:
    """Command-line entry: see the module docstring."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.mode == "_child":
        print(json.dumps(time_update(args.tree, args.config, args.shape, args.repeats,
                                     args.overrides)))
        return
    if args.mode == "trainings" and args.steps < 20:
        parser.error("--steps must be at least 20")
    args.run(args)


if __name__ == "__main__":
    main()
