"""The TTS task on the tiny synthetic corpus: it learns to align, and its workdir is usable."""
import json
import os

import numpy as np

from voxjax import checkpoint, config as config_lib, inference, train


def _rows(workdir, split):
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        return [r for r in map(json.loads, f) if r["split"] == split]


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
    monkeypatch.setattr("voxjax.tasks.tts.ensure_corpus", no_corpus)
    monkeypatch.setattr("voxjax.tasks.decoder.ensure_corpus", no_corpus)
    synthesizer = inference.load_synthesizer(tiny_tts_workdir, tiny_decoder_workdir)
    wave, mels = synthesizer.synthesize("Good evening.", speaker=config.data.speakers[1])
    assert wave.size == sum(len(m) for m in mels) * 160 > 0 and np.isfinite(wave).all()


def test_eval_on_tts_and_decoder_workdirs(tiny_tts_workdir, tiny_decoder_workdir,
                                          tiny_offline_workdir):
    tts = inference.evaluate_synthesis_workdir(tiny_tts_workdir, "test", tiny_decoder_workdir,
                                               judge_workdir=tiny_offline_workdir, limit=3)
    assert tts["utterances"] == 3
    for system in ("tts", "decoder_copy", "griffin_lim"):
        assert tts[f"{system}_mcd_db"] > 0 and tts[f"{system}_cer_stt_greedy"] >= 0
    assert np.isfinite(tts["model_mel_l1"]) and tts["model_duration_mae_frames"] >= 0
    assert os.path.exists(os.path.join(tiny_tts_workdir, "eval_test", "00_tts.wav"))
    decoder = inference.evaluate_workdir(tiny_decoder_workdir, "test")
    assert np.isfinite(decoder["model_mel_l1"]) and decoder["griffin_lim_mcd_db"] > 0
    with open(os.path.join(tiny_decoder_workdir, "eval_test.json")) as f:
        assert json.load(f)["metrics"]["split"] == "test"


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
