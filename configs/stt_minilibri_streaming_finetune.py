"""The streaming STT on Mini LibriSpeech started from the built-in corpus's streaming model: the
causal network of configs/stt_minilibri_streaming.py (the same as configs/stt_synth_streaming.py),
parameters initialised from a stt_synth_streaming workdir, a lower peak rate. The content model
of any-to-one conversion into Kathleen (configs/vc_kathleen.py).

Command:  voxjax train --config configs/stt_synth_streaming.py --workdir runs/stt_synth_streaming
          voxjax train --config configs/stt_minilibri_streaming_finetune.py \
              --workdir runs/stt_minilibri_streaming_finetune
          voxjax eval --workdir runs/stt_minilibri_streaming_finetune --split dev
The pre-trained model keeps its fixed feature normalisation (its parameters are reused as is).
Result:   ``dev`` CER 45.0% greedy (45.3% beam + text prior), 1,600 steps of 8 in 866 s
          (2026-12-06, 2-core x86_64 CPU): docs/results/stt.md.
"""
import ml_collections

from voxjax import config as config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """``stt_minilibri_streaming`` started from ``init_from``; ``arg='tiny'`` for tests."""
    config = config_lib.load("stt_minilibri_streaming", arg)
    config.model.normalization = "fixed"  # the pre-trained model's
    config.init_from = "runs/stt_synth_streaming"
    config.optim.learning_rate = 7e-4
    config.optim.warmup_steps = 100 if arg != "tiny" else 2
    return config
