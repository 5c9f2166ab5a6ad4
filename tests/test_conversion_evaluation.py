"""Conversion evaluation: the judges' figures obey their definitions (an identity 'converter'
loses nothing and moves nowhere), the corpus renderer speaks like the corpus, and ``voxjax eval``
on a vc workdir writes its report, zero-shot targets included."""
import json
import os
import types

import numpy as np
import pytest

from voxjax import audio, cli, evaluation, inference, text
from voxjax.evaluation.conversion import (SpeakerJudge, Target, evaluate_conversion,
                                          judge_sources, stage_scores)
from voxjax.corpus import build
from voxjax.data import manifest
from voxjax.data.manifest import spread
from voxjax.evaluation import judges
from voxjax.evaluation.judges import stt_judge


class IdentityConverter:
    """Returns the source unchanged: every 'conversion' is the source recording itself; records
    the target of each call."""

    sample_rate = 16000

    def __init__(self, speakers=(), speaker_mode="embedding"):
        self.task = types.SimpleNamespace(speakers=list(speakers), speaker_mode=speaker_mode)
        self.calls = []

    def convert(self, wave, rate, speaker=None, reference=None):
        self.calls.append((speaker, reference))
        return wave


def test_identity_conversion_loses_nothing_and_stays_the_source(tiny_offline_workdir,
                                                                tiny_speaker_workdir):
    _, speaker_task, speaker_params = inference.load_workdir(tiny_speaker_workdir)
    utts = speaker_task.utterances("test")[:3]
    targets = [Target(name) for name in spread(speaker_task.speakers, 2)]
    judge, speaker_judge = stt_judge(tiny_offline_workdir, beam=False), SpeakerJudge(
        tiny_speaker_workdir)
    sources = judge_sources(utts, judge, speaker_judge, 16000)
    report = evaluate_conversion(IdentityConverter(), sources, targets, judge, speaker_judge,
                                 render=build.render, voice_of=build.voice_variant)
    s, rows = report["summary"], report["details"]
    expected = sum(t.name != u.speaker for u in utts for t in targets)
    assert s["conversions"] == len(rows) == expected > 0
    assert s["cer"] == s["source_cer"]
    if s["source_cer"] > 0:
        assert s["cer_ratio"] == pytest.approx(1.0)
    assert s["cos_source"] == pytest.approx(1.0, abs=1e-5)
    assert s["cos_target"] == pytest.approx(s["source_cos_target"], abs=1e-6)
    assert s["mcd_target_db"] == pytest.approx(s["mcd_source_target_db"])
    named_as_source = [r["nearest_speaker"] == r["source"] for r in rows]
    assert s["source_rate"] == pytest.approx(np.mean(named_as_source))
    # The identity output is the source recording: it is nearer the target than its own
    # speaker's class vector exactly when the source recording is (computed here afresh).
    classes = np.asarray(speaker_params["classes"], np.float64)
    classes /= np.linalg.norm(classes, axis=-1, keepdims=True)
    for r in rows:
        embedding = speaker_task.embed(speaker_params, audio.load_audio(r["path"], 16000), 16000)
        own = float(classes[speaker_task.speaker_id(r["source"])] @ embedding)
        assert r["closer_to_target"] == (r["source_cos_target"] > own)
    assert s["closer_to_target_rate"] == pytest.approx(np.mean([r["closer_to_target"]
                                                                for r in rows]))
    assert s["target_accuracy"] == pytest.approx(
        np.mean([r["nearest_speaker"] == r["target"] for r in rows]))
    # The identity output is named as its source recording is: the judge's own ceiling.
    by_path = {src.utterance.path: src.named for src in sources}
    assert all(r["nearest_speaker"] == by_path[r["path"]] for r in rows)
    assert s["judge_accuracy"] == pytest.approx(
        np.mean([src.named == src.utterance.speaker for src in sources]))
    # The control: the identity output is the source, so it is named the target exactly as
    # often as the unconverted sources are.
    assert s["source_named_target_rate"] == pytest.approx(s["target_accuracy"])
    voice = build.voice_variant
    other_voice = [r for r in rows if voice(r["target"]) != voice(r["source"])]
    assert len(other_voice) == sum("target_voice_named" in r for r in rows)
    if other_voice:
        assert s["source_voice_rate"] == pytest.approx(
            np.mean([voice(r["nearest_speaker"]) == voice(r["source"]) for r in other_voice]))
        assert s["target_voice_accuracy"] == pytest.approx(
            np.mean([voice(r["nearest_speaker"]) == voice(r["target"]) for r in other_voice]))

    # Loss by stage: lossless stages keep the sources' CER and are named as the sources are;
    # own voice = the source's speaker by name when the model knows it, else the source
    # recording as the reference.
    known = IdentityConverter(speakers=[utts[0].speaker])
    stages = stage_scores(known, sources, judge, lambda wave: wave, speaker_judge, voice)
    assert stages["copy_cer"] == stages["own_voice_cer"] == s["source_cer"]
    for stage in ("copy", "own_voice"):
        assert stages[f"{stage}_speaker_accuracy"] == pytest.approx(s["judge_accuracy"])
        assert stages[f"{stage}_voice_accuracy"] == pytest.approx(s["judge_voice_accuracy"])
    assert known.calls[0] == (utts[0].speaker, None)
    assert all(spk is None and ref is src.wave for (spk, ref), src in zip(known.calls[1:],
                                                                           sources[1:])
               if src.utterance.speaker != utts[0].speaker)
    # A speaker-id model that knows none of the sources' speakers has no own voice to render.
    strangers = IdentityConverter(speakers=["nobody"], speaker_mode="id")
    stages = stage_scores(strangers, sources, judge, lambda wave: wave)
    assert "own_voice_cer" not in stages and stages["copy_cer"] == s["source_cer"]
    assert not strangers.calls
    silent = stage_scores(known, sources, judge, copy_synthesis=np.zeros_like)
    expected = evaluation.error_rates([text.normalize(src.utterance.text) for src in sources],
                                      [judge.transcribe(np.zeros_like(src.wave))
                                       for src in sources])["cer"]
    assert silent["copy_cer"] == pytest.approx(expected)
    if s["source_cer"] > 0:
        assert silent["copy_cer_ratio"] == pytest.approx(expected / s["source_cer"])
    assert "copy_speaker_accuracy" not in silent  # no speaker judge given


