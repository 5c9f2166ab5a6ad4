"""Conv decoder on LJSpeech (one female reader, 22.05 kHz resampled to 16 kHz).

    voxjax train --config configs/decoder_ljspeech.py --workdir runs/decoder_ljspeech \
        --config.data.root=/path/to/LJSpeech-1.1
Same features, model and losses as configs/decoder_synth.py; splits are the LJSpeech loader's
deterministic hash of the utterance id (~90/5/5). Result: not yet measured (the full corpus is
not on this machine).
"""
import ml_collections

from voxjax import config as config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """decoder_synth on the LJSpeech layout, with a longer schedule (a real voice, more data)."""
    config = config_lib.load("decoder_synth", arg)
    config.data.dataset = "ljspeech"
    config.data.root = "data/LJSpeech-1.1"
    config.train.steps = 20000 if arg != "tiny" else config.train.steps
    return config
