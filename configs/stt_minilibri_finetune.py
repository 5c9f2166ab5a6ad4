"""Fine-tunes the synthetic-corpus STT model (``configs/stt_synth.py``) on Mini LibriSpeech:
same network, parameters initialised from its workdir, a shorter schedule at a lower peak rate.

Command:  voxjax train --config configs/stt_synth.py --workdir runs/stt_synth   (pre-training)
          voxjax train --config configs/stt_minilibri_finetune.py --workdir runs/stt_ft \
              --config.init_from=runs/stt_synth
          voxjax eval --workdir runs/stt_ft --split dev
The pre-trained model keeps its fixed feature normalisation (its parameters are reused as is).
Result:   ``dev`` CER 43.9% beam + text prior (43.2% greedy), 900 steps of 8 in 1,613 s
          (2026-12-02, a 2-core AMD EPYC CPU; `python experiments/real_speech.py --only
          finetune`): docs/results/stt.md.
"""
import ml_collections

from voxjax import config as config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """``stt_minilibri`` data with ``stt_synth``'s model, started from ``init_from``."""
    config = config_lib.load("stt_minilibri", arg)
    config.model = config_lib.load("stt_synth", arg).model
    config.init_from = "runs/stt_synth"
    config.optim.learning_rate = 7e-4
    config.optim.warmup_steps = 100 if arg != "tiny" else 2
    return config
