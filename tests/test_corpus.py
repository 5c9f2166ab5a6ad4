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