def test_voice_variant_groups_accents_of_one_voice():
    assert build.voice_variant("en-us+m3") == build.voice_variant("en-gb-x-rp+m3") == "m3"
    assert build.voice_variant("en-us") == build.voice_variant("en-029") == "default"


def test_render_speaks_like_the_corpus_voice(tiny_corpus):
    from voxjax.data import manifest
    utts = manifest.load_manifest("synth", tiny_corpus, "test")
    utt = utts[0]
    corpus_wave = audio.load_audio(utt.path, build.SAMPLE_RATE)
    own = build.render(utt.text, utt.speaker)
    assert np.isfinite(own).all() and not audio.is_silent(own)
    own_gender = "+f" in utt.speaker
    other = next(v for v in build.voices()["seen"] if ("+f" in v) != own_gender and "+" in v)
    mcd_own = evaluation.mel_cepstral_distortion(corpus_wave, own, build.SAMPLE_RATE)
    mcd_other = evaluation.mel_cepstral_distortion(corpus_wave, build.render(utt.text, other),
                                                   build.SAMPLE_RATE)
    assert mcd_own < mcd_other, (utt.speaker, other, mcd_own, mcd_other)


def test_eval_cli_on_a_vc_workdir_writes_the_report(capsys, tiny_vc_embedding_workdir,
                                                    tiny_decoder_workdir, tiny_offline_workdir,
                                                    tiny_speaker_workdir, tiny_tts_workdir):
    argv = ["eval", "--workdir", tiny_vc_embedding_workdir, "--decoder", tiny_decoder_workdir,
            "--judge", tiny_offline_workdir, "--limit", "2", "--targets", "2", "--zero-shot", "1",
            "--tts", tiny_tts_workdir]
    code = cli.main(argv)  # no --speaker-model
    assert code == 2 and "--speaker-model" in capsys.readouterr()[1]
    assert cli.main(argv + ["--speaker-model", tiny_speaker_workdir]) == 0
    printed = capsys.readouterr()[0]
    metrics = dict(item.split("=", 1) for item in printed.split())
    for key in ("cer_ratio", "target_accuracy", "mcd_target_db", "copy_cer_ratio",
                "own_voice_cer_ratio", "zero_shot_cer_ratio",
                "zero_shot_cos_target", "zero_shot_mcd_target_db"):
        assert np.isfinite(float(metrics[key])), key
    assert "zero_shot_target_accuracy" not in metrics  # an unseen voice cannot be named
    if judges.dnsmos_scorer() is not None:  # naturalness of conversions and sources
        assert 1.0 <= float(metrics["dnsmos_ovrl"]) <= 5.0
        assert 1.0 <= float(metrics["source_dnsmos_ovrl"]) <= 5.0
    assert float(metrics["via_text_conversions"]) == float(metrics["conversions"])
    assert float(metrics["via_text_cer"]) >= 0 and "via_text_target_accuracy" in metrics
    with open(os.path.join(tiny_vc_embedding_workdir, "eval_test.json")) as f:
        stored = json.load(f)
    assert stored["metrics"]["conversions"] == len(stored["reports"]["seen"]["details"])
    assert all(r["zero_shot"] for r in stored["reports"]["zero_shot"]["details"])
    with open(os.path.join(tiny_vc_embedding_workdir, "eval_test.md")) as f:
        table = f.read()
    assert table.startswith("| targets |") and "zero_shot" in table and "via_text" in table
    wavs = os.listdir(os.path.join(tiny_vc_embedding_workdir, "eval_test"))
    assert any(w.endswith("_converted.wav") for w in wavs)


