"""The README's main job, tiny: every artefact it promises is written and holds real figures."""
import glob
import json
import os
import shutil

from voxjax import main_job


def test_tiny_main_job_writes_report_plots_transcripts(tiny_corpus, libri_layout, tmp_path,
                                                       tiny_offline_workdir,
                                                       tiny_streaming_workdir, tiny_tts_workdir,
                                                       tiny_decoder_workdir, tiny_speaker_workdir):
    real_data = tmp_path / "real"  # a --real-data folder holding one human test set
    real_data.mkdir()
    os.symlink(libri_layout, real_data / "minilibrispeech")
    # The fixtures trained these configs exactly as the main job does (tiny, on this corpus):
    # the job resumes them at their last step instead of training them again (the trainer is
    # tested by the fixtures; the vc model, whose content is the job's own STT, trains here).
    for name, trained in (("stt_synth", tiny_offline_workdir),
                          ("stt_synth_streaming", tiny_streaming_workdir),
                          ("tts_synth", tiny_tts_workdir), ("decoder_synth", tiny_decoder_workdir),
                          ("speaker_synth", tiny_speaker_workdir)):
        shutil.copytree(trained, tmp_path / name)
    # Two lanes (the default on a CPU): each model trains and is evaluated in its own process.
    report = main_job.run(str(tmp_path), tiny=True, corpus_dir=tiny_corpus,
                          real_data=str(real_data), lanes=2)
    with open(os.path.join(tmp_path, "results.json")) as f:
        results = json.load(f)
    assert list(results["models"]) == list(main_job.EXPERIMENTS)
    assert results["lanes"] == 2 and results["training_seconds"] > 0
    for name in main_job.EXPERIMENTS:  # each lane's output went to its model's train.log
        assert f"[lane] {name}: ok" in open(os.path.join(tmp_path, name, "train.log")).read()
    for name, entry in results["models"].items():
        for split in main_job.EVAL_SPLITS if name in main_job.STT_EXPERIMENTS else ():
            assert entry[split]["utterances"] > 0 and 0 <= entry[split]["cer"] <= 5
            assert "cer_beam" in entry[split]
        if name in main_job.STT_EXPERIMENTS:  # judged on every dev utterance of the human set
            human = entry["human"]["minilibrispeech"]
            assert human["split"] == "dev" and human["dataset"] == "librispeech"
            dev = json.load(open(os.path.join(tmp_path, name, "eval_librispeech_dev.json")))
            assert human["utterances"] == len(dev["utterances"]) == len(
                glob.glob(os.path.join(libri_layout, "dev", "*", "*", "*.flac")))
        assert os.path.getsize(entry["loss_plot"]) > 1000
    stream = results["streaming"]
    assert stream["rtf"] > 0 and stream["p95_ms"] >= stream["median_ms"] > 0
    with open(os.path.join(tmp_path, "transcripts", "streaming_test.txt")) as f:
        assert len(f.read().strip().splitlines()) > 0
    judged = results["synthesis"]["judged"]
    assert 0 < judged["utterances"] <= 4  # the tiny corpus may hold fewer test sentences
    for system in ("tts", "decoder_copy", "griffin_lim"):
        assert judged[f"{system}_mcd_db"] > 0
        assert judged[f"{system}_cer_ratio_stt_beam"] >= 0
    for demo in results["synthesis"]["demos"]:
        assert demo["first_audio_ms"] > 0 and demo["rtf"] > 0
        assert os.path.getsize(os.path.join(tmp_path, demo["wav"])) > 1000
    for name in ("alignment", "durations", "synthesised_mel"):
        assert os.path.getsize(os.path.join(tmp_path, "plots", f"tts_{name}.png")) > 1000
    text = open(report).read()
    assert "test_unseen" in text and "RTF" in text and "decoder_copy" in text
    assert "human speech" in text and "minilibrispeech dev" in text
    conversion = results["conversion"]
    judged = conversion["judged"]
    assert judged["conversions"] > 0 and judged["cer_ratio"] >= 0 and judged["mcd_target_db"] > 0
    assert 0 <= judged["target_accuracy"] <= 1
    assert conversion["wavs"] and all(os.path.getsize(os.path.join(tmp_path, w)) > 1000
                                      for w in conversion["wavs"] + [conversion["human"]["wav"]])
    assert "## Speech conversion" in text and "| targets |" in text
    assert all(e["audio_seconds_per_sec"] > 0 for e in results["models"].values())
    assert "audio s/s" in text and "2 lane(s)" in text
