"""The ``vc`` task: trains through the one trainer on the tiny corpus with a trained tiny causal
STT model as its frozen content network, learns, and converts a recording to another voice."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import soundfile as sf

from voxjax import audio, cli, config as config_lib, inference, summaries, tasks
from voxjax.data import augment


def test_tiny_vc_model_learns_to_reconstruct(tiny_vc_workdir):
    rows = [r for r in summaries.read_metrics(tiny_vc_workdir, "train") if "mel_l1" in r]
    assert len(rows) >= 4
    assert rows[-1]["mel_l1"] < 0.7 * rows[0]["mel_l1"]  # mel L1 per bin, in log units
    config = config_lib.load("vc_synth", "tiny")  # throughput: real audio per step, bounded
    most = config.data.batch_size * max(config.data.buckets) * config.data.hop_length / 16000
    for r in rows:
        assert 0 < r["audio_seconds_per_sec"] / r["steps_per_sec"] <= most


def test_convert_gives_a_frame_per_source_frame_and_depends_on_the_speaker(tiny_vc_workdir):
    config, task, params = inference.load_workdir(tiny_vc_workdir)
    utt = task.utterances("test")[0]
    wave, rate = audio.load_audio(utt.path, task.mel.sample_rate), task.mel.sample_rate
    frames = len(audio.log_mel(wave, task.mel))
    a, b = task.speakers[0], task.speakers[1]
    mel_a = task.convert(params, wave, rate, a)
    mel_b = task.convert(params, wave, rate, b)
    assert mel_a.shape == mel_b.shape == (frames, task.mel.n_mels)
    assert np.isfinite(mel_a).all() and not np.allclose(mel_a, mel_b, atol=1e-3)
    with pytest.raises(ValueError, match="unknown speaker 'nobody'"):
        task.convert(params, wave, rate, "nobody")


def test_missing_content_workdir_is_a_clear_error(tmp_path):
    config = config_lib.load("vc_synth", "tiny")
    config.data.speakers = ("a", "b")
    task = tasks.get(config)
    with pytest.raises(ValueError, match="vc.content_workdir is not set"):
        task.content_params
    config.vc.content_workdir = str(tmp_path)
    with pytest.raises(FileNotFoundError, match="no checkpoint in"):
        tasks.get(config)
    config.vc.content_workdir = ""
    config.vc.speaker = "voice"
    with pytest.raises(ValueError, match="vc.speaker must be one of id"):
        tasks.get(config)


def test_convert_cli_writes_the_voice_and_stream_equals_offline(capsys, tmp_path, tiny_corpus,
                                                                tiny_vc_workdir,
                                                                tiny_decoder_workdir):
    config, task, _ = inference.load_workdir(tiny_vc_workdir)
    source = task.utterances("test")[0].path
    outs = {}
    for mode in ("offline", "stream"):
        out = tmp_path / f"{mode}.wav"
        argv = ["convert", "--vc", tiny_vc_workdir, "--decoder", tiny_decoder_workdir,
                "--speaker", task.speakers[1], "--out", str(out), source]
        code = cli.main(argv + (["--stream"] if mode == "stream" else []))
        printed, err = capsys.readouterr()
        assert code == 0, err
        assert printed.startswith(str(out))
        outs[mode], rate = sf.read(str(out), dtype="float32")
    assert rate == task.mel.sample_rate
    assert outs["offline"].size == audio.load_audio(source, rate).size
    np.testing.assert_allclose(outs["stream"], outs["offline"], atol=2 / 32768)  # 16-bit wavs
    for bad, word in (("nobody", "unknown speaker"), (None, "not found")):
        argv = ["convert", "--vc", tiny_vc_workdir, "--decoder", tiny_decoder_workdir,
                "--out", str(tmp_path / "bad.wav")]
        argv += ["--speaker", bad, source] if bad else [str(tmp_path / "missing.wav")]
        code = cli.main(argv)
        err = [line for line in capsys.readouterr()[1].splitlines()
               if line.startswith("voxjax: error:")]
        assert code == 2 and len(err) == 1 and word in err[0], err
    assert not (tmp_path / "bad.wav").exists()


def test_embedding_conditioned_model_converts_to_a_reference_voice(capsys, tmp_path,
                                                                   tiny_vc_embedding_workdir,
                                                                   tiny_decoder_workdir):
    config, task, params = inference.load_workdir(tiny_vc_embedding_workdir)
    assert task.speaker_mode == "embedding"
    rate = task.mel.sample_rate
    test = task.utterances("test")
    wave = audio.load_audio(test[0].path, rate)
    unseen = task.utterances("test_unseen")[0]
    reference = audio.load_audio(unseen.path, rate)
    vector = task.target_vector(reference=reference, rate=rate)
    expected = task.speaker_task.embed(task.speaker_params, reference, rate)
    np.testing.assert_allclose(vector[0], expected, atol=1e-6)
    assert abs(np.linalg.norm(vector) - 1.0) < 1e-4
    by_reference = task.convert(params, wave, rate, reference=reference)
    by_name = task.convert(params, wave, rate, task.speakers[1])
    assert by_reference.shape == by_name.shape and not np.allclose(by_reference, by_name, atol=1e-4)
    with pytest.raises(ValueError, match="not both"):
        task.target_vector(task.speakers[1], reference, rate)
    # A training speaker by name: the unit mean of its training recordings' embeddings (the
    # kind of vector training conditions on), not the speaker model's class vector.
    name = task.speakers[1]
    own = [task.speaker_task.embed(task.speaker_params, audio.load_audio(u.path, rate), rate)
           for u in task.utterances("train") if u.speaker == name]
    mean = np.mean(own, axis=0)
    np.testing.assert_allclose(task.target_vector(name)[0], mean / np.linalg.norm(mean),
                               atol=1e-5)
    with pytest.raises(ValueError, match="no training recordings"):
        task.speaker_centroid("nobody")

    ref_path = tmp_path / "reference.wav"
    audio.save_audio(ref_path, reference, rate)
    outs = {}
    for mode in ("offline", "stream"):
        out = tmp_path / f"{mode}.wav"
        argv = ["convert", "--vc", tiny_vc_embedding_workdir, "--decoder", tiny_decoder_workdir,
                "--target-wav", str(ref_path), "--out", str(out), test[0].path]
        assert cli.main(argv + (["--stream"] if mode == "stream" else [])) == 0
        outs[mode] = sf.read(str(out), dtype="float32")[0]
    capsys.readouterr()
    assert outs["offline"].size == wave.size
    np.testing.assert_allclose(outs["stream"], outs["offline"], atol=2 / 32768)


def test_reference_voices_need_an_embedding_model(capsys, tmp_path, tiny_vc_workdir,
                                                  tiny_decoder_workdir):
    config, task, params = inference.load_workdir(tiny_vc_workdir)
    source = task.utterances("test")[0].path
    with pytest.raises(ValueError, match="vc.speaker='embedding'"):
        task.target_vector(reference=audio.load_audio(source, 16000), rate=16000)
    cases = ((["--target-wav", source], "vc.speaker='embedding'"),
             (["--target-wav", source, "--speaker", task.speakers[0]], "not both"))
    for extra, words in cases:
        code = cli.main(["convert", "--vc", tiny_vc_workdir, "--decoder", tiny_decoder_workdir,
                         "--out", str(tmp_path / "bad.wav"), *extra, source])
        err = [line for line in capsys.readouterr()[1].splitlines()
               if line.startswith("voxjax: error:")]
        assert code == 2 and len(err) == 1 and words in err[0], err
    assert not (tmp_path / "bad.wav").exists()
    config = config_lib.load("vc_synth", "tiny")
    config.data.speakers = ("a", "b")
    config.vc.speaker = "embedding"
    with pytest.raises(ValueError, match="needs vc.speaker_workdir"):
        tasks.get(config)


@pytest.mark.parametrize("speaker", ["id", "embedding"])
def test_cached_frozen_inputs_are_what_the_training_step_would_compute(
        speaker, tiny_corpus, tiny_streaming_workdir, tiny_speaker_workdir):
    """With vc.cache_content every training batch carries its rows' frozen content (and, in
    embedding mode, speaker embedding), computed once before training; the loss from them
    equals the loss that runs the frozen networks."""
    config = config_lib.load("vc_synth", "tiny")
    config.data.root = tiny_corpus
    config.vc.content_workdir = tiny_streaming_workdir
    config.vc.speaker = speaker
    config.vc.speaker_workdir = tiny_speaker_workdir if speaker == "embedding" else ""
    config.model.lookahead_frames = 3  # the cache must cover the look-ahead's extra frames
    task = tasks.get(config)
    iterator = task.train_iterator()
    try:
        batches = [next(iterator) for _ in range(3)]
    finally:
        iterator.close()
    cached = {"content"} | ({"speaker_vector"} if speaker == "embedding" else set())
    assert cached <= set(batches[0])
    params = task.init(jax.random.key(0), batches[0])
    for batch in batches:
        live = {k: v for k, v in batch.items() if k not in cached}
        real = batch["weights"] > 0
        expected = task.content(task._padded(batch["features"], 3), batch["feature_lengths"])
        np.testing.assert_allclose(batch["content"][real], np.asarray(expected)[real], atol=1e-5)
        if speaker == "embedding":
            vectors = task.speaker_vectors(None, batch["features"], batch["feature_lengths"])
            np.testing.assert_allclose(batch["speaker_vector"], vectors, atol=1e-5)
        cached_loss, _ = task.loss(params, batch, None)
        live_loss, _ = task.loss(params, live, None)
        np.testing.assert_allclose(float(cached_loss), float(live_loss), rtol=1e-5)
    config.vc.cache_content = False
    iterator = tasks.get(config).train_iterator()
    try:
        assert not cached & set(next(iterator))
    finally:
        iterator.close()


def test_content_warp_reads_training_content_from_a_stretched_log_mel(tiny_corpus,
                                                                      tiny_streaming_workdir):
    """vc.content_warp: no cached content in the batches; the training loss is the L1 of the
    output made from the warped log-mel's content and energy against the unwarped log-mel; the
    evaluation loss (train=False) does not warp."""
    config = config_lib.load("vc_synth", "tiny")
    config.data.root = tiny_corpus
    config.vc.content_workdir = tiny_streaming_workdir
    config.vc.content_warp = 0.3
    task = tasks.get(config)
    iterator = task.train_iterator()
    try:
        batch = next(iterator)
    finally:
        iterator.close()
    assert "content" not in batch
    params = task.init(jax.random.key(0), batch)
    rng = jax.random.key(7)
    lengths = batch["feature_lengths"]
    warped = augment.warp_frequencies(rng, jnp.asarray(batch["features"]), 0.3)
    predicted, target = task._predict(params, batch["features"], lengths,
                                      task._batch_vectors(batch), source=warped)
    valid = (np.arange(target.shape[1])[None] < lengths[:, None]) * batch["weights"][:, None]
    expected = np.sum(np.abs(np.asarray(predicted) - np.asarray(target)) * valid[..., None]) / (
        np.sum(valid) * target.shape[-1])
    frames = batch["features"].shape[1]  # the target: the unwarped log-mel itself
    np.testing.assert_allclose(np.asarray(target)[:, :frames][valid[:, :frames] > 0],
                               np.asarray(batch["features"])[valid[:, :frames] > 0])
    trained, _ = task.loss(params, batch, rng, train=True)
    np.testing.assert_allclose(float(trained), expected, rtol=1e-5)
    evaluated, _ = task.loss(params, batch, rng, train=False)
    config.vc.content_warp = 0.0
    plain, _ = tasks.get(config).loss(params, batch, rng, train=True)
    np.testing.assert_allclose(float(evaluated), float(plain), rtol=1e-6)
    assert abs(float(trained) - float(plain)) > 1e-4
    config.vc.content_warp = -0.1
    with pytest.raises(ValueError, match="vc.content_warp must lie in"):
        tasks.get(config)
