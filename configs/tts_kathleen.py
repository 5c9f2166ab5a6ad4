"""TTS acoustic model for one human voice: Kathleen reading the CMU ARCTIC prompts (CC0, 1.4 h,
24 kHz Opus resampled to 16 kHz). 100 prompts (all their takes) are held out as ``test`` and 100
as ``valid``, by prompt, never by take. Same front end and model as configs/tts_synth.py; pair
it with configs/decoder_kathleen.py.

Command:  voxjax train --config configs/tts_kathleen.py --workdir runs/tts_kathleen
          voxjax eval --workdir runs/tts_kathleen --decoder runs/decoder_kathleen \
              --judge runs/stt_minilibri --split test --limit 145
Result:   not yet measured.
"""
import os

import ml_collections

from voxjax import config as config_lib

def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """tts_synth on the Kathleen recordings (LJSpeech layout, prompt-level held-out splits)."""
    config = config_lib.load("tts_synth", arg)
    config.data.dataset = "ljspeech"
    config.data.root = os.path.join(config_lib.SHARED_DATA, "kathleen")
    config.data.heldout_prompts = 100
    config.synthesis.pace = 1.0  # the 1.05 of tts_synth was tuned on the synthetic corpus
    if arg != "tiny":
        # Takes last 0.8-6.5 s (median 3.0 s).
        config.data.buckets = (200, 300, 400, 500, 700)
        # Sized to 30 minutes on the 2-core CPU of configs/stt_minilibri.py's result.
        config.train.steps = 900
        config.optim.warmup_steps = 150
        config.train.eval_every = 450
    return config