def test_eval_cli_converts_another_datasets_speakers(capsys, monkeypatch, tiny_vc_workdir,
                                                     libri_layout, tiny_decoder_workdir,
                                                     tiny_offline_workdir, tiny_speaker_workdir):
    """Any-to-one: sources from another dataset (readers the models never saw), spread over it;
    the judge's checks on the model's own test recordings; no MCD (nothing to compare with)."""
    argv = ["eval", "--workdir", tiny_vc_workdir, "--decoder", tiny_decoder_workdir,
            "--judge", tiny_offline_workdir, "--speaker-model", tiny_speaker_workdir,
            "--limit", "3", "--targets", "1", "--dataset", "librispeech"]
    assert cli.main(argv) == 2 and "--root" in capsys.readouterr()[1]
    assert cli.main(argv + ["--root", libri_layout, "--split", "dev"]) == 0
    metrics = dict(item.split("=", 1) for item in capsys.readouterr()[0].split())
    with open(os.path.join(tiny_vc_workdir, "eval_librispeech_dev.json")) as f:
        stored = json.load(f)
    rows = stored["reports"]["seen"]["details"]
    readers = {r["source"] for r in rows}
    # Spread over the files, which go reader by reader: every dev reader is among the three
    # (the first three files would hold two of them).
    dev_readers = {u.speaker for u in manifest.load_manifest("librispeech", libri_layout, "dev")}
    assert len(rows) == 3 and readers == dev_readers and len(dev_readers) == 3
    assert all(r["path"].startswith(libri_layout) for r in rows)
    assert readers.isdisjoint(inference.load_workdir(tiny_vc_workdir)[1].speakers)
    for key in ("cer_ratio", "target_accuracy", "source_named_target_rate",
                "target_recordings_named", "target_recordings_cer", "copy_cer"):
        assert np.isfinite(float(metrics[key])), key
    assert "mcd_target_db" not in metrics and "own_voice_cer" not in metrics
    assert os.path.isfile(os.path.join(tiny_vc_workdir, "eval_librispeech_dev.md"))
    monkeypatch.setattr("voxjax.evaluation.judges.pocketsphinx_judge", lambda rate: None)
    argv[argv.index(tiny_offline_workdir)] = "pocketsphinx"
    assert cli.main(argv + ["--root", libri_layout]) == 2
    assert "pip install" in capsys.readouterr()[1]  # the eval extra is missing: one line
