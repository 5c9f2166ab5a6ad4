"""Independent jobs side by side: each in its own process, pinned to its share of the CPU cores.

Why: one recurrent training does not keep a small CPU fully busy (its scans are sequential), so
two trainings at once do more work per second than one after the other (1.2x for the main
job's six on this project's 2-core CPU: ``benchmarks/training_cost.py trainings --lanes 1 2``).
The main job trains them this way.

``run(jobs, work, lanes)`` calls ``work(job)`` for every job, at most ``lanes`` at a time, never
before the jobs named in its ``after`` have finished, and returns ``{name: result}``. Jobs start in
list order as lanes free up (put the longest first). With ``lanes=1`` everything runs here, in
order; otherwise every job runs in a fresh ``spawn``-ed process (its own JAX runtime) whose CPU
affinity is one lane's share of this process's cores and whose stdout and stderr go to the job's
``log_path``. ``work`` and its results must pickle (a module-level function or a
``functools.partial`` of one).

Failures and stops: when a job raises, no new job starts, the running ones are sent SIGTERM (a
training then saves its checkpoint and stops), and once they have exited the first error is
raised again here, its type kept (so a bad config stays a one-line user error). SIGTERM sent to
this process is passed on to every running job the same way; a job outside a training loop then
raises :class:`voxjax.errors.Stopped` at once.
"""
from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import time
import traceback
from multiprocessing import connection
from typing import Any, Callable, Sequence

from tqdm import tqdm

from voxjax import errors

log = logging.getLogger(__name__)

# Progress: bars redrawn this often on a terminal; a plain log line per running job this often
# when stderr is a file (a bar redrawn there would add lines every time, with cursor escapes).
BAR_SECONDS = 2.0
LOG_LINE_SECONDS = 60.0


@dataclasses.dataclass(frozen=True)
class Job:
    """One unit of work: its ``name`` (the key of its result), the jobs that must finish before
    it starts, and the file its process writes its output to (in a lane)."""
    name: str
    after: tuple[str, ...] = ()
    log_path: str | None = None


class LaneError(RuntimeError):
    """A job's process ended without a result (killed, crashed in C)."""


def cpu_shares(lanes: int) -> list[frozenset[int]]:
    """This process's usable cores split into ``lanes`` near-equal contiguous sets (empty sets
    where the platform cannot pin processes)."""
    if not hasattr(os, "sched_getaffinity"):
        return [frozenset()] * lanes
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < lanes:
        return [frozenset()] * lanes
    bounds = [round(i * len(cores) / lanes) for i in range(lanes + 1)]
    return [frozenset(cores[bounds[i]:bounds[i + 1]]) for i in range(lanes)]


def run(jobs: Sequence[Job], work: Callable[[Job], Any], lanes: int,
        progress: Callable[[Job], tuple[int, int]] | None = None) -> dict[str, Any]:
    """Runs every job (see the module docstring). ``progress(job) -> (done, total)`` reports a
    running job's progress when jobs run in lanes: a bar per job on a terminal, else a log line
    per job every ``LOG_LINE_SECONDS``."""
    names = [job.name for job in jobs]
    unknown = {a for job in jobs for a in job.after} - set(names)
    if len(set(names)) != len(names) or unknown:
        raise ValueError(f"jobs must have distinct names and depend on listed jobs; unknown: "
                         f"{sorted(unknown)}")
    if lanes < 1:
        raise ValueError(f"lanes must be >= 1, got {lanes}")
    if lanes == 1:
        results: dict[str, Any] = {}
        for job in _in_dependency_order(jobs):
            results[job.name] = work(job)
        return results
    return _Scheduler(jobs, work, lanes, progress).run()


def _in_dependency_order(jobs: Sequence[Job]) -> list[Job]:
    done: set[str] = set()
    order: list[Job] = []
    pending = list(jobs)
    while pending:
        ready = next((j for j in pending if set(j.after) <= done), None)
        if ready is None:
            raise ValueError(f"circular job dependencies among {[j.name for j in pending]}")
        pending.remove(ready)
        order.append(ready)
        done.add(ready.name)
    return order


