"""The TTS task on the tiny synthetic corpus: it learns to align, and its workdir is usable."""
import json
import os

import numpy as np
import pytest

from voxjax import checkpoint, config as config_lib, inference, summaries, tasks, text as text_lib
from voxjax import train
from voxjax.evaluation import judges, tts as tts_evaluation


def _rows(workdir, split):
    return summaries.read_metrics(workdir, split)


def test_tiny_acoustic_model_learns_a_monotonic_alignment(tiny_corpus, tmp_path):
    config = config_lib.load("tts_synth", "tiny")
    config.data.root = tiny_corpus
    config.train.steps, config.train.log_every, config.train.eval_every = 150, 10, 150
    train.train_and_evaluate(config, str(tmp_path))
    rows = _rows(str(tmp_path), "train")
    first, last = rows[0], rows[-1]
    assert all(np.isfinite(r["loss"]) for r in rows)
    assert last["loss"] < 0.7 * first["loss"], (first, last)
    assert last["mel_l1"] < 0.85 * first["mel_l1"]
    # Forward-sum loss falls, the soft alignment sharpens (from ~1/7 mass on the best token),
    # and the learned attention alone (prior removed) comes to follow the monotonic MAS path.
    assert last["align"] < 0.8 * first["align"]
    assert last["attn_peak"] > 2 * first["attn_peak"]
    assert last["attn_agreement"] > 2 * first["attn_agreement"]
    # Compiles once per bucket, never again.
    assert {r["compiles"] for r in rows} == {len(config.data.buckets)}


def test_tts_workdir_synthesises_without_the_corpus(tiny_tts_workdir, tiny_decoder_workdir,
                                                    monkeypatch):
    config = checkpoint.load_config(tiny_tts_workdir)
    assert len(config.data.speakers) > 1  # the speaker table travels with the checkpoint

    def no_corpus(*args, **kwargs):
        raise AssertionError("synthesis must not read the corpus")
    monkeypatch.setattr("voxjax.data.manifest.load_manifest", no_corpus)
    monkeypatch.setattr("voxjax.data.sources.ensure_corpus", no_corpus)
    synthesizer = inference.load_synthesizer(tiny_tts_workdir, tiny_decoder_workdir)
    wave, mels = synthesizer.synthesize("Good evening.", speaker=config.data.speakers[1])
    assert wave.size == sum(len(m) for m in mels) * 160 > 0 and np.isfinite(wave).all()


def test_synthesis_pace_defaults_to_the_config_and_scales_durations(tiny_tts_workdir):
    from voxjax.tasks.tts import TextToSpeech
    config, task, params = inference.load_workdir(tiny_tts_workdir)
    assert task.default_pace == config.inference.pace != 1.0

    def frames(pace, t=task):
        return np.asarray(t.encode(params, "Good evening.", pace=pace)[1])

    np.testing.assert_array_equal(frames(None), frames(config.inference.pace))
    assert frames(4.0).sum() > frames(1.0).sum()
    slow = config.copy_and_resolve_references()
    slow.inference.pace = 4.0  # a default far enough from 1 that rounding cannot hide it
    np.testing.assert_array_equal(frames(None, TextToSpeech(slow)), frames(4.0))
    # A workdir saved before the inference block kept the pace under synthesis.
    older = config.copy_and_resolve_references()
    with older.unlocked():
        del older["inference"]
        older.synthesis = {"pace": 3.0}
    assert tasks.get(older).default_pace == 3.0
    with older.unlocked():
        del older["synthesis"]  # and before that there was no pace: 1
    assert tasks.get(older).default_pace == 1.0
    with slow.unlocked():
        slow.inference.speed = 2.0  # a key nothing reads is an error, not a silent no-op
    with pytest.raises(ValueError, match="unknown inference setting.*speed"):
        TextToSpeech(slow)


def test_eval_on_tts_and_decoder_workdirs(tiny_tts_workdir, tiny_decoder_workdir,
                                          tiny_offline_workdir):
    tts = tts_evaluation.evaluate_workdir(tiny_tts_workdir, "test", tiny_decoder_workdir,
                                                    judge_workdir=tiny_offline_workdir, limit=3)
    assert tts["utterances"] == 3
    for system in ("tts", "decoder_copy", "griffin_lim"):
        assert tts[f"{system}_mcd_db"] > 0 and tts[f"{system}_cer_stt_greedy"] >= 0
    assert np.isfinite(tts["model_mel_l1"]) and tts["model_duration_mae_frames"] >= 0
    assert tts["model_duration_ratio"] > 0
    assert os.path.exists(os.path.join(tiny_tts_workdir, "eval_test", "00_tts.wav"))
    # Copy synthesis and Griffin-Lim keep the recording's length; the TTS predicts its own.
    assert abs(tts["decoder_copy_duration_ratio"] - 1) < 0.02
    assert abs(tts["griffin_lim_duration_ratio"] - 1) < 0.02
    if judges.dnsmos_scorer() is not None:
        for system in ("ground_truth", "tts", "decoder_copy"):
            assert 1.0 <= tts[f"{system}_dnsmos_ovrl"] <= 5.0
    decoder = tts_evaluation.evaluate_workdir(tiny_decoder_workdir, "test")
    assert np.isfinite(decoder["model_mel_l1"]) and decoder["griffin_lim_mcd_db"] > 0
    with open(os.path.join(tiny_decoder_workdir, "eval_test.json")) as f:
        assert json.load(f)["metrics"]["split"] == "test"


