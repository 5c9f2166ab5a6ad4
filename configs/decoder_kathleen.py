"""Conv decoder for one human voice (Kathleen, CMU ARCTIC prompts, CC0). Splits as
configs/tts_kathleen.py (100 held-out prompts). Trains from scratch; ``--config.init_from=W``
starts it from a decoder_synth workdir instead (not yet measured that way).

Command:  voxjax train --config configs/decoder_kathleen.py --workdir runs/decoder_kathleen
          voxjax eval --workdir runs/tts_kathleen --decoder runs/decoder_kathleen \
              --judge runs/real_speech/finetune --split test --limit 40
Result (measured 2026-12-06, 2-core x86_64 CPU, nothing else running): the train command took
          827 s, valid mel L1 0.487.
          Earlier (measured 2026-12-02, the machine of configs/stt_minilibri.py's result): 2,300 steps of
          16 from scratch in 1,889 s (a niced test run shared the CPU throughout; at the 1.2
          steps/s measured, decoder_synth's 5,000 steps would take ~70 min), valid mel L1 0.49. Copy synthesis of the first 40 `test`
          takes, judged by the fine-tuned real-speech STT model (its CER on her recordings is
          39.7%): ratio 0.99 beam + prior, 1.02 greedy; by pocketsphinx (9.2% on her recordings):
          9.9%, ratio 1.08; MCD 1.18 dB. Griffin-Lim on the same mels: ratio 1.26 / 1.84, MCD 2.90.
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
        config.train.steps = 2300  # 30 minutes on the 2-core CPU of the result above
    return config
