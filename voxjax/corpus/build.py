"""Builds the built-in synthetic speech corpus: generated prose spoken by many eSpeak NG voices.

Layout of ``out_dir``::

    wavs/<id>.wav      16 kHz mono 16-bit PCM
    manifest.jsonl     one JSON object per line: path (relative), text (the written sentence),
                       speaker (eSpeak voice id, e.g. "en-us+m3"), duration (s), split; with
                       ``randomize_voices`` also voice (the eSpeak voice actually used), rate,
                       pitch and range (the per-utterance settings)
    corpus.json        the arguments it was built with (the cache key)

Speakers are English accents x voice variants, each with its own speaking rate and pitch, plus
per-utterance jitter. Splits: ``train``, ``valid`` and ``test`` share voices (valid/test voices
all occur in train) but never sentences; ``test_unseen`` uses held-out *variants* (in every
accent), which never occur in any other split, and held-out sentences. Audio is the synthesis of
``voxjax.text.verbalize(text)`` so it matches the recogniser label ``normalize(text)``.

Voice randomisation (opt-in, ``randomize_voices=True``; domain randomisation for recognisers that
must cope with other voices): every utterance gets its own speaking rate, pitch and pitch range
drawn from wide ranges (:data:`RANDOMIZATION`) instead of its speaker's style, and in train, valid
and test, with probability ``klatt_probability``, a seen Klatt variant (``klatt``, ``klatt2``...)
of the speaker's accent instead of the speaker's own variant. ``speaker`` stays the speaker's
voice id, so the splits are unchanged; test_unseen keeps its held-out voices. The sentences,
speakers, splits and noise seeds are those of the plain corpus; the plain corpus (the default) is
unchanged by this option and keeps its cache key.

Deterministic: the same ``size``, ``seed`` and ``randomize_voices`` give bit-identical wavs
whatever ``workers`` is (eSpeak is reloaded per utterance and its noise seeded; see
:mod:`voxjax.espeak`).
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
import re
import time
import zlib

import numpy as np

from voxjax import audio, text as textlib
from voxjax import espeak as espeak_mod
from voxjax.corpus.sentences import generate_sentences

log = logging.getLogger(__name__)

CORPUS_VERSION = 1  # bump when the recipe changes, so cached corpora are rebuilt
SAMPLE_RATE = 16000
SPLITS = ("train", "valid", "test", "test_unseen")
SPLIT_FRACTIONS = {"valid": 0.05, "test": 0.06, "test_unseen": 0.05}  # train gets the rest
UNSEEN_VARIANT_FRACTION = 0.12  # share of voice variants held out for test_unseen
MIN_SIZE = 8
_BATCH = 16  # utterances per worker task
_EDGE_SILENCE = 0.1  # seconds of silence kept/added at each end
_MAX_EDGE_SILENCE = 0.3  # longer leading/trailing silence than this is trimmed
# Per-utterance voice randomisation (randomize_voices=True): uniform ranges, inclusive. Part of
# the cache key, so changing a value here rebuilds randomised corpora (and only those).
# pitch 15..95 is about 70..170 Hz median F0 for male variants, 150..315 Hz for female ones;
# range 0 would be monotone, 100 about twice the voice's own intonation.
RANDOMIZATION = {"version": 1, "rate": [110, 250], "pitch": [15, 95], "range": [10, 100],
                 "klatt_probability": 0.3}
_KLATT = re.compile(r"klatt\d*")


class CorpusError(ValueError):
    """Bad arguments or an unusable output folder (one-line message)."""


# ----------------------------------------------------------------------------- planning

def voices(seed: int = 0) -> dict[str, list[str]]:
    """Voice ids for ``{'seen': [...], 'unseen': [...]}``; the unseen variants depend on ``seed``.

    A voice id is an accent (``en-us``: the accent's own voice) or ``accent+variant``.
    """
    accents, variants = espeak_mod.english_accents(), espeak_mod.variants()
    rng = np.random.default_rng([seed, 1])
    n_unseen = max(2, int(round(UNSEEN_VARIANT_FRACTION * len(variants))))
    unseen_variants = set(rng.choice(variants, size=n_unseen, replace=False).tolist())
    seen = [a for a in accents] + [f"{a}+{v}" for a in accents for v in variants if v not in unseen_variants]
    unseen = [f"{a}+{v}" for a in accents for v in variants if v in unseen_variants]
    return {"seen": seen, "unseen": unseen}


def voice_variant(voice: str) -> str:
    """The eSpeak voice variant of a corpus voice id (``'m3'`` for ``'en-us+m3'``); an accent's
    own voice is ``'default'``. Variants set the timbre (formants, breathiness), accents the
    pronunciation: speakers of one variant in different accents sound alike."""
    return voice.partition("+")[2] or "default"


def _speaker_style(voice: str, seed: int) -> tuple[float, float]:
    """A voice's own speaking rate (wpm) and pitch (0-100), fixed for a seed."""
    rng = np.random.default_rng([seed, 2, zlib.crc32(voice.encode())])
    return float(rng.uniform(145, 195)), float(rng.uniform(35, 65))


def klatt_variants(seed: int = 0) -> list[str]:
    """Klatt-synthesiser variants (``klatt``, ``klatt2``...) that are *seen* for ``seed``.

    The ones held out for test_unseen are excluded, so randomisation never leaks them.
    """
    unseen = {v.split("+", 1)[1] for v in voices(seed)["unseen"]}
    return [v for v in espeak_mod.variants() if _KLATT.fullmatch(v) and v not in unseen]


def _randomize(item: dict, index: int, seed: int, klatt: list[str]) -> dict:
    """``item`` with its rate, pitch, range and eSpeak voice drawn for this utterance.

    The rng depends only on (seed, utterance index, purpose 4), never on the plan's own rng, so
    the rest of the plan is the same as without randomisation.
    """
    rng = np.random.default_rng([seed, 4, index])
    r = RANDOMIZATION
    speaker = item["voice"]
    voice = speaker
    use_klatt = rng.uniform() < r["klatt_probability"]
    klatt_choice = klatt[int(rng.integers(len(klatt)))] if klatt else None
    if use_klatt and klatt_choice and item["split"] != "test_unseen":
        voice = f"{speaker.split('+', 1)[0]}+{klatt_choice}"
    return {**item, "voice": voice, "speaker": speaker,
            "rate": int(rng.integers(r["rate"][0], r["rate"][1] + 1)),
            "pitch": int(rng.integers(r["pitch"][0], r["pitch"][1] + 1)),
            "range": int(rng.integers(r["range"][0], r["range"][1] + 1))}


def _split_sizes(size: int) -> dict[str, int]:
    sizes = {k: max(1, int(round(f * size))) for k, f in SPLIT_FRACTIONS.items()}
    sizes["train"] = size - sum(sizes.values())
    return {s: sizes[s] for s in SPLITS}


def plan_corpus(size: int, seed: int = 0, randomize_voices: bool = False) -> list[dict]:
    """The utterances to synthesise: id, text, voice, rate, pitch, noise seed and split.

    Sentences are distinct (after normalisation), so no sentence is shared between splits.
    Train voices cycle through a shuffled list of seen voices (balanced use); valid and test draw
    from the voices that train used; test_unseen cycles through the held-out voices.
    ``randomize_voices`` adds ``speaker`` (the voice id above) and ``range`` and redraws rate,
    pitch and ``voice`` (the eSpeak voice spoken with) per utterance (see the module docstring).
    """
    if not isinstance(size, (int, np.integer)) or size < MIN_SIZE:
        raise CorpusError(f"size must be an integer >= {MIN_SIZE}, got {size!r}")
    sizes = _split_sizes(int(size))
    sentences = generate_sentences(int(size), seed=seed)
    pool = voices(seed)
    rng = np.random.default_rng([seed, 3])

    def cycle(candidates: list[str], n: int) -> list[str]:
        out = []
        while len(out) < n:
            out += [candidates[i] for i in rng.permutation(len(candidates))]
        return out[:n]

    train_voices = cycle(pool["seen"], sizes["train"])
    used = sorted(set(train_voices))
    split_voices = {
        "train": train_voices,
        "valid": [used[i] for i in rng.integers(len(used), size=sizes["valid"])],
        "test": [used[i] for i in rng.integers(len(used), size=sizes["test"])],
        "test_unseen": cycle(pool["unseen"], sizes["test_unseen"]),
    }
    plan, index = [], 0
    for split in SPLITS:
        for voice in split_voices[split]:
            base_rate, base_pitch = _speaker_style(voice, seed)
            plan.append({
                "id": f"synth_{index:06d}", "text": sentences[index], "voice": voice, "split": split,
                "rate": int(np.clip(round(base_rate * rng.uniform(0.9, 1.1)), 80, 450)),
                "pitch": int(np.clip(round(base_pitch + rng.uniform(-6, 6)), 0, 100)),
                "seed": int(rng.integers(0, 2**31 - 1)),
            })
            index += 1
    if randomize_voices:
        klatt = klatt_variants(seed)
        plan = [_randomize(item, i, seed, klatt) for i, item in enumerate(plan)]
    return plan


# ----------------------------------------------------------------------------- synthesis

def _tidy_silence(wave: np.ndarray, sr: int) -> np.ndarray:
    """Trims long leading/trailing silence (conservatively) and leaves ~0.1 s at each end."""
    import librosa

    _, (start, end) = librosa.effects.trim(wave, top_db=50, frame_length=512, hop_length=128)
    edge, limit = int(_EDGE_SILENCE * sr), int(_MAX_EDGE_SILENCE * sr)
    if start > limit:
        wave, end = wave[start - edge:], end - (start - edge)
    if len(wave) - end > limit:
        wave = wave[:end + edge]
    # eSpeak starts speaking within ~15 ms: pad so every file has a little silence either side.
    return np.pad(wave, (edge, edge)).astype(np.float32)


def speak(item: dict) -> np.ndarray:
    """One planned utterance (``text``, ``voice``, ``rate``, ``pitch``, ``seed``, optional
    ``range``; ``id`` names it in errors) as corpus audio: float32 at ``SAMPLE_RATE``."""
    engine = espeak_mod.get_espeak()
    spoken = textlib.verbalize(item["text"])
    wave, sr = engine.synthesize(spoken, item["voice"], item["rate"], item["pitch"], item["seed"],
                                 pitch_range=item.get("range"))
    if wave.size == 0 or not np.any(wave):
        raise CorpusError(f"eSpeak produced silence for {item['id']} ({item['voice']})")
    return audio.prepare_wave(_tidy_silence(wave, sr), sr, SAMPLE_RATE, name=item["id"])


def render(text: str, voice: str, seed: int = 0) -> np.ndarray:
    """``text`` spoken by corpus voice ``voice`` at that voice's own rate and pitch for corpus
    ``seed`` (what the corpus would hold for it, without the per-utterance jitter): the
    reference a conversion into ``voice`` is measured against."""
    rate, pitch = _speaker_style(voice, seed)
    return speak({"id": f"render:{voice}", "text": text, "voice": voice, "rate": int(round(rate)),
                  "pitch": int(round(pitch)), "seed": 0})


def synthesize_utterance(item: dict, out_dir: str) -> float:
    """Speaks one planned utterance into ``out_dir/wavs/<id>.wav``; returns its duration (s)."""
    wave = speak(item)
    final = os.path.join(out_dir, "wavs", item["id"] + ".wav")
    tmp = os.path.join(out_dir, "wavs", f".{item['id']}.tmp.wav")
    audio.save_audio(tmp, wave, SAMPLE_RATE)
    os.replace(tmp, final)  # a crash never leaves a truncated file under the final name
    return len(wave) / SAMPLE_RATE


def _synthesize_batch(args) -> list[tuple[str, float]]:
    """Worker task: synthesises a batch of planned utterances (one eSpeak per process)."""
    batch, out_dir = args
    return [(item["id"], synthesize_utterance(item, out_dir)) for item in batch]


# ----------------------------------------------------------------------------- build

def _check_writable(out_dir: str) -> None:
    try:
        os.makedirs(os.path.join(out_dir, "wavs"), exist_ok=True)
        probe = os.path.join(out_dir, f".write-test-{os.getpid()}")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        raise CorpusError(f"cannot write corpus to {out_dir}: {e.strerror or e}") from None


def _write_json_atomic(path: str, lines: list[str]) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _cached(out_dir: str, key: dict) -> bool:
    """True if ``out_dir`` holds a complete corpus built with ``key``."""
    manifest = os.path.join(out_dir, "manifest.jsonl")
    try:
        with open(os.path.join(out_dir, "corpus.json"), encoding="utf-8") as f:
            if json.load(f) != key:
                return False
        with open(manifest, encoding="utf-8") as f:
            paths = [json.loads(line)["path"] for line in f if line.strip()]
    except (OSError, ValueError, KeyError):
        return False
    return len(paths) == key["size"] and all(os.path.exists(os.path.join(out_dir, p)) for p in paths)


def cache_key(size: int, seed: int, randomize_voices: bool = False) -> dict:
    """What ``corpus.json`` holds: a corpus is reused only if its key is equal.

    The plain corpus keeps the key it had before voice randomisation existed (so its cached
    copies stay valid); a randomised one adds the :data:`RANDOMIZATION` recipe.
    """
    key = {"version": CORPUS_VERSION, "size": int(size), "seed": int(seed), "sample_rate": SAMPLE_RATE}
    if randomize_voices:
        key["randomize_voices"] = json.loads(json.dumps(RANDOMIZATION))  # as read back from JSON
    return key


def _manifest_record(item: dict, duration: float) -> dict:
    """One manifest line; randomised utterances also record their actual voice settings."""
    record = {"path": f"wavs/{item['id']}.wav", "text": item["text"],
              "speaker": item.get("speaker", item["voice"]), "duration": round(duration, 4),
              "split": item["split"]}
    if "speaker" in item:
        record.update(voice=item["voice"], rate=item["rate"], pitch=item["pitch"],
                      range=item["range"])
    return record


def build_corpus(out_dir: str | os.PathLike, size: int = 6000, seed: int = 0,
                 workers: int | None = None, progress: bool = True,
                 randomize_voices: bool = False) -> str:
    """Builds (or reuses) the synthetic corpus in ``out_dir``; returns the manifest path.

    ``size`` utterances over all splits (>= 8), ``seed`` fixes sentences, voices and audio,
    ``workers`` processes synthesise in parallel (None = all cores, 0 or 1 = in this process),
    ``progress`` shows a tqdm bar, ``randomize_voices`` draws rate, pitch, pitch range and
    sometimes a Klatt variant per utterance (see the module docstring). A second call with the
    same size, seed and randomize_voices returns at once.
    """
    out_dir = os.path.abspath(os.fspath(out_dir))
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < MIN_SIZE:
        raise CorpusError(f"size must be an integer >= {MIN_SIZE}, got {size!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 0):
        raise CorpusError(f"workers must be None or an integer >= 0, got {workers!r}")
    if not isinstance(randomize_voices, (bool, np.bool_)):
        raise CorpusError(f"randomize_voices must be True or False, got {randomize_voices!r}")
    randomize_voices = bool(randomize_voices)
    key = cache_key(size, seed, randomize_voices)
    manifest = os.path.join(out_dir, "manifest.jsonl")
    if _cached(out_dir, key):
        log.info("corpus in %s is up to date (%d utterances)", out_dir, size)
        return manifest
    _check_writable(out_dir)
    # Invalidate first: an interrupted rebuild must not look like a finished corpus.
    for name in ("corpus.json", "manifest.jsonl"):
        if os.path.exists(os.path.join(out_dir, name)):
            os.remove(os.path.join(out_dir, name))

    start = time.time()
    plan = plan_corpus(int(size), int(seed), randomize_voices)
    batches = [(plan[i:i + _BATCH], out_dir) for i in range(0, len(plan), _BATCH)]
    workers = min(os.cpu_count() or 1, len(batches)) if workers is None else min(workers, len(batches))
    durations: dict[str, float] = {}
    from tqdm import tqdm

    with tqdm(total=len(plan), desc="synthesising corpus", unit="utt", disable=not progress) as bar:
        if workers <= 1:
            results = map(_synthesize_batch, batches)
            pool = None
        else:
            # spawn: a fresh interpreter per worker, safe with JAX (threads) in the parent.
            pool = multiprocessing.get_context("spawn").Pool(workers)
            results = pool.imap_unordered(_synthesize_batch, batches)
        try:
            for done in results:
                durations.update(done)
                bar.update(len(done))
            if pool is not None:
                pool.close()
        finally:
            if pool is not None:
                pool.terminate()  # no-op after close(); stops workers on error or Ctrl-C
                pool.join()

    # Remove wavs left over from an earlier corpus with other arguments.
    wanted = {item["id"] + ".wav" for item in plan}
    for name in os.listdir(os.path.join(out_dir, "wavs")):
        if name not in wanted:
            os.remove(os.path.join(out_dir, "wavs", name))
    lines = [json.dumps(_manifest_record(item, durations[item["id"]]), ensure_ascii=False)
             for item in plan]
    _write_json_atomic(manifest, lines)
    _write_json_atomic(os.path.join(out_dir, "corpus.json"), [json.dumps(key, sort_keys=True)])
    hours = sum(durations.values()) / 3600
    log.info("built %d utterances (%.2f h) in %s in %.1f s", len(plan), hours, out_dir, time.time() - start)
    return manifest
