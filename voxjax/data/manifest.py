"""Utterance records from every supported dataset layout.

Every loader returns the same thing, a list of :class:`Utterance` with absolute audio paths and
durations in seconds, so the pipeline never needs to know where the data came from. Durations are
taken from the manifest when it has them and read from the file headers (``soundfile.info``, no
decoding) otherwise; the pipeline buckets utterances by these durations before any audio is read.

Audio may be in any format soundfile reads (WAV, FLAC, Ogg Vorbis/Opus, MP3, ...): layouts that
name files by id (LJSpeech, LibriSpeech) find ``<id>.<any audio extension>``. Damaged entries
(a listed file that is missing or unreadable, an empty or malformed line) are counted, reported
in one warning per load, and skipped; only a dataset with nothing usable left is an error.
"""
from __future__ import annotations

import collections
import csv
import dataclasses
import glob
import hashlib
import json
import logging
import os
import re

import numpy as np
import soundfile as sf

log = logging.getLogger(__name__)

DATASETS = ("synth", "manifest", "ljspeech", "librispeech", "fsdd", "speakers")
# Extensions soundfile (libsndfile) decodes; Opus lives in Ogg files named .opus.
AUDIO_EXTENSIONS = tuple(sorted({f.lower() for f in sf.available_formats()}
                                | {"opus", "oga", "flac", "wav", "ogg", "mp3"}))
_DIGITS = "zero one two three four five six seven eight nine".split()


class DataError(ValueError):
    """A dataset that cannot be loaded; the message is one line naming the problem."""


@dataclasses.dataclass(frozen=True)
class Utterance:
    """One audio file and its transcript."""

    path: str  # absolute path of the audio file
    text: str  # transcript as written (normalised later, by the tokenizer)
    speaker: str
    duration: float  # seconds
    split: str


def load_manifest(dataset: str, root: str | os.PathLike, split: str = "all",
                  heldout_prompts: int = 0, required: bool = True) -> list[Utterance]:
    """Loads the utterances of ``split`` (``'all'`` = every split) from a dataset on disk.

    ``dataset`` is one of ``synth``/``manifest`` (JSON-lines manifest), ``ljspeech``,
    ``librispeech``, ``fsdd`` or ``speakers`` (a folder per speaker, no transcripts). ``heldout_prompts`` (LJSpeech layout only): hold out that many
    prompts as ``test`` and as many as ``valid`` instead of the default 90/5/5 hash split (see
    :func:`ljspeech_split`). Raises :class:`DataError` for an unknown dataset, a missing root,
    a folder without usable utterances, or a split that has none (the message lists the splits
    that do; with ``required=False`` such a split is an empty list instead); damaged entries are
    skipped with one warning.
    """
    loaders = {"synth": _load_jsonl, "manifest": _load_jsonl, "ljspeech": _load_ljspeech,
               "librispeech": _load_librispeech, "fsdd": _load_fsdd,
               "speakers": _load_speaker_folders}
    if dataset not in loaders:
        raise DataError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
    root = os.path.abspath(os.path.expanduser(os.fspath(root)))
    if not os.path.exists(root):
        hint = " (build it with `voxjax corpus`)" if dataset == "synth" else ""
        raise DataError(f"{dataset} data not found: {root} does not exist{hint}")
    skipped = _Skipped(f"{dataset} at {root}")
    if dataset == "ljspeech":
        utterances = _load_ljspeech(root, skipped, heldout_prompts)
    else:
        utterances = loaders[dataset](root, skipped)
    skipped.report()
    if not utterances:
        raise DataError(f"no {dataset} utterances found in {root}"
                        + (f" ({skipped.summary()})" if skipped.counts else ""))
    return _select_split(utterances, split, dataset, root, required)


class _Skipped:
    """Counts damaged entries of one load by reason, keeping the first example of each."""

    def __init__(self, source: str):
        self.source = source
        self.counts: collections.Counter = collections.Counter()
        self.examples: dict[str, str] = {}

    def add(self, reason: str, example: str) -> None:
        self.counts[reason] += 1
        self.examples.setdefault(reason, example)

    def summary(self) -> str:
        return "; ".join(f"{n} {reason}, e.g. {self.examples[reason]}"
                         for reason, n in sorted(self.counts.items()))

    def report(self) -> None:
        if self.counts:
            log.warning("%s: skipped %d entries: %s", self.source, sum(self.counts.values()),
                        self.summary())


