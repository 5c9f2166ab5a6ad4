"""Shared test set-up: one XLA compilation cache per test session, repo root importable."""
import atexit
import json
import os
import shutil
import sys
import tempfile

os.environ.setdefault("JAX_PLATFORMS", "cpu")
# Many tests (and the JAX processes some of them start) compile the same tiny programs again:
# the main job retrains the fixtures' configs, a resumed process recompiles its step. JAX's
# persistent cache serves those repeats from disk. A fresh folder per session (set
# JAX_COMPILATION_CACHE_DIR to keep one), so a run never depends on an earlier one.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="voxjax-test-xla-cache-")
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _cache
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pytest  # noqa: E402
import soundfile as sf  # noqa: E402


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """A 48-utterance synthetic corpus, built once per test session."""
    from voxjax.corpus import build_corpus
    root = tmp_path_factory.mktemp("corpus")
    build_corpus(str(root), size=48, seed=0, workers=1, progress=False)
    return str(root)


def _train_tiny(name, corpus, workdir, **overrides):
    from voxjax import config as config_lib, train
    config = config_lib.load(name, "tiny")
    config.data.root = corpus
    for key, value in overrides.items():
        section, leaf = key.split(".")
        config[section][leaf] = value
    train.train_and_evaluate(config, str(workdir))
    return str(workdir)


@pytest.fixture(scope="session")
def tiny_offline_workdir(tiny_corpus, tmp_path_factory):
    """The default (bidirectional) STT config, tiny, trained for a few steps."""
    return _train_tiny("stt_synth", tiny_corpus, tmp_path_factory.mktemp("offline"))


@pytest.fixture(scope="session")
def tiny_streaming_workdir(tiny_corpus, tmp_path_factory):
    """The streaming (causal) STT config, tiny, trained for a few steps."""
    return _train_tiny("stt_synth_streaming", tiny_corpus, tmp_path_factory.mktemp("streaming"))


@pytest.fixture(scope="session")
def tiny_tts_workdir(tiny_corpus, tmp_path_factory):
    """The TTS acoustic model config, tiny, trained for a few steps."""
    return _train_tiny("tts_synth", tiny_corpus, tmp_path_factory.mktemp("tts"))


@pytest.fixture(scope="session")
def tiny_decoder_workdir(tiny_corpus, tmp_path_factory):
    """The conv decoder config, tiny, trained for a few steps."""
    return _train_tiny("decoder_synth", tiny_corpus, tmp_path_factory.mktemp("decoder"))


@pytest.fixture(scope="session")
def tiny_vc_workdir(tiny_corpus, tiny_streaming_workdir, tmp_path_factory):
    """A tiny conversion model on the tiny corpus, content from the tiny streaming STT; trained
    long enough (150 steps) that its reconstruction loss has clearly fallen."""
    return _train_tiny("vc_synth", tiny_corpus, tmp_path_factory.mktemp("vc"),
                       **{"vc.content_workdir": tiny_streaming_workdir, "train.steps": 150,
                          "train.eval_every": 150, "optim.learning_rate": 1e-2,
                          "optim.clip_norm": 5.0})


@pytest.fixture(scope="session")
def tiny_speaker_workdir(tiny_corpus, tmp_path_factory):
    """The speaker model config, tiny, trained through the trainer on the tiny corpus."""
    return _train_tiny("speaker_synth", tiny_corpus, tmp_path_factory.mktemp("speaker"))


@pytest.fixture(scope="session")
def tiny_vc_embedding_workdir(tiny_corpus, tiny_streaming_workdir, tiny_speaker_workdir,
                              tmp_path_factory):
    """A tiny conversion model conditioned on the tiny speaker model's embeddings (zero-shot
    capable); a few steps only: tests check its wiring, the id model its learning."""
    return _train_tiny("vc_synth", tiny_corpus, tmp_path_factory.mktemp("vc_embedding"),
                       **{"vc.content_workdir": tiny_streaming_workdir, "vc.speaker": "embedding",
                          "vc.speaker_workdir": tiny_speaker_workdir})


@pytest.fixture(scope="session")
def libri_layout(tiny_corpus, tmp_path_factory):
    """The tiny corpus re-packed as LibriSpeech: train/ (Opus) and dev/ (FLAC) subsets."""
    root = tmp_path_factory.mktemp("libri")
    rows = [json.loads(line) for line in open(os.path.join(tiny_corpus, "manifest.jsonl"))]
    for n, row in enumerate(rows):
        subset = "dev" if row["split"] in ("test", "test_unseen") else "train"
        speaker, chapter = str(100 + n % 3), "7"
        folder = root / subset / speaker / chapter
        folder.mkdir(parents=True, exist_ok=True)
        uid = f"{speaker}-{chapter}-{n:04d}"
        wave, rate = sf.read(os.path.join(tiny_corpus, row["path"]), dtype="float32")
        if subset == "train":
            sf.write(str(folder / f"{uid}.opus"), wave, rate, format="OGG", subtype="OPUS")
        else:
            sf.write(str(folder / f"{uid}.flac"), wave, rate)
        with open(folder / f"{speaker}-{chapter}.trans.txt", "a") as f:
            f.write(f"{uid} {row['text'].upper()}\n")
    return str(root)
