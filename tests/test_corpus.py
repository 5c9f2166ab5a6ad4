"""Tests for the synthetic corpus: eSpeak binding, sentence generator and corpus builder."""
import json
import os
import time

import numpy as np
import pytest
import soundfile as sf

from voxjax import text as textlib
from voxjax.corpus import build as build_mod
from voxjax.corpus import (CorpusError, ESpeakError, build_corpus, generate_sentences, get_espeak,
                           sentence_stats)


# ----------------------------------------------------------------------------- eSpeak

def test_espeak_speaks_and_is_reproducible():
    engine = get_espeak()
    wave, rate = engine.synthesize("Hello world, this is a test.", "en-us+m3", 170, 50, seed=1)
    assert rate == 22050 and wave.dtype == np.float32
    assert 0.5 < len(wave) / rate < 5.0
    assert np.sqrt(np.mean(wave ** 2)) > 0.01  # not silence
    # Something else in between must not change the next utterance (eSpeak keeps state).
    engine.synthesize("Something completely different!", "en+f3", 220, 20, seed=9)
    again, _ = engine.synthesize("Hello world, this is a test.", "en-us+m3", 170, 50, seed=1)
    assert np.array_equal(wave, again)
    slower, _ = engine.synthesize("Hello world, this is a test.", "en-us+m3", 120, 50, seed=1)
    assert len(slower) > len(wave) * 1.2  # the rate parameter is honoured


def test_espeak_breath_noise_follows_seed():
    engine = get_espeak()
    a, _ = engine.synthesize("A quiet whisper.", "en-us+whisper", seed=1)
    b, _ = engine.synthesize("A quiet whisper.", "en-us+whisper", seed=2)
    c, _ = engine.synthesize("A quiet whisper.", "en-us+whisper", seed=1)
    assert np.array_equal(a, c) and not np.array_equal(a, b)


def test_espeak_voices_phonemes_and_errors():
    engine = get_espeak()
    accents = engine.english_accents()
    assert {"en", "en-us", "en-gb-scotland"} <= set(accents) and len(accents) >= 6
    assert {"m3", "f2", "klatt"} <= set(engine.variants())
    ipa = engine.phonemize("Hello world", "en-us")
    assert "w" in ipa and "ˈ" in ipa  # IPA with stress marks
    with pytest.raises(ESpeakError):
        engine.synthesize("hello", "xx-nonexistent")
    with pytest.raises(ValueError):
        engine.synthesize("   ")


# ----------------------------------------------------------------------------- sentences

def test_sentence_generator_stats_and_determinism():
    sentences = generate_sentences(600, seed=3)
    assert sentences == generate_sentences(600, seed=3)
    assert sentences != generate_sentences(600, seed=4)
    stats = sentence_stats(sentences)
    assert stats["mean_words"] >= 8
    assert stats["with_digits"] > 0.2 and stats["with_dates"] > 0.01
    assert stats["with_money"] > 0.01 and stats["with_time"] > 0.01 and stats["questions"] > 0.03
    assert any("%" in s for s in sentences) and any(s.startswith(("Dr.", "Mr.", "Mrs.", "Ms.")) or
                                                   " Dr. " in s or " Mr. " in s for s in sentences)
    normalized = [textlib.normalize(s) for s in sentences]
    assert all(normalized) and len(set(normalized)) == len(sentences)
    assert not any(ch.isdigit() for n in normalized for ch in n)


# ----------------------------------------------------------------------------- corpus

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    manifest = build_corpus(out, size=40, seed=0, workers=2, progress=False)
    rows = [json.loads(line) for line in open(manifest, encoding="utf-8")]
    return str(out), manifest, rows


def test_tiny_corpus_layout(tiny):
    out, manifest, rows = tiny
    assert manifest == os.path.join(out, "manifest.jsonl") and len(rows) == 40
    assert {r["split"] for r in rows} == set(build_mod.SPLITS)
    for r in rows:
        assert set(r) >= {"path", "text", "speaker", "duration", "split"}
        info = sf.info(os.path.join(out, r["path"]))
        assert info.samplerate == 16000 and info.channels == 1 and info.subtype == "PCM_16"
        assert abs(info.frames / 16000 - r["duration"]) < 1e-3
        assert r["duration"] > 0.5 and textlib.normalize(r["text"])
    wave, _ = sf.read(os.path.join(out, rows[0]["path"]), dtype="float32")
    assert np.sqrt(np.mean(wave ** 2)) > 0.01


