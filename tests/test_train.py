"""Trainer tests on the toy task: learning, data parallelism, resume, compiles, NaN, SIGTERM."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import jax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import toy_task  # noqa: E402

from voxjax import checkpoint, summaries, tasks, train  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOY = os.path.join(REPO, "tests", "toy_task.py")


def _config(**overrides):
    config = toy_task.get_config()
    return toy_task._parse_overrides(config, [f"{k}={v!r}" for k, v in overrides.items()])


def _run(workdir, **overrides):
    config = _config(**overrides)
    return train.train_and_evaluate(config, str(workdir), task=toy_task.ToyTask(config))


def _rows(workdir, split="train"):
    path = os.path.join(workdir, "metrics.jsonl")
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if r["split"] == split]


def _losses(workdir):
    """Per-step train loss; a later row for the same step (after a resume) wins."""
    return {r["step"]: r["loss"] for r in _rows(workdir)}


# Generous: a loaded 2-core machine can take minutes to start JAX; the tests check behaviour,
# not speed.
SUBPROCESS_TIMEOUT = 600.0


def _toy_process(workdir, overrides, devices=1):
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=REPO,
               XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    args = [sys.executable, TOY, str(workdir)] + [f"{k}={v!r}" for k, v in overrides.items()]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _wait_for_step(workdir, step, proc, timeout=SUBPROCESS_TIMEOUT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, "toy run ended before it was interrupted:\n" + proc.stdout.read()
        if os.path.exists(os.path.join(workdir, "metrics.jsonl")) and \
                max(_losses(workdir), default=0) >= step:
            return
        time.sleep(0.05)
    raise TimeoutError(f"step {step} not reached")


def _step_dirs(workdir):
    d = checkpoint.checkpoint_dir(str(workdir))
    return sorted(int(n) for n in os.listdir(d) if n.isdigit())


def test_loss_falls_and_outputs_written(tmp_path):
    result = _run(tmp_path, **{"train.steps": 30, "train.eval_every": 10})
    losses = _losses(tmp_path)
    assert sorted(losses) == list(range(1, 31))
    first, last = np.mean([losses[s] for s in (2, 3, 4)]), np.mean([losses[s] for s in (28, 29, 30)])
    assert last < 0.5 * first, (first, last)
    evals = _rows(tmp_path, "valid")
    assert [r["step"] for r in evals] == [10, 20, 30]
    assert result["mse"] == pytest.approx(evals[-1]["mse"])
    assert {"loss", "grad_norm", "learning_rate", "abs_err"} <= set(_rows(tmp_path)[0])
    events = os.listdir(tmp_path / "tensorboard")
    assert any(name.startswith("events.out.tfevents") for name in events)
    # write_examples put an image and an audio clip into the event file(s).
    blob = b"".join((tmp_path / "tensorboard" / n).read_bytes() for n in events)
    assert b"toy/kernel" in blob and b"toy/tone" in blob
    assert _step_dirs(tmp_path) == [25, 30]  # keep=2 of 5, 10, ..., 30
    params = checkpoint.load_params(str(tmp_path))
    assert params["hidden"]["kernel"].shape == (toy_task.DIM, 16)
    assert checkpoint.load_config(str(tmp_path)).train.steps == 30


def test_compiles_once_per_bucket(tmp_path):
    # 3 epochs of 6 batches over two shapes: exactly two compilations, none after warm-up.
    _run(tmp_path, **{"train.steps": 18, "train.eval_every": 0})
    counts = [r["compiles"] for r in _rows(tmp_path)]
    assert len(counts) == 18 and max(counts) == 2
    warm = counts.index(2)
    assert warm < 6 and set(counts[warm:]) == {2}


def test_one_vs_eight_devices_same_params(tmp_path):
    overrides = {"train.steps": 4, "train.eval_every": 0, "data.batch_size": 16}
    _run(tmp_path / "one", **overrides)
    proc = _toy_process(tmp_path / "eight", overrides, devices=8)
    out, _ = proc.communicate(timeout=SUBPROCESS_TIMEOUT)
    assert proc.returncode == 0, out
    one = checkpoint.load_params(str(tmp_path / "one"))
    eight = checkpoint.load_params(str(tmp_path / "eight"))  # saved from an 8-device mesh
    assert jax.tree.structure(one) == jax.tree.structure(eight)
    for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(eight)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)
    # Same per-step loss and gradient norm: gradients are means over devices, not sums.
    for key in ("loss", "grad_norm"):
        np.testing.assert_allclose([r[key] for r in _rows(tmp_path / "one")],
                                   [r[key] for r in _rows(tmp_path / "eight")], rtol=1e-5)
    # And training moved the params at all (so equality is not trivially true).
    fresh = toy_task.ToyTask(_config()).init(jax.random.split(jax.random.key(0))[0],
                                              toy_task.ToyTask(_config()).train_batches[0])
    assert not np.allclose(np.asarray(one["hidden"]["kernel"]),
                           np.asarray(fresh["hidden"]["kernel"]), atol=1e-3)


def test_two_processes_match_one(tmp_path):
    # jax.distributed over gloo: 2 processes x 4 CPU devices train like one process, 1 device.
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    overrides = {"train.steps": 3, "train.eval_every": 0, "parallel.multihost": True,
                 "parallel.num_processes": 2, "parallel.coordinator": f"127.0.0.1:{port}"}
    procs = [_toy_process(tmp_path / "multi", dict(overrides, **{"parallel.process_id": i}),
                          devices=4) for i in range(2)]
    outs = [p.communicate(timeout=SUBPROCESS_TIMEOUT)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sorted(os.listdir(checkpoint.checkpoint_dir(str(tmp_path / "multi")) + "/3/data_iter")
                  )[-2:] == ["process_0-of-2.json", "process_1-of-2.json"]
    _run(tmp_path / "single", **{"train.steps": 3, "train.eval_every": 0})
    for a, b in zip(jax.tree.leaves(checkpoint.load_params(str(tmp_path / "single"))),
                    jax.tree.leaves(checkpoint.load_params(str(tmp_path / "multi")))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)


def test_sigkill_then_restart_resumes_identically(tmp_path):
    overrides = {"train.steps": 30, "train.eval_every": 0, "train.checkpoint_every": 5,
                 "train.keep": 10}
    _run(tmp_path / "ref", **overrides)
    reference = _losses(tmp_path / "ref")

    work = tmp_path / "killed"
    slow = dict(overrides, **{"toy.delay": 0.05})  # the rerun must use the same config
    proc = _toy_process(work, slow)
    _wait_for_step(work, 13, proc)
    proc.kill()  # SIGKILL: no handler, no final save
    proc.wait()
    saved = _step_dirs(work)
    assert saved and max(saved) < 30
    killed_at = max(_losses(work))

    proc = _toy_process(work, slow)
    out, _ = proc.communicate(timeout=SUBPROCESS_TIMEOUT)
    assert proc.returncode == 0, out
    steps = [r["step"] for r in _rows(work)]
    restart = next(i for i in range(1, len(steps)) if steps[i] <= steps[i - 1])
    assert steps[restart] == max(saved) + 1 <= killed_at + 1  # resumed from the last checkpoint
    resumed = _losses(work)
    assert sorted(resumed) == list(range(1, 31))
    np.testing.assert_allclose([resumed[s] for s in range(1, 31)],
                               [reference[s] for s in range(1, 31)], rtol=1e-6)


def test_unfinished_save_is_ignored(tmp_path):
    # What a SIGKILL during a save leaves behind: an uncommitted tmp folder for a newer step.
    # (Resuming may not change train.steps, so train 12 steps and drop the last checkpoint.)
    _run(tmp_path, **{"train.steps": 12, "train.eval_every": 0})
    shutil.rmtree(checkpoint.checkpoint_dir(str(tmp_path)) + "/12")
    partial = checkpoint.checkpoint_dir(str(tmp_path)) + "/15.orbax-checkpoint-tmp"
    os.makedirs(partial + "/state")
    with open(partial + "/state/garbage", "w") as f:
        f.write("half")
    ckpt = checkpoint.Checkpointer(str(tmp_path))
    assert ckpt.latest_step() == 10
    ckpt.close()
    result = _run(tmp_path, **{"train.steps": 12, "train.eval_every": 0})
    assert result["step"] == 12 and [r["step"] for r in _rows(tmp_path)[12:]] == [11, 12]


def test_nan_loss_raises_one_line_and_is_not_saved(tmp_path):
    with pytest.raises(FloatingPointError) as err:
        _run(tmp_path, **{"train.steps": 10, "train.log_every": 3, "train.checkpoint_every": 2,
                          "toy.nan_from": 3})
    assert str(err.value).startswith("non-finite loss at step 4")  # batch 3 is step 4
    assert "\n" not in str(err.value)
    assert _step_dirs(tmp_path) == [2]


def test_sigterm_saves_current_step_and_exits_cleanly(tmp_path):
    proc = _toy_process(tmp_path, {"train.steps": 500, "train.checkpoint_every": 1000,
                                   "train.eval_every": 0, "toy.delay": 0.03})
    _wait_for_step(tmp_path, 4, proc)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=SUBPROCESS_TIMEOUT)
    assert proc.returncode == 0, out
    result = json.loads(out.split("RESULT ", 1)[1])
    last = max(_losses(tmp_path))
    assert result["preempted"] == 1.0 and result["step"] == last
    assert 4 <= last < 500 and _step_dirs(tmp_path) == [last]


def test_missing_checkpoint_and_unknown_task_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint in"):
        checkpoint.load_params(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no checkpoint in"):
        checkpoint.load_config(str(tmp_path))
    with pytest.raises(ValueError, match="unknown task"):
        tasks.get(_config(task="no_such_task"))


def test_summary_writer_images_and_disabled(tmp_path):
    rgb = summaries.colorize(np.arange(12.0).reshape(3, 4))
    assert rgb.shape == (3, 4, 3) and rgb.dtype == np.uint8 and not (rgb[0, 0] == rgb[-1, -1]).all()
    with summaries.SummaryWriter(str(tmp_path / "off"), enabled=False) as w:
        w.scalars(1, {"a": 1.0})
    assert not (tmp_path / "off").exists()
    with summaries.SummaryWriter(str(tmp_path / "on")) as w:
        w.scalars(3, {"a": np.float32(2.0), "b": float("nan")}, prefix="valid")
        w.image(3, "img", np.zeros((4, 5, 3), np.float32))
    assert _rows(tmp_path / "on", "valid")[0] | {"time": 0} == \
        {"step": 3, "split": "valid", "time": 0, "a": 2.0, "b": None}


def test_batch_audio_seconds_counts_the_real_frames_only():
    from voxjax import audio, tasks

    class SpeechTask:
        mel = audio.MelConfig(sample_rate=16000, hop_length=160)

    batch = {"feature_lengths": np.array([100, 250, 400]), "weights": np.array([1.0, 1.0, 0.0])}
    assert tasks.batch_audio_seconds(SpeechTask(), batch) == pytest.approx(3.5)  # 350 x 10 ms
    assert tasks.batch_audio_seconds(SpeechTask(), {"x": np.zeros(3)}) is None

    class CropTask:
        def batch_audio_seconds(self, batch):
            return 1.25
    assert tasks.batch_audio_seconds(CropTask(), batch) == 1.25
