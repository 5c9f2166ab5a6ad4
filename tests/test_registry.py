"""Published models: export a workdir, load it back float32, find it by name, refuse damage;
the held-out ARCTIC prompts, the same for every voice."""
import json
import os

import jax
import numpy as np
import pytest
import soundfile as sf

from voxjax import checkpoint, config as config_lib, inference, registry
from voxjax.registry import publish
from voxjax.data import manifest, sources
from tests.test_cli import assert_one_line_error, run_cli

SHARED = config_lib.SHARED_DATA


@pytest.fixture
def exported(tiny_streaming_workdir, tmp_path, monkeypatch):
    """The tiny streaming STT workdir exported as ``tiny-stt`` into a registry of its own."""
    monkeypatch.setattr(registry, "REGISTRY_DIR", str(tmp_path / "registry"))
    path = publish.export(tiny_streaming_workdir, "tiny-stt")
    return path


def test_export_stores_float16_and_loads_float32_close_to_the_workdir(
        exported, tiny_streaming_workdir):
    from safetensors.numpy import load_file
    stored = load_file(os.path.join(exported, registry.PARAMS_FILE))
    assert {v.dtype for v in stored.values()} == {np.dtype(np.float16)}
    original = checkpoint.load_params(tiny_streaming_workdir)
    loaded = checkpoint.load_params(exported)
    assert jax.tree.structure(loaded) == jax.tree.structure(original)
    for a, b in zip(jax.tree.leaves(loaded), jax.tree.leaves(original)):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
    assert checkpoint.load_config(exported).to_dict() == json.loads(
        json.dumps(checkpoint.load_config(tiny_streaming_workdir).to_dict()))
    # The text prior travels with it, so beam search needs no training data.
    assert os.path.exists(os.path.join(exported, registry.PRIOR_FILE))
    assert "tiny-stt" in open(os.path.join(exported, registry.CARD_FILE)).read()
    assert not os.path.exists(os.path.join(exported, "checkpoints"))


def test_an_exported_model_transcribes_like_its_workdir(exported, tiny_streaming_workdir,
                                                        tiny_corpus):
    utterance = manifest.load_manifest("synth", tiny_corpus, "test")[0]
    from_workdir = inference.Transcriber(tiny_streaming_workdir, greedy=True)
    from_model = inference.Transcriber("tiny-stt", greedy=True)  # found by name
    wave = np.asarray(sf.read(utterance.path)[0], np.float32)
    a = from_workdir.streamer.transcribe_offline(wave)
    b = from_model.streamer.transcribe_offline(wave)
    np.testing.assert_allclose(a.log_probs, b.log_probs, atol=0.05)


def test_models_lists_and_cli_flags_take_a_model_name(exported, capsys, tiny_corpus, tmp_path,
                                                     monkeypatch):
    code, out, _ = run_cli(capsys, "models", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["name"] for r in rows] == ["tiny-stt"]
    assert rows[0]["task"] == "stt" and rows[0]["parameters"] > 1000
    path = manifest.load_manifest("synth", tiny_corpus, "test")[0].path
    code, out, errors = run_cli(capsys, "transcribe", "--model", "tiny-stt", "--greedy", path)
    assert code == 0 and not errors and out.startswith(path + "\t")
    code, out, errors = run_cli(capsys, "eval", "--model", "tiny-stt", "--dataset", "synth",
                                "--root", tiny_corpus, "--split", "test", "--greedy",
                                "--out-dir", tmp_path / "eval")
    assert code == 0 and not errors
    assert json.load(open(tmp_path / "eval" / "eval_synth_test.json"))["metrics"]["utterances"] > 0
    assert not os.path.exists(os.path.join(exported, "eval_synth_test.json"))
    monkeypatch.chdir(tmp_path)  # without --out-dir: runs/eval/<name>, never the model folder
    code, _, errors = run_cli(capsys, "eval", "--model", "tiny-stt", "--dataset", "synth",
                              "--root", tiny_corpus, "--split", "test", "--greedy")
    assert code == 0 and (tmp_path / "runs" / "eval" / "tiny-stt" / "eval_synth_test.json").exists()
    assert not os.path.exists(os.path.join(exported, "eval_synth_test.json"))


def test_a_missing_or_corrupt_model_file_is_one_line_and_exit_2(exported, capsys, tiny_corpus):
    path = manifest.load_manifest("synth", tiny_corpus, "test")[0].path
    code, _, errors = run_cli(capsys, "transcribe", "--model", "no-such-model", path)
    assert_one_line_error(code, errors, "no published model", "tiny-stt")
    with open(os.path.join(exported, registry.PARAMS_FILE), "r+b") as f:
        f.seek(-8, os.SEEK_END)
        f.write(b"\x00" * 8)
    code, _, errors = run_cli(capsys, "transcribe", "--model", "tiny-stt", path)
    assert_one_line_error(code, errors, "corrupt", registry.PARAMS_FILE)
    os.remove(os.path.join(exported, registry.PRIOR_FILE))
    code, _, errors = run_cli(capsys, "models")
    assert_one_line_error(code, errors, "missing", registry.PRIOR_FILE)


def test_export_refuses_a_bad_name_and_a_published_model(exported, capsys,
                                                         tiny_streaming_workdir):
    code, _, errors = run_cli(capsys, "export", "--workdir", tiny_streaming_workdir, "--name",
                              "../escape")
    assert_one_line_error(code, errors, "model name")
    code, _, errors = run_cli(capsys, "export", "--workdir", exported, "--name", "again")
    assert_one_line_error(code, errors, "already a published model")


