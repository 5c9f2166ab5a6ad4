"""STT on real read speech only: Mini LibriSpeech ``train`` (20 speakers, 4.2 h), judged on the
4 held-out speakers of ``dev``. Speed perturbation (0.9/1.0/1.1) and SpecAugment; per-bin
feature normalisation whose statistics live in the checkpoint.

Command:  voxjax train --config configs/stt_minilibri.py --workdir runs/stt_minilibri
          voxjax eval --workdir runs/stt_minilibri --split dev
Tiny:     voxjax train --config configs/stt_minilibri.py:tiny --workdir /tmp/t \
              --config.data.root=DIR_WITH_A_LIBRISPEECH_LAYOUT
Data:     ``../shared/data/minilibrispeech`` beside the repository by default (any LibriSpeech
          layout with ``train*``/``dev*`` subsets works: ``--config.data.root=DIR``).
Result:   ``dev`` CER 52.6% beam + text prior (49.2% greedy), 900 steps of 8 in 1,827 s
          (2026-12-02, a 2-core AMD EPYC CPU; still underfitting): docs/results/stt.md.
"""
import os

import ml_collections

from voxjax import config as config_lib


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """Mini LibriSpeech recipe; ``arg='tiny'`` shrinks model and steps for tests."""
    config = config_lib.load("stt_synth", arg)
    data = config.data
    data.dataset = "librispeech"
    data.root = os.path.join(config_lib.SHARED_DATA, "minilibrispeech")
    data.train_split = "train"
    data.eval_split = "dev"
    # Utterances last 1.9-17.1 s (median 13.9 s); 0.9x speed stretches the longest to 19 s.
    data.buckets = (400, 700, 1000, 1200, 1400, 1550, 1700, 1900)
    data.max_label_length = 360
    # Training is compute-bound (a step costs time linear in batch x frames), so on a 2-core
    # CPU a 30-minute budget buys the most updates with small batches of long utterances.
    data.batch_size = 8
    data.augment.speed_factors = (0.9, 1.0, 1.1)
    data.augment.time_masks = 4
    data.augment.time_width = 40
    config.model.normalization = "global"
    config.optim.learning_rate = 1e-3
    config.train.eval_every = 500
    config.train.eval_batches = 4
    if arg == "tiny":
        data.buckets = (300, 600)
        data.max_label_length = 120
        data.batch_size = 4
        data.augment.speed_factors = (0.9, 1.0, 1.1)
    else:
        config.optim.warmup_steps = 150
        config.train.steps = 900
    return config