def test_tiny_corpus_splits_are_disjoint(tiny):
    _, _, rows = tiny
    by = {s: [r for r in rows if r["split"] == s] for s in build_mod.SPLITS}
    train_voices = {r["speaker"] for r in by["train"]}
    train_text = {textlib.normalize(r["text"]) for r in by["train"]}
    unseen_voices = {r["speaker"] for r in by["test_unseen"]}
    assert unseen_voices and not unseen_voices & train_voices
    assert not unseen_voices & {r["speaker"] for r in by["valid"] + by["test"]}
    assert {r["speaker"] for r in by["valid"] + by["test"]} <= train_voices  # seen voices
    for split in ("valid", "test", "test_unseen"):
        assert not {textlib.normalize(r["text"]) for r in by[split]} & train_text
    assert len(by["train"]) >= 0.75 * len(rows)


def test_default_size_has_many_training_voices():
    plan = build_mod.plan_corpus(6000, seed=0)
    train = {p["voice"] for p in plan if p["split"] == "train"}
    unseen = {p["voice"] for p in plan if p["split"] == "test_unseen"}
    assert len(train) >= 50 and len(unseen) >= 8 and not train & unseen
    assert {p["split"] for p in plan} == set(build_mod.SPLITS)


def test_same_seed_same_files_and_cache(tiny, tmp_path):
    out, manifest, _ = tiny
    # In-process synthesis must reproduce the 2-worker build byte for byte.
    other = build_corpus(tmp_path / "again", size=40, seed=0, workers=1, progress=False)
    assert open(other, "rb").read() == open(manifest, "rb").read()
    for name in os.listdir(os.path.join(out, "wavs")):
        with open(os.path.join(out, "wavs", name), "rb") as a, \
                open(tmp_path / "again" / "wavs" / name, "rb") as b:
            assert a.read() == b.read(), name
    # A second call with the same arguments returns at once and rewrites nothing.
    stamps = {n: os.stat(os.path.join(out, "wavs", n)).st_mtime_ns for n in os.listdir(os.path.join(out, "wavs"))}
    manifest_stamp = os.stat(manifest).st_mtime_ns
    start = time.perf_counter()
    assert build_corpus(out, size=40, seed=0, progress=False) == manifest
    assert time.perf_counter() - start < 1.0
    assert os.stat(manifest).st_mtime_ns == manifest_stamp
    assert stamps == {n: os.stat(os.path.join(out, "wavs", n)).st_mtime_ns for n in stamps}


def test_rebuild_with_other_arguments_replaces_corpus(tmp_path):
    build_corpus(tmp_path, size=10, seed=0, workers=1, progress=False)
    first = open(tmp_path / "manifest.jsonl").read()
    manifest = build_corpus(tmp_path, size=8, seed=1, workers=1, progress=False)
    rows = [json.loads(line) for line in open(manifest)]
    assert len(rows) == 8 and open(manifest).read() != first
    assert sorted(os.listdir(tmp_path / "wavs")) == sorted(os.path.basename(r["path"]) for r in rows)
    assert json.load(open(tmp_path / "corpus.json"))["seed"] == 1


def test_bad_arguments(tmp_path):
    with pytest.raises(CorpusError, match="size"):
        build_corpus(tmp_path / "c", size=7)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CorpusError, match="cannot write"):
        build_corpus(blocker / "corpus", size=8, progress=False)


# ----------------------------------------------------------------------------- voice randomisation

# sha256 of json.dumps(plan_corpus(size, seed), sort_keys=True), recorded before voice
# randomisation existed: the plain plan (and so the default corpus) must never change.
_PLAIN_PLAN_SHA256 = {
    (16, 0): "9c0fb91b43f55ad6264d0af9d9aeb38aa605d8d9f828797e64c89caa91354b17",
    (24, 0): "793ccbea5c3463d1d6369b6fb6821e53e8fe1dc015ff099b04556cb53b28b738",
    (40, 3): "bd802530f59ef996a045e9e36bf46bc628d3f3c73a073d6b5ecf652e49dfd972",
}


def _settings(plan):
    return [(p["voice"], p["rate"], p["pitch"], p["range"]) for p in plan]


def _median_f0(wave, sr=16000):
    import librosa
    f0, voiced, _ = librosa.pyin(wave, fmin=50, fmax=500, sr=sr, frame_length=1024)
    return float(np.median(f0[voiced]))


def test_plain_plan_unchanged_by_randomisation_option():
    import hashlib
    for (size, seed), digest in _PLAIN_PLAN_SHA256.items():
        for plan in (build_mod.plan_corpus(size, seed), build_mod.plan_corpus(size, seed, False)):
            assert hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest() == digest
    assert build_mod.plan_corpus(16, 0)[0] == {
        "id": "synth_000000", "text": "His box cost $377 under this passport.",
        "voice": "en-gb-x-gbcwmd+benjamin", "split": "train", "rate": 207, "pitch": 41,
        "seed": 1945725602}


