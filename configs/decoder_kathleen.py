"""Conv decoder for one human voice (Kathleen, CMU ARCTIC prompts, CC0), fine-tuned from the
decoder trained on the built-in corpus. Splits as configs/tts_kathleen.py (100 held-out prompts).

Command:  voxjax train --config configs/decoder_synth.py --workdir runs/dec   (pre-training)
          voxjax train --config configs/decoder_kathleen.py --workdir runs/decoder_kathleen \
              --config.init_from=runs/dec
          voxjax eval --workdir runs/decoder_kathleen --judge runs/stt_minilibri --split test
Result:   not yet measured.
"""
import os

import ml_collections

from voxjax import config as config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """decoder_synth on the Kathleen recordings, started from ``init_from`` when set."""
    config = config_lib.load("decoder_synth", arg)
    config.data.dataset = "ljspeech"
    config.data.root = os.path.join(config_lib.SHARED_DATA, "kathleen")
    config.data.heldout_prompts = 100
    return config
