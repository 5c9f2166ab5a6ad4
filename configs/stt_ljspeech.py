"""STT on LJSpeech (one female reader, 22.05 kHz resampled to 16 kHz).

    voxjax train --config configs/stt_ljspeech.py --workdir runs/stt_ljspeech \
        --config.data.root=/path/to/LJSpeech-1.1
Splits are a deterministic hash of the utterance id (~90/5/5). Result: not yet measured
(the full corpus is not on this machine; ../shared/data/ljspeech32 is too small to train on).
"""
import ml_collections

from voxjax import config as config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """Longer utterances than the synthetic corpus: longer buckets and labels."""
    config = config_lib.load("stt_synth", arg)
    config.data.dataset = "ljspeech"
    config.data.root = "data/LJSpeech-1.1"
    config.data.buckets = (400, 700, 1000)
    config.data.max_label_length = 200
    config.train.steps = 30000 if arg != "tiny" else config.train.steps
    return config
