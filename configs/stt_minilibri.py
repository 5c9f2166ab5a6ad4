"""STT on real read speech only: Mini LibriSpeech ``train`` (20 speakers, 4.2 h), judged on the
4 held-out speakers of ``dev``. Speed perturbation (0.9/1.0/1.1) and SpecAugment; per-bin
feature normalisation whose statistics live in the checkpoint.

Command:  voxjax train --config configs/stt_minilibri.py --workdir runs/stt_minilibri
          voxjax eval --workdir runs/stt_minilibri --split dev
Tiny:     voxjax train --config configs/stt_minilibri.py:tiny --workdir /tmp/t \
              --config.data.root=DIR_WITH_A_LIBRISPEECH_LAYOUT
Data:     ``../shared/data/minilibrispeech`` beside the repository by default (any LibriSpeech
          layout with ``train*``/``dev*`` subsets works: ``--config.data.root=DIR``).
Result:   not yet measured.
"""
import os

import ml_collections

from voxjax import config as config_lib

SHARED_DATA = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                            "shared", "data"))


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """Mini LibriSpeech recipe; ``arg='tiny'`` shrinks model and steps for tests."""
    config = config_lib.load("stt_synth", arg)
    data = config.data
    data.dataset = "librispeech"
    data.root = os.path.join(SHARED_DATA, "minilibrispeech")
    data.train_split = "train"
    data.eval_split = "dev"
    # Utterances last 1.9-17.1 s (median 13.9 s); 0.9x speed stretches the longest to 19 s.
    data.buckets = (400, 700, 1000, 1200, 1400, 1550, 1700, 1900)
    data.max_label_length = 360
    data.batch_size = 16
    data.augment.speed_factors = (0.9, 1.0, 1.1)
    data.augment.time_masks = 4
    data.augment.time_width = 40
    config.model.normalization = "global"
    config.train.eval_every = 500
    config.train.eval_batches = 4
    if arg == "tiny":
        data.buckets = (300, 600)
        data.max_label_length = 120
        data.batch_size = 4
        data.augment.speed_factors = (0.9, 1.0, 1.1)
    return config