def _ljspeech_folder(root, ids):
    os.makedirs(os.path.join(root, "wavs"))
    with open(os.path.join(root, "metadata.csv"), "w") as f:
        for uid in ids:
            f.write(f"{uid}|Some words.\n")
            sf.write(os.path.join(root, "wavs", uid + ".wav"), np.zeros(160, np.int16), 16000)


def test_arctic_voices_hold_out_the_same_prompts_whatever_files_they_have(tmp_path):
    test = set(manifest.arctic_heldout_prompts("test"))
    valid = set(manifest.arctic_heldout_prompts("valid"))
    assert len(test) == len(valid) == manifest.ARCTIC_HELDOUT and not test & valid
    every_third = manifest.ARCTIC_PROMPTS[::3]
    _ljspeech_folder(str(tmp_path / "voice"), [p + "_17" for p in every_third])  # takes
    utterances = manifest.load_manifest("ljspeech", tmp_path / "voice", "all", heldout_prompts=100)
    split_of = {manifest.prompt_of(os.path.basename(u.path)[:-4]): u.split for u in utterances}
    assert {p for p, s in split_of.items() if s == "test"} == test & set(every_third)
    assert {p for p, s in split_of.items() if s == "valid"} == valid & set(every_third)


def test_the_shared_arctic_voices_and_stt_en_never_train_on_held_out_prompts():
    voices = [os.path.join(SHARED, v) for v in ("arctic/bdl", "arctic/slt", "kathleen")]
    if not all(os.path.isdir(v) for v in voices):
        pytest.skip("the ARCTIC voices of ../shared/data are not on this machine")
    held = set(manifest.arctic_heldout_prompts("test")) | set(
        manifest.arctic_heldout_prompts("valid"))
    for voice in voices:
        test = manifest.load_manifest("ljspeech", voice, "test", heldout_prompts=100)
        assert {manifest.prompt_of(os.path.basename(u.path)[:-5]) for u in test} == set(
            manifest.arctic_heldout_prompts("test"))
    config = config_lib.load("stt_en")
    config.data.synth_ratio = 0.0  # the corpus is not needed to list the human recordings
    trained = sources.utterances(config.data, config.data.train_split)
    names = {manifest.prompt_of(os.path.basename(u.path).rsplit(".", 1)[0]) for u in trained}
    assert len(trained) > 4000 and not names & held
    arctic = dict(sources.evaluation_set("arctic", None, "test"))
    assert sorted(arctic) == ["bdl", "slt"] and all(len(u) == 100 for u in arctic.values())


def test_a_voice_brings_its_decoder_and_refuses_a_republished_one(
        tiny_tts_workdir, tiny_decoder_workdir, tiny_streaming_workdir, capsys, tmp_path,
        monkeypatch):
    monkeypatch.setattr(registry, "REGISTRY_DIR", str(tmp_path / "registry"))
    code, _, errors = run_cli(capsys, "export", "--workdir", tiny_tts_workdir, "--name",
                              "tiny-voice", "--requires", "decoder=tiny-decoder")
    assert_one_line_error(code, errors, "no published model 'tiny-decoder'")
    publish.export(tiny_decoder_workdir, "tiny-decoder")
    code, _, errors = run_cli(capsys, "export", "--workdir", tiny_tts_workdir, "--name",
                              "tiny-voice", "--requires", "decoder=tiny-decoder")
    assert code == 0 and not errors
    out = tmp_path / "hello.wav"
    code, printed, errors = run_cli(capsys, "synthesize", "--model", "tiny-voice", "--out", out,
                                    "Hello there.")
    assert code == 0 and not errors and sf.info(str(out)).duration > 0.1
    # Re-publishing the decoder (other parameters) breaks the link: one line, exit 2.
    publish.export(tiny_streaming_workdir, "tiny-decoder")
    code, _, errors = run_cli(capsys, "synthesize", "--model", "tiny-voice", "--out", out, "Hi.")
    assert_one_line_error(code, errors, "built on another tiny-decoder")


def test_shared_data_paths_are_stored_portably(tiny_streaming_workdir, tmp_path, monkeypatch):
    root = checkpoint.load_config(tiny_streaming_workdir).data.root
    monkeypatch.setattr(config_lib, "SHARED_DATA", os.path.dirname(root))  # as if shared
    path = publish.export(tiny_streaming_workdir, "tiny-stt", str(tmp_path))
    stored = json.load(open(os.path.join(path, registry.CONFIG_FILE)))
    assert stored["data"]["root"] == registry.SHARED_TOKEN + "/" + os.path.basename(root)
    monkeypatch.setattr(config_lib, "SHARED_DATA", str(tmp_path / "elsewhere"))
    assert checkpoint.load_config(path).data.root == str(
        tmp_path / "elsewhere" / os.path.basename(root))


def test_serve_without_model_flags_serves_the_published_models(
        tiny_streaming_workdir, tmp_path, monkeypatch, capsys):
    from voxjax import live
    monkeypatch.setattr(registry, "REGISTRY_DIR", str(tmp_path / "registry"))
    code, _, errors = run_cli(capsys, "serve")
    assert_one_line_error(code, errors, "no published models")
    publish.export(tiny_streaming_workdir, "stt-en")
    served = {}
    monkeypatch.setattr(live, "serve", lambda models, host, port, limits: served.update(
        modes=models.modes, host=host))
    code, _, errors = run_cli(capsys, "serve")
    assert code == 0 and not errors and served == {"modes": ["transcribe"], "host": "127.0.0.1"}
