"""Real-speech recipes: LibriSpeech-layout training with augmentation and global feature
statistics, mixing with the built-in corpus, fine-tuning from another workdir, evaluating on any
dataset, and the loaders on the real recordings of ``../shared/data`` when they exist."""
import collections
import json
import os

import jax
import numpy as np
import pytest

from voxjax import audio, checkpoint, config as config_lib, inference, tasks, train
from voxjax.data import manifest, sources
from tests.test_cli import assert_one_line_error, run_cli

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))), "shared", "data")


def _tiny(name, root, **overrides):
    config = config_lib.load(name, "tiny")
    config.data.root = root
    config.data.cache_dir = os.path.join(root, ".cache")
    return config_lib.override(config, overrides)


def test_minilibri_recipe_keeps_its_feature_statistics_in_the_checkpoint(libri_layout, tmp_path):
    config = _tiny("stt_minilibri", libri_layout, **{
        "train.steps": 4, "train.eval_every": 4, "data.augment.noise_prob": 1.0,
        "data.augment.reverb_prob": 0.5, "data.augment.telephone_prob": 0.5})
    task = tasks.get(config)
    mean, std = task.feature_statistics
    assert mean.shape == std.shape == (config.data.n_mels,) and np.all(std > 0)
    assert np.ptp(mean) > 1.0  # per-bin statistics, not one number
    final = train.train_and_evaluate(config, str(tmp_path), task=task)
    assert np.isfinite(final["train_loss"]) and final["utterances"] > 0
    params = checkpoint.load_params(str(tmp_path))
    # Trained for 4 steps at a non-zero rate, yet the statistics are exactly the data's.
    np.testing.assert_array_equal(params["feature_norm"]["mean"], mean)
    np.testing.assert_array_equal(params["feature_norm"]["std"], std)
    assert not np.allclose(params["ctc_head"]["bias"], 0)  # the rest did train


def test_mixed_recipe_trains_on_both_sources_and_fits_the_prior_on_both(libri_layout,
                                                                          tiny_corpus):
    config = _tiny("stt_minilibri_mixed", libri_layout, **{"data.synth_root": tiny_corpus,
                                                            "data.randomize_voices": False,
                                                            "data.synth_ratio": 0.25})
    task = tasks.get(config)
    utterances, rates = task._training_data
    real = sum(u.path.startswith(libri_layout) for u in utterances)
    synth = len(utterances) - real
    assert real > 0 and synth > 0
    # 25% synthetic: the corpus contributes a third of the real count per epoch.
    assert np.sum(rates[real:]) == pytest.approx(real / 3)
    # The text prior knows the synthetic transcripts as well as the real ones.
    from voxjax.models.text_prior import CharNGramPrior
    from voxjax.text import normalize
    real_only = CharNGramPrior(order=config.inference.prior_order).fit(
        [u.text for u in utterances[:real]])
    synth_text = normalize(utterances[real].text)
    assert task.prior.sentence_log_prob(synth_text) > real_only.sentence_log_prob(synth_text) + 5
    with pytest.raises(ValueError, match="synth_ratio must be in"):
        config.data.synth_ratio = 1.0
        sources.training_utterances(config.data)


def test_fine_tuning_starts_from_the_other_workdir(libri_layout, tiny_offline_workdir, tmp_path):
    source = checkpoint.load_params(tiny_offline_workdir)
    config = _tiny("stt_minilibri_finetune", libri_layout, init_from=tiny_offline_workdir,
                   **{"train.steps": 2, "train.eval_every": 0, "optim.learning_rate": 0.0})
    train.train_and_evaluate(config, str(tmp_path))
    tuned = checkpoint.load_params(str(tmp_path))
    # At learning rate 0 the run must hold exactly the parameters it started from.
    jax.tree.map(np.testing.assert_array_equal, tuned, source)
    config = _tiny("stt_minilibri", libri_layout, init_from=tiny_offline_workdir)
    with pytest.raises(ValueError, match=r"init_from .*feature_norm.*the model configs must match"):
        train.train_and_evaluate(config, str(tmp_path / "mismatch"))