def _select_split(utterances: list[Utterance], split: str, dataset: str,
                  root: str, required: bool = True) -> list[Utterance]:
    if split == "all":
        return utterances
    wanted = {s.strip() for s in split.split(",") if s.strip()}
    names = sorted({u.split for u in utterances})
    if dataset == "librispeech":
        # LibriSpeech splits are subset folders; 'train'/'dev'/'valid'/'test' select every subset
        # of that kind so a config can say 'train' whatever subsets were downloaded.
        prefixes = {"train": "train", "dev": "dev", "valid": "dev", "test": "test"}
        wanted = {n for n in names for w in wanted
                  if n == w or (w in prefixes and n.split("-")[0] == prefixes[w])}
    chosen = [u for u in utterances if u.split in wanted]
    if not chosen and required:
        raise DataError(f"no utterances in split {split!r} of {dataset} at {root}; "
                        f"splits found: {', '.join(names)}")
    return chosen


def _duration(path: str, skipped: _Skipped) -> float | None:
    """Seconds of audio in ``path`` from its header (no decoding); None (counted) if unreadable."""
    try:
        info = sf.info(path)
    except Exception:  # soundfile raises LibsndfileError / RuntimeError subclasses
        skipped.add("unreadable audio", path)
        return None
    if info.frames <= 0 or info.samplerate <= 0:
        skipped.add("empty audio", path)
        return None
    return info.frames / info.samplerate


def audio_files(folder: str) -> dict[str, str]:
    """``{stem: path}`` of the audio files (any :data:`AUDIO_EXTENSIONS`) directly in ``folder``.

    When one id exists in several formats, the first in a fixed preference (lossless first) wins.
    """
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return {}
    preference = {ext: i for i, ext in enumerate(("flac", "wav", "opus", "ogg", "mp3"))}
    found: dict[str, tuple[int, str]] = {}
    for name in names:
        stem, dot, ext = name.rpartition(".")
        if dot and ext.lower() in AUDIO_EXTENSIONS:
            rank = preference.get(ext.lower(), len(preference))
            if stem not in found or rank < found[stem][0]:
                found[stem] = (rank, os.path.join(folder, name))
    return {stem: path for stem, (_, path) in found.items()}


def _utterance(path: str | None, text: str, speaker: str, split: str, skipped: _Skipped,
               where: str, duration: float | None = None) -> Utterance | None:
    """An Utterance, or None (counted in ``skipped``) when its audio is missing or unreadable."""
    if path is None or not os.path.isfile(path):
        skipped.add("missing audio", path or where)
        return None
    if duration is None:
        duration = _duration(path, skipped)
        if duration is None:
            return None
    return Utterance(path=path, text=text, speaker=speaker, duration=duration, split=split)


# ----------------------------------------------------------------------------- layouts

def _load_jsonl(root: str, skipped: _Skipped) -> list[Utterance]:
    """JSON-lines manifest: ``{"path", "text", ["speaker", "duration", "split"]}`` per line."""
    path = root if os.path.isfile(root) else os.path.join(root, "manifest.jsonl")
    if not os.path.isfile(path):
        raise DataError(f"no manifest.jsonl in {root}")
    base = os.path.dirname(path)
    utterances = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                audio, text = os.path.normpath(os.path.join(base, item["path"])), str(item["text"])
                duration = item.get("duration")
                duration = float(duration) if duration is not None else None
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                skipped.add("malformed lines (need JSON with 'path' and 'text')",
                            f"{path}:{number}")
                continue
            u = _utterance(audio, text, str(item.get("speaker", "")),
                           str(item.get("split", "train")), skipped, f"{path}:{number}", duration)
            utterances += [u] if u else []
    return utterances


_TAKE_SUFFIX = re.compile(r"_\d+$")


def spread(items: list, count: int) -> list:
    """``count`` items spread evenly over a list (deterministic): speakers over a table,
    utterances over a dataset whose files go reader by reader."""
    if count >= len(items):
        return list(items)
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, count).round()]


def prompt_of(utterance_id: str) -> str:
    """The prompt an id records: the id without a trailing ``_<digits>`` take number.

    ``arctic_a0001_1592748574`` -> ``arctic_a0001`` (Kathleen: several takes per prompt);
    LJSpeech ids (``LJ001-0001``) are their own prompt.
    """
    return _TAKE_SUFFIX.sub("", utterance_id)


