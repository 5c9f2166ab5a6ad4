"""The ``voxjax`` command: every bad input gives one line and exit 2; odd audio is handled."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from voxjax import cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(capsys, *argv):
    """Runs the CLI in-process; returns (exit code, stdout, the error lines of stderr)."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("voxjax: error:")]
    return code, out, errors


def assert_one_line_error(code, errors, *words):
    assert code == 2
    assert len(errors) == 1, errors
    for word in words:
        assert word in errors[0], errors[0]


def speech(tiny_corpus):
    with open(os.path.join(tiny_corpus, "manifest.jsonl")) as f:
        first = json.loads(f.readline())
    wave, rate = sf.read(os.path.join(tiny_corpus, first["path"]), dtype="float32")
    return wave, rate


# ---------------------------------------------------------------- transcribe: odd but usable audio

@pytest.mark.parametrize("variant", ["stereo_44k", "8k", "48k_24bit", "8bit", "clipped", "silent"])
def test_transcribe_handles_odd_audio(capsys, tmp_path, tiny_corpus, tiny_offline_workdir, variant):
    import librosa
    wave, rate = speech(tiny_corpus)
    path, subtype = tmp_path / f"{variant}.wav", "PCM_16"
    if variant == "stereo_44k":
        wave, rate = librosa.resample(wave, orig_sr=rate, target_sr=44100), 44100
        wave = np.stack([wave, 0.5 * wave], 1)
    elif variant == "8k":
        wave, rate = librosa.resample(wave, orig_sr=rate, target_sr=8000), 8000
    elif variant == "48k_24bit":
        wave, rate, subtype = librosa.resample(wave, orig_sr=rate, target_sr=48000), 48000, "PCM_24"
    elif variant == "8bit":
        subtype = "PCM_U8"
    elif variant == "clipped":
        wave = np.clip(wave * 20, -1, 1)
    elif variant == "silent":
        wave = np.zeros(rate, np.float32)
    sf.write(path, wave, rate, subtype=subtype)
    code, out, errors = run_cli(capsys, "transcribe", "--workdir", tiny_offline_workdir, "--json", path)
    assert code == 0 and not errors
    record = json.loads(out.strip())
    assert record["path"] == str(path) and isinstance(record["text"], str)
    if variant == "silent":
        assert record["text"].strip() == ""


# ---------------------------------------------------------------- transcribe: refused audio

@pytest.mark.parametrize("make,word", [
    (lambda p: None, "not found"),
    (lambda p: p.write_bytes(b"RIFF....WAVEfmt garbage"), "cannot decode"),
    (lambda p: sf.write(p, np.zeros(0, np.float32), 16000), "empty"),
    (lambda p: sf.write(p, np.full(1600, np.inf, np.float32), 16000, subtype="FLOAT"), "NaN"),
])
def test_transcribe_refuses_bad_files_with_one_line(capsys, tmp_path, tiny_offline_workdir, make, word):
    path = tmp_path / "bad.wav"
    make(path)
    code, out, errors = run_cli(capsys, "transcribe", "--workdir", tiny_offline_workdir, path)
    assert_one_line_error(code, errors, word, "bad.wav")
    assert out == ""


def test_transcribe_keeps_going_after_a_bad_file(capsys, tmp_path, tiny_corpus, tiny_offline_workdir):
    good = tmp_path / "good.wav"
    sf.write(good, *speech(tiny_corpus))
    code, out, errors = run_cli(capsys, "transcribe", "--workdir", tiny_offline_workdir,
                                tmp_path / "missing.wav", good)
    assert code == 2 and len(errors) == 1
    assert out.startswith(str(good))


