"""STT on Mini LibriSpeech ``train`` mixed with the built-in eSpeak corpus: half of every
epoch's training utterances are synthetic (voices randomised per utterance), the rest real.

Command:  voxjax train --config configs/stt_minilibri_mixed.py --workdir runs/stt_minilibri_mixed
          voxjax eval --workdir runs/stt_minilibri_mixed --split dev
Tiny:     voxjax train --config configs/stt_minilibri_mixed.py:tiny --workdir /tmp/t \
              --config.data.root=DIR --config.data.synth_root=CORPUS
The text prior is fitted on the transcripts of both sources.
Result:   not yet measured as shipped; a run on the default (not randomised) corpus is in
          docs/results/stt.md.
"""
import ml_collections

from voxjax import config as config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """``stt_minilibri`` plus the built-in corpus at ``data.synth_ratio``."""
    config = config_lib.load("stt_minilibri", arg)
    config.data.synth_ratio = 0.5
    config.data.synth_root = "runs/corpus_varied"
    config.data.randomize_voices = True
    if arg == "tiny":
        config.data.synth_size = 48
    return config