def one_take_per_prompt(utterances: list[Utterance]) -> list[Utterance]:
    """The first take of each (speaker, prompt) of LJSpeech-layout utterances (Kathleen reads
    some prompts twice): judging per prompt counts every sentence once."""
    seen, kept = set(), []
    for u in utterances:
        key = (u.speaker, prompt_of(os.path.splitext(os.path.basename(u.path))[0]))
        if key not in seen:
            seen.add(key)
            kept.append(u)
    return kept


def _hash(key: str) -> int:
    return int(hashlib.md5(key.encode("utf-8")).hexdigest(), 16)


def ljspeech_split(utterance_id: str) -> str:
    """Deterministic LJSpeech split from a hash of the id's prompt: ~90% train, 5% valid, 5% test.

    Takes of one prompt (:func:`prompt_of`) always share a split, so no test sentence is trained on.
    """
    bucket = _hash(prompt_of(utterance_id)) % 100
    return "train" if bucket < 90 else "valid" if bucket < 95 else "test"


# CMU ARCTIC's 1,132 prompts, which bdl, slt and Kathleen all read.
ARCTIC_PROMPTS = tuple([f"arctic_a{i:04d}" for i in range(1, 594)]
                       + [f"arctic_b{i:04d}" for i in range(1, 540)])
ARCTIC_HELDOUT = 100  # held-out ARCTIC prompts per split (test, valid), for every voice


def heldout_split(prompts: list[str], count: int) -> dict[str, str]:
    """``{prompt: split}`` holding out exactly ``count`` prompts as test and ``count`` as valid.

    The held-out prompts are those with the smallest hashes, so the choice is deterministic and
    does not depend on file order. When every prompt is an ARCTIC prompt the ranking runs over
    all of :data:`ARCTIC_PROMPTS`, so every ARCTIC voice (bdl, slt, Kathleen) holds out the same
    prompts, whichever of them its folder has.
    """
    universe = set(prompts)
    if universe <= set(ARCTIC_PROMPTS):
        universe = set(ARCTIC_PROMPTS)
    ranked = sorted(universe, key=lambda p: (_hash(p), p))
    if len(ranked) < 3 * count:
        raise DataError(f"cannot hold out {count} test and {count} valid prompts from "
                        f"{len(ranked)} prompts")
    chosen = {p: "test" if i < count else "valid" if i < 2 * count else "train"
              for i, p in enumerate(ranked)}
    return {p: chosen[p] for p in set(prompts)}


def arctic_heldout_prompts(split: str = "test") -> list[str]:
    """The :data:`ARCTIC_HELDOUT` ARCTIC prompts of ``split`` (``test`` or ``valid``), sorted:
    never trained on by any model that reads an ARCTIC voice with ``data.heldout_prompts``."""
    splits = heldout_split(list(ARCTIC_PROMPTS), ARCTIC_HELDOUT)
    return sorted(p for p, s in splits.items() if s == split)


