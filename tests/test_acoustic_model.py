"""Acoustic model pieces: alignment search, forward-sum loss, length regulation, streaming."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from voxjax.models import acoustic_model, alignment
from voxjax.models.acoustic_model import AcousticModel
from voxjax.models.contract import Streamer, from_chunks, scan_offline, to_chunks


def _best_path_brute_force(log_attn, frames, tokens):
    """Highest-scoring monotonic path that gives every token >= 1 frame, by enumeration."""
    best = None
    for cuts in itertools.combinations(range(1, frames), tokens - 1):
        bounds = [0, *cuts, frames]
        path = np.concatenate([[n] * (bounds[n + 1] - bounds[n]) for n in range(tokens)])
        score = log_attn[np.arange(frames), path].sum()
        if best is None or score > best[0]:
            best = (score, path)
    return best[1]


def test_monotonic_alignment_search_finds_the_best_path():
    rng = np.random.default_rng(0)
    log_attn = jax.nn.log_softmax(jnp.asarray(rng.normal(size=(4, 11, 5)), jnp.float32), -1)
    frames, tokens = np.array([11, 9, 7, 5]), np.array([5, 3, 5, 5])
    hard = np.asarray(alignment.monotonic_alignment_search(log_attn, frames, tokens))
    for i in range(4):
        expected = _best_path_brute_force(np.asarray(log_attn[i]), frames[i], tokens[i])
        np.testing.assert_array_equal(hard[i, : frames[i]].argmax(-1), expected)
        assert hard[i, : frames[i]].sum(-1).tolist() == [1.0] * frames[i]  # one token a frame
        assert hard[i, frames[i]:].sum() == 0  # padding frames belong to no token
    durations = np.asarray(alignment.durations_from_alignment(hard))
    assert durations.sum(1).tolist() == frames.tolist()
    assert all((durations[i, : tokens[i]] >= 1).all() for i in range(4))


def test_forward_sum_loss_prefers_the_diagonal():
    frames, tokens = 12, 4
    diagonal = np.full((1, frames, tokens), -8.0, np.float32)
    for t in range(frames):
        diagonal[0, t, t * tokens // frames] = 0.0
    reversed_ = diagonal[:, :, ::-1].copy()
    loss = lambda a: float(alignment.forward_sum_loss(  # noqa: E731
        jax.nn.log_softmax(jnp.asarray(a), -1), jnp.array([frames]), jnp.array([tokens]))[0])
    assert loss(diagonal) < loss(reversed_) - 5.0


def test_beta_binomial_prior_peaks_on_the_diagonal():
    prior = np.asarray(alignment.beta_binomial_log_prior(jnp.array([20]), jnp.array([5]), 24, 8))
    peaks = prior[0, :20, :5].argmax(-1)
    assert peaks[0] == 0 and peaks[-1] == 4 and (np.diff(peaks) >= 0).all()
    assert (prior[0, 20:] < -1e8).all() and (prior[0, :, 5:] < -1e8).all()


def test_regulate_length_repeats_each_token_for_its_duration():
    h = jnp.arange(3, dtype=jnp.float32)[None, :, None] * jnp.ones((1, 3, 2))
    frames, mask = acoustic_model.regulate_length(h, jnp.array([[2, 0, 3]]), 8)
    np.testing.assert_array_equal(np.asarray(frames[0, :5, 0]), [0, 0, 2, 2, 2])
    np.testing.assert_array_equal(np.asarray(mask[0]), [1] * 5 + [0] * 3)
    np.testing.assert_allclose(np.asarray(frames[0, :5, 2]), [0.25, 0.75, 1 / 6, 0.5, 5 / 6])
    assert float(jnp.abs(frames[0, 5:]).sum()) == 0.0


# A model small enough to compile in seconds (also used by tests/test_padding.py).
TINY = dict(vocab_size=12, num_speakers=3, n_mels=8, embed_dim=16, conv_layers=1,
            encoder_hidden=8, speaker_dim=4, duration_channels=8, prenet_dim=8,
            decoder_hidden=16, decoder_layers=2, reduction=2, postnet_channels=8,
            postnet_layers=3, postnet_kernel=3)


@pytest.fixture(scope="module")
def tiny_model():
    model = AcousticModel(**TINY)
    rng = np.random.default_rng(0)
    tokens = jnp.asarray(rng.integers(1, 12, size=(2, 6)), jnp.int32)
    mel = jnp.asarray(rng.normal(size=(2, 20, 8)) - 8.0, jnp.float32)
    variables = model.init(jax.random.key(0), tokens, jnp.array([6, 4]), jnp.array([0, 2]), mel,
                           jnp.array([20, 14]))
    return model, variables, tokens


def test_teacher_forced_outputs_are_consistent(tiny_model):
    model, variables, tokens = tiny_model
    mel = jnp.full((2, 20, 8), -8.0)
    out = model.apply(variables, tokens, jnp.array([6, 4]), jnp.array([0, 2]), mel,
                      jnp.array([20, 14]))
    assert out["mel"].shape == out["mel_postnet"].shape == (2, 20, 8)
    assert out["log_attn"].shape == (2, 20, 6)
    assert np.asarray(out["durations"]).sum(1).tolist() == [20, 14]
    assert np.isfinite(np.asarray(out["mel_postnet"])).all()


@pytest.mark.parametrize("inference_dropout", [False, True])
def test_streaming_generation_equals_offline(tiny_model, inference_dropout):
    model, variables, tokens = tiny_model
    model = model.clone(inference_prenet_dropout=inference_dropout)
    lengths, speakers = jnp.array([6, 4]), jnp.array([1, 0])
    mel, mask, durations = generate(model, variables, tokens, lengths, speakers, 24)
    h, _ = model.apply(variables, tokens, lengths, speakers, method="encode_for_synthesis")
    conditioning, _ = acoustic_model.regulate_length(h, durations, 24)
    streamer = Streamer(model)
    state, chunks = streamer.init_state(variables, 2), []
    for start, stop in [(0, 2), (2, 8), (8, 10), (10, 24)]:  # uneven chunks, multiples of r
        state, chunk = streamer.step(variables, state, conditioning[:, start:stop])
        chunks.append(chunk)
    np.testing.assert_allclose(np.concatenate(chunks, 1), np.asarray(mel), atol=1e-5)
    expected_frames = np.minimum(np.asarray(durations).sum(1), 24)
    assert np.asarray(mask).sum(1).tolist() == expected_frames.tolist()


def generate(model, variables, tokens, lengths, speakers, num_frames, chunk=4):
    """Offline synthesis through the contract: regulated text frames, the step under scan."""
    h, durations = model.apply(variables, tokens, lengths, speakers,
                               method="encode_for_synthesis")
    conditioning, mask = acoustic_model.regulate_length(h, durations, num_frames)
    streamer = Streamer(model)
    _, mel = scan_offline(streamer.step, variables, streamer.init_state(variables, len(tokens)),
                          to_chunks(conditioning, chunk))
    return from_chunks(mel), mask, durations


def test_inference_prenet_dropout_is_seeded_and_changes_the_output(tiny_model):
    model, variables, tokens = tiny_model
    args = (variables, tokens, jnp.array([6, 4]), jnp.array([1, 0]), 24)
    plain = np.asarray(generate(model, *args)[0])
    sampled = model.clone(inference_prenet_dropout=True)
    first = np.asarray(generate(sampled, *args)[0])
    again = np.asarray(generate(sampled, *args)[0])
    other_seed = np.asarray(generate(sampled.clone(sampling_seed=1), *args)[0])
    np.testing.assert_array_equal(first, again)  # same seed, same masks
    assert np.abs(first - plain).max() > 1e-3
    assert np.abs(first - other_seed).max() > 1e-3


def test_pace_scales_predicted_durations(tiny_model):
    model = tiny_model[0]
    log_durations = jnp.log1p(jnp.array([[4.0, 0.2, 10.0, 3.0]]))
    lengths = jnp.array([3])
    assert model.predict_durations(log_durations, lengths).tolist() == [[4, 1, 10, 0]]
    assert model.predict_durations(log_durations, lengths, 1.5).tolist() == [[6, 1, 15, 0]]
