"""``speaker-en``, the published speaker model: configs/speaker_real.py's network trained on
every voice we have, one speaker table: the built-in corpus's 744 eSpeak voices, the 20 Mini
LibriSpeech ``train`` readers, 247 more LibriSpeech readers (``librispeech_speakers``, one
utterance each, no transcripts; the 4 Mini LibriSpeech ``dev`` readers it also holds are left
out, they judge it), CMU ARCTIC bdl and slt and Kathleen (ARCTIC held-out prompts excluded).

Command:  voxjax corpus --out ~/voxjax-runs/corpus
          voxjax train --config configs/speaker_en.py --workdir ~/voxjax-runs/speaker_en \
              --config.data.extra_datasets=... (the default names runs/corpus)
Result:   not yet measured.
"""
import os

import ml_collections

from voxjax import config as config_lib
from voxjax.data import sources


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
    """speaker_real on every voice; ``arg='tiny'`` shrinks it for tests."""
    config = config_lib.load("speaker_real", arg)
    data = config.data
    shared = config_lib.SHARED_DATA
    data.extra_datasets = (
        "librispeech:" + os.path.join(shared, "minilibrispeech"),
        "speakers:" + os.path.join(shared, "librispeech_speakers"),
        "ljspeech:" + os.path.join(shared, "arctic", "bdl"),
        "ljspeech:" + os.path.join(shared, "arctic", "slt"),
        "synth:runs/corpus")
    data.exclude_speakers = sources.MINILIBRISPEECH_DEV_SPEAKERS
    return config
