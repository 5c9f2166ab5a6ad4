"""Streaming STT on real read speech: configs/stt_minilibri.py made causal (causal convolutions,
unidirectional GRU), so the same step serves offline decoding and chunk-by-chunk streaming.

Command:  voxjax train --config configs/stt_minilibri_streaming.py --workdir runs/stt_minilibri_streaming
          voxjax eval --workdir runs/stt_minilibri_streaming --split dev
          voxjax transcribe --workdir runs/stt_minilibri_streaming --stream FILE...
Tiny:     voxjax train --config configs/stt_minilibri_streaming.py:tiny --workdir /tmp/t \
              --config.data.root=DIR_WITH_A_LIBRISPEECH_LAYOUT
Result:   ``dev`` CER 48.5% greedy (51.4% beam + text prior), 1,600 steps of 8 in 1,275 s
          (2026-12-06, 2-core x86_64 CPU): docs/results/stt.md.
"""
import ml_collections

from voxjax import config as config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """The Mini LibriSpeech recipe made causal; ``arg='tiny'`` shrinks it for tests."""
    config = config_lib.load("stt_minilibri", arg)
    config.model.bidirectional = False
    config.model.streaming = True
    if arg != "tiny":
        # A causal step costs about half a bidirectional one (docs/results/training_cost.md), so the
        # same 30-minute budget buys more updates.
        config.train.steps = 1600
    return config
