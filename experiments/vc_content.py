"""Which content should the conversion model read, and how far ahead? Trains
``configs/vc_synth.py`` once per variant on the same frozen causal STT model and judges each the
same way.

    python experiments/vc_content.py --workdir runs/vc_content --content runs/stt_synth_streaming
        --decoder runs/decoder_synth --judge runs/stt_synth --speaker-model runs/speaker_synth
        [--corpus runs/corpus] [--tiny] [--steps N] [--only NAME ...] [--limit 25] [--targets 4]

Variants: the CTC log-posteriors (a phonetic posteriorgram) against RNN-layer bottlenecks; the
first layer squeezed through a linear layer 32 or 16 wide (``model.content_width``), or read
from a warped log-mel in training (``vc.content_warp``, the config's default; the other
variants do not warp); the
middle layer with output frame t rendering source frame t - 0, 3 or 8 (``model.lookahead_frames``:
0, 30 or 80 ms more latency).
Runs resume if interrupted; the table lands in ``<workdir>/vc_content.md`` and ``.json``.
Measured (2026-12-04, 2-core AMD EPYC CPU; the same two runs by hand with ``voxjax train``
and ``voxjax eval``, README "Speech conversion"): ``posteriors`` CER ratio 4.77, voice named
65%, MCD 4.77 dB; ``bottleneck_last`` 3.52, 67%, 4.46 dB (MCD(source, target) 6.40 dB).
``bottleneck_middle`` (layer -2 of 3) beat ``bottleneck_last`` on 2026-12-06 (x86_64), both
embedding-conditioned (``--config.vc.speaker=embedding``, trained by hand as in the README): valid
mel L1 1.111 vs 1.219, the judge's CER on sources converted to their own voice 16.0% vs 28.4%
(sources 3.1%), CER ratio into other voices 7.27 vs 11.4. The look-ahead variants, id-conditioned,
were measured on 2026-12-06 (x86_64, trained by hand with ``--config.model.lookahead_frames=D``,
README "Speech conversion, third round"): CER ratio 7.88 / 3.58 / 2.43 for 0 / 3 / 8 frames (own
voice 6.04 / 2.12 / 1.60), voice named 62 / 64 / 68%, MCD 4.41 / 4.15 / 4.07 dB. The content
variants' figures above had no look-ahead; the grid now runs them at the config's default of 3
frames.
The lower the layer, the more words and the more of the source voice: on 2026-12-07 (x86_64,
id-conditioned, 3 frames, trained by hand with ``--config.vc.content_layer=0
[--config.model.content_width=W]``, README "Speech conversion, fifth round"),
``bottleneck_first`` reached CER ratio 2.35 (own voice 1.79) against the middle layer's 3.58
(2.12), but its voice is named 48% (middle 64%), 74% nearer the target (88%), MCD 4.65 dB
(4.15). Squeezing the first layer moves it along the same line instead of off it:
``first_width32`` 2.96, 59%, 81%, 4.37 dB; ``first_width16`` 3.16, 61%, 81%, 4.36 dB, both
with more words lost in the source's own voice (2.23, 2.50) than the unsqueezed middle layer.
``first_warped`` gets off it: 2.88 (own voice 2.10), 65%, 92%, 4.20 dB, now the default.
``--tiny`` content models have one RNN layer: run it with ``--only posteriors bottleneck_last
bottleneck_first first_width32 first_width16 first_warped`` (the others read a second-to-last
layer).
"""
from __future__ import annotations

import argparse
import os

from voxjax import config as config_lib, evaluation, files, train
from voxjax.evaluation import conversion as conversion_evaluation

# name -> config.vc overrides; every variant reads the same frozen STT model.
GRID = {
    "posteriors": {"vc.content": "posteriors"},
    "bottleneck_last": {"vc.content": "bottleneck", "vc.content_layer": -1},
    "bottleneck_middle": {"vc.content": "bottleneck", "vc.content_layer": -2},
    "bottleneck_first": {"vc.content": "bottleneck", "vc.content_layer": 0},
    "first_width32": {"vc.content_layer": 0, "model.content_width": 32},  # squeezed
    "first_width16": {"vc.content_layer": 0, "model.content_width": 16},
    "first_warped": {"vc.content_layer": 0, "vc.content_warp": 0.2},  # the default
    "middle_ahead0": {"vc.content_layer": -2, "model.lookahead_frames": 0},
    "middle_ahead3": {"vc.content_layer": -2, "model.lookahead_frames": 3},
    "middle_ahead8": {"vc.content_layer": -2, "model.lookahead_frames": 8},
}
COLUMNS = ("variant", "mel_l1", "cer_ratio", "own_voice_cer_ratio", "copy_cer_ratio",
           "target_voice_accuracy", "target_accuracy", "own_voice_voice_accuracy",
           "closer_to_target_rate", "mcd_target_db", "mcd_source_target_db")


def run_grid(args) -> list[dict]:
    """Trains and judges every chosen variant; returns one row per variant."""
    rows = []
    for name, overrides in GRID.items():
        if args.only and name not in args.only:
            continue
        config = config_lib.override(config_lib.load("vc_synth", "tiny" if args.tiny else None),
                                     {"vc.content_warp": 0.0,  # only where a variant says
                                      **overrides, "vc.content_workdir": args.content})
        config.data.root = args.corpus
        if args.steps:
            config.train.steps = args.steps
        run_dir = os.path.join(args.workdir, name)
        final = train.train_and_evaluate(config, run_dir)
        judged = conversion_evaluation.evaluate_workdir(
            run_dir, args.decoder, args.judge, args.speaker_model, limit=args.limit,
            targets=args.targets)
        rows.append({"variant": name, "mel_l1": final.get("mel_l1", float("nan")),
                     **{k: judged.get(k, float("nan")) for k in COLUMNS[2:]}})
    files.write_json(os.path.join(args.workdir, "vc_content.json"), rows, indent=1)
    files.write_text(os.path.join(args.workdir, "vc_content.md"),
                     evaluation.markdown_table(rows, COLUMNS) + "\n")
    return rows


def main() -> None:
    """Command-line entry: see the module docstring."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workdir", default="runs/vc_content")
    p.add_argument("--content", required=True, help="trained causal STT workdir (the content)")
    p.add_argument("--decoder", required=True, help="trained conv decoder workdir")
    p.add_argument("--judge", required=True, help="trained STT workdir judging intelligibility")
    p.add_argument("--speaker-model", required=True, help="trained speaker workdir")
    p.add_argument("--corpus", default="runs/corpus")
    p.add_argument("--tiny", action="store_true")
    p.add_argument("--steps", type=int)
    p.add_argument("--only", nargs="*", choices=list(GRID))
    p.add_argument("--limit", type=int, default=25, help="test utterances to convert")
    p.add_argument("--targets", type=int, default=4, help="target voices per utterance")
    rows = run_grid(p.parse_args())
    print(evaluation.markdown_table(rows, COLUMNS))


if __name__ == "__main__":
    main()
