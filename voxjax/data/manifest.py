"""Utterance records from every supported dataset layout.

Every loader returns the same thing, a list of :class:`Utterance` with absolute audio paths and
durations in seconds, so the pipeline never needs to know where the data came from. Durations are
taken from the manifest when it has them and read from the file headers (``soundfile.info``, no
decoding) otherwise; the pipeline buckets utterances by these durations before any audio is read.
"""
from __future__ import annotations

import csv
import dataclasses
import glob
import hashlib
import json
import os

import soundfile as sf

DATASETS = ("synth", "manifest", "ljspeech", "librispeech", "fsdd")
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


def load_manifest(dataset: str, root: str | os.PathLike, split: str = "all") -> list[Utterance]:
    """Loads the utterances of ``split`` (``'all'`` = every split) from a dataset on disk.

    ``dataset`` is one of ``synth``/``manifest`` (JSON-lines manifest), ``ljspeech``,
    ``librispeech`` or ``fsdd``. Raises :class:`DataError` for an unknown dataset, a missing root,
    a folder without utterances, or a split that has none (the message lists the splits that do).
    """
    loaders = {"synth": _load_jsonl, "manifest": _load_jsonl, "ljspeech": _load_ljspeech,
               "librispeech": _load_librispeech, "fsdd": _load_fsdd}
    if dataset not in loaders:
        raise DataError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
    root = os.path.abspath(os.path.expanduser(os.fspath(root)))
    if not os.path.exists(root):
        hint = " (build it with `voxjax corpus`)" if dataset == "synth" else ""
        raise DataError(f"{dataset} data not found: {root} does not exist{hint}")
    utterances = loaders[dataset](root)
    if not utterances:
        raise DataError(f"no {dataset} utterances found in {root}")
    return _select_split(utterances, split, dataset, root)


def _select_split(utterances: list[Utterance], split: str, dataset: str,
                  root: str) -> list[Utterance]:
    if split == "all":
        return utterances
    wanted = {s.strip() for s in split.split(",") if s.strip()}
    names = sorted({u.split for u in utterances})
    if dataset == "librispeech":
        # LibriSpeech splits are subset folders; 'train'/'dev'/'valid'/'test' select every subset
        # of that kind so a config can say 'train' whatever subsets were downloaded.
        prefixes = {"train": "train-", "dev": "dev-", "valid": "dev-", "test": "test-"}
        wanted = {n for n in names for w in wanted
                  if n == w or (w in prefixes and n.startswith(prefixes[w]))}
    chosen = [u for u in utterances if u.split in wanted]
    if not chosen:
        raise DataError(f"no utterances in split {split!r} of {dataset} at {root}; "
                        f"splits found: {', '.join(names)}")
    return chosen


def _duration(path: str) -> float:
    """Seconds of audio in ``path`` from its header (no decoding)."""
    try:
        info = sf.info(path)
    except Exception as e:  # soundfile raises LibsndfileError / RuntimeError subclasses
        raise DataError(f"cannot read audio header of {path}: {str(e).splitlines()[0]}") from None
    return info.frames / info.samplerate


def _check_files(paths: list[str], source: str) -> None:
    """Fails early, naming one example, when audio files listed by ``source`` are missing."""
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise DataError(f"{len(missing)} of {len(paths)} audio files listed in {source} are "
                        f"missing, e.g. {missing[0]}")


# ----------------------------------------------------------------------------- layouts

def _load_jsonl(root: str) -> list[Utterance]:
    """JSON-lines manifest: ``{"path", "text", ["speaker", "duration", "split"]}`` per line."""
    path = root if os.path.isfile(root) else os.path.join(root, "manifest.jsonl")
    if not os.path.isfile(path):
        raise DataError(f"no manifest.jsonl in {root}")
    base = os.path.dirname(path)
    records = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                audio, text = item["path"], item["text"]
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise DataError(f"{path}:{number}: bad manifest line ({type(e).__name__}: {e}); "
                                "need JSON with 'path' and 'text'") from None
            records.append((os.path.normpath(os.path.join(base, audio)), str(text), item))
    _check_files([r[0] for r in records], path)
    return [Utterance(path=audio, text=text, speaker=str(item.get("speaker", "")),
                      duration=float(item["duration"]) if item.get("duration") is not None
                      else _duration(audio),
                      split=str(item.get("split", "train")))
            for audio, text, item in records]


