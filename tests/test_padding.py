"""Padding invariance: the bucket or pad size a row lands in does not change its valid outputs.

Every model sees padded batches (buckets in training, few compiled shapes in inference), so a
row's outputs over its valid frames must not depend on how much padding follows them, nor on
what the padding holds (the garbage below is deliberately not zeros). Small random models, no
training.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from voxjax.models import LanguageModel
from voxjax.models.acoustic_model import AcousticModel
from voxjax.models.conv_decoder import HiFiGANDecoder, VocosDecoder

from test_acoustic_model import TINY  # tests/ is on sys.path under pytest (rootdir conftest)

N_MELS = 12


def _pad(x, size, seed, scale=5.0):
    """``x [1, T, ...]`` followed by ``size - T`` frames of random garbage."""
    extra = np.random.default_rng(seed).normal(size=(1, size - x.shape[1]) + x.shape[2:]) * scale
    return np.concatenate([x, extra.astype(x.dtype)], 1)


def _jitter(variables, seed=0, scale=0.1):
    """Init params plus noise: fresh biases are all zero, and an LSTM with zero biases, zero
    input and zero carry stays exactly zero, which would hide padding that leaks in."""
    leaves, tree = jax.tree.flatten(variables)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    return jax.tree.unflatten(tree, [x + scale * jax.random.normal(k, x.shape, x.dtype)
                                     for x, k in zip(leaves, keys)])


# ----------------------------------------------------------------------------- STT model

def _language_model(streaming):
    return LanguageModel(vocab_size=29, conv_channels=16, conv_layers=2, rnn_cell="gru",
                         rnn_hidden=16, rnn_layers=2, bidirectional=True, dropout=0.1,
                         streaming=streaming)


def _stt_log_probs(streaming, length, sizes):
    """Valid log-prob frames of one utterance of ``length`` frames padded to each size."""
    model = _language_model(streaming)
    feats = (np.random.default_rng(1).normal(size=(1, length, N_MELS)) * 3 - 6).astype(np.float32)
    params = _jitter(model.init(jax.random.key(0), jnp.zeros((1, 64, N_MELS)), jnp.array([64])))
    apply = jax.jit(model.apply)
    outs = []
    for size in sizes:
        logits, out_lengths = apply(params, jnp.asarray(_pad(feats, size, size)),
                                    jnp.array([length]))
        valid = int(out_lengths[0])
        assert valid == 2 * -(-length // 4)  # ceil(length / 4) RNN frames, 2 CTC slots each
        outs.append(np.asarray(jax.nn.log_softmax(logits[0, :valid])))
    return outs


@pytest.mark.parametrize("streaming,length,sizes", [
    (False, 37, (48, 64)),
    (False, 37, (40, 64)),
    (False, 36, (36, 64)),
    (True, 37, (40, 48, 64)),
    (True, 36, (36, 64)),
    (True, 37, (37, 64)),
], ids=["bidirectional", "bidirectional-tight-bucket", "bidirectional-unpadded", "streaming",
        "streaming-unpadded", "streaming-unpadded-partial-frame"])
def test_stt_valid_frames_do_not_depend_on_the_bucket(streaming, length, sizes):
    # One utterance in buckets of several sizes (or none: a row that fills its bucket).
    first, *others = _stt_log_probs(streaming, length, sizes)
    for other in others:
        np.testing.assert_allclose(other, first, atol=1e-5)


# ----------------------------------------------------------------------------- TTS model

@pytest.fixture(scope="module")
def acoustic():
    model = AcousticModel(**TINY)
    variables = _jitter(model.init(jax.random.key(0), jnp.zeros((1, 8), jnp.int32),
                                   jnp.array([8]), jnp.array([0]), jnp.zeros((1, 24, 8)),
                                   jnp.array([24])))
    return model, jax.jit(model.apply), variables


def _teacher_forced(acoustic, token_pad, frame_pad, tokens=5, frames=18):
    model, apply, variables = acoustic
    rng, garbage = np.random.default_rng(0), np.random.default_rng(token_pad)
    ids = np.zeros((1, token_pad), np.int32)
    ids[0, :tokens] = rng.integers(1, 12, size=tokens)
    ids[0, tokens:] = garbage.integers(1, 12, size=token_pad - tokens)  # not the pad id
    mel = _pad((rng.normal(size=(1, frames, 8)) - 8.0).astype(np.float32), frame_pad, frame_pad)
    out = apply(variables, jnp.asarray(ids), jnp.array([tokens]), jnp.array([1]),
                jnp.asarray(mel), jnp.array([frames]))
    return {"mel": np.asarray(out["mel"][0, :frames]),
            "mel_postnet": np.asarray(out["mel_postnet"][0, :frames]),
            "log_attn": np.asarray(out["log_attn"][0, :frames, :tokens]),
            "durations": np.asarray(out["durations"][0, :tokens]),
            "log_durations": np.asarray(out["log_durations"][0, :tokens])}


def test_tts_teacher_forced_outputs_do_not_depend_on_token_or_frame_padding(acoustic):
    first = _teacher_forced(acoustic, 8, 24)
    assert first["durations"].sum() == 18
    for token_pad, frame_pad in [(6, 20), (16, 40)]:
        other = _teacher_forced(acoustic, token_pad, frame_pad)
        for key, value in first.items():
            np.testing.assert_allclose(other[key], value, atol=1e-5, err_msg=key)


def test_tts_unpadded_tokens_equal_the_padded_ones(acoustic):
    exact, padded = _teacher_forced(acoustic, 5, 18), _teacher_forced(acoustic, 8, 24)
    np.testing.assert_allclose(exact["log_durations"], padded["log_durations"], atol=1e-5)


# ----------------------------------------------------------------------------- conv decoder

DECODERS = {
    "vocos": dict(cls=VocosDecoder, dim=16, intermediate=24, layers=2, kernel_size=5, overlap=4),
    "hifigan": dict(cls=HiFiGANDecoder, channels=16, upsample_rates=(8, 5, 4),
                    resblock_kernels=(3,), resblock_dilations=(1, 3)),
}


@pytest.mark.parametrize("family", sorted(DECODERS))
def test_decoder_output_ignores_frames_appended_after_it(family):
    kwargs = dict(DECODERS[family])
    cls = kwargs.pop("cls")
    frames, hop = 13, 160
    mel = (np.random.default_rng(0).normal(size=(1, frames, 8)) - 8).astype(np.float32)
    for causal in (True, False):
        model = cls(n_mels=8, hop_length=hop, causal=causal, **kwargs)
        params = _jitter(model.init(jax.random.key(0), jnp.zeros((1, 4, 8))))
        apply = jax.jit(model.apply)
        alone = np.asarray(apply(params, jnp.asarray(mel)))
        assert alone.shape == (1, frames * hop)
        for extra in ((1, 27) if causal else (27,)):
            padded = np.asarray(apply(params, jnp.asarray(_pad(mel, frames + extra, extra))))
            assert padded.shape == (1, (frames + extra) * hop)
            same = np.allclose(padded[:, :frames * hop], alone, atol=1e-6)
            # A causal decoder cannot see the frames after; the centred (offline-only) one
            # does, which shows the comparison is sharp enough to notice.
            assert same == causal, (family, causal, extra)
