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
