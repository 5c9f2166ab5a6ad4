"""voxjax.lanes: jobs side by side in pinned processes, dependencies kept, failures and SIGTERM
passed on to the other lane, nothing started after a stop."""
import functools
import os
import signal
import threading
import time

import pytest

from voxjax import errors, lanes


def _record(job, folder):
    """Writes where and when it ran; waits for SIGTERM for up to 30 s when named slow*."""
    stopped = []
    signal.signal(signal.SIGTERM, lambda *_: stopped.append(True))
    start = time.time()
    print(f"hello from {job.name}", flush=True)
    with open(os.path.join(folder, f"{job.name}.ready"), "w"):
        pass
    if job.name.startswith("slow"):
        while not stopped and time.time() - start < 30:
            time.sleep(0.05)
    else:
        time.sleep(1.0)
    if job.name == "bad":
        raise ValueError("bad config key model.x")
    if job.name == "dies":
        os._exit(3)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return {"pid": os.getpid(), "start": start, "end": time.time(), "cpus": cpus,
            "stopped": bool(stopped)}


def test_two_lanes_run_jobs_at_once_on_their_own_cores_and_keep_dependencies(tmp_path):
    jobs = [lanes.Job("a", log_path=str(tmp_path / "a.log")), lanes.Job("b"),
            lanes.Job("c", after=("a",))]
    got = lanes.run(jobs, functools.partial(_record, folder=str(tmp_path)), lanes=2)
    assert set(got) == {"a", "b", "c"}
    a, b, c = got["a"], got["b"], got["c"]
    assert len({a["pid"], b["pid"], c["pid"], os.getpid()}) == 4  # a fresh process per job
    assert a["start"] < b["end"] and b["start"] < a["end"]  # a and b overlapped
    assert c["start"] >= a["end"]  # c waited for a
    if len(lanes.cpu_shares(2)[0]) > 0:  # pinning is possible here: disjoint shares
        assert a["cpus"] and b["cpus"] and not set(a["cpus"]) & set(b["cpus"])
    assert "hello from a" in (tmp_path / "a.log").read_text()


def test_one_lane_runs_here_in_dependency_order(tmp_path):
    order = []
    jobs = [lanes.Job("late", after=("early",)), lanes.Job("early")]
    got = lanes.run(jobs, lambda job: order.append(job.name) or os.getpid(), lanes=1)
    assert order == ["early", "late"] and got == {"early": os.getpid(), "late": os.getpid()}


def test_a_failure_stops_the_other_lane_and_keeps_its_type(tmp_path):
    jobs = [lanes.Job("bad"), lanes.Job("slow"), lanes.Job("never")]
    with pytest.raises(ValueError, match="bad config key model.x"):
        lanes.run(jobs, functools.partial(_record, folder=str(tmp_path)), lanes=2)
    assert (tmp_path / "slow.ready").exists()  # it had started, and was stopped, not waited for
    assert not (tmp_path / "never.ready").exists()


def test_sigterm_reaches_the_running_jobs_and_nothing_else_starts(tmp_path):
    def send_when_ready():
        while not all((tmp_path / f"slow{i}.ready").exists() for i in (1, 2)):
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    jobs = [lanes.Job("slow1"), lanes.Job("slow2"), lanes.Job("never")]
    threading.Thread(target=send_when_ready, daemon=True).start()
    start = time.time()
    got = lanes.run(jobs, functools.partial(_record, folder=str(tmp_path)), lanes=2)
    assert set(got) == {"slow1", "slow2"} and all(r["stopped"] for r in got.values())
    assert time.time() - start < 25  # they stopped on the signal, not at their 30 s limit
    assert not (tmp_path / "never.ready").exists()


def _sleep(job, folder):
    """Work with no SIGTERM handler of its own (a lane outside a training loop)."""
    with open(os.path.join(folder, f"{job.name}.ready"), "w"):
        pass
    time.sleep(30)


def test_sigterm_stops_a_job_without_its_own_handler_with_a_stopped_error(tmp_path):
    def send_when_ready():
        while not (tmp_path / "plain.ready").exists():
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=send_when_ready, daemon=True).start()
    start = time.time()
    with pytest.raises(errors.Stopped, match="stopped on SIGTERM"):  # not killed outright
        lanes.run([lanes.Job("plain")], functools.partial(_sleep, folder=str(tmp_path)), lanes=2)
    assert time.time() - start < 25


def test_a_process_that_dies_is_an_error_naming_the_job(tmp_path):
    jobs = [lanes.Job("dies", log_path=str(tmp_path / "dies.log")), lanes.Job("b")]
    with pytest.raises(lanes.LaneError, match=r"dies's process ended .*exit code 3.*dies.log"):
        lanes.run(jobs, functools.partial(_record, folder=str(tmp_path)), lanes=2)


@pytest.mark.parametrize("jobs", [[lanes.Job("a", after=("b",)), lanes.Job("b", after=("a",))],
                                  [lanes.Job("a", after=("missing",))],
                                  [lanes.Job("a"), lanes.Job("a")]])
def test_bad_dependencies_are_refused_before_anything_starts(jobs):
    with pytest.raises(ValueError, match="circular|depend|distinct"):
        lanes.run(jobs, print, lanes=2)


def test_progress_to_a_log_file_is_a_plain_line_per_job_at_a_slow_pace(tmp_path, monkeypatch,
                                                                        caplog, capsys):
    # stderr is not a terminal under pytest: no bars (their redraws add lines to a log file),
    # one line per running job every LOG_LINE_SECONDS.
    monkeypatch.setattr(lanes, "BAR_SECONDS", 0.1)
    monkeypatch.setattr(lanes, "LOG_LINE_SECONDS", 0.4)
    caplog.set_level("INFO", logger="voxjax.lanes")
    start = time.time()
    lanes.run([lanes.Job("a"), lanes.Job("b")], functools.partial(_record, folder=str(tmp_path)),
              lanes=2, progress=lambda job: (3, 10))
    elapsed = time.time() - start
    lines = [r.getMessage() for r in caplog.records if r.getMessage().endswith(": 3/10")]
    assert "a (lane 0): 3/10" in lines and "b (lane 1): 3/10" in lines
    assert len(lines) <= 2 * (elapsed / 0.4 + 1)  # not one per 0.1 s poll
    assert "it/s" not in capsys.readouterr().err  # no tqdm bar was drawn
