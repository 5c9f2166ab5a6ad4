"""TTS acoustic model on LJSpeech (one female reader, 22.05 kHz resampled to 16 kHz).

    voxjax train --config configs/tts_ljspeech.py --workdir runs/tts_ljspeech \
        --config.data.root=/path/to/LJSpeech-1.1
Same text front end, features and model as configs/tts_synth.py (one speaker: the speaker table
has one entry); longer utterances (up to ~10 s), so longer buckets. Pair it with
configs/decoder_ljspeech.py. Result: not yet measured (the full corpus is not on this machine).
"""
import ml_collections

from voxjax import config as config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """tts_synth on the LJSpeech layout, with longer buckets and schedule."""
    config = config_lib.load("tts_synth", arg)
    config.data.dataset = "ljspeech"
    config.data.root = "data/LJSpeech-1.1"
    config.inference.pace = 1.0  # the 1.05 of tts_synth was tuned on the synthetic corpus
    if arg != "tiny":
        config.data.buckets = (300, 400, 500, 600, 700, 800, 900, 1000, 1200)
        config.data.max_label_length = 320
        config.train.steps = 20000
    return config
