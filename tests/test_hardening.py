"""Hardening (issue 11, item 5): atomic writes, metrics readers, resume config checks, the
multi-process preemption sync point, truncated audio, user errors vs bugs, no corpus built by
evaluation, a wheel that ships the configs, and a kill during a checkpoint save."""
import glob
import json
import os
import signal
import shutil
import socket
import subprocess
import sys
import textwrap
import zipfile

import ml_collections
import numpy as np
import pytest
import soundfile as sf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toy_task  # noqa: E402
from test_train import (SUBPROCESS_TIMEOUT, TOY, _losses, _rows, _run, _step_dirs,  # noqa: E402
                        _toy_process, _wait_for_step)

from voxjax import audio, checkpoint, cli, files, summaries  # noqa: E402
from voxjax.errors import ConfigError, UserError, is_user_error  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _errors(err):
    return [line for line in err.splitlines() if line.startswith("voxjax: error:")]


# ---------------------------------------------------------------- atomic writes

def test_atomic_open_replaces_whole_or_not_at_all(tmp_path):
    path = tmp_path / "sub" / "result.json"
    files.write_json(path, {"v": 1})
    with pytest.raises(RuntimeError):
        with files.atomic_open(path) as f:
            f.write('{"v": 2, "half')  # a crash mid-write ...
            raise RuntimeError("killed")
    assert json.loads(path.read_text()) == {"v": 1}  # ... leaves the old file whole
    assert os.listdir(path.parent) == ["result.json"]  # and no temp file behind
    files.write_text(path, "new\n")
    assert path.read_text() == "new\n" and os.listdir(path.parent) == ["result.json"]
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~_umask()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_save_audio_and_text_prior_write_atomically(tmp_path, monkeypatch):
    from voxjax.models.text_prior import CharNGramPrior
    wav = tmp_path / "out.wav"
    audio.save_audio(wav, np.zeros(1600, np.float32), 16000)
    real_write = sf.write

    def torn_write(file, data, *args, **kwargs):  # writes half the audio, then dies
        real_write(file, data[: len(data) // 2], *args, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(sf, "write", torn_write)
    with pytest.raises(OSError):
        audio.save_audio(wav, np.full(3200, 0.5, np.float32), 16000)
    monkeypatch.undo()
    kept, rate = sf.read(wav, dtype="float32")
    assert len(kept) == 1600 and rate == 16000 and os.listdir(tmp_path) == ["out.wav"]
    audio.save_audio(tmp_path / "x.flac", np.zeros(800, np.float32), 16000)
    assert sf.info(str(tmp_path / "x.flac")).format == "FLAC"

    prior_path = tmp_path / "prior" / "text_prior.json"
    prior = CharNGramPrior(order=2).fit(["a cat", "a bat"])
    prior.save(prior_path)
    replaced = []
    real_replace = os.replace
    monkeypatch.setattr(files.os, "replace", lambda a, b: (replaced.append(str(b)),
                                                           real_replace(a, b)))
    prior.save(prior_path)
    audio.save_audio(wav, np.zeros(10, np.float32), 16000)
    assert replaced == [str(prior_path), str(wav)]
    assert CharNGramPrior.load(prior_path).counts == prior.counts


def test_owned_writers_use_the_atomic_helper():
    # Every whole-file write in these modules goes through voxjax.files (the metrics log's
    # one-line appends are the exception). A bare open(..., "w") / json.dump / sf.write /
    # savefig here would bypass it.
    import re
    modules = ["voxjax/main_job.py", "voxjax/models/text_prior.py", "voxjax/summaries.py",
               "voxjax/train.py", "voxjax/checkpoint.py"]
    bare = re.compile(r"open\([^)]*[\"'][wx]b?[\"']|json\.dump\(|sf\.write\(|\.savefig\(")
    for module in modules:
        with open(os.path.join(REPO, module)) as f:
            hits = [line.strip() for line in f if bare.search(line)]
        assert not hits, (module, hits)
    source = open(os.path.join(REPO, "voxjax/audio.py")).read()
    save = source[source.index("def save_audio"):]
    save = save[:save.index("\ndef ")]
    assert "atomic_open" in save


# ---------------------------------------------------------------- metrics.jsonl readers

def test_read_metrics_survives_torn_line_and_keeps_last_row_per_step(tmp_path):
    rows = [{"step": s, "split": "train", "loss": float(s)} for s in range(1, 6)]
    rows.append({"step": 5, "split": "valid", "mse": 0.5})
    rows += [{"step": s, "split": "train", "loss": 10.0 * s} for s in (4, 5, 6)]  # resumed at 3
    text = "".join(json.dumps(r) + "\n" for r in rows) + '{"step": 7, "split": "tr'
    (tmp_path / "metrics.jsonl").write_text(text)
    train = summaries.read_metrics(str(tmp_path), "train")
    assert [r["step"] for r in train] == [1, 2, 3, 4, 5, 6]
    assert [r["loss"] for r in train] == [1.0, 2.0, 3.0, 40.0, 50.0, 60.0]
    assert summaries.read_metrics(str(tmp_path / "metrics.jsonl"), "valid") == [rows[5]]
    assert len(summaries.read_metrics(str(tmp_path))) == 7
    assert summaries.read_metrics(str(tmp_path / "absent")) == []


def test_training_seconds_add_up_the_runs_of_a_resumed_training(tmp_path):
    times = [1000, 1060, 1120, 1180] + [9000, 9050, 9100]  # stopped for two hours, resumed
    rows = [{"step": 50 * i, "split": "train", "time": t} for i, t in enumerate(times)]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows)
                                            + '{"step": 9, "ti')
    assert summaries.training_seconds(str(tmp_path)) == 180 + 100
    assert summaries.training_seconds(str(tmp_path / "absent")) == 0.0