@pytest.mark.parametrize("decode", [["--greedy"], ["--beam-size", "4"]], ids=["greedy", "beam"])
def test_streaming_transcribe_prints_the_offline_text(capsys, tmp_path, tiny_corpus,
                                                      tiny_streaming_workdir, decode):
    # The same causal model and decode settings give one text, streamed or not, on every file.
    with open(os.path.join(tiny_corpus, "manifest.jsonl")) as f:
        paths = [os.path.join(tiny_corpus, json.loads(line)["path"]) for line in f][:4]
    texts = {}
    for mode in ([], ["--stream"]):
        code, out, errors = run_cli(capsys, "transcribe", "--workdir", tiny_streaming_workdir,
                                    "--json", "--chunk-ms", "80", *mode, *decode, *paths)
        assert code == 0 and not errors
        texts[bool(mode)] = [json.loads(line)["text"] for line in out.splitlines()]
    assert len(texts[True]) == 4 and texts[True] == texts[False]
    assert any(texts[True])  # the tiny model says something on some file


def test_stream_refuses_bidirectional_model_and_bad_chunk(capsys, tmp_path, tiny_corpus,
                                                           tiny_offline_workdir,
                                                           tiny_streaming_workdir):
    path = tmp_path / "utt.wav"
    sf.write(path, *speech(tiny_corpus))
    code, _, errors = run_cli(capsys, "transcribe", "--workdir", tiny_offline_workdir, "--stream", path)
    assert_one_line_error(code, errors, "stream")
    code, _, errors = run_cli(capsys, "transcribe", "--workdir", tiny_streaming_workdir, "--stream",
                              "--chunk-ms", "100", path)
    assert_one_line_error(code, errors, "40")


# ---------------------------------------------------------------- eval and train

def test_eval_writes_json_and_refuses_unknown_split(capsys, tiny_offline_workdir):
    code, out, errors = run_cli(capsys, "eval", "--workdir", tiny_offline_workdir, "--split", "test")
    assert code == 0 and "cer=" in out and "cer_beam=" in out
    with open(os.path.join(tiny_offline_workdir, "eval_test.json")) as f:
        saved = json.load(f)
    assert saved["metrics"]["utterances"] == len(saved["utterances"]) > 0
    code, out, errors = run_cli(capsys, "eval", "--workdir", tiny_offline_workdir, "--split", "test",
                                "--prior-weight", "0.25", "--length-bonus", "0.5")
    assert code == 0 and "decode_prior_weight=0.25" in out and "decode_length_bonus=0.5" in out
    code, _, errors = run_cli(capsys, "eval", "--workdir", tiny_offline_workdir, "--split", "nope")
    assert_one_line_error(code, errors, "nope")


def test_workdir_without_checkpoint(capsys, tmp_path):
    code, _, errors = run_cli(capsys, "eval", "--workdir", tmp_path)
    assert_one_line_error(code, errors, "no checkpoint", str(tmp_path))
    code, _, errors = run_cli(capsys, "transcribe", "--workdir", tmp_path / "absent", "x.wav")
    assert_one_line_error(code, errors, "no checkpoint")


@pytest.mark.parametrize("argv,word", [
    (["--config", f"{REPO}/configs/stt_synth.py:tiny", "--config.model.no_such_key=3"], "no_such_key"),
    (["--config", f"{REPO}/configs/no_such_config.py"], "no_such_config"),
    (["--config", f"{REPO}/configs/stt_synth.py:tiny", "--config.train.steps=abc"], "steps"),
])
def test_train_refuses_bad_config(capsys, tmp_path, argv, word):
    code, _, errors = run_cli(capsys, "train", *argv, "--workdir", tmp_path)
    assert_one_line_error(code, errors, word)


