"""How far does the built-in synthetic corpus carry, and does it help low-resource real ASR?

    python experiments/real_speech.py --workdir runs/real_speech [--only NAME ...] [--tiny]
        [--data DIR (default ../shared/data beside the repository)] [--out docs/experiments.md]

Trains real-only, synthetic-only, mixed and pretrain-then-fine-tune recipes, each without and
with augmentation, and scores every model zero-shot on held-out *human* speech: Mini LibriSpeech
``dev`` (4 unseen speakers), LJSpeech-32 and the FSDD ``test`` split (CER/WER with beam search +
the recipe's own text prior), plus training wall time. Each plain recipe is its config as
shipped: SpecAugment everywhere, and speed perturbation (0.9/1.0/1.1, as Kaldi does) wherever
Mini LibriSpeech is trained on. ``_aug`` adds waveform augmentation: reverberation, noise
(coloured and babble), telephone band and gain, plus speed perturbation and per-utterance
eSpeak voice randomisation for the built-in corpus. Runs resume if interrupted; finished
evaluations are reused. The table and a plot go to ``--out`` (markdown) and
``<workdir>/real_speech.json``; the report lists every recipe that has finished in
``--workdir`` (so ``--only`` runs add up), names the others as not yet run, and keeps the
hand-written section that starts with ``## What it shows``.
"""
from __future__ import annotations

import argparse
import json
import os
import time

from voxjax import config as config_lib, evaluation, train
from voxjax.evaluation import stt as evaluation_stt
from voxjax.data import sources

WAVE_AUGMENT = {"data.augment.reverb_prob": 0.3, "data.augment.noise_prob": 0.5,
                "data.augment.telephone_prob": 0.1, "data.augment.gain_prob": 0.5}
# stt_synth's 2,000 steps of 32 took 20 minutes on the machine it was tuned on and at least 2.4
# times that on a slower 2-core CPU (2026-12-02); every run here keeps to a 30-minute budget
# there, so the synthetic recipes take 1,500 steps of 16 (37% of the utterances).
SYNTH_BUDGET = {"data.batch_size": 16, "train.steps": 1500}
SYNTH_PLAIN = {**SYNTH_BUDGET, "data.root": "{workdir}/corpus"}
SYNTH_AUGMENT = {**SYNTH_PLAIN, **WAVE_AUGMENT, "data.augment.speed_factors": (0.9, 1.0, 1.1),
                 "data.randomize_voices": True, "data.root": "{workdir}/corpus_varied"}

# name -> (config, overrides, workdir to initialise from or None)
GRID = {
    "synthetic_only": ("stt_synth", SYNTH_PLAIN, None),
    "synthetic_only_aug": ("stt_synth", SYNTH_AUGMENT, None),
    "real_only": ("stt_minilibri", {}, None),
    "real_only_aug": ("stt_minilibri", WAVE_AUGMENT, None),
    "mixed": ("stt_minilibri_mixed", {"data.randomize_voices": False,
                                      "data.synth_root": "{workdir}/corpus"}, None),
    "mixed_aug": ("stt_minilibri_mixed", {**WAVE_AUGMENT,
                                          "data.synth_root": "{workdir}/corpus_varied"}, None),
    "finetune": ("stt_minilibri_finetune", {}, "synthetic_only"),
    "finetune_aug": ("stt_minilibri_finetune", WAVE_AUGMENT, "synthetic_only_aug"),
}
TESTS = sources.HUMAN_TEST_SETS  # every model is judged on the same human speech
NOTES_HEADING = "## What it shows"


def configure(name: str, workdir: str, data_dir: str, tiny: bool):
    """The config of one grid entry, its paths resolved under ``workdir`` and ``data_dir``."""
    config_name, overrides, init = GRID[name]
    config = config_lib.load(config_name, "tiny" if tiny else None)
    if config.data.dataset == "librispeech":
        config.data.root = os.path.join(data_dir, "minilibrispeech")
    config_lib.override(config, {k: v.format(workdir=workdir) if isinstance(v, str) else v
                                 for k, v in overrides.items()
                                 if not (tiny and k in SYNTH_BUDGET)})
    if init:
        config.init_from = os.path.join(workdir, init)
    return config


