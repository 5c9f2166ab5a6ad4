"""STT on LibriSpeech (read audiobooks, 16 kHz FLAC).

    voxjax train --config configs/stt_librispeech.py --workdir runs/stt_librispeech \
        --config.data.root=/path/to/LibriSpeech
Train on ``train-clean-100``, validate on ``dev-clean``, test on ``test-clean``. Result: not yet
measured (LibriSpeech is not on this machine and cannot be downloaded here).
"""
import ml_collections

from voxjax import config as config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """Long utterances (up to ~35 s) and a larger model."""
    config = config_lib.load("stt_synth", arg)
    config.data.dataset = "librispeech"
    config.data.root = "data/LibriSpeech"
    config.data.train_split = "train-clean-100"
    config.data.eval_split = "dev-clean"
    if arg != "tiny":
        config.data.buckets = (500, 1000, 1600, 2500, 3600)
        config.data.max_label_length = 600
        config.model.rnn_hidden = 384
        config.train.steps = 100000
    return config