def test_summary_writer_cuts_a_torn_tail_before_appending(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(json.dumps({"step": 1, "split": "train", "loss": 1.0}) + "\n"
                    + '{"step": 2, "split": "train", "lo')  # killed mid-line
    with summaries.SummaryWriter(str(tmp_path)) as writer:
        writer.scalars(2, {"loss": 2.0})
    lines = path.read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2]  # every line parses
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "metrics.jsonl").write_text('{"step": 1, "spl')
    with summaries.SummaryWriter(str(tmp_path / "only")) as writer:
        writer.scalars(1, {"loss": 1.0})
    assert [r["step"] for r in summaries.read_metrics(str(tmp_path / "only"))] == [1]


def test_main_job_plots_read_deduplicated_metrics(tmp_path, monkeypatch):
    from voxjax import evaluation, main_job
    rows = [{"step": s, "split": "train", "loss": float(s)} for s in (1, 2, 3, 2, 3, 4)]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + "{")
    seen = {}
    monkeypatch.setattr(evaluation, "plot_curves",
                        lambda steps, curves, path, title: seen.update(steps=steps, curves=curves))
    main_job._plot_training(str(tmp_path), "x", str(tmp_path))
    assert seen["steps"] == [1, 2, 3, 4] and seen["curves"]["train loss"] == [1.0, 2.0, 3.0, 4.0]


# ---------------------------------------------------------------- resume config check

def test_resume_refuses_a_config_that_changes_the_run(tmp_path):
    base = {"train.steps": 5, "train.eval_every": 0, "train.checkpoint_every": 5}
    _run(tmp_path, **base)
    assert _step_dirs(tmp_path) == [5]
    with pytest.raises(ConfigError) as err:
        _run(tmp_path, **dict(base, **{"train.steps": 8}))
    message = str(err.value)
    assert "train.steps (5 -> 8)" in message and "\n" not in message
    assert is_user_error(err.value) and isinstance(err.value, ValueError)
    with pytest.raises(ConfigError, match=r"data\.batch_size.*toy\.hidden"):
        _run(tmp_path, **dict(base, **{"data.batch_size": 8, "toy.hidden": 8}))
    assert _step_dirs(tmp_path) == [5] and max(_losses(tmp_path)) == 5  # nothing ran
    # Safe keys may change: logging, eval and checkpoint periods, parallelism.
    result = _run(tmp_path, **dict(base, **{"train.log_every": 2, "train.keep": 3,
                                           "parallel.data": 1}))
    assert result["step"] == 5