def _experiment(name):
    """An ``experiments/<name>.py`` script as a module."""
    import importlib.util
    path = os.path.join(os.path.dirname(__file__), "..", "experiments", f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synthesis_sweep_judges_every_setting(tiny_tts_workdir, tiny_decoder_workdir,
                                              tiny_offline_workdir, monkeypatch):
    sweep = _experiment("synthesis_sweep")
    monkeypatch.setattr("sys.argv", [
        "synthesis_sweep.py", "--tts", str(tiny_tts_workdir), "--decoder",
        str(tiny_decoder_workdir), "--judge", str(tiny_offline_workdir), "--split", "test",
        "--paces", "1", "3", "--dropout", "off", "on", "--limit", "2"])
    sweep.main()
    with open(os.path.join(tiny_tts_workdir, "synthesis_sweep_test.json")) as f:
        rows = {r["system"]: r for r in json.load(f)["rows"]}
    assert set(rows) == {"ground_truth", "dropout_off_pace_1", "dropout_off_pace_3",
                         "dropout_on_pace_1", "dropout_on_pace_3"}
    assert rows["ground_truth"]["cer_ratio_stt_greedy"] == 1  # a tiny judge is never perfect
    assert rows["dropout_off_pace_3"]["mcd_db"] != rows["dropout_off_pace_1"]["mcd_db"]
    assert rows["dropout_on_pace_1"]["mcd_db"] != rows["dropout_off_pace_1"]["mcd_db"]


def test_copy_synthesis_of_another_corpus(tiny_corpus, tiny_decoder_workdir,
                                          tiny_offline_workdir, tmp_path, monkeypatch):
    import soundfile as sf
    from voxjax import audio
    from voxjax.data import manifest
    utts = manifest.load_manifest("synth", tiny_corpus, "test")[:2]
    os.makedirs(tmp_path / "wavs")
    for i, utt in enumerate(utts):  # the corpus's speech in LJSpeech's layout and rate
        sf.write(tmp_path / "wavs" / f"LJ001-{i:04d}.wav", audio.load_audio(utt.path, 22050),
                 22050)
    with open(tmp_path / "metadata.csv", "w") as f:
        f.write("".join(f"LJ001-{i:04d}|{u.text}|{u.text}\n" for i, u in enumerate(utts)))
    monkeypatch.setattr("voxjax.evaluation.judges.pocketsphinx_judge", lambda rate: None)
    monkeypatch.setattr("sys.argv", [
        "copy_synthesis.py", "--decoder", str(tiny_decoder_workdir), "--dataset", "ljspeech",
        "--root", str(tmp_path), "--judge", str(tiny_offline_workdir)])
    _experiment("copy_synthesis").main()
    with open(os.path.join(tiny_decoder_workdir, "copy_synthesis_ljspeech.json")) as f:
        result = json.load(f)
    rows = {r["system"]: r for r in result["rows"]}
    assert result["utterances"] == 2 and set(rows) == {"ground_truth", "decoder_copy",
                                                        "griffin_lim"}
    assert rows["decoder_copy"]["mcd_db"] > 0 and rows["griffin_lim"]["mcd_db"] > 0
    assert [d["reference"] for d in result["details"]] == [
        text_lib.normalize(u.text) for u in utts]


def test_ljspeech_tts_config_reads_the_ljspeech_layout(tmp_path):
    import soundfile as sf
    from voxjax.tasks import tts as tts_task_lib
    for i in range(20):
        wave = 0.1 * np.sin(np.arange(22050) / 10.0).astype(np.float32)
        os.makedirs(tmp_path / "wavs", exist_ok=True)
        sf.write(tmp_path / "wavs" / f"LJ001-{i:04d}.wav", wave, 22050)
    with open(tmp_path / "metadata.csv", "w") as f:
        f.write("".join(f"LJ001-{i:04d}|Text {i}.|Text number {i}.\n" for i in range(20)))
    config = config_lib.load("tts_ljspeech", "tiny")
    config.data.root = str(tmp_path)
    task = tts_task_lib.make_task(config)
    assert len(task.speakers) == 1 and all(b % config.model.reduction == 0
                                           for b in config_lib.load("tts_ljspeech").data.buckets)
    assert sum(len(task.utterances(s)) for s in ("all",)) == 20
