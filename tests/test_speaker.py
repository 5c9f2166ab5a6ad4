"""Speaker model and task: padding-free embeddings, a tiny model that learns three eSpeak voices
and names them on sentences it never heard, and clear errors for unusable references."""
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from voxjax import audio, config as config_lib
from voxjax.corpus import get_espeak
from voxjax.data import augment, manifest
from voxjax.models.speaker_model import SpeakerModel
from voxjax.tasks import speaker as speaker_task_lib

VOICES = ("en-us+m3", "en+f2", "en-gb-x-rp+croak")
TRAIN_SENTENCES = ("The cat sat on the mat.", "Please call me back tomorrow.",
                   "Seven green apples fell down.", "We walked along the river bank.",
                   "It is raining again today.")
HELD_OUT = ("Where did you put my keys?", "Music makes the long drive short.")


def tiny_task():
    config = config_lib.load("speaker_synth", "tiny")
    config.data.speakers = VOICES  # the table comes with the config: no corpus needed
    return speaker_task_lib.make_task(config)


def speak(sentence, voice):
    wave, rate = get_espeak().synthesize(sentence, voice, 175, 50, seed=0)
    return wave, rate


def test_embedding_does_not_depend_on_padding():
    model = SpeakerModel(num_speakers=3, channels=16, embed_dim=8)
    feats = jax.random.normal(jax.random.key(0), (1, 120, 80)) * 3 - 8
    params = model.init(jax.random.key(1), feats, jnp.array([120]))
    short, _ = model.apply(params, feats, jnp.array([120]))
    padded = jnp.concatenate([feats, jnp.full((1, 80, 80), 5.0)], axis=1)  # junk past the end
    long, _ = model.apply(params, padded, jnp.array([120]))
    np.testing.assert_allclose(long, short, atol=1e-5)


def test_tiny_speaker_model_learns_voices_and_names_unheard_sentences():
    task = tiny_task()
    mel = task.mel
    feats, speakers = [], []
    for s, voice in enumerate(VOICES):
        for sentence in TRAIN_SENTENCES:
            wave, rate = speak(sentence, voice)
            feats.append(audio.log_mel(audio.prepare_wave(wave, rate, mel.sample_rate), mel))
            speakers.append(s)
    width = max(len(f) for f in feats)
    batch = {"features": np.stack([np.pad(f, ((0, width - len(f)), (0, 0)),
                                          constant_values=np.log(audio.LOG_FLOOR))
                                   for f in feats]).astype(np.float32),
             "feature_lengths": np.array([len(f) for f in feats], np.int32),
             "speaker": np.array(speakers, np.int32),
             "weights": np.ones(len(feats), np.float32)}
    batch = jax.tree.map(jnp.asarray, batch)
    params = task.init(jax.random.key(0), batch)
    optimizer = optax.adam(3e-3)

    @jax.jit
    def update(params, opt_state):
        (loss, metrics), grads = jax.value_and_grad(task.loss, has_aux=True)(
            params, batch, jax.random.key(0))
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, metrics

    opt_state = optimizer.init(params)
    _, first = task.loss(params, batch, jax.random.key(0))
    for _ in range(60):
        params, opt_state, metrics = update(params, opt_state)
    assert float(metrics["am_softmax"]) < 0.5 * float(first["am_softmax"])
    assert float(metrics["accuracy"]) == 1.0

    embeddings = {}
    for voice in VOICES:
        for sentence in HELD_OUT:
            embedding = task.embed(params, *speak(sentence, voice))
            name, cosines = task.identify(params, embedding)
            assert name == voice, (voice, sentence, cosines)
            embeddings[voice, sentence] = embedding
    same = [embeddings[v, HELD_OUT[0]] @ embeddings[v, HELD_OUT[1]] for v in VOICES]
    other = [embeddings[a, HELD_OUT[0]] @ embeddings[b, HELD_OUT[1]]
             for a in VOICES for b in VOICES if a != b]
    assert min(same) > max(other)


def test_unusable_reference_recordings_are_refused():
    task = tiny_task()
    params = task.init(jax.random.key(0), {"features": np.zeros((1, 50, 80), np.float32),
                                           "feature_lengths": np.array([50], np.int32)})
    with pytest.raises(ValueError, match="0.50 s long; the speaker model needs at least 1 s"):
        task.embed(params, np.random.default_rng(0).normal(0, 0.1, 8000), 16000)
    with pytest.raises(audio.AudioError, match="reference recording is silent"):
        task.embed(params, np.zeros(32000, np.float32), 16000)
    with pytest.raises(audio.AudioError, match="reference recording contains NaN"):
        task.embed(params, np.full(32000, np.nan, np.float32), 16000)