def test_streaming_minilibri_recipe_streams_what_it_evaluates(libri_layout, tmp_path):
    # The first causal recipe with data statistics in the checkpoint: chunk-by-chunk decoding
    # must see the same normalised features as the evaluation's whole-utterance forward pass.
    config = _tiny("stt_minilibri_streaming", libri_layout,
                   **{"train.steps": 3, "train.eval_every": 0})
    train.train_and_evaluate(config, str(tmp_path))
    params = checkpoint.load_params(str(tmp_path))
    assert np.ptp(np.asarray(params["feature_norm"]["mean"])) > 1.0
    offline = inference.Transcriber(str(tmp_path), greedy=True)
    streamer = inference.Transcriber(str(tmp_path), stream=True, chunk_ms=80).streamer
    path = manifest.load_manifest("librispeech", libri_layout, "dev")[0].path
    wave = np.asarray(audio.load_audio(path, offline.mel.sample_rate))
    feats = audio.log_mel(wave, offline.mel)
    lp, lengths = offline.task.log_probs(params, {
        "features": feats[None], "feature_lengths": np.array([len(feats)], np.int32)})
    session = streamer.session()
    for start in range(0, len(wave), 1000):  # blocks unrelated to the 80 ms chunk
        session.feed(wave[start:start + 1000])
    session.finish()
    whole = np.asarray(lp[0, :int(lengths[0])])
    assert session.log_probs.shape == whole.shape
    np.testing.assert_allclose(session.log_probs, whole, atol=2e-3)


def test_eval_on_any_dataset_writes_the_split_json(capsys, libri_layout, tiny_offline_workdir):
    code, out, errors = run_cli(capsys, "eval", "--workdir", tiny_offline_workdir, "--dataset",
                                "librispeech", "--root", libri_layout, "--split", "dev",
                                "--greedy")
    assert code == 0 and not errors
    path = os.path.join(tiny_offline_workdir, "eval_librispeech_dev.json")
    saved = json.load(open(path))
    dev = manifest.load_manifest("librispeech", libri_layout, "dev")
    assert saved["metrics"]["utterances"] == len(saved["utterances"]) == len(dev)
    assert {u["path"] for u in saved["utterances"]} == {u.path for u in dev}
    assert saved["utterances"][0]["reference"] == saved["utterances"][0]["reference"].lower()
    # --limit judges that many, spread over the readers (the files go reader by reader)
    code, out, errors = run_cli(capsys, "eval", "--workdir", tiny_offline_workdir, "--dataset",
                                "librispeech", "--root", libri_layout, "--split", "dev",
                                "--greedy", "--limit", "3")
    assert code == 0 and "limit=3" in out
    saved = json.load(open(path))
    judged = {u["path"] for u in saved["utterances"]}
    assert saved["metrics"]["utterances"] == len(judged) == 3
    assert {u.speaker for u in dev if u.path in judged} == {u.speaker for u in dev}
    code, _, errors = run_cli(capsys, "eval", "--workdir", tiny_offline_workdir, "--dataset",
                              "librispeech", "--root", libri_layout, "--limit", "0")
    assert_one_line_error(code, errors, "--limit")
    code, _, errors = run_cli(capsys, "eval", "--workdir", tiny_offline_workdir, "--root",
                              libri_layout)
    assert_one_line_error(code, errors, "--root needs --dataset")
    code, _, errors = run_cli(capsys, "eval", "--workdir", tiny_offline_workdir, "--dataset",
                              "ljspeech", "--root", libri_layout)
    assert_one_line_error(code, errors, "no metadata.csv")


# ----------------------------------------------------------------------------- the real data

def _shared(name):
    root = os.path.join(SHARED, name)
    if not os.path.isdir(root):
        pytest.skip(f"{root} not present on this machine")
    return root


