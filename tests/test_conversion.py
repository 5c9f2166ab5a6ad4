"""StreamingConverter: speech -> speech through the content model, the conversion model and the
conv decoder on one carried state; chunk by chunk equals the scanned offline pass."""
import jax
import numpy as np
import pytest

from voxjax import config as config_lib, tasks
from voxjax.streaming import StreamingConverter
from voxjax.tasks import decoder as decoder_task_lib


@pytest.fixture(scope="module")
def models():
    config = config_lib.load("vc_synth", "tiny")
    config.data.speakers = ("a", "b")
    task = tasks.get(config)
    batch = {"features": np.zeros((1, 64, 80), np.float32) - 8,
             "feature_lengths": np.array([64], np.int32), "speaker": np.zeros(1, np.int32)}
    task.__dict__["content_params"] = task.content_task.init(jax.random.key(0), batch)
    vc_params = task.init(jax.random.key(1), batch)
    decoder = decoder_task_lib.make_task(config_lib.load("decoder_synth", "tiny"))
    decoder_params = decoder.init(jax.random.key(2), {
        "mel": np.zeros((1, 8, 80), np.float32), "wave": np.zeros((1, 8 * 160), np.float32)})
    return task, vc_params, decoder.model, decoder_params["generator"]


def speech(seconds=0.77, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(16000 * seconds)) / 16000
    return (0.3 * np.sin(2 * np.pi * (150 + 400 * t) * t) * rng.uniform(0.2, 1, t.size)
            ).astype(np.float32)


def test_streamed_conversion_equals_offline_and_keeps_the_length(models):
    converter = StreamingConverter(*models, chunk_ms=40)
    source = speech()
    offline = converter.convert(source, 16000, "b")
    streamed = converter.convert(source, 16000, "b", stream=True)
    assert offline.shape == streamed.shape == source.shape
    np.testing.assert_allclose(streamed, offline, atol=1e-4)
    assert np.isfinite(offline).all() and np.abs(offline).max() > 0
    # 8 kHz input is resampled first: the output has the resampled length.
    assert converter.convert(source[::2], 8000, "b").size == pytest.approx(source.size, abs=2)


def test_target_speaker_changes_the_output_and_unknown_ones_are_refused(models):
    converter = StreamingConverter(*models)
    source = speech(0.5, 1)
    assert not np.allclose(converter.convert(source, 16000, "a"),
                           converter.convert(source, 16000, "b"), atol=1e-4)
    with pytest.raises(ValueError, match="unknown speaker 'nobody'"):
        converter.convert(source, 16000, "nobody")
    with pytest.raises(ValueError, match="multiple of 40 ms"):
        StreamingConverter(*models, chunk_ms=50)
    with pytest.raises(ValueError, match="source recording contains NaN"):
        converter.convert(np.full(8000, np.nan, np.float32), 16000)
