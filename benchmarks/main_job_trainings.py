"""What the main job's trainings cost on this machine: the real trainer, a few dozen steps each.

    python benchmarks/main_job_trainings.py [--corpus runs/corpus]
        [--content runs/stt_synth_streaming] [--steps 80]
        [--configs stt_synth ...] [--set data.key=value ...]
        [--out benchmarks/results/main_job_trainings.json]

For each model the main job trains (``voxjax.main_job.EXPERIMENTS``, full-size configs) it runs
``train.train_and_evaluate`` for ``--steps`` steps in a fresh temporary workdir, with the real
grain pipeline over ``--corpus`` (its feature cache warm, as in every run after the first epoch),
no evaluation or checkpoint until the end, and the metrics fetched after every step (the
trainer's one host sync, so each logged window is one step). A step that compiled a new bucket
shape (the trainer's ``compiles`` count went up) is set apart: ``step_s`` is the mean of the
others (the buckets mixed as training mixes them), ``compile_s`` the mean excess of the
compiling steps over it (the first step also holds the pipeline's start). The projection is
``config.train.steps x step_s + buckets x compile_s``: the main job's training loop without its periodic evaluations, checkpoints or the
first epoch's featurisation (``runs/corpus``'s cache spares it here). So it is a lower bound of
each training and of their sum, measured in one run so that the models compare like with like.

``--set`` changes a key of every config timed, as ``--config.key=value`` does in training
(``--configs speaker_synth --set data.train_crop_frames=0``: what the crop saves).
``vc_synth`` reads its frozen content from ``--content`` (any trained ``stt_synth_streaming``
workdir: the weights do not change the cost).

``--lanes 1 2`` times the trainings both ways in one run: one after another in this process,
then through :mod:`voxjax.lanes` as the main job runs them (its order and dependencies, each in
a process pinned to its share of the cores). In lanes each model runs ``--steps`` scaled by its
share of a 2,000-step config (the decoder's 5,000 steps: 2.5x), so the short run keeps the main
job's proportions and each model is timed beside the partners it meets there. Each lane mode's
projected wall time replays the scheduler (:func:`replay_schedule`) over the models' projected
loops.
"""
from __future__ import annotations

import argparse
import ast
import functools
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine_info, print_table, write_result  # noqa: E402
from voxjax import config as config_lib, lanes, main_job, summaries, train  # noqa: E402

COLUMNS = ["config", "steps", "step_s", "step_s_p10_p90", "audio_s_per_s", "buckets",
           "compile_s", "projected_train_s"]
BUDGET_S = 90 * 60  # the whole main job's budget (issue 9), trainings and evaluation together


def time_training(name: str, corpus: str, content: str, steps: int,
                  overrides: tuple[str, ...] = ()) -> dict:
    """Runs ``name``'s trainer for ``steps`` steps and summarises its per-step log."""
    config = config_lib.load(name)
    for item in overrides:
        key, _, value = item.partition("=")
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError):  # a bare word: a string
            pass
        config_lib.override(config, {key: value})
    config.data.root = corpus
    if name == "vc_synth":
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
    compiles = np.array([r["compiles"] for r in rows])
    compiled = np.diff(compiles, prepend=0) > 0
    plain = seconds[~compiled]
    step_s = float(np.mean(plain))
    compile_s = float(np.mean(seconds[compiled] - step_s))
    buckets = len(config.data.get("buckets", ())) or 1  # the decoder trains on fixed crops
    audio = [r["audio_seconds_per_sec"] for r, c in zip(rows, compiled)
             if not c and r.get("audio_seconds_per_sec")]
    return {"config": " ".join((name,) + tuple(overrides)), "steps": full_steps,
            "step_s": round(step_s, 3),
            "step_s_p10_p90": "{:.3f}-{:.3f}".format(*np.percentile(plain, [10, 90])),
            "audio_s_per_s": round(float(np.median(audio)), 1) if audio else None,
            "buckets": buckets, "compile_s": round(compile_s, 1),
            "projected_train_s": round(full_steps * step_s + buckets * compile_s),
            "steps_timed": len(plain), "compiles_timed": int(compiled.sum()),
            "run_wall_s": round(wall, 1)}


def time_training_job(job: lanes.Job, corpus: str, content: str, steps: int,
                      overrides: tuple[str, ...]) -> dict:
    """:func:`time_training` as a lane's work, its steps scaled to the config's length."""
    scaled = max(20, round(steps * config_lib.load(job.name).train.steps / 2000))
    return time_training(job.name, corpus, content, scaled, overrides)


def replay_schedule(durations: dict[str, float], num_lanes: int) -> float:
    """Wall seconds of ``voxjax.lanes`` running the main job's trainings with these durations:
    a free lane takes the first job of ``main_job.TRAINING_ORDER`` whose dependencies are done."""
    free_at = [0.0] * num_lanes
    done_at: dict[str, float] = {}
    pending = [n for n in main_job.TRAINING_ORDER if n in durations]
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


def main() -> None:
    """Command-line entry: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="runs/corpus")
    parser.add_argument("--content", default="runs/stt_synth_streaming")
    parser.add_argument("--configs", nargs="+", default=list(main_job.EXPERIMENTS))
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--lanes", nargs="+", type=int, default=[1],
                        help="lane counts to time in turn (1: one training after another)")
    parser.add_argument("--out", default="benchmarks/results/main_job_trainings.json")
    args = parser.parse_args()
    if args.steps < 20:
        parser.error("--steps must be at least 20")
    modes = []
    for num_lanes in args.lanes:
        if num_lanes == 1:
            rows = []
            for name in args.configs:
                rows.append(time_training(name, args.corpus, args.content, args.steps,
                                          tuple(args.set)))
                print(rows[-1], flush=True)
        else:
            work = functools.partial(time_training_job, corpus=args.corpus,
                                     content=args.content, steps=args.steps,
                                     overrides=tuple(args.set))
            jobs = [lanes.Job(n, after=tuple(a for a in main_job.TRAINING_AFTER.get(n, ())
                                             if a in args.configs))
                    for n in main_job.TRAINING_ORDER if n in args.configs]
            start = time.perf_counter()
            results = lanes.run(jobs, work, num_lanes)
            rows = [results[n] for n in args.configs]
            print(f"{num_lanes} lanes: {time.perf_counter() - start:.0f} s for the short run")
        print(f"\n{num_lanes} lane(s):")
        print_table(rows, COLUMNS)
        projected = replay_schedule({r["config"].split()[0]: r["projected_train_s"]
                                     for r in rows}, num_lanes)
        print(f"projected training loops: {projected:.0f} s ({projected / 60:.0f} min) "
              f"against the whole job's {BUDGET_S // 60} min")
        modes.append({"lanes": num_lanes, "rows": rows, "projected_total_s": round(projected)})
    write_result({**machine_info(), "command": " ".join(["python"] + sys.argv),
                  "steps_timed": args.steps, "modes": modes, "budget_s": BUDGET_S}, args.out)


if __name__ == "__main__":
    main()