def test_minilibrispeech_speaker_split():
    root = _shared("minilibrispeech")
    train_utts = manifest.load_manifest("librispeech", root, "train")
    dev = manifest.load_manifest("librispeech", root, "dev")
    assert (len(train_utts), len(dev)) == (1211, 158)
    assert len({u.speaker for u in train_utts}) == 20 and len({u.speaker for u in dev}) == 4
    assert not {u.speaker for u in train_utts} & {u.speaker for u in dev}
    assert 4.0 < sum(u.duration for u in train_utts) / 3600 < 4.4
    assert all(u.path.endswith(".opus") and u.text.isupper() for u in dev)


def test_kathleen_holds_out_prompts_not_takes():
    root = _shared("kathleen")
    utterances = manifest.load_manifest("ljspeech", root, "all", heldout_prompts=100)
    assert len(utterances) == 1620
    prompts = collections.defaultdict(set)
    for u in utterances:
        prompts[manifest.prompt_of(os.path.splitext(os.path.basename(u.path))[0])].add(u.split)
    assert len(prompts) == 1132 and all(len(s) == 1 for s in prompts.values())
    held = collections.Counter(next(iter(s)) for s in prompts.values())
    assert held["test"] == held["valid"] == 100


def test_main_job_refuses_a_real_data_folder_without_test_sets(capsys, tmp_path):
    (tmp_path / "data" / "something_else").mkdir(parents=True)
    code, _, errors = run_cli(capsys, "main", "--workdir", str(tmp_path / "w"), "--real-data",
                              str(tmp_path / "data"))
    assert_one_line_error(code, errors, "holds none of the human test sets")
    assert not (tmp_path / "w").exists()  # refused before anything was trained or written


def test_real_speech_report_adds_up_runs_and_keeps_its_reading(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("real_speech", os.path.join(
        config_lib.REPO, "experiments", "real_speech.py"))
    real_speech = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(real_speech)
    for name, cer in (("finetune", 0.4), ("synthetic_only", 0.7)):  # finished out of grid order
        (tmp_path / name).mkdir()
        (tmp_path / name / "real_speech_row.json").write_text(json.dumps(
            {"recipe": name, "seconds": 1.0, "steps": 2, "minilibrispeech CER": cer,
             "minilibrispeech WER": 1.0}))
    rows = real_speech.finished_rows(str(tmp_path))
    assert [r["recipe"] for r in rows] == ["synthetic_only", "finetune"]
    out = tmp_path / "experiments.md"
    out.write_text("old table\n\n## What it shows\n\nA reading written by hand.\n")
    real_speech.write_report(rows, str(out), str(tmp_path / "plot.png"))
    text = out.read_text()
    assert "old table" not in text and text.endswith("A reading written by hand.\n")
    assert "| synthetic_only | 1 | 2 | 0.7 | 1 |" in text.replace(".0 |", " |")
    missing = text.split("Not yet run: ")[1].split(".")[0].split(", ")
    assert set(missing) == set(real_speech.GRID) - {"synthetic_only", "finetune"}
    assert (tmp_path / "plot.png").stat().st_size > 1000


def test_extra_datasets_join_every_split_they_have_and_one_speaker_table(tiny_corpus,
                                                                         libri_layout):
    config = _tiny("speaker_real", tiny_corpus, **{"data.dataset": "synth"})
    config.data.extra_datasets = ("librispeech:" + libri_layout,)
    for split, libri_split in (("train", "train"), ("valid", "dev")):
        own = manifest.load_manifest("synth", tiny_corpus, split)
        libri = manifest.load_manifest("librispeech", libri_layout, libri_split)
        joined = sources.utterances(config.data, split)
        assert [u.path for u in joined] == [u.path for u in own + libri]
    # LibriSpeech has no test subset here: the split is the corpus's alone, not an error.
    assert sources.utterances(config.data, "test") == manifest.load_manifest(
        "synth", tiny_corpus, "test")
    task = tasks.get(config)
    libri_readers = {u.speaker for u in manifest.load_manifest("librispeech", libri_layout,
                                                               "train")}
    assert libri_readers <= set(task.speakers) and len(task.speakers) > len(libri_readers)
    config.data.extra_datasets = ("librispeech",)
    with pytest.raises(manifest.DataError, match="dataset:root"):
        sources.utterances(config.data, "train")
