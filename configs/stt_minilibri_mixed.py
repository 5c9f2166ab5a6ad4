"""STT on Mini LibriSpeech ``train`` mixed with the built-in eSpeak corpus: half of every
epoch's training utterances are synthetic (voices randomised per utterance), the rest real.

Command:  voxjax train --config configs/stt_minilibri_mixed.py --workdir runs/stt_minilibri_mixed
          voxjax eval --workdir runs/stt_minilibri_mixed --split dev
Tiny:     voxjax train --config configs/stt_minilibri_mixed.py:tiny --workdir /tmp/t \
              --config.data.root=DIR --config.data.synth_root=CORPUS
The text prior is fitted on the transcripts of both sources.
Result:   not yet measured as shipped. With the default (not randomised) corpus instead,
          `python experiments/real_speech.py --only mixed` (2026-12-02, the machine of
          configs/stt_minilibri.py's result): 1,285 s, ``dev`` CER 58.5% beam + prior (55.3%
          greedy), worse than real-only's 52.6% (49.2%) at the same 900 steps of 8.
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