def ljspeech_split(utterance_id: str) -> str:
    """Deterministic LJSpeech split from a hash of the id: ~90% train, 5% valid, 5% test."""
    bucket = int(hashlib.md5(utterance_id.encode("utf-8")).hexdigest(), 16) % 100
    return "train" if bucket < 90 else "valid" if bucket < 95 else "test"


def _load_ljspeech(root: str) -> list[Utterance]:
    """LJSpeech: ``root/metadata.csv`` (``id|text|normalized_text`` or ``id|text``) and
    ``root/wavs/<id>.wav``; one speaker, split by :func:`ljspeech_split`."""
    meta = os.path.join(root, "metadata.csv")
    if not os.path.isfile(meta):
        raise DataError(f"no metadata.csv in {root} (expected the LJSpeech layout)")
    records = []
    with open(meta, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("|")  # not csv: LJSpeech texts contain quotes
            if len(fields) < 2 or not fields[0]:
                raise DataError(f"{meta}:{number}: expected 'id|text[|normalized_text]'")
            # The normalised column has numbers etc. written out; prefer it when present.
            text = fields[2] if len(fields) > 2 and fields[2].strip() else fields[1]
            records.append((fields[0], os.path.join(root, "wavs", fields[0] + ".wav"), text))
    _check_files([r[1] for r in records], meta)
    return [Utterance(path=path, text=text, speaker="LJ", duration=_duration(path),
                      split=ljspeech_split(uid)) for uid, path, text in records]


def _load_librispeech(root: str) -> list[Utterance]:
    """``<subset>/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt`` + ``<utt-id>.flac``.

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
        with open(trans, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                uid, _, text = line.strip().partition(" ")
                if not text:
                    raise DataError(f"{trans}:{number}: expected '<utterance-id> <TEXT>'")
                path = os.path.join(folder, uid + ".flac")
                _check_files([path], trans)
                utterances.append(Utterance(path=path, text=text, speaker=speaker,
                                            duration=_duration(path), split=subset))
    return utterances


def _load_fsdd(root: str) -> list[Utterance]:
    """Free Spoken Digit Dataset: ``metadata.csv`` (``file|digit|text|speaker|index|split``) or a
    bare ``recordings/<digit>_<speaker>_<index>.wav`` folder (official split: index 0-4 = test)."""
    meta = os.path.join(root, "metadata.csv")
    if os.path.isfile(meta):
        with open(meta, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f, delimiter="|"))
        need = {"file", "text", "speaker", "split"}
        if rows and not need <= set(rows[0]):
            raise DataError(f"{meta} needs columns {'|'.join(sorted(need))}; has "
                            f"{'|'.join(rows[0])}")
        paths = [os.path.join(root, r["file"]) for r in rows]
        _check_files(paths, meta)
        return [Utterance(path=p, text=r["text"], speaker=r["speaker"], duration=_duration(p),
                          split=r["split"]) for p, r in zip(paths, rows)]
    folder = os.path.join(root, "recordings")
    folder = folder if os.path.isdir(folder) else root
    utterances = []
    for path in sorted(glob.glob(os.path.join(folder, "*.wav"))):
        parts = os.path.basename(path)[:-4].split("_")
        if (len(parts) != 3 or len(parts[0]) != 1 or not parts[0].isdigit()
                or not parts[2].isdigit()):
            raise DataError(f"unexpected FSDD file name {path}; "
                            "expected <digit>_<speaker>_<index>.wav")
        digit, speaker, index = int(parts[0]), parts[1], int(parts[2])
        utterances.append(Utterance(path=path, text=_DIGITS[digit], speaker=speaker,
                                    duration=_duration(path),
                                    split="test" if index < 5 else "train"))
    return utterances
