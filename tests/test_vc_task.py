"""The ``vc`` task: trains through the one trainer on the tiny corpus with a trained tiny causal
STT model as its frozen content network, learns, and converts a recording to another voice."""
import numpy as np
import pytest

from voxjax import audio, config as config_lib, inference, summaries, tasks, train


@pytest.fixture(scope="module")
def vc_workdir(tiny_corpus, tiny_streaming_workdir, tmp_path_factory):
    config = config_lib.load("vc_synth", "tiny")
    config.data.root = tiny_corpus
    config.vc.content_workdir = tiny_streaming_workdir
    config.train.steps = 150
    config.train.eval_every = 150
    config.optim.learning_rate = 1e-2
    config.optim.clip_norm = 5.0
    workdir = str(tmp_path_factory.mktemp("vc"))
    train.train_and_evaluate(config, workdir)
    return workdir


def test_tiny_vc_model_learns_to_reconstruct(vc_workdir):
    rows = [r for r in summaries.read_metrics(vc_workdir, "train") if "mel_l1" in r]
    assert len(rows) >= 4
    assert rows[-1]["mel_l1"] < 0.7 * rows[0]["mel_l1"]  # mel L1 per bin, in log units


def test_convert_gives_a_frame_per_source_frame_and_depends_on_the_speaker(vc_workdir):
    config, task, params = inference.load_workdir(vc_workdir)
    utt = task.utterances("test")[0]
    wave, rate = audio.load_audio(utt.path, task.mel.sample_rate), task.mel.sample_rate
    frames = len(audio.log_mel(wave, task.mel))
    a, b = task.speakers[0], task.speakers[1]
    mel_a = task.convert(params, wave, rate, a)
    mel_b = task.convert(params, wave, rate, b)
    assert mel_a.shape == mel_b.shape == (frames, task.mel.n_mels)
    assert np.isfinite(mel_a).all() and not np.allclose(mel_a, mel_b, atol=1e-3)
    with pytest.raises(ValueError, match="unknown speaker 'nobody'"):
        task.convert(params, wave, rate, "nobody")


def test_missing_content_workdir_is_a_clear_error(tmp_path):
    config = config_lib.load("vc_synth", "tiny")
    config.data.speakers = ("a", "b")
    task = tasks.get(config)
    with pytest.raises(ValueError, match="vc.content_workdir is not set"):
        task.content_params
    config.vc.content_workdir = str(tmp_path)
    with pytest.raises(FileNotFoundError, match="no checkpoint in"):
        tasks.get(config)
    config.vc.content_workdir = ""
    config.vc.speaker = "voice"
    with pytest.raises(ValueError, match="vc.speaker must be one of id"):
        tasks.get(config)
