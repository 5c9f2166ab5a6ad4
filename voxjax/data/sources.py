"""Which utterances a config trains and evaluates on: its dataset, optionally mixed with the
built-in synthetic corpus at a fixed ratio.

``config.data`` names one dataset (``dataset``, ``root``; ``synth`` builds the corpus on
demand, but only while training or inside :func:`corpus_building`: evaluation and
transcription never synthesise a corpus, they raise a one-line DataError naming the missing
folder). ``synth_ratio`` > 0 adds the built-in corpus (``synth_root``, ``synth_size``) to the
*training* data so that that share of every epoch's training utterances is synthetic; evaluation
always uses the config's own dataset. ``extra_datasets`` (``"dataset:root"`` entries) adds other
datasets' utterances to every split they have, at their own frequency: one table of speakers from
several sources (a speaker model that knows both Kathleen and the Mini LibriSpeech readers).
``exclude_speakers`` drops those speakers' utterances from every split (readers held out for
judging that another folder also holds).
Every task reads its utterances through this module.
"""
from __future__ import annotations

import contextlib
import logging
import os

import numpy as np

from voxjax.data import manifest

log = logging.getLogger(__name__)


_building = [0]  # open corpus_building() blocks (process-wide: training threads included)


@contextlib.contextmanager
def corpus_building():
    """Inside this block (the trainer's), a missing synthetic corpus is built on demand."""
    _building[0] += 1
    try:
        yield
    finally:
        _building[0] -= 1


def building_allowed() -> bool:
    """Whether :func:`ensure_corpus` may build a corpus now (see :func:`corpus_building`)."""
    return _building[0] > 0


def ensure_corpus(root: str, size: int, seed: int, randomize_voices: bool = False) -> None:
    """Builds (or finds cached) the built-in synthetic corpus at ``root``.

    Outside :func:`corpus_building` nothing is built: a corpus that is missing (or was built
    with another size, seed or voice setting) raises a one-line :class:`manifest.DataError`.
    """
    from voxjax.corpus import build
    if not building_allowed():
        key = build.cache_key(int(size), int(seed), bool(randomize_voices))
        if not build._cached(os.path.abspath(root), key):  # noqa: SLF001 - the corpus's own test
            raise manifest.DataError(
                f"synthetic corpus not found at {os.path.abspath(root)} (or built with other "
                f"settings); build it with `voxjax corpus --out {root} --size {int(size)} --seed "
                f"{int(seed)}` or by training; evaluation never builds one")
        return
    kwargs = {"randomize_voices": True} if randomize_voices else {}
    build.build_corpus(root, size=int(size), seed=int(seed), **kwargs)


def utterances(data, split: str, seed: int = 0) -> list[manifest.Utterance]:
    """Utterances of ``split`` of the config's dataset (building the synthetic corpus if asked)."""
    if data.dataset == "synth":
        ensure_corpus(data.root, data.size, seed, data.get("randomize_voices", False))
    heldout = int(data.get("heldout_prompts", 0) or 0)
    found = manifest.load_manifest(data.dataset, data.root, split, heldout_prompts=heldout)
    for entry in data.get("extra_datasets", ()) or ():
        dataset, _, root = entry.partition(":")
        if not root:
            raise manifest.DataError(f"data.extra_datasets entry {entry!r} is not "
                                     "'dataset:root'")
        found = found + manifest.load_manifest(dataset, root, split, heldout_prompts=heldout,
                                               required=False)
    excluded = set(data.get("exclude_speakers", ()) or ())
    return [u for u in found if u.speaker not in excluded] if excluded else found


def training_utterances(data, seed: int = 0) -> tuple[list[manifest.Utterance], np.ndarray]:
    """The training utterances and how often an epoch uses each (see the module docstring).

    With ``synth_ratio = r`` the corpus utterances share ``r / (1 - r)`` times the real count
    per epoch, drawn afresh each epoch when the corpus is the larger.
    """
    own = utterances(data, data.train_split, seed)
    ratio = float(data.get("synth_ratio", 0.0) or 0.0)
    if ratio <= 0 or data.dataset == "synth":
        return own, np.ones(len(own))
    if ratio >= 1:
        raise ValueError(f"data.synth_ratio must be in [0, 1), got {ratio}")
    root = data.get("synth_root", "runs/corpus")
    ensure_corpus(root, data.get("synth_size", 6000), seed, data.get("randomize_voices", False))
    synth = manifest.load_manifest("synth", root, "train")
    rate = ratio / (1 - ratio) * len(own) / len(synth)
    log.info("training mix: %d %s utterances + %d corpus utterances at %.3g uses per epoch "
             "(%.0f%% synthetic)", len(own), data.dataset, len(synth), rate, 100 * ratio)
    return own + synth, np.concatenate([np.ones(len(own)), np.full(len(synth), rate)])