def test_train_on_empty_folder_is_refused(capsys, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, errors = run_cli(capsys, "train", "--config", f"{REPO}/configs/stt_synth.py:tiny",
                              "--workdir", tmp_path / "w", "--config.data.dataset=manifest",
                              f"--config.data.root={empty}")
    assert_one_line_error(code, errors, str(empty))


def test_corpus_refuses_tiny_size(capsys, tmp_path):
    code, _, errors = run_cli(capsys, "corpus", "--out", tmp_path, "--size", "2")
    assert_one_line_error(code, errors, "size")


def test_console_script_exit_code_is_nonzero_in_a_real_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "voxjax.cli", "eval", "--workdir", str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("voxjax: error: no checkpoint")
    assert "Traceback" not in proc.stderr


def test_config_overrides_reach_the_config():
    config, workdir = cli._parse_config(["--config", f"{REPO}/configs/stt_synth.py:tiny",
                                         "--workdir", "/tmp/w", "--config.train.steps=7",
                                         "--config.model.rnn_cell=lstm"])
    assert (config.train.steps, config.model.rnn_cell, workdir) == (7, "lstm", "/tmp/w")
    assert config.data.size == 48  # the :tiny argument reached get_config


# ---------------------------------------------------------------- synthesize

def _synth(capsys, tts, decoder, *argv):
    return run_cli(capsys, "synthesize", "--tts", tts, "--decoder", decoder, *argv)


def test_synthesize_writes_wav_and_stream_equals_offline(capsys, tmp_path, tiny_tts_workdir,
                                                         tiny_decoder_workdir):
    offline, streamed = tmp_path / "offline.wav", tmp_path / "streamed.wav"
    code, out, errors = _synth(capsys, tiny_tts_workdir, tiny_decoder_workdir, "--out", offline,
                               "It costs $5.")
    assert code == 0 and not errors and str(offline) in out
    code, _, _ = _synth(capsys, tiny_tts_workdir, tiny_decoder_workdir, "--stream", "--out",
                        streamed, "It costs $5.")
    a, rate = sf.read(offline, dtype="float32")
    b, _ = sf.read(streamed, dtype="float32")
    assert code == 0 and rate == 16000 and a.size > 0
    np.testing.assert_allclose(a, b, atol=2e-4)  # PCM-16 rounding of equal signals


def test_synthesize_text_file_names_wavs_by_line_and_reports_bad_lines(
        capsys, tmp_path, tiny_tts_workdir, tiny_decoder_workdir):
    lines = tmp_path / "lines.txt"
    lines.write_text("First line.\n🙂🙂\nThird line, at last.\n")
    code, out, errors = _synth(capsys, tiny_tts_workdir, tiny_decoder_workdir, "--text-file",
                               lines, "--out-dir", tmp_path / "wavs")
    assert sorted(os.listdir(tmp_path / "wavs")) == ["0001.wav", "0003.wav"]
    assert_one_line_error(code, errors, "line 2", "emoji")


def test_list_speakers_prints_the_default_first(capsys, tiny_tts_workdir):
    from voxjax import checkpoint
    code, out, _ = run_cli(capsys, "synthesize", "--tts", tiny_tts_workdir, "--list-speakers")
    assert code == 0
    assert out.splitlines() == list(checkpoint.load_config(tiny_tts_workdir).data.speakers)


@pytest.mark.parametrize("text,extra,words", [
    ("", (), ["empty"]),
    ("   ", (), ["whitespace"]),
    ("?!", (), ["punctuation"]),
    ("🙂🙂🙂", (), ["emoji"]),
    ("你好世界", (), ["English"]),
    ("Hello.", ("--speaker", "nobody"), ["unknown speaker"]),
    ("Hello.", ("--pace", "0"), ["pace", "positive"]),
])
def test_synthesize_refuses_bad_text_and_speakers(capsys, tmp_path, tiny_tts_workdir,
                                                  tiny_decoder_workdir, text, extra, words):
    out_path = tmp_path / "x.wav"
    code, _, errors = _synth(capsys, tiny_tts_workdir, tiny_decoder_workdir, *extra, "--out",
                             out_path, text)
    assert_one_line_error(code, errors, *words)
    assert not out_path.exists()


def test_synthesize_refuses_mismatched_workdirs(capsys, tmp_path, tiny_tts_workdir,
                                                tiny_offline_workdir):
    code, _, errors = _synth(capsys, tiny_tts_workdir, tiny_offline_workdir, "--out",
                             tmp_path / "x.wav", "Hello.")
    assert_one_line_error(code, errors, "not 'decoder'")