def test_config_differences_rules():
    stored = toy_task.get_config().to_dict()
    stored["data"]["buckets"] = [4, 8]  # tuples come back from JSON as lists
    stored["data"]["root"] = os.path.abspath("rel/corpus")
    new = toy_task.get_config()
    new.data.buckets = (4, 8)
    new.data.root = "rel/corpus"  # relative to the same cwd: the same folder
    assert checkpoint.config_differences(stored, new.to_dict()) == []
    new.data.buckets = (4, 16)
    new.model = {"width": 3}  # a key the stored config lacks
    new.train.eval_every = 99
    new.parallel.num_processes = 4
    assert [k for k, _, _ in checkpoint.config_differences(stored, new.to_dict())] == [
        "data.buckets", "model.width"]


def test_checkpoint_stores_absolute_data_roots(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _run("work", **{"train.steps": 5, "train.eval_every": 0, "data.root": "corpus/here",
                    "data.synth_root": "../elsewhere"})
    stored = checkpoint.load_config(str(tmp_path / "work"))
    assert stored.data.root == str(tmp_path / "corpus" / "here")
    assert stored.data.synth_root == os.path.join(os.path.dirname(tmp_path), "elsewhere")
    # ... and resuming with the relative spelling from the same directory is the same run.
    assert _run("work", **{"train.steps": 5, "train.eval_every": 0, "data.root": "corpus/here",
                           "data.synth_root": "../elsewhere"})["step"] == 5


# ---------------------------------------------------------------- preemption with 2 processes

def test_sigterm_on_one_of_two_processes_stops_both_at_one_step(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    overrides = {"train.steps": 400, "train.eval_every": 0, "train.checkpoint_every": 1000,
                 "toy.delay": 0.05, "parallel.multihost": True, "parallel.num_processes": 2,
                 "parallel.coordinator": f"127.0.0.1:{port}", "parallel.preemption_sync_every": 3}
    procs = [_toy_process(tmp_path, dict(overrides, **{"parallel.process_id": i}))
             for i in range(2)]
    try:
        _wait_for_step(tmp_path, 4, procs[0])  # process 0 writes metrics.jsonl
        procs[1].send_signal(signal.SIGTERM)  # only the second process is preempted
        outs = [p.communicate(timeout=240)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0, 0], outs
    results = [json.loads(out.split("RESULT ", 1)[1]) for out in outs]
    assert [r["preempted"] for r in results] == [1.0, 1.0]
    stopped = results[0]["step"]
    assert results[1]["step"] == stopped and 4 <= stopped < 400
    assert stopped % 3 == 0  # at a sync point
    assert _step_dirs(tmp_path) == [stopped]
    files_ = sorted(os.listdir(os.path.join(checkpoint.checkpoint_dir(str(tmp_path)),
                                            str(int(stopped)), "data_iter")))
    assert [f for f in files_ if f.startswith("process_")] == ["process_0-of-2.json",
                                                               "process_1-of-2.json"]


# ---------------------------------------------------------------- kill during a checkpoint save

SLOW_SAVE = textwrap.dedent("""
    import os, re, runpy, sys, time
    import orbax.checkpoint as ocp

    original = ocp.JsonCheckpointHandler._save_fn

    async def slow_save_fn(self, x, directory):  # the config item of every checkpoint
        m = re.search(r"(\\d+)\\.orbax-checkpoint-tmp[^/]*/", str(directory) + "/")
        if m and int(m.group(1)) == int(os.environ["SLOW_SAVE_STEP"]):
            open(os.environ["SLOW_SAVE_MARKER"], "w").close()
            time.sleep(300)  # killed in here
        return await original(self, x, directory)

    ocp.JsonCheckpointHandler._save_fn = slow_save_fn
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
""")


def test_sigkill_during_a_checkpoint_save_resumes_from_the_last_complete_one(tmp_path):
    import time
    overrides = {"train.steps": 20, "train.eval_every": 0, "train.checkpoint_every": 5,
                 "train.keep": 10}
    _run(tmp_path / "ref", **overrides)
    reference = _losses(tmp_path / "ref")

    work, marker = tmp_path / "killed", tmp_path / "saving"
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=REPO, SLOW_SAVE_STEP="15",
               SLOW_SAVE_MARKER=str(marker), XLA_FLAGS="--xla_force_host_platform_device_count=1")
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, TOY, str(work)]
                            + [f"{k}={v!r}" for k, v in overrides.items()],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + SUBPROCESS_TIMEOUT
        while not marker.exists():
            assert proc.poll() is None, proc.stdout.read()
            assert time.time() < deadline, "the save of step 15 never started"
            time.sleep(0.05)
        ckpt_dir = checkpoint.checkpoint_dir(str(work))
        in_flight = glob.glob(os.path.join(ckpt_dir, "15.orbax-checkpoint-tmp*"))
        proc.kill()  # SIGKILL while step 15 is half written
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert in_flight, os.listdir(ckpt_dir)  # the kill did land inside the save
    assert _step_dirs(work) == [5, 10]  # step 15 never committed

    result = _run(work, **overrides)  # the same command again
    assert result["step"] == 20 and _step_dirs(work) == [5, 10, 15, 20]
    assert not glob.glob(os.path.join(ckpt_dir, "*.orbax-checkpoint-tmp*"))
    steps = [r["step"] for r in _rows(work)]
    restart = next(i for i in range(1, len(steps)) if steps[i] <= steps[i - 1])
    assert steps[restart] == 11  # resumed from step 10, the last complete checkpoint
    resumed = _losses(work)
    np.testing.assert_allclose([resumed[s] for s in range(1, 21)],
                               [reference[s] for s in range(1, 21)], rtol=1e-6)
    ref_params, params = (checkpoint.load_params(str(d)) for d in (tmp_path / "ref", work))
    for name in ("hidden", "out"):
        np.testing.assert_allclose(np.asarray(params[name]["kernel"]),
                                   np.asarray(ref_params[name]["kernel"]), rtol=1e-6,
                                   atol=1e-7)  # float32 ulps: XLA may reassociate across runs


