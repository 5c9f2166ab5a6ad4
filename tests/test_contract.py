"""The streaming contract: every streaming model, chunk by chunk, equals scan_offline of its step."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from voxjax.models import contract
from voxjax.models.acoustic_model import AcousticModel, regulate_length
from voxjax.models.conv_decoder import HiFiGANDecoder, VocosDecoder
from voxjax.models.language_model import LanguageModel


def language_model():
    model = LanguageModel(vocab_size=29, conv_channels=8, rnn_hidden=8, rnn_layers=2,
                          streaming=True)
    feats = jax.random.normal(jax.random.key(1), (2, 48, 10)) * 3 - 6
    params = model.init(jax.random.key(0), feats, jnp.array([48, 48]))["params"]
    return model, params, feats, 4  # chunks: multiples of the x4 subsampling


def acoustic_model():
    model = AcousticModel(vocab_size=12, num_speakers=2, n_mels=6, embed_dim=8, conv_layers=1,
                          encoder_hidden=4, speaker_dim=2, duration_channels=4, prenet_dim=4,
                          decoder_hidden=8, decoder_layers=2, postnet_channels=4,
                          postnet_layers=2)
    tokens, lengths, speakers = jnp.array([[3, 4, 5, 6], [7, 8, 0, 0]]), jnp.array([4, 2]), \
        jnp.array([0, 1])
    params = model.init({"params": jax.random.key(2), "dropout": jax.random.key(3)}, tokens,
                        lengths, speakers, jnp.zeros((2, 8, 6)), jnp.array([8, 8]))["params"]
    h, durations = model.apply({"params": params}, tokens, lengths, speakers, 1.0,
                               method="encode_for_synthesis")
    return model, params, regulate_length(h, durations, 48)[0], model.reduction


def vocos():
    model = VocosDecoder(n_mels=6, dim=8, intermediate=8, layers=2)
    mel = jax.random.normal(jax.random.key(4), (2, 48, 6)) - 8
    return model, model.init(jax.random.key(5), mel[:, :4])["params"], mel, 1


def hifigan():
    model = HiFiGANDecoder(n_mels=6, channels=8, resblock_kernels=(3,), resblock_dilations=(1, 3))
    mel = jax.random.normal(jax.random.key(6), (2, 48, 6)) - 8
    return model, model.init(jax.random.key(7), mel[:, :4])["params"], mel, 1


@pytest.mark.parametrize("build", [language_model, acoustic_model, vocos, hifigan],
                         ids=lambda f: f.__name__)
def test_chunked_stream_equals_scan_offline(build):
    model, params, inputs, unit = build()
    streamer = contract.Streamer(model)
    step = jax.jit(streamer.step)
    _, offline = contract.scan_offline(step, params, streamer.init_state(params, 2),
                                       contract.to_chunks(inputs, 4 * unit))
    offline = np.asarray(contract.from_chunks(offline))
    state, pieces, start = streamer.init_state(params, 2), [], 0
    for size in (1, 3, 2, 6):  # uneven chunks, in units the model accepts
        for _ in range(2):
            stop = min(start + size * unit, inputs.shape[1])
            if stop > start:
                state, out = step(params, state, inputs[:, start:stop])
                pieces.append(np.asarray(out))
            start = stop
    if start < inputs.shape[1]:
        state, out = step(params, state, inputs[:, start:])
        pieces.append(np.asarray(out))
    streamed = np.concatenate(pieces, axis=1)
    assert streamed.shape == offline.shape and np.abs(offline).max() > 0
    np.testing.assert_allclose(streamed, offline, atol=1e-5, rtol=1e-5)


def test_only_streaming_models_join_the_contract():
    with pytest.raises(TypeError, match="not a streaming model"):
        contract.Streamer(jax.nn.relu)
    offline = LanguageModel(vocab_size=29, conv_channels=8, rnn_hidden=8, rnn_layers=1)
    feats = jnp.zeros((1, 8, 10))
    params = offline.init(jax.random.key(0), feats, jnp.array([8]))["params"]
    with pytest.raises(ValueError, match="bidirectional"):
        contract.Streamer(offline).init_state(params, 1)
    with pytest.raises(ValueError, match="not a multiple of the chunk size 4"):
        contract.to_chunks(feats[:, :6], 4)
