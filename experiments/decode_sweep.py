"""Sweep beam-search settings (text-prior weight x length bonus) on a trained workdir.

    python experiments/decode_sweep.py --workdir runs/main/stt_synth --split valid \
        [--weights 0 0.3 0.5 0.8] [--bonuses 0 0.5 1 1.5 2] [--beam 8]

Posteriors are computed once; each setting only re-runs the numpy beam search. Tune on `valid`,
then report `test` with the chosen setting (``--config.inference.prior_weight=...`` at training
or by editing the config). Writes ``<workdir>/decode_sweep_<split>.json``.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from voxjax import decoding, evaluation, inference, text  # noqa: E402
from voxjax.data import pipeline  # noqa: E402


def posteriors(task, params, split: str):
    """``[(log_probs [T, V], reference)]`` for every utterance of ``split``."""
    utts, out = task.utterances(split), []
    batches = pipeline.eval_batches(task.config, utts)
    try:
        for batch in batches:
            lp, lengths = task.log_probs(params, batch)
            for row in np.flatnonzero(batch["weights"] > 0):
                out.append((lp[row, : lengths[row]], text.normalize(utts[batch["index"][row]].text)))
    finally:
        batches.close()
    return out


def main() -> None:
    """Command-line entry: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--split", default="valid")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.3, 0.5, 0.8])
    parser.add_argument("--bonuses", type=float, nargs="+", default=[0.0, 0.5, 1.0, 1.5, 2.0])
    parser.add_argument("--beam", type=int, default=8)
    args = parser.parse_args()

    _, task, params = inference.load_workdir(args.workdir)
    prior = inference.load_prior(task, args.workdir)
    data = posteriors(task, params, args.split)
    refs = [ref for _, ref in data]
    greedy = [task.tokenizer.decode(decoding.ctc_greedy(lp)) for lp, _ in data]
    rows = [{"prior_weight": "greedy", "length_bonus": "", **evaluation.error_rates(refs, greedy)}]
    for weight, bonus in itertools.product(args.weights, args.bonuses):
        hyps = [task.tokenizer.decode(decoding.ctc_prefix_beam_search(
            lp, beam_size=args.beam, prior=prior, prior_weight=weight, length_bonus=bonus))
            for lp, _ in data]
        rows.append({"prior_weight": weight, "length_bonus": bonus,
                     **evaluation.error_rates(refs, hyps)})
        print(rows[-1], flush=True)
    with open(os.path.join(args.workdir, f"decode_sweep_{args.split}.json"), "w") as f:
        json.dump({"split": args.split, "beam": args.beam, "rows": rows}, f, indent=1)
    print(evaluation.markdown_table(rows, ["prior_weight", "length_bonus", "cer", "wer"]))


if __name__ == "__main__":
    main()
