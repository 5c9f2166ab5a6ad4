"""Sweep synthesis-time settings of a trained TTS workdir under the STT judge.

    python experiments/synthesis_sweep.py --tts runs/main/tts_synth \
        --decoder runs/main/decoder_synth --judge runs/main/stt_synth --split valid \
        [--paces 1.0 1.1] [--dropout off on] [--limit 60]

Each setting (speaking pace x prenet dropout kept on at inference, Tacotron 2 style) synthesises
the first ``limit`` utterances of ``split`` and is judged by the STT model (beam + text prior,
and greedy) beside the same judge's CER on the corpus audio. Tune on `valid`, then report
`test` with the chosen setting (``model.inference_prenet_dropout`` lives in the TTS config).
Writes ``<tts>/synthesis_sweep_<split>.json``.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from voxjax import evaluation, inference, tasks  # noqa: E402
from voxjax.evaluation import judges as judges_lib, tts as tts_evaluation  # noqa: E402


def main() -> None:
    """Command-line entry: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tts", required=True)
    parser.add_argument("--decoder", required=True)
    parser.add_argument("--judge", required=True)
    parser.add_argument("--split", default="valid")
    parser.add_argument("--paces", type=float, nargs="+", default=[1.0])
    parser.add_argument("--dropout", nargs="+", choices=["off", "on"], default=["off", "on"])
    parser.add_argument("--limit", type=int, default=60)
    args = parser.parse_args()

    config, base_task, params = inference.load_workdir(args.tts)
    decoder = inference.load_workdir(args.decoder)
    judges = [judges_lib.stt_judge(args.judge, beam=True),
              judges_lib.stt_judge(args.judge, beam=False)]
    systems = {}
    for dropout, pace in itertools.product(args.dropout, args.paces):
        variant = config.copy_and_resolve_references()
        variant.model.inference_prenet_dropout = dropout == "on"
        task = tasks.get(variant)
        synthesizer = inference.make_synthesizer((variant, task, params), decoder)
        systems[f"dropout_{dropout}_pace_{pace:g}"] = tts_evaluation.tts_system(synthesizer, pace)
    utterances = base_task.utterances(args.split)[: args.limit]
    report = tts_evaluation.judge_systems(utterances, systems, judges,
                                          decoder[1].mel.sample_rate)
    rows = [{"system": name, **{k: round(v, 4) for k, v in entry.items()}}
            for name, entry in report["systems"].items()]
    with open(os.path.join(args.tts, f"synthesis_sweep_{args.split}.json"), "w") as f:
        json.dump({"split": args.split, "limit": args.limit, "rows": rows}, f, indent=1)
    print(evaluation.markdown_table(rows, list(dict.fromkeys(k for r in rows for k in r))))


if __name__ == "__main__":
    main()
