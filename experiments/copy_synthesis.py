"""Judge a trained conv decoder's copy synthesis on any corpus (e.g. real speech it never saw).

    python experiments/copy_synthesis.py --decoder runs/main/decoder_synth \
        --dataset ljspeech --root ../shared/data/ljspeech32 [--split all] [--limit 32] \
        [--judge runs/main/stt_synth]

For each utterance: the decoder on the log-mel of the real audio (resampled to the decoder's
rate), and Griffin-Lim on the same log-mel, each judged beside the real audio by pocketsphinx
(the ``eval`` extra) and, with ``--judge``, this project's STT model; MCD against the real
audio. Writes ``<decoder>/copy_synthesis_<dataset>.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from voxjax import evaluation, inference  # noqa: E402
from voxjax.evaluation import judges as judges_lib, tts as tts_evaluation  # noqa: E402
from voxjax.data import manifest  # noqa: E402


def main() -> None:
    """Command-line entry: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decoder", required=True)
    parser.add_argument("--dataset", required=True, choices=manifest.DATASETS)
    parser.add_argument("--root", required=True)
    parser.add_argument("--split", default="all")
    parser.add_argument("--limit", type=int, default=32)
    parser.add_argument("--judge", help="STT workdir (optional)")
    args = parser.parse_args()

    config, task, params = inference.load_workdir(args.decoder)
    if config.task != "decoder":
        raise SystemExit(f"error: {args.decoder} holds a {config.task!r} model, not 'decoder'")
    judges = [judges_lib.stt_judge(args.judge)] if args.judge else []
    sphinx = judges_lib.pocketsphinx_judge(task.mel.sample_rate)
    judges += [sphinx] if sphinx is not None else []
    if not judges:
        raise SystemExit("error: no judge: give --judge W_stt or pip install -e '.[eval]'")
    utterances = manifest.load_manifest(args.dataset, args.root, args.split)[: args.limit]
    systems = {"decoder_copy": tts_evaluation.copy_synthesis_system(task, params),
               "griffin_lim": tts_evaluation.griffin_lim_system(task.mel)}
    report = tts_evaluation.judge_systems(utterances, systems, judges, task.mel.sample_rate)
    rows = [{"system": name, **{k: round(v, 4) for k, v in entry.items()}}
            for name, entry in report["systems"].items()]
    with open(os.path.join(args.decoder, f"copy_synthesis_{args.dataset}.json"), "w") as f:
        json.dump({"dataset": args.dataset, "root": os.path.abspath(args.root),
                   "split": args.split, "utterances": report["utterances"], "rows": rows,
                   "details": report["details"]}, f, indent=1)
    print(f"{report['utterances']} utterances of {args.dataset} ({args.root})")
    print(evaluation.markdown_table(rows, list(dict.fromkeys(k for r in rows for k in r))))


if __name__ == "__main__":
    main()