def test_randomized_plan_is_deterministic_and_keeps_the_plain_plan():
    plan = build_mod.plan_corpus(24, seed=0, randomize_voices=True)
    assert plan == build_mod.plan_corpus(24, seed=0, randomize_voices=True)
    plain = build_mod.plan_corpus(24, seed=0)
    # Same sentences, speakers, splits and noise seeds as the plain corpus; new voice settings.
    for p, q in zip(plan, plain, strict=True):
        assert {k: p[k] for k in ("id", "text", "split", "seed")} == \
               {k: q[k] for k in ("id", "text", "split", "seed")}
        assert p["speaker"] == q["voice"]
        assert set(p) == set(q) | {"speaker", "range"}
    assert [(p["rate"], p["pitch"]) for p in plan] != [(q["rate"], q["pitch"]) for q in plain]
    # Another seed, other draws (compare settings only: rate/pitch/range per index).
    other = build_mod.plan_corpus(24, seed=1, randomize_voices=True)
    assert [s[1:] for s in _settings(other)] != [s[1:] for s in _settings(plan)]
    # Per-utterance draws depend on (seed, index), not on the corpus size.
    bigger = build_mod.plan_corpus(40, seed=0, randomize_voices=True)
    assert all(p["range"] == b["range"] for p, b in zip(plan, bigger))


def test_randomized_settings_vary_within_speakers_and_respect_splits():
    r = build_mod.RANDOMIZATION
    plan = build_mod.plan_corpus(6000, seed=0, randomize_voices=True)
    by_speaker = {}
    for p in plan:
        by_speaker.setdefault(p["speaker"], []).append(p)
    busy = [items for items in by_speaker.values() if len(items) >= 5]
    assert len(busy) >= 50
    for items in busy:  # not a fixed per-speaker style any more
        for key in ("rate", "pitch", "range"):
            assert len({p[key] for p in items}) >= 3, (items[0]["speaker"], key)
    for key, (lo, hi) in (("rate", r["rate"]), ("pitch", r["pitch"]), ("range", r["range"])):
        values = np.array([p[key] for p in plan])
        assert values.min() >= lo and values.max() <= hi
        assert values.min() <= lo + 0.05 * (hi - lo) and values.max() >= hi - 0.05 * (hi - lo)
    klatt = set(build_mod.klatt_variants(0))
    assert {"klatt", "klatt2", "klatt3"} <= klatt
    swapped = [p for p in plan if p["voice"] != p["speaker"]]
    seen_splits = [p for p in plan if p["split"] != "test_unseen"]
    assert 0.2 * len(seen_splits) < len(swapped) < 0.35 * len(seen_splits)
    for p in swapped:  # a Klatt variant of the speaker's own accent
        accent, variant = p["voice"].split("+", 1)
        assert variant in klatt and accent == p["speaker"].split("+", 1)[0]
        assert p["split"] != "test_unseen"
    assert {p["voice"].split("+", 1)[1] for p in swapped} == klatt  # all of them get used
    # Splits by speaker as before: test_unseen voices never occur elsewhere.
    unseen = {p["speaker"] for p in plan if p["split"] == "test_unseen"}
    assert all(p["voice"] == p["speaker"] for p in plan if p["split"] == "test_unseen")
    assert not unseen & {p["voice"] for p in seen_splits}


def test_randomization_never_uses_held_out_klatt_variants():
    seed = 34  # holds out klatt, klatt2 and klatt4 for test_unseen
    held_out = {v.split("+", 1)[1] for v in build_mod.voices(seed)["unseen"]}
    assert {"klatt", "klatt2", "klatt4"} <= held_out
    assert not held_out & set(build_mod.klatt_variants(seed)) and build_mod.klatt_variants(seed)
    plan = build_mod.plan_corpus(2000, seed=seed, randomize_voices=True)
    used = {p["voice"].split("+", 1)[1] for p in plan
            if p["split"] != "test_unseen" and "+" in p["voice"]}
    assert not used & held_out
    assert any(p["voice"] != p["speaker"] for p in plan)


def test_cache_key_tells_randomized_from_plain():
    # The plain key is exactly the one cached corpora were built with before the option existed.
    assert build_mod.cache_key(40, 0) == {"version": 1, "size": 40, "seed": 0, "sample_rate": 16000}
    assert build_mod.cache_key(40, 0, False) == build_mod.cache_key(40, 0)
    randomized = build_mod.cache_key(40, 0, True)
    assert randomized != build_mod.cache_key(40, 0)
    assert randomized["randomize_voices"] == build_mod.RANDOMIZATION
    assert json.loads(json.dumps(randomized)) == randomized  # equal after the corpus.json trip