class _Scheduler:
    """The parent's side of :func:`run` with lanes: start, watch, collect, stop."""

    def __init__(self, jobs, work, lanes, progress):
        _in_dependency_order(jobs)  # refuses cycles before anything starts
        self.pending, self.work, self.progress = list(jobs), work, progress
        self.free = list(range(lanes))
        self.shares = cpu_shares(lanes)
        self.running: dict[connection.Connection, tuple[Job, Any, int, tqdm | None]] = {}
        self.results: dict[str, Any] = {}
        self.error: BaseException | None = None
        self.stopping = False
        self.bars = progress is not None and sys.stderr.isatty()
        self.last_line = time.monotonic()

    def run(self) -> dict[str, Any]:
        previous = None
        try:
            previous = signal.signal(signal.SIGTERM, self._on_sigterm)
        except ValueError:  # not the main thread: no SIGTERM forwarding
            pass
        try:
            while self.pending or self.running:
                if not self.stopping:
                    self._start_ready()
                if not self.running:
                    break  # stopping, or nothing can start
                ready = connection.wait(list(self.running), timeout=BAR_SECONDS)
                for conn in ready:
                    self._collect(conn)
                self._draw()
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            for conn, (_, process, _, bar) in list(self.running.items()):
                process.terminate()  # only reached on an exception here (Ctrl-C)
                process.join()
                if bar is not None:
                    bar.close()
        if self.error is not None:
            raise self.error
        return self.results

    def _start_ready(self) -> None:
        while self.free:
            job = next((j for j in self.pending if set(j.after) <= set(self.results)), None)
            if job is None:
                return
            self.pending.remove(job)
            lane = self.free.pop(0)
            context = multiprocessing.get_context("spawn")
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=_child, name=f"lane{lane}-{job.name}",
                                      args=(self.work, job, self.shares[lane], send))
            process.start()
            send.close()
            bar = None
            if self.bars:
                bar = tqdm(total=1, desc=f"{job.name} (lane {lane})", position=lane,
                           leave=False, dynamic_ncols=True)
            log.info("%s started in lane %d (cores %s)%s", job.name, lane,
                     sorted(self.shares[lane]) or "all",
                     f", output in {job.log_path}" if job.log_path else "")
            self.running[receive] = (job, process, lane, bar)

    def _collect(self, conn) -> None:
        job, process, lane, bar = self.running.pop(conn)
        try:
            status, value = conn.recv()
        except EOFError:
            status, value = "error", None
        process.join()
        conn.close()
        self.free.append(lane)
        if bar is not None:
            bar.close()
        if status == "ok":
            self.results[job.name] = value
            log.info("%s finished in lane %d", job.name, lane)
            return
        if value is None:
            value = LaneError(f"{job.name}'s process ended without a result (exit code "
                              f"{process.exitcode})" + (f"; its output is in {job.log_path}"
                                                        if job.log_path else ""))
        elif isinstance(value, errors.Stopped):
            log.info("%s stopped: %s", job.name, value)
        elif job.log_path:
            log.error("%s failed; its output is in %s", job.name, job.log_path)
        if self.error is None:
            self.error = value
        self._stop_all()

    def _on_sigterm(self, signum, frame) -> None:
        self._stop_all()

    def _stop_all(self) -> None:
        """No new jobs; running ones get SIGTERM (a training checkpoints and returns)."""
        self.stopping = True
        for _, process, _, _ in self.running.values():
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)

    def _draw(self) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if not self.bars:
            if now - self.last_line < LOG_LINE_SECONDS:
                return
            self.last_line = now
        for job, _, lane, bar in self.running.values():
            try:
                done, total = self.progress(job)
            except OSError:
                continue  # the job has not written its progress yet
            if bar is None:
                log.info("%s (lane %d): %d/%d", job.name, lane, done, total)
                continue
            bar.total = max(total, 1)
            bar.n = min(done, bar.total)
            bar.refresh()


def _stop_now(signum, frame):
    raise errors.Stopped("stopped on SIGTERM outside a training loop (nothing to save); the "
                         "same command continues")


def _child(work, job: Job, cpus: frozenset[int], send) -> None:
    """A lane's process: pin, redirect output, run, send ``("ok", result)`` or the error.

    SIGTERM stops it at once with :class:`voxjax.errors.Stopped`, except inside a training
    loop, whose own handler saves a checkpoint first (``voxjax.train``)."""
    signal.signal(signal.SIGTERM, _stop_now)
    if cpus:
        os.sched_setaffinity(0, cpus)  # before JAX starts: XLA sizes its thread pool from this
    if job.log_path:
        os.makedirs(os.path.dirname(os.path.abspath(job.log_path)), exist_ok=True)
        out = os.open(job.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
    start = time.time()
    try:
        message = ("ok", work(job))
    except BaseException as error:  # noqa: BLE001 - every failure goes back to the parent
        traceback.print_exc()
        try:
            pickle.dumps(error)
        except Exception:  # noqa: BLE001 - an unpicklable error travels as its text
            error = RuntimeError(f"{type(error).__name__}: {error}")
        message = ("error", error)
    print(f"[lane] {job.name}: {message[0]} after {time.time() - start:.1f} s", flush=True)
    send.send(message)
    send.close()
