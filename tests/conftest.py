"""Shared test set-up: one XLA compilation cache per test session, repo root importable."""
import atexit
import fcntl
import json
import os
import pathlib
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


def _shared(tmp_path_factory, name, build):
    """The folder ``name``, made by ``build(path)`` once per test run.

    Under pytest-xdist each worker has its own session fixtures, so the suite's two workers
    built the corpus and trained every tiny model twice. Here the first worker to ask builds
    it in the run's shared temporary folder under a file lock; the others wait for it and
    reuse it (tests read fixture workdirs, never change them).
    """
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # this run's folder, shared by its workers only
    path = base / f"shared-{name}"
    with open(base / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (path / ".done").exists():
            shutil.rmtree(path, ignore_errors=True)  # a build that failed half-way
            path.mkdir()
            build(str(path))
            (path / ".done").touch()
    return str(path)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """A 48-utterance synthetic corpus, built once per test run."""
    from voxjax.corpus import build_corpus
    return _shared(tmp_path_factory, "corpus", lambda root: build_corpus(
        root, size=48, seed=0, workers=1, progress=False))


def _train_tiny(tmp_path_factory, key, name, corpus, **overrides):
    """Config ``name`` (tiny) trained on ``corpus`` into the shared folder ``key``."""
    def build(workdir):
        from voxjax import config as config_lib, train
        config = config_lib.load(name, "tiny")
        config.data.root = corpus
        for dotted, value in overrides.items():
            section, leaf = dotted.split(".")
            config[section][leaf] = value
        train.train_and_evaluate(config, workdir)
    return _shared(tmp_path_factory, key, build)


@pytest.fixture(scope="session")
def tiny_offline_workdir(tiny_corpus, tmp_path_factory):
    """The default (bidirectional) STT config, tiny, trained for a few steps."""
    return _train_tiny(tmp_path_factory, "offline", "stt_synth", tiny_corpus)


@pytest.fixture(scope="session")
def tiny_streaming_workdir(tiny_corpus, tmp_path_factory):
    """The streaming (causal) STT config, tiny, trained for a few steps."""
    return _train_tiny(tmp_path_factory, "streaming", "stt_synth_streaming", tiny_corpus)


@pytest.fixture(scope="session")
def tiny_tts_workdir(tiny_corpus, tmp_path_factory):
    """The TTS acoustic model config, tiny, trained for a few steps."""
    return _train_tiny(tmp_path_factory, "tts", "tts_synth", tiny_corpus)


@pytest.fixture(scope="session")
def tiny_decoder_workdir(tiny_corpus, tmp_path_factory):
    """The conv decoder config, tiny, trained for a few steps."""
    return _train_tiny(tmp_path_factory, "decoder", "decoder_synth", tiny_corpus)


@pytest.fixture(scope="session")
def tiny_vc_workdir(tiny_corpus, tiny_streaming_workdir, tmp_path_factory):
    """A tiny conversion model on the tiny corpus, content from the tiny streaming STT; trained
    long enough (150 steps) that its reconstruction loss has clearly fallen."""
    return _train_tiny(tmp_path_factory, "vc", "vc_synth", tiny_corpus,
                       **{"vc.content_workdir": tiny_streaming_workdir, "train.steps": 150,
                          "train.eval_every": 150, "optim.learning_rate": 1e-2,
                          "optim.clip_norm": 5.0})


@pytest.fixture(scope="session")
def tiny_speaker_workdir(tiny_corpus, tmp_path_factory):
    """The speaker model config, tiny, trained through the trainer on the tiny corpus."""
    return _train_tiny(tmp_path_factory, "speaker", "speaker_synth", tiny_corpus)


@pytest.fixture(scope="session")
def tiny_vc_embedding_workdir(tiny_corpus, tiny_streaming_workdir, tiny_speaker_workdir,
                              tmp_path_factory):
    """A tiny conversion model conditioned on the tiny speaker model's embeddings (zero-shot
    capable); a few steps only: tests check its wiring, the id model its learning."""
    return _train_tiny(tmp_path_factory, "vc_embedding", "vc_synth", tiny_corpus,
                       **{"vc.content_workdir": tiny_streaming_workdir, "vc.speaker": "embedding",
                          "vc.speaker_workdir": tiny_speaker_workdir})


@pytest.fixture(scope="session")
def libri_layout(tiny_corpus, tmp_path_factory):
    """The tiny corpus re-packed as LibriSpeech: train/ (Opus) and dev/ (FLAC) subsets."""
    def build(path):
        root = pathlib.Path(path)
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
    return _shared(tmp_path_factory, "libri", build)
