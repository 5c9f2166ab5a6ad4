"""Ablation grid for the STT model: trains each variant and tabulates CER/WER.

    python experiments/stt_ablations.py --workdir runs/ablations [--tiny] [--steps N] [--only NAME]

Each variant is the default config (``configs/stt_synth.py``) with a few overrides; runs share
the corpus, resume if interrupted, and the table lands in ``<workdir>/ablations.md`` and
``<workdir>/ablations.json``. Result: not yet measured.
"""
from __future__ import annotations

import argparse
import json
import os

from voxjax import config as config_lib, evaluation, train
from voxjax.evaluation import stt as evaluation_stt

# name -> (config file, overrides); each answers one question about the recipe.
GRID = {
    "bigru": ("stt_synth", {}),
    "bilstm": ("stt_synth", {"model.rnn_cell": "lstm"}),
    "causal_gru": ("stt_synth_streaming", {}),
    "subsample_x2": ("stt_synth", {"model.conv_layers": 1}),
    "no_specaugment": ("stt_synth", {"data.augment.freq_masks": 0, "data.augment.time_masks": 0}),
    "two_layers": ("stt_synth", {"model.rnn_layers": 2}),
}


def run_grid(workdir: str, tiny: bool = False, steps: int | None = None,
             only: list[str] | None = None) -> list[dict]:
    """Trains and evaluates every variant; returns one row per variant."""
    rows = []
    for name, (config_name, overrides) in GRID.items():
        if only and name not in only:
            continue
        config = config_lib.override(config_lib.load(config_name, "tiny" if tiny else None), overrides)
        config.data.root = os.path.join(workdir, "corpus")
        if steps:
            config.train.steps = steps
        run_dir = os.path.join(workdir, name)
        train.train_and_evaluate(config, run_dir)
        m = evaluation_stt.evaluate_workdir(run_dir, "test")
        rows.append({"variant": name, "overrides": json.dumps(overrides), "cer": m["cer"],
                     "cer_beam": m.get("cer_beam", float("nan")), "wer": m["wer"]})
    with open(os.path.join(workdir, "ablations.json"), "w") as f:
        json.dump(rows, f, indent=1)
    with open(os.path.join(workdir, "ablations.md"), "w") as f:
        f.write(evaluation.markdown_table(rows, list(rows[0])) + "\n")
    return rows


def main() -> None:
    """Command-line entry: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default="runs/ablations")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    rows = run_grid(args.workdir, args.tiny, args.steps, args.only)
    print(evaluation.markdown_table(rows, list(rows[0])))


if __name__ == "__main__":
    main()
