"""Streaming STT on the built-in corpus: causal convolutions + unidirectional GRU + CTC.

The same step function serves offline (under ``lax.scan``) and chunk-by-chunk decoding.

Command:  voxjax train --config configs/stt_synth_streaming.py --workdir runs/stt_synth_streaming
Tiny:     voxjax train --config configs/stt_synth_streaming.py:tiny --workdir /tmp/stt_stream_tiny
Result:   not yet measured.
"""
import ml_collections

from voxjax import config as config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """The default STT config made causal; ``arg='tiny'`` shrinks it for tests."""
    config = config_lib.load("stt_synth", arg)
    config.model.bidirectional = False
    config.model.streaming = True
    if arg != "tiny":
        config.train.steps = 3000  # a causal step costs about half a bidirectional one
    return config