def _windowed_task_and_batch(seed, **augment_masks):
    """A tiny speaker task training on 60-frame windows (+ SpecAugment masks if given), its
    initial parameters, and a random batch of four rows of 200, 150, 90 and 40 frames."""
    config = config_lib.load("speaker_synth", "tiny")
    config.data.speakers = VOICES
    config.data.train_crop_frames = 60
    if augment_masks:
        config.data.augment = augment_masks
    task = speaker_task_lib.make_task(config)
    rng = np.random.default_rng(seed)
    batch = {"features": rng.normal(-8, 3, (4, 200, 80)).astype(np.float32),
             "feature_lengths": np.array([200, 150, 90, 40], np.int32),
             "speaker": np.array([0, 1, 2, 0], np.int32), "weights": np.ones(4, np.float32)}
    return config, task, task.init(jax.random.key(0), batch), batch


def test_training_embeds_a_random_window_and_evaluation_the_whole_utterance():
    """With data.train_crop_frames the training loss is the loss of the rows' windows (the
    same rng draws the same windows), evaluation's is the whole utterances', and a negative
    window is a config error."""
    config, task, params, batch = _windowed_task_and_batch(0)
    key = jax.random.key(3)
    windows, lengths = augment.random_crop(key, jnp.asarray(batch["features"]),
                                           batch["feature_lengths"], 60)
    cropped = {**batch, "features": windows, "feature_lengths": lengths}
    trained, _ = task.loss(params, batch, key)
    np.testing.assert_allclose(trained, task.loss(params, cropped, key, train=False)[0],
                               rtol=1e-5)
    whole, _ = task.loss(params, batch, key, train=False)
    assert abs(float(whole) - float(trained)) > 1e-3
    # Throughput counts the frames trained on: 60 + 60 + 60 + 40 at 10 ms.
    assert task.batch_audio_seconds(batch) == pytest.approx(2.2)
    config.data.train_crop_frames = -1
    with pytest.raises(ValueError, match="data.train_crop_frames must be >= 0"):
        speaker_task_lib.make_task(config)


def test_spec_augment_masks_the_training_windows_only():
    """With data.augment masks the training loss is the loss of the masked windows (crop with
    the step's rng, masks with fold_in(rng, 1)); evaluation sees the rows unmasked."""
    _, task, params, batch = _windowed_task_and_batch(1, freq_masks=2, freq_width=20,
                                                      time_masks=1, time_width=10)
    key = jax.random.key(5)
    windows, lengths = augment.random_crop(key, jnp.asarray(batch["features"]),
                                           batch["feature_lengths"], 60)
    masked = augment.spec_augment(jax.random.fold_in(key, 1), windows, lengths, freq_masks=2,
                                  freq_width=20, time_masks=1, time_width=10)
    assert np.mean(np.asarray(masked) != np.asarray(windows)) > 0.05  # the masks cover cells
    trained, _ = task.loss(params, batch, key)
    np.testing.assert_allclose(
        trained, task.loss(params, {**batch, "features": masked, "feature_lengths": lengths},
                           key, train=False)[0], rtol=1e-5)
    unmasked, _ = task.loss(params, {**batch, "features": windows, "feature_lengths": lengths},
                            key, train=False)
    assert abs(float(unmasked) - float(trained)) > 1e-4


def test_equal_error_rate_is_where_false_accepts_meet_false_rejects():
    from voxjax.evaluation.speaker import equal_error_rate, pair_scores
    rng = np.random.default_rng(0)
    scores = np.r_[rng.normal(1, 1, 20000), rng.normal(-1, 1, 20000)]
    same = np.r_[np.ones(20000, bool), np.zeros(20000, bool)]
    assert abs(equal_error_rate(scores, same) - 0.1587) < 0.01  # Phi(-1) for unit-variance
    separated = np.r_[np.ones(5, bool), np.zeros(5, bool)]
    assert equal_error_rate(separated.astype(float), separated) == 0.0
    unit = np.eye(3)[[0, 0, 1]]
    scores, same = pair_scores(unit, ["a", "a", "b"])
    assert scores.tolist() == [1.0, 0.0, 0.0] and same.tolist() == [True, False, False]
    with pytest.raises(ValueError, match="one speaker and of two"):
        equal_error_rate(scores[1:], same[1:])


def test_eval_on_a_speaker_workdir_identifies_and_scores_every_pair(
        tiny_speaker_workdir, tiny_corpus, tmp_path, capsys):
    from tests.test_cli import run_cli
    code, out, errors = run_cli(capsys, "eval", "--workdir", tiny_speaker_workdir, "--out-dir",
                                tmp_path)
    assert code == 0 and not errors and "accuracy=" in out
    code, out, errors = run_cli(capsys, "eval", "--workdir", tiny_speaker_workdir, "--dataset",
                                "synth", "--root", tiny_corpus, "--split", "all",
                                "--out-dir", tmp_path)
    assert code == 0 and not errors
    saved = json.load(open(tmp_path / "eval_synth_all.json"))["metrics"]
    recordings = manifest.load_manifest("synth", tiny_corpus, "all")
    n = len(recordings)
    assert (saved["utterances"], saved["pairs"]) == (n, n * (n - 1) // 2)  # every pair scored
    assert saved["speakers"] == len({u.speaker for u in recordings})
    assert np.isfinite(saved["eer"])
    # The training voices are in the table: named among the set's voices (the unseen ones not).
    assert 0 < saved["identification_among_set"] and "identification_in_table" in saved
