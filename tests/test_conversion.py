"""StreamingConverter: speech -> speech through the content model, the conversion model and the
conv decoder on one carried state; chunk by chunk equals the scanned offline pass."""
import jax
import jax.numpy as jnp
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


@pytest.mark.parametrize("committed", [False, True])
def test_step_compiles_once_over_a_stream(models, committed):
    """The zero state is placed like the params (committed), as the step's outputs are: an
    uncommitted first state made the second chunk compile the step again (1.2 s mid-stream)."""
    from voxjax import train
    task, vc_params, decoder, decoder_params = models
    if committed:  # as restored from a checkpoint
        vc_params, decoder_params = jax.device_put((vc_params, decoder_params), jax.devices()[0])
    converter = StreamingConverter(task, vc_params, decoder, decoder_params, chunk_ms=40)
    state = converter.init_state(converter.params)
    chunk = {"audio": speech()[None, :converter.chunk_samples],
             "speaker": task.target_vector("a")}
    for _ in range(3):
        state, _ = converter.step(converter.params, state, chunk)
    assert train.compile_count(converter.step) == 1


def test_live_session_returns_audio_as_chunks_arrive_and_ends_equal_to_offline(models):
    converter = StreamingConverter(*models, chunk_ms=40)
    source = speech(0.83, 3)
    size, lag = converter.chunk_samples, converter.latency
    session = converter.session("b")
    outs, fed = [], 0
    for block in (100, size - 100, 3 * size + 7, 1, size):  # any block size
        outs.append(session.feed(source[fed:fed + block]))
        fed += block
        whole_chunks = fed // size
        assert sum(map(len, outs)) == max(0, whole_chunks * size - lag)  # as soon as made
    outs.append(session.feed(source[fed:]))
    outs.append(session.finish())
    streamed = np.concatenate(outs)
    np.testing.assert_allclose(streamed, converter.convert(source, 16000, "b"), atol=1e-4)
    assert session.finish().size == 0
    with pytest.raises(ValueError, match="already finished"):
        session.feed(source[:10])


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


def _variant(task, **vc_overrides):
    """The fixture's task with other ``config.vc`` values, sharing its content parameters."""
    config = task.config.copy_and_resolve_references()
    for key, value in vc_overrides.items():
        config.vc[key] = value
    variant = tasks.get(config)
    variant.__dict__["content_params"] = task.content_params
    return variant


def test_bottleneck_content_is_the_rnn_output_under_the_ctc_head(models):
    task = models[0]
    lm = task.content_task.model
    features = jnp.asarray(np.random.default_rng(0).normal(-8, 4, (2, 64, 80)), jnp.float32)
    lengths = jnp.array([64, 40])
    hidden = _variant(task, content="bottleneck").content(features, lengths)
    assert hidden.shape == (2, 64 // lm.subsampling, lm.rnn_hidden)
    head = task.content_params["ctc_head"]
    logits = (hidden @ head["kernel"] + head["bias"]).reshape(2, 16, lm.ctc_upsample, -1)
    expected = jax.nn.log_softmax(logits).reshape(2, 16, -1)
    posteriors = _variant(task, content="posteriors")
    assert posteriors.content_dim == lm.ctc_upsample * lm.vocab_size
    np.testing.assert_allclose(posteriors.content(features, lengths), expected, atol=1e-4)
    last = _variant(task, content="bottleneck", content_layer=lm.rnn_layers - 1)
    np.testing.assert_array_equal(last.content(features, lengths), hidden)  # front or back
    with pytest.raises(ValueError, match="vc.content_layer 5 is out of range"):
        _variant(task, content="bottleneck", content_layer=5)
    with pytest.raises(ValueError, match="vc.content must be one of posteriors"):
        _variant(task, content="mfcc")


def test_posteriors_converter_streams_equal_to_offline(models):
    task, _, decoder, decoder_params = models
    posteriors = _variant(task, content="posteriors")
    batch = {"features": np.zeros((1, 64, 80), np.float32) - 8,
             "feature_lengths": np.array([64], np.int32), "speaker": np.zeros(1, np.int32)}
    converter = StreamingConverter(posteriors, posteriors.init(jax.random.key(3), batch),
                                   decoder, decoder_params, chunk_ms=40)
    source = speech(0.6, 2)
    offline = converter.convert(source, 16000, "a")
    np.testing.assert_allclose(converter.convert(source, 16000, "a", stream=True), offline,
                               atol=1e-4)
    assert offline.shape == source.shape and np.abs(offline).max() > 0


def test_look_ahead_renders_each_frame_from_later_input_and_streams_equal_to_offline(models):
    """``model.lookahead_frames = 3``: predicted frame t may read input up to t + 3, never the
    past alone; the prediction stays frame-aligned with its source, the converter's latency
    grows by three hops, and streamed output still equals offline."""
    task, _, decoder, decoder_params = models
    config = task.config.copy_and_resolve_references()
    config.model.lookahead_frames = 3
    ahead = tasks.get(config)
    ahead.__dict__["content_params"] = task.content_params
    batch = {"features": np.zeros((1, 64, 80), np.float32) - 8,
             "feature_lengths": np.array([64], np.int32), "speaker": np.zeros(1, np.int32)}
    params = ahead.init(jax.random.key(4), batch)
    features = jnp.asarray(np.random.default_rng(5).normal(-8, 4, (1, 64, 80)), jnp.float32)
    edited = features.at[:, 32:].add(3.0)  # a change from frame 32 (a content-frame start) on
    vector = ahead.speaker_vectors(np.zeros(1, np.int32))
    before, target = ahead._forward_jit(params, features, np.array([64]), vector)
    after, _ = ahead._forward_jit(params, edited, np.array([64]), vector)
    assert before.shape == target.shape and target.shape[1] >= 64
    np.testing.assert_array_equal(target[:, :64], features)  # aligned with the source
    np.testing.assert_allclose(after[:, :29], before[:, :29], atol=1e-5)
    assert not np.allclose(after[:, 29:32], before[:, 29:32], atol=1e-3)  # read ahead
    converter = StreamingConverter(ahead, params, decoder, decoder_params, chunk_ms=40)
    assert converter.latency == decoder.latency_samples + 3 * 160
    source = speech(0.6, 4)
    offline = converter.convert(source, 16000, "a")
    np.testing.assert_allclose(converter.convert(source, 16000, "a", stream=True), offline,
                               atol=1e-4)
    assert offline.shape == source.shape and np.abs(offline).max() > 0
