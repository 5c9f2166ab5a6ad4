"""StreamingTranscriber: chunk validation, live session == scanned offline == model on features,
with the same text from the same frame-synchronous decoder (greedy and beam)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from voxjax import audio
from voxjax.decoding import ctc_greedy, ctc_prefix_beam_search
from voxjax.models import LanguageModel
from voxjax.streaming import StreamingTranscriber

BEAM = {"greedy": False, "beam_size": 4, "prior_weight": 0.0, "length_bonus": 0.0}

MEL = audio.MelConfig(n_mels=16)
CHUNK = 1280  # 80 ms at 16 kHz


def tiny(streaming):
    """Small causal (or bidirectional) model with random weights (big enough to vary argmax)."""
    return LanguageModel(vocab_size=29, conv_channels=16, rnn_hidden=16, rnn_layers=1,
                         streaming=streaming, bidirectional=True)


@pytest.fixture(scope="module")
def transcriber():
    model = tiny(True)
    params = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, 8, MEL.n_mels)), jnp.array([8]))
    return StreamingTranscriber(model, params, MEL, chunk_ms=80)


def wave(seconds=0.93, seed=0):
    """Noisy chirp-ish signal so the random model's argmax changes over time."""
    rng = np.random.default_rng(seed)
    n = int(seconds * MEL.sample_rate)
    t = np.arange(n) / MEL.sample_rate
    return (0.3 * np.sin(2 * np.pi * (200 + 900 * t) * t) * rng.uniform(0, 1, n)
            + 0.05 * rng.normal(size=n)).astype(np.float32)


def test_chunk_ms_validation_and_offline_model_rejected(transcriber):
    with pytest.raises(ValueError, match="multiple of 40 ms"):
        StreamingTranscriber(transcriber.model, transcriber.params, MEL, chunk_ms=100)
    with pytest.raises(ValueError, match="bidirectional"):
        StreamingTranscriber(tiny(False), transcriber.params, MEL, chunk_ms=80)
    assert transcriber.chunk_samples == CHUNK


def test_step_shapes(transcriber):
    params = transcriber.params
    state = transcriber.init_state(params, 2)
    x = jnp.asarray(np.stack([wave(0.08, 1), wave(0.08, 2)]))
    state, lp = transcriber.step(params, state, x)
    assert lp.shape == (2, 4, 29)  # 80 ms: 2 RNN frames x 2 CTC slots
    _, lp_bare = transcriber.step(params["params"], transcriber.init_state(params, 2), x)
    np.testing.assert_allclose(lp_bare, lp, atol=1e-6)
    np.testing.assert_allclose(np.exp(lp).sum(-1), 1.0, atol=1e-5)
    assert state["mel"].shape == (2, MEL.n_fft - MEL.hop_length)


@pytest.mark.parametrize("settings", [{"greedy": True}, BEAM], ids=["greedy", "beam"])
def test_session_equals_offline_for_random_chunking(transcriber, settings):
    tr = StreamingTranscriber(transcriber.model, transcriber.params, MEL, chunk_ms=80,
                              settings=settings)
    signal = wave()  # 14880 samples: not a multiple of the chunk, so finish() pads
    offline = tr.transcribe_offline(signal)
    # 93 feature frames -> ceil(93 / 4) = 24 RNN frames -> 48 CTC slots
    assert offline.log_probs.shape == (48, 29)
    reference = (ctc_greedy(offline.log_probs) if settings["greedy"]
                 else ctc_prefix_beam_search(offline.log_probs, beam_size=4))
    assert offline.ids == reference and len(offline.ids) > 2
    rng = np.random.default_rng(0)
    for blocks in ("chunk-multiples", "arbitrary"):
        session = tr.session()
        pos, texts = 0, []
        while pos < len(signal):
            size = int(rng.integers(1, 4)) * CHUNK if blocks == "chunk-multiples" \
                else int(rng.integers(1, 3000))
            texts.append(session.feed(signal[pos:pos + size]))
            assert texts[-1] == tr.tokenizer.decode(session.decoder.partial())
            pos += size
        final = session.finish()
        assert final == offline.text
        if settings["greedy"]:
            assert all(final.startswith(t) for t in texts)  # the greedy hypothesis only grows
        np.testing.assert_allclose(session.log_probs, offline.log_probs, atol=1e-5)


def test_session_text_follows_revised_hypotheses(transcriber):
    """The session decodes only the changed end of the hypothesis; a beam search can revise
    any part of it, so every text must still equal decoding the whole hypothesis."""
    session = transcriber.session()
    scripted = [[8, 5], [8, 5, 12, 12], [8, 5, 12, 15], [8, 9] + [3] * 20,
                [8, 9] + [3] * 19 + [4], [20, 8, 5], [], [1, 2, 3]]

    class Scripted:
        def partial(self):
            return list(hypothesis)

    session.decoder = Scripted()
    for hypothesis in scripted:
        assert session.text == transcriber.tokenizer.decode(hypothesis)


def test_scanned_step_equals_model_on_whole_features(transcriber):
    batch = np.stack([wave(0.64, 3), wave(0.64, 4)])  # 8 chunks each
    results = transcriber.transcribe_offline(batch)
    feats = audio.log_mel_jnp(jnp.asarray(batch), MEL)
    logits, lengths = transcriber.model.apply(transcriber.params, feats, jnp.array([64, 64]))
    assert list(lengths) == [32, 32]
    for b in range(2):
        np.testing.assert_allclose(results[b].log_probs, jax.nn.log_softmax(logits[b]),
                                   atol=1e-4)


def test_step_compiles_once_with_checkpoint_params(tiny_streaming_workdir):
    """Params restored from a checkpoint are committed to a device; the state must match."""
    from voxjax import inference, train
    _, task, params = inference.load_workdir(tiny_streaming_workdir)
    tr = StreamingTranscriber(task.model, params, task.mel, chunk_ms=160)
    state = tr.init_state(params, 1)
    for _ in range(3):
        state, _ = tr.step(params, state, np.zeros((1, tr.chunk_samples), np.float32))
    assert train.compile_count(tr.step) == 1