# Mini LibriSpeech's ``dev`` readers, the unseen speakers that models are judged on: also in
# ``librispeech_speakers`` (train-clean-100), so a config that trains on that folder excludes
# them (``data.exclude_speakers``).
MINILIBRISPEECH_DEV_SPEAKERS = ("2136", "3242", "4680", "669")

# Held-out human speech every STT model is judged on, as (dataset, folder, split) under one
# data folder (``../shared/data`` beside the repository): unseen Mini LibriSpeech speakers,
# LJSpeech's reader and the FSDD test speakers.
HUMAN_TEST_SETS = (("librispeech", "minilibrispeech", "dev"), ("ljspeech", "ljspeech32", "all"),
                   ("fsdd", "fsdd", "test"))


def human_test_sets(data_dir: str) -> list[tuple[str, str, str, str]]:
    """``(dataset, folder, split, root)`` of each :data:`HUMAN_TEST_SETS` entry in ``data_dir``.

    Raises ``FileNotFoundError`` when ``data_dir`` holds none of them.
    """
    present = [(dataset, folder, split, os.path.join(data_dir, folder))
               for dataset, folder, split in HUMAN_TEST_SETS
               if os.path.isdir(os.path.join(data_dir, folder))]
    if not present:
        raise FileNotFoundError(f"{data_dir} holds none of the human test sets "
                                f"({', '.join(f for _, f, _ in HUMAN_TEST_SETS)})")
    return present


# Evaluation sets by name (``voxjax eval --dataset NAME``): dataset layout and default folder
# under ``../shared/data``. ``arctic`` is a folder of LJSpeech-layout voices (bdl, slt) reading
# the ARCTIC prompts, judged apart; ARCTIC voices (arctic, kathleen) split by the held-out
# ARCTIC prompts (``manifest.arctic_heldout_prompts``), the same for every voice.
EVALUATION_SETS = {"librispeech": ("librispeech", "minilibrispeech"),
                   "ljspeech": ("ljspeech", "ljspeech32"), "fsdd": ("fsdd", "fsdd"),
                   "arctic": ("ljspeech", "arctic"), "kathleen": ("ljspeech", "kathleen"),
                   "manifest": ("manifest", None), "synth": ("synth", None)}
_ARCTIC_SETS = ("arctic", "kathleen")


def evaluation_set(name: str, root: str | None, split: str) -> list[tuple[str, list]]:
    """``[(label, utterances)]`` of evaluation set ``name`` (see :data:`EVALUATION_SETS`) at
    ``root`` (default: its folder under the shared data folder): one entry per ARCTIC voice,
    one (labelled ``name``) otherwise."""
    if name not in EVALUATION_SETS:
        raise manifest.DataError(f"unknown evaluation set {name!r}; expected one of "
                                 f"{', '.join(EVALUATION_SETS)}")
    layout, folder = EVALUATION_SETS[name]
    if root is None:
        if folder is None:
            raise manifest.DataError(f"--dataset {name} needs --root, the folder of the data")
        from voxjax import config as config_lib
        root = os.path.join(config_lib.SHARED_DATA, folder)
    heldout = manifest.ARCTIC_HELDOUT if name in _ARCTIC_SETS else 0
    if name != "arctic":
        return [(name, manifest.load_manifest(layout, root, split, heldout_prompts=heldout))]
    if not os.path.isdir(root):
        raise manifest.DataError(f"arctic data not found: {os.path.abspath(root)} does not exist")
    voices = sorted(v for v in os.listdir(root)
                    if os.path.isfile(os.path.join(root, v, "metadata.csv")))
    if not voices:
        raise manifest.DataError(f"no ARCTIC voices (folders with metadata.csv) in {root}")
    return [(voice, manifest.load_manifest(layout, os.path.join(root, voice), split,
                                           heldout_prompts=heldout)) for voice in voices]
