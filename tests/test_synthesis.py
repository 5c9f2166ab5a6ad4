"""End-to-end synthesis: streaming equals offline, bad text and speakers, mismatched workdirs."""
import jax
import numpy as np
import pytest

from voxjax import config as config_lib, inference, streaming, text
from voxjax.tasks import decoder as decoder_task_lib
from voxjax.tasks import tts as tts_task_lib

SPEAKERS = ("en-us+m3", "en+f2", "en-gb-x-rp+croak")


def _tiny_tts(**model):
    config = config_lib.load("configs/tts_synth.py", "tiny")
    config.data.speakers = SPEAKERS  # no corpus needed: the table comes with the config
    for key, value in model.items():
        config.model[key] = value
    task = tts_task_lib.make_task(config)
    tokens, lengths = task.token_batch("Hello there.")
    batch = {"labels": tokens, "label_lengths": lengths, "speaker": np.zeros((1,), np.int32),
             "features": np.zeros((1, 40, 80), np.float32),
             "feature_lengths": np.array([40], np.int32)}
    return config, task, task.init(jax.random.key(0), batch)


def _tiny_decoder():
    config = config_lib.load("configs/decoder_synth.py", "tiny")
    task = decoder_task_lib.make_task(config)
    batch = {"mel": np.zeros((1, 8, 80), np.float32), "wave": np.zeros((1, 8 * 160), np.float32)}
    return config, task, task.init(jax.random.key(1), batch)


@pytest.fixture(scope="module")
def models():
    return _tiny_tts(), _tiny_decoder()


@pytest.fixture(scope="module")
def synthesizer(models):
    # Random weights predict ~1 frame per token; pace 4 gives a few chunks per sentence.
    return inference.make_synthesizer(*models, chunk_frames=6, max_chunk_frames=6)


@pytest.mark.parametrize("first, largest, total, sizes", [
    (10, 40, 95, [10, 20, 40, 40]), (10, 40, 10, [10]), (10, 40, 1, [10]),
    (6, 40, 50, [6, 12, 24, 40]), (10, 10, 25, [10, 10, 10])])
def test_chunk_schedule_starts_small_and_doubles_to_the_cap(first, largest, total, sizes):
    assert streaming.chunk_schedule(first, largest, total) == sizes


@pytest.mark.parametrize("largest", [6, 24])
def test_streamed_audio_equals_offline_synthesis(models, largest):
    synthesizer = inference.make_synthesizer(*models, chunk_frames=6, max_chunk_frames=largest)
    sentence = "The quick brown fox jumps over the lazy dog. Then it rests, briefly!"
    chunks = list(synthesizer.stream(sentence, speaker="en+f2", pace=4.0))
    offline, mels = synthesizer.synthesize(sentence, speaker="en+f2", pace=4.0)
    assert len(mels) == 2  # two sentences, synthesised one after the other
    sizes = [c.size for c in chunks]
    assert len(chunks) > 3 and max(sizes) == largest * 160
    # The first chunk of each sentence is the small one (minus the decoder's lag).
    assert sizes[0] == 6 * 160 - synthesizer.latency
    streamed = np.concatenate(chunks)
    assert streamed.shape == offline.shape == (sum(len(m) for m in mels) * 160,)
    np.testing.assert_allclose(streamed, offline, atol=1e-4)
    assert np.isfinite(offline).all()


def test_step_compiles_once_over_a_sentence(models):
    """Every chunk of a sentence (6 frames each here) reuses the first chunk's executable, with
    params committed to a device as a checkpoint restores them: the zero state is committed like
    the states the step returns."""
    from voxjax import train
    (tts_config, tts, tts_params), (dec_config, dec, dec_params) = models
    tts_params, dec_params = jax.device_put((tts_params, dec_params), jax.devices()[0])
    synthesizer = inference.make_synthesizer((tts_config, tts, tts_params),
                                             (dec_config, dec, dec_params),
                                             chunk_frames=6, max_chunk_frames=6)
    chunks = list(synthesizer.stream("The cat sat on the mat, twice.", pace=4.0))
    assert len(chunks) > 2
    assert train.compile_count(synthesizer.step) == 1


def test_a_cap_below_the_first_chunk_is_refused(models):
    with pytest.raises(ValueError, match="max_chunk_frames .* smaller than chunk_frames"):
        inference.make_synthesizer(*models, chunk_frames=10, max_chunk_frames=6)
    with pytest.raises(ValueError, match="max_chunk_frames must be a positive multiple"):
        inference.make_synthesizer(*models, chunk_frames=6, max_chunk_frames=7)


def test_speaker_changes_the_output(synthesizer):
    a, _ = synthesizer.synthesize("Good morning.", speaker=SPEAKERS[1], pace=4.0)
    b, _ = synthesizer.synthesize("Good morning.", speaker=SPEAKERS[2], pace=4.0)
    assert a.shape == b.shape and not np.allclose(a, b)


@pytest.mark.parametrize("bad", ["", "   ", "?!...", "🙂🙂🙂", "Привет мир"])
def test_unusable_text_is_refused_before_any_audio(synthesizer, bad):
    with pytest.raises(text.TextError):
        next(synthesizer.stream(bad))
    with pytest.raises(text.TextError):
        synthesizer.synthesize(bad)


def test_unknown_speaker_is_refused(synthesizer):
    with pytest.raises(ValueError, match="unknown speaker 'nobody'"):
        next(synthesizer.stream("Hello.", speaker="nobody"))


def test_long_text_is_spoken_sentence_by_sentence(synthesizer):
    long_text = " ".join(["This is sentence number %d of a long reading." % i for i in range(60)])
    assert len(long_text) > 2500
    wave, mels = synthesizer.synthesize(long_text, pace=1.0)
    assert len(mels) >= 10 and wave.size == sum(len(m) for m in mels) * 160


def test_mismatched_mel_settings_are_refused():
    tts = _tiny_tts()
    config, task, params = _tiny_decoder()
    config.data.n_mels = 64
    mismatched = decoder_task_lib.make_task(config)
    with pytest.raises(ValueError, match="mel settings differ"):
        inference.make_synthesizer(tts, (config, mismatched, params))
    with pytest.raises(ValueError, match="not 'decoder'"):
        inference.make_synthesizer(tts, tts)
