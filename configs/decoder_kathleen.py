"""Conv decoder for one human voice (Kathleen, CMU ARCTIC prompts, CC0). Splits as
configs/tts_kathleen.py (100 held-out prompts). Trains from scratch; ``--config.init_from=W``
starts it from a decoder_synth workdir instead (not yet measured that way).

Command:  voxjax train --config configs/decoder_kathleen.py --workdir ~/voxjax-runs/decoder_kathleen
          voxjax eval --workdir ~/voxjax-runs/decoder_kathleen --judge stt-en --split test
Result:   the published model's card, voxjax/registry/decoder-kathleen/README.md (when published).
          Measured before (2026-12-02, 2,300 steps of 16 in 1,889 s): copy synthesis of 40
          held-out takes read by pocketsphinx at 9.9% CER vs 9.2% on her recordings (ratio
          1.08), MCD 1.18 dB. The GAN (``gan.enabled``) is off: on this 2-core CPU its first
          step had not finished after 9 minutes (2026-12-08, beside two trainings).
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
    if arg != "tiny":
        # The published decoder's budget (hours, in the background): steps first.
        config.train.steps = 12000
        config.train.eval_every = 2000
    return config
