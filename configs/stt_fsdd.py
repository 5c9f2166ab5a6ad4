"""STT on the Free Spoken Digit Dataset (real human speech, 8 kHz resampled to 16 kHz).

Uses the official split (recording index 0-4 = test). Point ``data.root`` at the FSDD folder:
    voxjax train --config configs/stt_fsdd.py --workdir runs/stt_fsdd \
        --config.data.root=../shared/data/fsdd
Result: not yet measured.
"""
import ml_collections

from voxjax import config as config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """Short single-word utterances: small buckets and a smaller model."""
    config = config_lib.load("stt_synth", arg)
    config.data.dataset = "fsdd"
    config.data.root = "../shared/data/fsdd"
    config.data.eval_split = "test"
    config.data.buckets = (100, 200)
    config.data.max_label_length = 16
    config.model.rnn_layers = 2
    config.train.steps = 1500 if arg != "tiny" else config.train.steps
    return config
