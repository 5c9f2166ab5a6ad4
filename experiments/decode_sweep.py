"""Sweep beam-search settings (text-prior weight x length bonus) on a trained workdir.

    python experiments/decode_sweep.py --workdir runs/main/stt_synth --split valid \
        [--dataset arctic [--root DIR]] [--weights 0 0.3 0.5 0.8] [--bonuses 0 0.5 1 1.5 2]
        [--beam 8] [--out-dir D]

Posteriors are computed once; each setting only re-runs the numpy beam search. Tune on `valid`,
then report `test` with the chosen setting (``--config.inference.prior_weight=...`` at training
or by editing the config). ``--dataset`` sweeps on an evaluation set instead
(``voxjax.data.sources.EVALUATION_SETS``; every voice of it together), e.g. the held-out
``valid`` prompts of the ARCTIC voices for a model judged on human speech. Writes
``<out-dir>/decode_sweep_[<dataset>_]<split>.json`` (default: the workdir).
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from voxjax import decoding, evaluation, files, inference, text  # noqa: E402
from voxjax.data import pipeline, sources  # noqa: E402


def posteriors(task, params, utts):
    """``[(log_probs [T, V], reference)]`` for every utterance of ``utts``."""
    out = []
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
    parser.add_argument("--dataset", choices=tuple(sources.EVALUATION_SETS))
    parser.add_argument("--root")
    parser.add_argument("--out-dir")
    args = parser.parse_args()

    _, task, params = inference.load_workdir(args.workdir)
    prior = inference.load_prior(task, args.workdir)
    utts = ([u for _, group in sources.evaluation_set(args.dataset, args.root, args.split)
             for u in group] if args.dataset else task.utterances(args.split))
    data = posteriors(task, params, utts)
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
    name = f"decode_sweep_{args.dataset + '_' if args.dataset else ''}{args.split}.json"
    files.write_json(os.path.join(args.out_dir or args.workdir, name),
                     {"split": args.split, "dataset": args.dataset, "beam": args.beam,
                      "rows": rows}, indent=1)
    print(evaluation.markdown_table(rows, ["prior_weight", "length_bonus", "cer", "wer"]))


if __name__ == "__main__":
    main()