# ---------------------------------------------------------------- truncated audio

def _truncated(tmp_path, keep):
    path = tmp_path / "cut.wav"
    sf.write(path, (0.1 * np.sin(np.arange(24000) * 0.05)).astype(np.float32), 16000)  # 1.5 s
    data = path.read_bytes()
    path.write_bytes(data[:keep(len(data))])
    return path


@pytest.mark.parametrize("keep", [lambda n: 60, lambda n: n // 2], ids=["60_bytes", "half"])
def test_load_audio_refuses_truncated_wav(tmp_path, keep):
    path = _truncated(tmp_path, keep)
    with pytest.raises(audio.AudioError) as err:
        audio.load_audio(path, 16000)
    assert "truncated" in str(err.value) and str(path) in str(err.value)
    assert "24000 samples" in str(err.value)


def test_load_audio_accepts_complete_files(tmp_path):
    for subtype in ("PCM_16", "PCM_24", "FLOAT", "PCM_U8"):
        path = tmp_path / f"{subtype}.wav"
        sf.write(path, np.zeros((801, 2), np.float32), 16000, subtype=subtype)  # odd, stereo
        assert len(audio.load_audio(path, 16000)) == 801


def test_transcribe_refuses_truncated_wav(capsys, tmp_path, tiny_offline_workdir):
    path = _truncated(tmp_path, lambda n: 60)
    code, out, err = _cli(capsys, "transcribe", "--workdir", tiny_offline_workdir, path)
    errors = _errors(err)
    assert code == 2 and out == "" and len(errors) == 1, err
    assert "truncated" in errors[0] and str(path) in errors[0]


# ---------------------------------------------------------------- user errors vs bugs

@pytest.mark.parametrize("error", [
    ZeroDivisionError("division by zero"), TypeError("bad operand"), KeyError("params"),
    AttributeError("no attribute"), json.JSONDecodeError("Expecting value", "x", 0)])
def test_bugs_exit_1_with_a_traceback(capsys, monkeypatch, tmp_path, error):
    def broken(args):
        raise error
    monkeypatch.setattr(cli, "cmd_corpus", broken)
    code, _, err = _cli(capsys, "corpus", "--out", tmp_path)
    assert code == 1
    assert "Traceback (most recent call last)" in err and type(error).__name__ in err
    assert "in broken" in err  # the frame where it happened


@pytest.mark.parametrize("make", [
    lambda: audio.AudioError("audio file x.wav is truncated"),
    lambda: ConfigError("cannot resume w: train.steps differs"),
    lambda: cli.CLIError("--decoder is required"),
    lambda: FileNotFoundError("no checkpoint in w"),
    lambda: ValueError("give both --dataset and --root"),
    lambda: FloatingPointError("non-finite loss at step 4"),
    lambda: __import__("voxjax.data.manifest", fromlist=["DataError"]).DataError("no data"),
    lambda: __import__("voxjax.text", fromlist=["TextError"]).TextError("empty text"),
    lambda: UserError("anything the user can fix"),
])
def test_user_errors_exit_2_with_one_line(capsys, monkeypatch, tmp_path, make):
    error = make()

    def refuse(args):
        raise error
    monkeypatch.setattr(cli, "cmd_corpus", refuse)
    code, _, err = _cli(capsys, "corpus", "--out", tmp_path)
    assert code == 2 and "Traceback" not in err
    assert _errors(err) == [f"voxjax: error: {error.args[0]}"]


def test_a_main_job_stopped_by_sigterm_exits_143_with_one_line(capsys, monkeypatch, tmp_path):
    from voxjax import main_job

    def stopped(workdir, **kwargs):
        raise main_job.Preempted("tts_synth was stopped at step 40; run the same command again "
                                 "to resume")
    monkeypatch.setattr(main_job, "run", stopped)
    code, _, err = _cli(capsys, "main", "--workdir", tmp_path)
    assert code == 143 and "Traceback" not in err
    assert err.strip().splitlines() == ["voxjax: stopped: tts_synth was stopped at step 40; run "
                                        "the same command again to resume"]


def test_a_training_stopped_by_sigterm_exits_143_after_its_metrics(capsys, monkeypatch,
                                                                   tmp_path):
    from voxjax import train
    monkeypatch.setattr(train, "train_and_evaluate",
                        lambda config, workdir: {"step": 40.0, "preempted": 1.0})
    code, out, err = _cli(capsys, "train", "--config", "configs/stt_synth.py:tiny",
                          "--workdir", tmp_path)
    assert code == 143 and "Traceback" not in err
    assert json.loads(out) == {"step": 40.0, "preempted": 1.0}
    assert err.strip().splitlines() == ["voxjax: stopped: training saved its checkpoint at step "
                                        "40; run the same command again to resume"]
    monkeypatch.setattr(train, "train_and_evaluate",
                        lambda config, workdir: {"step": 50.0, "preempted": 0.0})
    assert _cli(capsys, "train", "--config", "configs/stt_synth.py:tiny",
                "--workdir", tmp_path)[0] == 0


def test_unknown_config_key_is_a_user_error():
    from voxjax import config as config_lib
    with pytest.raises(KeyError) as err:  # still a KeyError for old callers
        config_lib.override(config_lib.load("stt_synth", "tiny"), {"model.no_such": 1})
    assert is_user_error(err.value) and str(err.value) == "unknown config key model.no_such"
    with pytest.raises(ConfigError):
        config_lib.override(config_lib.load("stt_synth", "tiny"), {"nope.x": 1})


# ---------------------------------------------------------------- no corpus built by evaluation

def test_data_layer_builds_the_corpus_only_when_training(tmp_path, monkeypatch):
    import ml_collections
    from voxjax.corpus import build
    from voxjax.data import manifest, sources
    built = []
    monkeypatch.setattr(build, "build_corpus", lambda root, **kw: built.append(root))
    data = ml_collections.ConfigDict(dict(dataset="synth", root=str(tmp_path / "corpus"),
                                          size=48, heldout_prompts=0))
    with pytest.raises(manifest.DataError) as err:
        sources.utterances(data, "test")
    assert str(tmp_path / "corpus") in str(err.value) and "not found" in str(err.value)
    assert built == [] and not (tmp_path / "corpus").exists()
    with sources.corpus_building(), pytest.raises(manifest.DataError):
        sources.utterances(data, "test")  # builds (here: pretends to), then finds nothing
    assert built == [str(tmp_path / "corpus")]


def test_eval_from_another_directory_never_builds_a_corpus(capsys, tmp_path, monkeypatch,
                                                           tiny_offline_workdir, tiny_corpus):
    assert checkpoint.load_config(tiny_offline_workdir).data.root == tiny_corpus  # absolute
    # A workdir trained before roots were stored absolute: its config says runs/corpus.
    work = tmp_path / "old_workdir"
    shutil.copytree(tiny_offline_workdir, work, ignore=shutil.ignore_patterns("eval_*",
                                                                              "text_prior.json"))
    for meta in glob.glob(str(work / "checkpoints" / "*" / "config" / "*")):
        with open(meta) as f:
            try:
                stored = json.load(f)
            except ValueError:
                continue
        if isinstance(stored, dict) and "data" in stored:
            stored["data"]["root"] = "runs/corpus"
            with open(meta, "w") as f:
                json.dump(stored, f)
    assert checkpoint.load_config(str(work)).data.root == "runs/corpus"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, _, err = _cli(capsys, "eval", "--workdir", work, "--split", "test")
    errors = _errors(err)
    assert code == 2 and len(errors) == 1 and "Traceback" not in err, err
    assert str(elsewhere / "runs" / "corpus") in errors[0] and "corpus" in errors[0]
    assert os.listdir(elsewhere) == []  # nothing synthesised


# ---------------------------------------------------------------- pip install . (a wheel)

def test_wheel_ships_the_configs_and_models_and_loads_them_without_the_checkout(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(os.path.join(REPO, "setup.py"), src)
    for folder in ("voxjax", "configs"):
        shutil.copytree(os.path.join(REPO, folder), src / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "--no-index", "-q", "-w", str(tmp_path / "dist"),
                           str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = glob.glob(str(tmp_path / "dist" / "voxjax-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(os.path.basename(n) for n in names if n.startswith("voxjax/configs/"))
    assert shipped == sorted(n for n in os.listdir(os.path.join(REPO, "configs"))
                             if n.endswith(".py"))
    # Published models: every file of every model folder, checked by name in the wheel's
    # registry (checksums verified) without the checkout.
    published = sorted(os.path.relpath(p, REPO) for p in glob.glob(
        os.path.join(REPO, "voxjax", "registry", "*", "*")))
    assert sorted(n for n in names if n.count("/") == 3 and n.startswith("voxjax/registry/")
                  ) == published
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import voxjax, voxjax.config as c, voxjax.registry as r; "
            "assert voxjax.__file__.startswith(%r), "
            "voxjax.__file__; assert not __import__('os').path.isdir(c.CONFIG_DIR); "
            "print(c.find('stt_synth')); cfg = c.load('stt_synth_streaming', 'tiny'); "
            "print(cfg.task, cfg.data.size); print(*[r.model_dir(n) for n in r.names()]); "
            "import voxjax.cli as cli; cfg, _ = cli._parse_config(['--config', "
            "'stt_synth_streaming:tiny', '--workdir', 'w', '--config.train.steps=3']); "
            "print(cfg.model.streaming, cfg.train.steps)" % str(site))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(site)), timeout=120)
    assert run.returncode == 0, run.stderr
    found, loaded, models, from_cli = run.stdout.splitlines()
    assert found == str(site / "voxjax" / "configs" / "stt_synth.py")
    assert loaded == "stt 48"
    assert models.split() == sorted({str(site / os.path.dirname(p)) for p in published})
    assert from_cli == "True 3"  # `voxjax train --config NAME:tiny` finds the wheel's config


def test_resumed_run_keeps_the_speaker_table_it_derived():
    # A fresh config leaves data.speakers empty (the task reads it from the manifest); the
    # stored run already has it: resuming takes the stored table instead of refusing.
    stored = {"data": {"speakers": ["en-us", "en+m3"], "batch_size": 4}}
    fresh = ml_collections.ConfigDict({"data": {"speakers": (), "batch_size": 4}})
    checkpoint.adopt_derived(stored, fresh)
    assert fresh.data.speakers == ("en-us", "en+m3")
    assert checkpoint.config_differences(stored, fresh.to_dict()) == []
    chosen = ml_collections.ConfigDict({"data": {"speakers": ("en-us",), "batch_size": 4}})
    checkpoint.adopt_derived(stored, chosen)  # a table the user set is theirs: still compared
    assert [k for k, _, _ in checkpoint.config_differences(stored, chosen.to_dict())] == [
        "data.speakers"]
    checkpoint.adopt_derived(None, fresh)  # nothing stored: nothing to adopt