def run(name: str, workdir: str, data_dir: str, tiny: bool) -> dict:
    """Trains (or resumes) one recipe and evaluates it on every human test set present."""
    run_dir = os.path.join(workdir, name)
    config = configure(name, workdir, data_dir, tiny)
    if config.init_from and not os.path.isdir(os.path.join(config.init_from, "checkpoints")):
        run(GRID[name][2], workdir, data_dir, tiny)
    timing = os.path.join(run_dir, "train_seconds.json")
    if not os.path.exists(timing):
        start = time.time()
        final = train.train_and_evaluate(config, run_dir)
        if final.get("preempted"):
            raise SystemExit(f"{name} stopped at step {int(final['step'])}; rerun to resume")
        with open(timing, "w") as f:
            json.dump({"seconds": time.time() - start, "steps": int(final["step"])}, f)
    row = {"recipe": name, **json.load(open(timing))}
    for dataset, folder, split, root in sources.human_test_sets(data_dir):
        saved = os.path.join(run_dir, f"eval_{dataset}_{split}.json")
        if os.path.exists(saved):  # evaluations are deterministic: reuse a finished one
            m = json.load(open(saved))["metrics"]
        else:
            m = evaluation_stt.evaluate_workdir(run_dir, split, dataset=dataset, root=root)
        row[f"{folder} CER"], row[f"{folder} WER"] = m["cer_beam"], m["wer_beam"]
    with open(os.path.join(run_dir, "real_speech_row.json"), "w") as f:
        json.dump(row, f)
    return row


def finished_rows(workdir: str) -> list[dict]:
    """Rows of every grid recipe evaluated in ``workdir``, in grid order."""
    paths = [os.path.join(workdir, name, "real_speech_row.json") for name in GRID]
    return [json.load(open(p)) for p in paths if os.path.exists(p)]


def write_report(rows: list[dict], path: str, plot: str) -> None:
    """Markdown table + bar plot of CER per recipe and test set."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    tests = [f"{folder} CER" for _, folder, _ in TESTS if any(f"{folder} CER" in r for r in rows)]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / max(len(tests), 1)
    for k, test in enumerate(tests):
        ax.bar(np.arange(len(rows)) + k * width, [100 * r.get(test, np.nan) for r in rows],
               width, label=test)
    ax.set_xticks(np.arange(len(rows)) + 0.4 - width / 2, [r["recipe"] for r in rows],
                  rotation=20, ha="right")
    ax.set_ylabel("CER % (beam + prior)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(plot, dpi=100)
    plt.close(fig)
    columns = ["recipe", "seconds", "steps"] + [c for t in TESTS for c in
                                                (f"{t[1]} CER", f"{t[1]} WER") if c in rows[0]]
    missing = [name for name in GRID if name not in {r["recipe"] for r in rows}]
    notes = ""  # the hand-written reading of the table survives a rerun
    if os.path.exists(path):
        text = open(path).read()
        notes = text[text.index(NOTES_HEADING):] if NOTES_HEADING in text else ""
    with open(path, "w") as f:
        f.write("# Real speech: how far the synthetic corpus carries\n\n"
                "Made by `python experiments/real_speech.py`; see its docstring for the recipes."
                "\n\n" + evaluation.markdown_table(rows, columns) + "\n\n"
                + (f"Not yet run: {', '.join(missing)}.\n\n" if missing else "")
                + f"![CER per recipe]({os.path.relpath(plot, os.path.dirname(path))})\n"
                + (f"\n{notes}" if notes else ""))


def main() -> None:
    """Command-line entry: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="runs/real_speech")
    parser.add_argument("--data", default=config_lib.SHARED_DATA)
    parser.add_argument("--only", nargs="*", choices=list(GRID))
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", default="docs/experiments.md")
    args = parser.parse_args()
    for name in GRID:
        if not args.only or name in args.only:
            run(name, args.workdir, args.data, args.tiny)
    rows = finished_rows(args.workdir)
    with open(os.path.join(args.workdir, "real_speech.json"), "w") as f:
        json.dump(rows, f, indent=1)
    write_report(rows, args.out, os.path.join(os.path.dirname(args.out) or ".",
                                              "real_speech.png"))
    print(evaluation.markdown_table(rows, list(rows[0])))


if __name__ == "__main__":
    main()
