"""Fine-tunes the synthetic-corpus STT model (``configs/stt_synth.py``) on Mini LibriSpeech:
same network, parameters initialised from its workdir, a shorter schedule at a lower peak rate.

Command:  voxjax train --config configs/stt_synth.py --workdir runs/stt_synth   (pre-training)
          voxjax train --config configs/stt_minilibri_finetune.py --workdir runs/stt_ft \
              --config.init_from=runs/stt_synth
          voxjax eval --workdir runs/stt_ft --split dev
The pre-trained model keeps its fixed feature normalisation (its parameters are reused as is).
Result (measured 2026-12-02, the machine of configs/stt_minilibri.py's result):
          `python experiments/real_speech.py --workdir runs/real_speech --only finetune`
          pre-trains stt_synth cut to 1,500 steps of 16 (1,755 s) and fine-tunes 900 steps of 8
          (1,613 s; the Mini LibriSpeech feature cache was already built by the real-only run,
          which paid for it). On ``dev``: CER 43.2% greedy, 43.9% beam + text prior; WER 90.4%,
          86.6%. Real-only at the same steps: 49.2% / 52.6%; the pre-trained model alone: 67.5%.
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
