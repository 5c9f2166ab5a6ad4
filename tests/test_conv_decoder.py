"""Conv decoder: streaming == offline, causality, iSTFT, crops and their alignment, GAN gradient
routing, synthesis shapes, and a tiny decoder that learns through the real trainer."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from voxjax import audio
from voxjax import config as config_lib
from voxjax.data import manifest, segments
from voxjax.models import spectral_losses
from voxjax.models.conv_decoder import (ConvDecoder, HiFiGANDecoder, VocosDecoder,
                                        overlap_add)
from voxjax.tasks import decoder as decoder_task

N_MELS, HOP = 16, 160


def tiny_model(family, causal=True):
    """Very small decoders with random weights (dims only matter for speed here)."""
    if family == "vocos":
        return VocosDecoder(n_mels=N_MELS, hop_length=HOP, dim=16, intermediate=32, layers=2,
                            kernel_size=5, causal=causal)
    return HiFiGANDecoder(n_mels=N_MELS, hop_length=HOP, channels=16, upsample_rates=(8, 5, 4),
                          resblock_kernels=(3,), resblock_dilations=(1, 3), causal=causal)


def random_mel(batch, frames, seed=0):
    return jnp.asarray(np.random.default_rng(seed).normal(-8.0, 3.0, (batch, frames, N_MELS)),
                       jnp.float32)


@pytest.mark.parametrize("family", ["vocos", "hifigan"])
def test_streamed_chunks_equal_offline_and_the_past_ignores_the_future(family):
    model = tiny_model(family)
    mel = random_mel(2, 41)
    variables = jax.jit(model.init)(jax.random.key(0), mel[:, :4])
    apply = jax.jit(model.apply)
    offline = np.asarray(apply(variables, mel))
    assert offline.shape == (2, 41 * HOP) and np.std(offline) > 1e-4

    step = jax.jit(lambda v, s, c: model.apply(v, s, c, method=ConvDecoder.step))
    rng = np.random.default_rng(1)
    state, pieces, t = model.init_state(2), [], 0
    while t < mel.shape[1]:
        size = min(int(rng.choice([1, 2, 3, 7])), mel.shape[1] - t)  # few sizes: few compiles
        state, wave = step(variables, state, mel[:, t:t + size])
        pieces.append(np.asarray(wave))
        t += size
    assert len(pieces) > 8
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), offline, atol=1e-5)

    # Causal: changing frames >= 30 leaves output samples before 30 * hop untouched.
    changed = mel.at[:, 30:].set(0.0)
    other = np.asarray(apply(variables, changed))
    np.testing.assert_allclose(other[:, :30 * HOP], offline[:, :30 * HOP], atol=1e-5)
    assert np.max(np.abs(other[:, 30 * HOP:] - offline[:, 30 * HOP:])) > 1e-4


@pytest.mark.parametrize("family", ["vocos", "hifigan"])
def test_non_causal_decoder_runs_offline_but_refuses_to_stream(family):
    model = tiny_model(family, causal=False)
    mel = random_mel(1, 12)
    variables = jax.eval_shape(model.init, jax.random.key(0), mel)
    assert jax.eval_shape(model.apply, variables, mel).shape == (1, 12 * HOP)
    with pytest.raises(ValueError, match="non-causal .* cannot stream"):
        model.init_state(1)
    with pytest.raises(ValueError, match="cannot stream"):
        model.apply(variables, None, mel, method=ConvDecoder.step)


def test_from_config_picks_the_family_and_checks_it():
    config = config_lib.load("decoder_synth")
    mel_cfg = audio.MelConfig.from_config(config.data)
    assert isinstance(ConvDecoder.from_config(config.model, mel_cfg), VocosDecoder)
    config.model.family = "hifigan"
    hifigan = ConvDecoder.from_config(config.model, mel_cfg)
    assert isinstance(hifigan, HiFiGANDecoder) and hifigan.latency_samples == 120
    config.model.upsample_rates = (8, 5, 5)
    with pytest.raises(ValueError, match="multiply to 200, not the hop 160"):
        jax.eval_shape(ConvDecoder.from_config(config.model, mel_cfg).init,
                       jax.random.key(0), jnp.zeros((1, 4, 80)))
    config.model.family = "wavenet"
    with pytest.raises(ValueError, match="model.family must be one of vocos, hifigan"):
        ConvDecoder.from_config(config.model, mel_cfg)


def test_istft_of_analysis_centred_frames_gives_the_input_back_at_latency_samples():
    """An oracle head (each frame's spectrum = the input's, centred where the mel frame's
    analysis window is centred) must make the iSTFT return the input delayed by exactly
    ``latency_samples``; that is what the latency means, so it is checked, not restated."""
    model = VocosDecoder(hop_length=HOP, overlap=4)
    n, n_fft, frames = model.synthesis_fft, audio.MelConfig().n_fft, 30
    mel_cfg = audio.MelConfig()
    # Where is mel frame t centred? Measured: the impulse position that peaks in frame 10.
    energy = [audio.log_mel(np.eye(1, 30 * HOP, k)[0].astype(np.float32), mel_cfg)[10].max()
              for k in range(11 * HOP - n_fft, 11 * HOP)]
    centre_10 = 11 * HOP - n_fft + int(np.argmax(energy))  # 1560 = frame 10's window centre
    signal = np.random.default_rng(0).normal(size=(1, (frames + 8) * HOP)).astype(np.float32)
    lead = n  # the signal starts at index -lead of `padded`, so early frames are in range
    padded = np.pad(signal, ((0, 0), (lead, 0)))
    starts = [lead + centre_10 + (t - 10) * HOP - n // 2 for t in range(frames)]
    segments_ = np.stack([padded[:, a:a + n] for a in starts], axis=1)
    spectrum = np.fft.rfft(segments_ * np.hanning(n + 1)[:-1], axis=-1)  # numpy's own Hann
    segments_ = np.fft.irfft(spectrum, n=n, axis=-1) * model._synthesis_window()
    # In three calls, carrying the tail, to exercise the streaming path too.
    out, tail = [], None
    for lo, hi in ((0, 7), (7, 8), (8, 30)):
        wave, tail = overlap_add(jnp.asarray(segments_[:, lo:hi]), HOP, tail)
        out.append(np.asarray(wave))
    out = np.concatenate(out, axis=1)
    steady = (model.overlap - 1) * HOP  # earlier samples miss frames before t = 0
    latency = model.latency_samples
    assert latency == 360  # 22.5 ms, the figure the docs quote
    np.testing.assert_allclose(out[:, steady:], signal[:, steady - latency:frames * HOP - latency],
                               atol=1e-4)
    for wrong in (latency - 1, latency + 1):  # one sample off is visibly wrong
        assert np.abs(out[:, steady:] - signal[:, steady - wrong:frames * HOP - wrong]).max() > 0.1


def test_losses_and_their_gradients_stay_finite_on_silence():
    mel_cfg = audio.MelConfig()
    zeros = jnp.zeros((2, 32 * HOP))
    weights = jnp.array([1.0, 0.0])

    def total(pred):
        terms = spectral_losses.reconstruction_losses(pred, zeros, weights, mel_cfg)
        return sum(terms.values())

    value, grad = jax.jit(jax.value_and_grad(total))(zeros)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    noise = jax.random.normal(jax.random.key(0), zeros.shape) * 0.1
    terms = jax.jit(lambda x: spectral_losses.reconstruction_losses(x, x, weights, mel_cfg))(noise)
    assert all(float(v) < 1e-3 for v in terms.values()), terms


# ----------------------------------------------------------------------------- data


def _tiny_config(corpus, **overrides):
    config = config_lib.load("decoder_synth", "tiny")
    config.data.root = corpus
    for key, value in overrides.items():
        section, leaf = key.split(".")
        config[section][leaf] = value
    return config


def _take(iterator, n):
    return [next(iterator) for _ in range(n)]


def test_train_crops_are_deterministic_resumable_and_aligned_with_the_latency(tiny_corpus):
    config = _tiny_config(tiny_corpus)
    utts = manifest.load_manifest("synth", tiny_corpus, "train")
    latency = 360
    first = segments.train_iterator(config, utts, latency)
    batches = _take(first, 3)
    state = first.get_state()
    after = _take(first, 2)
    b = batches[0]
    s, hop = config.data.segment_frames, HOP
    assert b["mel"].shape == (8, s, 80) and b["wave"].shape == (8, s * hop)
    assert np.all(b["weights"] == 1.0)

    again = segments.train_iterator(config, utts, latency)  # same seed: same crops
    for x, y in zip(batches, _take(again, 3)):
        for key in x:
            np.testing.assert_array_equal(x[key], y[key])
    resumed = segments.train_iterator(config, utts, latency)
    resumed.set_state(state)
    for x, y in zip(after, _take(resumed, 2)):
        np.testing.assert_array_equal(x["wave"], y["wave"])
    assert not np.array_equal(batches[0]["mel"], batches[1]["mel"])
    for it in (first, again, resumed):
        it.close()

    # Each row: some crop of an utterance's own log-mel, with wave[j] = audio[a*hop - L + j].
    mel_cfg = audio.MelConfig.from_config(config.data)
    wanted = {u.path: audio.load_audio(u.path, 16000) for u in utts}
    found = 0
    for row in range(4):
        for path, wave in wanted.items():
            full = audio.log_mel(wave, mel_cfg)
            starts = [a for a in range(len(full) - s + 1)
                      if np.allclose(full[a:a + s], b["mel"][row], atol=1e-5)]
            if starts:
                a = starts[0]
                delayed = np.concatenate([np.zeros(latency, np.float32), wave])
                np.testing.assert_array_equal(b["wave"][row], delayed[a * hop:(a + s) * hop])
                found += 1
                break
    assert found == 4


def test_eval_crops_cover_each_utterance_once_with_padding_rows(tiny_corpus):
    config = _tiny_config(tiny_corpus)
    utts = manifest.load_manifest("synth", tiny_corpus, "valid")
    it = segments.eval_iterator(config, utts, 120, batch_size=3)
    batches = list(it)
    it.close()
    index = np.concatenate([b["index"] for b in batches])
    assert sorted(index[index >= 0].tolist()) == list(range(len(utts)))
    weights = np.concatenate([b["weights"] for b in batches])
    np.testing.assert_array_equal(weights, (index >= 0).astype(np.float32))
    assert {b["mel"].shape[1] for b in batches} == {config.data.eval_segment_frames}


# ----------------------------------------------------------------------------- task


def test_gan_terms_route_gradients_to_their_own_player():
    config = config_lib.load("decoder_synth", "tiny")
    config.gan.enabled = True
    config.gan.resolutions = ((256, 64, 256),)  # one MRD resolution: a smaller compile
    task = decoder_task.make_task(config)
    rng = np.random.default_rng(0)
    batch = {"mel": rng.normal(-8, 3, (2, 16, 80)).astype(np.float32),
             "wave": (0.1 * rng.normal(size=(2, 16 * HOP))).astype(np.float32),
             "weights": np.ones(2, np.float32)}
    params = task.init(jax.random.key(0), batch)
    assert set(params) == {"generator", "discriminator"}

    def terms(p):
        loss, metrics = task.loss(p, batch, jax.random.key(1))
        return {**metrics, "loss": loss}

    # One compile: the gradient of every term at once (a vmapped backward pass).
    grads = jax.jit(jax.jacrev(terms))(params)

    def norm(tree):
        return float(sum(jnp.sum(jnp.abs(x)) for x in jax.tree.leaves(tree)))

    disc = grads["gan_discriminator"]
    assert norm(disc["generator"]) == 0.0 and norm(disc["discriminator"]) > 0.0
    for name in ("gan_generator", "gan_feature", "mel_l1", "stft_sc", "stft_mag"):
        assert norm(grads[name]["discriminator"]) == 0.0, name
        assert norm(grads[name]["generator"]) > 0.0, name
    # So the one optimizer's gradient for the discriminator is its own loss's gradient.
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-9),
                 grads["loss"]["discriminator"], disc["discriminator"])


def test_synthesize_crops_to_the_input_length_and_compiles_once(tiny_corpus):
    task = decoder_task.make_task(_tiny_config(tiny_corpus))
    mel = np.random.default_rng(0).normal(-8, 3, (37, 80)).astype(np.float32)
    params = task.init(jax.random.key(0), {"mel": mel[None], "wave": np.zeros((1, 37 * HOP))})
    a = task.synthesize(params, mel)
    b = task.synthesize(params["generator"], mel)  # bare generator params work too
    c = task.synthesize(params, np.concatenate([mel, mel[:13]]))
    assert a.shape == (37 * HOP,) and c.shape == (50 * HOP,)
    np.testing.assert_allclose(a, b, atol=1e-6)
    # Causal and latency-corrected: samples before 37 * hop - latency only see the first 37 frames.
    early = 37 * HOP - task.model.latency_samples
    np.testing.assert_allclose(c[:early], a[:early], atol=1e-5)
    assert np.max(np.abs(c[early:37 * HOP] - a[early:])) > 1e-6
    assert task._synth._cache_size() == 1  # 37 and 50 frames both pad to 100


def test_tiny_decoder_learns_through_the_trainer(tiny_corpus, tmp_path):
    from voxjax import train
    config = _tiny_config(tiny_corpus)
    config.train.steps, config.train.log_every, config.train.eval_every = 60, 10, 60
    result = train.train_and_evaluate(config, str(tmp_path))
    with open(os.path.join(str(tmp_path), "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    train_rows = [r for r in rows if r["split"] == "train"]
    mel_l1 = [r["mel_l1"] for r in train_rows]
    assert len(mel_l1) == 6 and np.all(np.isfinite(mel_l1))
    assert mel_l1[-1] < 0.8 * mel_l1[0], mel_l1  # measured ~0.62 (4.43 -> 2.76)
    assert {r["compiles"] for r in train_rows} == {1}  # one crop shape, one executable
    evals = [r for r in rows if r["split"] == config.data.eval_split]
    assert evals and evals[-1]["utterances"] > 0 and np.isfinite(result["mel_l1"])
    assert os.path.isdir(os.path.join(str(tmp_path), "tensorboard"))