def _load_ljspeech(root: str, skipped: _Skipped, heldout_prompts: int = 0) -> list[Utterance]:
    """LJSpeech layout: ``root/metadata.csv`` (``id|text|normalized_text`` or ``id|text``) and
    ``root/wavs/<id>.<audio extension>``; one speaker, named after the folder, split by prompt
    (see :func:`load_manifest`)."""
    meta = os.path.join(root, "metadata.csv")
    if not os.path.isfile(meta):
        raise DataError(f"no metadata.csv in {root} (expected the LJSpeech layout)")
    files = audio_files(os.path.join(root, "wavs"))
    records = []
    with open(meta, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("|")  # not csv: LJSpeech texts contain quotes
            if len(fields) < 2 or not fields[0] or not any(x.strip() for x in fields[1:]):
                skipped.add("malformed lines (need 'id|text[|normalized_text]')",
                            f"{meta}:{number}")
                continue
            # The normalised column has numbers etc. written out; prefer it when present.
            text = fields[2] if len(fields) > 2 and fields[2].strip() else fields[1]
            records.append((fields[0], text, f"{meta}:{number}"))
    splits = (heldout_split([prompt_of(uid) for uid, _, _ in records], heldout_prompts)
              if heldout_prompts else {})
    speaker = os.path.basename(root)  # one reader per folder: kathleen, bdl, slt, LJSpeech-1.1
    utterances = []
    for uid, text, where in records:
        split = splits[prompt_of(uid)] if splits else ljspeech_split(uid)
        u = _utterance(files.get(uid), text, speaker, split, skipped, f"{where} ({uid})")
        utterances += [u] if u else []
    return utterances


def _load_librispeech(root: str, skipped: _Skipped) -> list[Utterance]:
    """``<subset>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt`` + ``<utt-id>.<audio ext>``.

    ``root`` may be the corpus folder (holding subsets) or one subset folder.
    """
    transcripts = sorted(glob.glob(os.path.join(root, "*", "*", "*", "*.trans.txt")))
    subset_of = lambda t: os.path.basename(os.path.dirname(os.path.dirname(os.path.dirname(t))))
    if not transcripts:  # root is a single subset
        transcripts = sorted(glob.glob(os.path.join(root, "*", "*", "*.trans.txt")))
        subset_of = lambda t: os.path.basename(root)
    utterances = []
    for trans in transcripts:
        folder, subset = os.path.dirname(trans), subset_of(trans)
        speaker = os.path.basename(os.path.dirname(folder))
        files = audio_files(folder)
        with open(trans, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                uid, _, text = line.strip().partition(" ")
                if not text.strip():
                    skipped.add("malformed lines (need '<utterance-id> <TEXT>')",
                                f"{trans}:{number}")
                    continue
                u = _utterance(files.get(uid), text.strip(), speaker, subset, skipped,
                               f"{trans}:{number} ({uid})")
                utterances += [u] if u else []
    return utterances


def _load_fsdd(root: str, skipped: _Skipped) -> list[Utterance]:
    """Free Spoken Digit Dataset: ``metadata.csv`` (``file|digit|text|speaker|index|split``) or a
    bare ``recordings/<digit>_<speaker>_<index>.wav`` folder (official split: index 0-4 = test)."""
    meta = os.path.join(root, "metadata.csv")
    if os.path.isfile(meta):
        with open(meta, encoding="utf-8", newline="", errors="replace") as f:
            rows = list(csv.DictReader(f, delimiter="|"))
        need = {"file", "text", "speaker", "split"}
        if rows and not need <= set(rows[0]):
            raise DataError(f"{meta} needs columns {'|'.join(sorted(need))}; has "
                            f"{'|'.join(rows[0])}")
        utterances = []
        for number, r in enumerate(rows, 2):
            if not all(r.get(k) for k in need):
                skipped.add("malformed lines", f"{meta}:{number}")
                continue
            u = _utterance(os.path.join(root, r["file"]), r["text"], r["speaker"], r["split"],
                           skipped, f"{meta}:{number}")
            utterances += [u] if u else []
        return utterances
    folder = os.path.join(root, "recordings")
    folder = folder if os.path.isdir(folder) else root
    utterances = []
    for stem, path in sorted(audio_files(folder).items()):
        parts = stem.split("_")
        if (len(parts) != 3 or len(parts[0]) != 1 or not parts[0].isdigit()
                or not parts[2].isdigit()):
            skipped.add("file names not <digit>_<speaker>_<index>", path)
            continue
        digit, speaker, index = int(parts[0]), parts[1], int(parts[2])
        u = _utterance(path, _DIGITS[digit], speaker, "test" if index < 5 else "train", skipped,
                       path)
        utterances += [u] if u else []
    return utterances


def _load_speaker_folders(root: str, skipped: _Skipped) -> list[Utterance]:
    """``<speaker>/[...]/<any name>.<audio extension>``, no transcripts (text ``""``): voices
    for the tasks that need no words (speaker model, conversion by reconstruction), all in
    ``train`` (e.g. ``librispeech_speakers``: one utterance of each of 251 readers)."""
    utterances = []
    for speaker in sorted(os.listdir(root)):
        folder = os.path.join(root, speaker)
        if not os.path.isdir(folder):
            continue
        for dirpath, dirnames, _ in sorted(os.walk(folder)):
            dirnames.sort()
            for path in audio_files(dirpath).values():
                u = _utterance(path, "", speaker, "train", skipped, path)
                utterances += [u] if u else []
    return utterances
