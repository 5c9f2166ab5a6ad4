"""LanguageModel shapes, causality, streaming == offline, seq_lengths, learnability; text prior."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs.stt_synth import get_config
from voxjax.models import CharNGramPrior, LanguageModel
from voxjax.models.contract import Streamer, from_chunks, scan_offline, to_chunks
import flax.linen as nn

from voxjax.models.layers import CausalConv1D, RNNLayer
from voxjax.text import CHARACTERS

V = 29


def tiny(streaming, cell="gru", **kw):
    """A very small model so tests compile and run in seconds."""
    args = dict(vocab_size=V, conv_channels=16, conv_layers=2, rnn_cell=cell, rnn_hidden=16,
                rnn_layers=2, bidirectional=True, dropout=0.1, streaming=streaming)
    args.update(kw)
    return LanguageModel(**args)


@pytest.mark.parametrize("streaming", [False, True])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_shapes_from_config(streaming, cell):
    cfg = get_config()
    cfg.model.streaming = streaming
    cfg.model.rnn_cell = cell
    model = LanguageModel.from_config(cfg.model, V)
    feats = jax.ShapeDtypeStruct((3, 501, 80), jnp.float32)
    lengths = jax.ShapeDtypeStruct((3,), jnp.int32)
    variables = jax.eval_shape(lambda f, n: model.init(jax.random.key(0), f, n), feats, lengths)
    (logits, out_len) = jax.eval_shape(lambda v, f, n: model.apply(v, f, n), variables, feats, lengths)
    assert logits.shape == (3, 126 * 2, V)  # ceil(501 / 4) RNN frames, 2 CTC slots each
    assert out_len.shape == (3,)
    rnn0 = variables["params"]["rnn_0"]
    assert ("backward" in rnn0) == (not streaming)  # streaming forces a unidirectional stack


def test_output_lengths_and_bad_cell():
    model = tiny(False)
    assert list(model.output_lengths(jnp.array([0, 1, 4, 5, 8, 9]))) == [0, 2, 2, 4, 4, 6]
    cfg = get_config()
    cfg.model.rnn_cell = "rnn"
    with pytest.raises(ValueError, match="rnn_cell"):
        LanguageModel.from_config(cfg.model, V)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_streaming_step_equals_offline(cell):
    model = tiny(True, cell)
    b, t, m = 2, 48, 12
    feats = jax.random.normal(jax.random.key(1), (b, t, m)) * 3 - 6
    lengths = jnp.full((b,), t)
    params = jax.jit(model.init)(jax.random.key(0), feats, lengths)
    offline, _ = jax.jit(model.apply)(params, feats, lengths)
    streamer = Streamer(model)
    step = jax.jit(streamer.step)
    for chunk in (4, 12, 48):
        state = streamer.init_state(params, b)
        outs = []
        for i in range(0, t, chunk):
            state, logits = step(params, state, feats[:, i:i + chunk])
            assert logits.shape == (b, chunk // 4 * model.ctc_upsample, V)
            outs.append(logits)
        np.testing.assert_allclose(np.concatenate(outs, 1), offline, atol=1e-5, rtol=1e-5)
        _, scanned = scan_offline(step, params, streamer.init_state(params, b),
                                  to_chunks(feats, chunk))
        np.testing.assert_allclose(from_chunks(scanned), offline, atol=1e-5, rtol=1e-5)


def test_causal_model_ignores_future_bidirectional_does_not():
    feats = jax.random.normal(jax.random.key(2), (1, 32, 8))
    later = feats.at[:, 16:].add(5.0)  # change input frames 16.. (outputs 4.. see them)
    lengths = jnp.array([32])
    for streaming in (True, False):
        model = tiny(streaming)
        params = model.init(jax.random.key(0), feats, lengths)
        both = jax.jit(jax.vmap(lambda f: model.apply(params, f, lengths)[0]))(
            jnp.stack([feats, later]))
        a, c = both[0], both[1]
        same = np.allclose(a[:, :4], c[:, :4], atol=1e-6)
        assert same == streaming


def test_bidirectional_rnn_respects_seq_lengths():
    layer = RNNLayer("gru", 8, bidirectional=True)
    x = jax.random.normal(jax.random.key(3), (2, 10, 4))
    garbage = x.at[0, 6:].set(100.0)  # sequence 0 has 6 valid frames, then junk padding
    lengths = jnp.array([6, 10])
    params = layer.init(jax.random.key(0), x, lengths)
    y = layer.apply(params, garbage, seq_lengths=lengths)
    y_alone = layer.apply(params, x[:1, :6])  # the same 6 frames with no padding at all
    np.testing.assert_allclose(y[0, :6], y_alone[0], atol=1e-5)


def test_init_state_and_step_need_streaming_model():
    feats, lengths = jnp.zeros((1, 8, 10)), jnp.array([8])
    offline = tiny(False)
    with pytest.raises(ValueError, match="streaming"):
        Streamer(offline).init_state(offline.init(jax.random.key(0), feats, lengths), 1)
    model = tiny(True, "lstm")
    state = Streamer(model).init_state(model.init(jax.random.key(0), feats, lengths), 3)
    assert state["conv"][0].shape == (3, 3, 10) and state["conv"][1].shape == (3, 3, 16)
    assert state["rnn"][0][0].shape == (3, 16)  # lstm carry (c, h)


def test_tiny_model_learns_ctc():
    model = tiny(False, rnn_layers=1, dropout=0.0)
    b, t, m = 4, 40, 8
    feats = jax.random.normal(jax.random.key(4), (b, t, m)) * 2 - 6
    lengths = jnp.array([40, 36, 32, 40])
    labels = jnp.array([[1, 2, 3, 0], [4, 5, 0, 0], [6, 6, 7, 0], [8, 9, 10, 11]])
    label_pad = (labels == 0).astype(jnp.float32)
    params = model.init(jax.random.key(0), feats, lengths)
    opt = optax.adam(1e-2)
    opt_state = opt.init(params)

    def loss_fn(p):
        logits, out_len = model.apply(p, feats, lengths, train=True,
                                      rngs={"dropout": jax.random.key(0)})
        pad = (jnp.arange(logits.shape[1])[None] >= out_len[:, None]).astype(jnp.float32)
        return optax.ctc_loss(logits, pad, labels, label_pad).mean()

    @jax.jit
    def update(p, s):
        loss, grads = jax.value_and_grad(loss_fn)(p)
        updates, s = opt.update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss

    first = None
    for _ in range(50):
        params, opt_state, loss = update(params, opt_state)
        first = float(loss) if first is None else first
    assert float(loss) < 0.3 * first, (first, float(loss))


# ----------------------------------------------------------------------------- text prior

TEXTS = ["the cat sat on the mat", "a cat and a hat", "the cat is black", "that cat ran"]


def test_prior_normalised_and_in_domain():
    prior = CharNGramPrior(order=4).fit(TEXTS)
    for ctx in ["", "the c", "zzq", "the cat sat on the mat"]:
        total = sum(math.exp(prior.log_prob(ctx, c)) for c in CHARACTERS)
        total += math.exp(prior.end_log_prob(ctx))
        assert abs(total - 1.0) < 1e-9
    assert prior.log_prob("the c", "a") > prior.log_prob("the c", "o") + 2
    assert prior.end_log_prob("the mat") > prior.end_log_prob("the m")
    assert prior.sentence_log_prob("the cat") > prior.sentence_log_prob("tho cqt")


def test_prior_fit_normalises_and_roundtrips(tmp_path):
    prior = CharNGramPrior(order=3).fit(["The CAT, 2 cats!"])  # -> "the cat two cats"
    assert prior.log_prob("tw", "o") > math.log(0.3)
    path = tmp_path / "prior" / "p.json"
    prior.save(path)
    loaded = CharNGramPrior.load(path)
    for ctx, c in [("", "t"), ("the ", "c"), ("xx", "q")]:
        assert loaded.log_prob(ctx, c) == pytest.approx(prior.log_prob(ctx, c))
    with pytest.raises(ValueError):
        CharNGramPrior().fit(["", "!!"])  # nothing speakable left after normalisation


class _GroupedConv(nn.Module):
    """What CausalConv1D ran before: flax's grouped conv, in a submodule named like its own."""

    dilation: int

    @nn.compact
    def __call__(self, x):
        return nn.Conv(12, (7,), kernel_dilation=(self.dilation,), feature_group_count=12,
                       padding="VALID", name="conv")(x)


@pytest.mark.parametrize("dilation,causal", [(1, True), (2, True), (1, False)])
def test_depthwise_conv_has_nn_conv_parameters_and_outputs(dilation, causal):
    # CausalConv1D computes depthwise convs as shifted sums (XLA's CPU grouped conv is slow);
    # it must keep nn.Conv's parameters (same tree and initial values: checkpoints and seeds
    # carry over) and compute the same function.
    x = jax.random.normal(jax.random.key(1), (2, 23, 12))
    conv, grouped = CausalConv1D(12, 7, dilation=dilation, groups=12, causal=causal), \
        _GroupedConv(dilation)
    params, ref_params = conv.init(jax.random.key(0), x), grouped.init(jax.random.key(0), x)
    jax.tree.map(np.testing.assert_array_equal, params, ref_params)
    params = jax.tree.map(lambda a: a + 0.1, params)  # a non-zero bias too
    y, _ = conv.apply(params, x)
    left = conv.context if causal else conv.context // 2
    padded = jnp.pad(x, ((0, 0), (left, conv.context - left), (0, 0)))
    np.testing.assert_allclose(y, grouped.apply(params, padded), atol=1e-5)