def test_switching_randomize_voices_rebuilds(tmp_path):
    plain = build_corpus(tmp_path, size=8, seed=0, workers=1, progress=False)
    plain_text = open(plain).read()
    assert json.load(open(tmp_path / "corpus.json")) == build_mod.cache_key(8, 0)
    randomized = build_corpus(tmp_path, size=8, seed=0, workers=1, progress=False,
                              randomize_voices=True)
    rows = [json.loads(line) for line in open(randomized)]
    assert open(randomized).read() != plain_text and all("range" in r for r in rows)
    assert json.load(open(tmp_path / "corpus.json")) == build_mod.cache_key(8, 0, True)
    # And back: the randomised corpus is not taken for the plain one.
    build_corpus(tmp_path, size=8, seed=0, workers=1, progress=False)
    assert open(plain).read() == plain_text
    with pytest.raises(CorpusError, match="randomize_voices"):
        build_corpus(tmp_path, size=8, randomize_voices="yes")


@pytest.fixture(scope="module")
def tiny_randomized(tmp_path_factory):
    out = tmp_path_factory.mktemp("randomized")
    manifest = build_corpus(out, size=16, seed=0, workers=2, progress=False, randomize_voices=True)
    rows = [json.loads(line) for line in open(manifest, encoding="utf-8")]
    return str(out), manifest, rows


def test_tiny_randomized_corpus(tiny_randomized, tmp_path):
    out, manifest, rows = tiny_randomized
    plan = build_mod.plan_corpus(16, seed=0, randomize_voices=True)
    plain = build_mod.plan_corpus(16, seed=0)
    assert len(rows) == 16 and {r["split"] for r in rows} == set(build_mod.SPLITS)
    for r, p, q in zip(rows, plan, plain, strict=True):
        assert r["path"] == f"wavs/{p['id']}.wav" and r["text"] == p["text"]
        assert r["speaker"] == q["voice"] and r["split"] == q["split"]  # identity as before
        assert (r["voice"], r["rate"], r["pitch"], r["range"]) == \
               (p["voice"], p["rate"], p["pitch"], p["range"])
        info = sf.info(os.path.join(out, r["path"]))
        assert info.samplerate == 16000 and abs(info.frames / 16000 - r["duration"]) < 1e-3
    assert any(r["voice"] != r["speaker"] for r in rows)  # some Klatt swaps at this size
    # The loader takes the extra keys in its stride.
    from voxjax.data import manifest as manifest_lib
    utts = manifest_lib.load_manifest("synth", out, "train")
    assert [u.speaker for u in utts] == [r["speaker"] for r in rows if r["split"] == "train"]
    # The 2-worker build holds exactly what in-process synthesis of the plan gives.
    os.makedirs(tmp_path / "wavs")
    for item in (plan[0], plan[-1]):
        build_mod.synthesize_utterance(item, str(tmp_path))
        with open(tmp_path / "wavs" / f"{item['id']}.wav", "rb") as a, \
                open(os.path.join(out, "wavs", f"{item['id']}.wav"), "rb") as b:
            assert a.read() == b.read()


def test_randomized_settings_change_the_audio(tmp_path):
    """The same text spoken with different utterances' settings: rate, pitch and range count."""
    plan = build_mod.plan_corpus(200, seed=0, randomize_voices=True)
    base = {**plan[0], "voice": "en-us+m3", "rate": 170, "pitch": 50, "range": 50,
            "text": "Would you like to go to the market tomorrow morning, or not at all?"}
    os.makedirs(tmp_path / "wavs")

    def speak(**settings):
        item = {**base, **settings, "id": "x"}
        build_mod.synthesize_utterance(item, str(tmp_path))
        return sf.read(tmp_path / "wavs" / "x.wav", dtype="float32")[0]

    slow, fast = speak(rate=min(p["rate"] for p in plan)), speak(rate=max(p["rate"] for p in plan))
    assert len(slow) > 1.6 * len(fast)  # about 110 vs 250 wpm
    low = speak(pitch=min(p["pitch"] for p in plan))
    high = speak(pitch=max(p["pitch"] for p in plan))
    assert _median_f0(high) > 1.6 * _median_f0(low)
    flat = speak(range=min(p["range"] for p in plan))
    lively = speak(range=max(p["range"] for p in plan))

    def f0_spread(wave):
        import librosa
        f0, voiced, _ = librosa.pyin(wave, fmin=50, fmax=500, sr=16000, frame_length=1024)
        return float(np.std(f0[voiced]))
    assert f0_spread(lively) > 3 * f0_spread(flat)
    default, klatt = speak(), speak(voice="en-us+klatt3")
    assert len(klatt) != len(default) or not np.array_equal(klatt, default)
