"""Grade a whole class: N submissions at once, each in its own fresh sandbox, resumable.

Each submission goes through :func:`grader.grading.grade`, exactly as with
``grade submit``, in one of N worker *processes* (worker.py) that grade
one submission at a time. Not threads: grade() runs the checks with
``pytest.main`` in its own process, and pytest sets process-wide state at start
and restores it at exit (``os.environ``, ``sys.unraisablehook``,
``threading.excepthook``, the mark generator's config, faulthandler).
Interleaved in threads, the runs restore each other's values: after a threaded
batch, pytest's hooks and ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` stay behind in the
grader. A lock around the checks would serialize the waiting for slow student
apps too. This process never runs pytest: it lists the students, hands them
out, shows progress and rebuilds the gradebook.

Nothing is lost: a worker writes a student's files as soon as the result is
known (see gradebook.py), the row last; a run skips students whose stored key
(submission, spec, image) still matches. Ctrl-C and SIGTERM interrupt the
workers, whose sandboxes are removed in ``finally``; after a SIGKILL of this
process each worker notices within 0.1 s, stops its grading and removes its
container, and orphans are swept at the end of every run and the start of the
next. With ``--pool N`` each worker keeps N sandboxes ready (its factory's
pool, closed when the worker exits); a worker that dies leaves them to its
factory's reaper. A Docker engine that stops answering stops the batch (exit 3); the next
run grades the rest. Worker processes are *spawned*: a script that calls
:func:`run_batch` needs the usual ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import docker
import jinja2

from grader.batch import intake
from grader.batch.intake import BATCH_MARKER, Entry
from grader.batch.names import shown
from grader.batch.progress import BatchProgress
from grader.batch.worker import (
    ENGINE_ERRORS,
    Cancelled,
    Connect,
    EngineFailure,
    Outcome,
    Setup,
    init_worker,
    work,
)
from grader.common.atomic import atomic_write
from grader.errors import GraderError, SandboxError, SubmissionPathError, UsageError
from grader.grading.status import STATUSES
from grader.reports import html
from grader.reports.class_summary import Change, ClassStats, change_reason, write_summary
from grader.reports.gradebook import GradebookWriter, Row, load_row
from grader.sandbox import ImageRef, SandboxFactory, docker_connection
from grader.sandbox.container import remove_orphans
from grader.spec.exercise import Exercise

LOCK_FILE = ".grade-batch.lock"


@dataclass(frozen=True)
class BatchOptions:
    out: Path
    jobs: int
    force: bool = False
    # The assignment's due date (ISO 8601): after-due-date checks are shown after it.
    due_date: str = ""
    # How a worker process reaches the engine; a module-level function, so it pickles.
    connect: Connect = docker_connection.connect
    pool: int = 0  # ready Docker sandboxes each worker keeps (grade batch --pool)


@dataclass(frozen=True)
class BatchSummary:
    total: int
    graded: int
    skipped: int
    by_status: dict[str, int]
    changes: tuple[Change, ...]
    problems: tuple[tuple[str, str], ...]  # (student, headline) graded in this run
    not_submissions: tuple[str, ...]
    out: Path
    seconds: float
    jobs: int


def default_jobs() -> int:
    """One worker per CPU this process may use."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# -- the main process ------------------------------------------------------------


def find_students(submissions: Path, out: Path) -> intake.Listing:
    """The students in *submissions* (the output folder excluded); at least one."""
    listing = intake.discover(submissions, skip=[out])
    if not listing.entries:
        skipped = f" (skipped: {', '.join(listing.skipped[:5])})" if listing.skipped else ""
        raise SubmissionPathError(f"{submissions}: no submissions found. Expected one "
                                  f"subfolder, .py file or .zip file per student{skipped}")
    return listing


def run_batch(exercise: Exercise, listing: intake.Listing, sandboxes: SandboxFactory,
              options: BatchOptions, stream: TextIO = sys.stderr) -> BatchSummary:
    """Grade every student of *listing* into ``options.out``; see the module docstring.

    Each worker process rebuilds *sandboxes* from its plan; the main process
    keeps it to sweep orphaned containers at the end.
    """
    started = time.monotonic()
    image = sandboxes.image
    out = options.out.resolve()
    entries = listing.entries
    with OutputFolder(out, exercise):
        env = html.environment()
        progress = BatchProgress(len(entries), stream)
        if listing.skipped:
            progress.note(f"not submissions, skipped: {', '.join(listing.skipped[:10])}"
                          + (" …" if len(listing.skipped) > 10 else ""))
        run = _Run(exercise, sandboxes, out, options, entries, env, progress)
        try:
            run.go()
        except BaseException as e:
            progress.close()
            stats = rebuild(out, exercise, image, entries, env)
            if not isinstance(e, KeyboardInterrupt):
                raise
            progress.note(f"interrupted: {stats.graded - stats.stale} of {len(entries)} "
                          f"submissions are graded and saved in {out}; run the same command "
                          "again to grade the rest")
            raise
        progress.close()
        stats = rebuild(out, exercise, image, entries, env)
        if run.failure is not None:
            raise SandboxError(
                f"{run.failure.message} (while grading {run.failure.student}). "
                f"{stats.graded - stats.stale} of {len(entries)} submissions are graded and "
                f"saved in {out}; once Docker runs again, repeat the same command: it grades "
                "only the rest.")
    return BatchSummary(
        total=len(entries), graded=run.graded, skipped=run.skipped, by_status=run.by_status,
        changes=tuple(run.changes), problems=tuple(run.problems),
        not_submissions=listing.skipped, out=options.out, seconds=time.monotonic() - started,
        jobs=run.jobs)


@dataclass
class _Run:
    """The dispatch loop: a bounded window of submissions in flight, results as they come."""

    exercise: Exercise
    sandboxes: SandboxFactory
    out: Path
    options: BatchOptions
    entries: Sequence[Entry]
    env: jinja2.Environment
    progress: BatchProgress
    graded: int = 0
    skipped: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    failure: EngineFailure | None = None
    _stop: Any = None
    _rebuilt: float = field(default_factory=time.monotonic)
    _rebuild_every: float = 1.0

    @property
    def jobs(self) -> int:
        return max(1, min(self.options.jobs, len(self.entries)))

    def go(self) -> None:
        with _safe_path():
            self._go()

    def _go(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        stop = self._stop = ctx.Event()
        plan = replace(self.sandboxes.plan, pool=self.options.pool)
        setup = Setup(self.exercise, plan, self.out, self.options.force,
                      self.options.connect, stop, os.getpid(), self.options.due_date)
        pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=ctx,
                                   initializer=init_worker, initargs=(setup,))
        todo = iter(self.entries)
        pending: set[Future[Outcome]] = set()
        try:
            self._fill(pool, todo, pending)
            while pending:
                done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                for future in done:
                    self._take(future)
                self.progress.tick()
                if self.failure is None:
                    self._fill(pool, todo, pending)
                    self._maybe_rebuild()
        except BaseException:
            stop.set()
            raise
        finally:
            if self.failure is not None:
                stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            _remove_orphans(self.sandboxes.client)

    def _fill(self, pool: ProcessPoolExecutor, todo: Iterator[Entry],
              pending: set[Future[Outcome]]) -> None:
        while len(pending) < 2 * self.jobs:
            entry = next(todo, None)
            if entry is None:
                return
            pending.add(pool.submit(work, entry))

    def _take(self, future: Future[Outcome]) -> None:
        try:
            outcome = future.result()
        except BrokenProcessPool as e:
            raise GraderError(f"a grading process died unexpectedly ({e}); finished results "
                              f"are saved in {self.out}. Run the same command again to grade "
                              "the rest.") from e
        except OSError as e:
            raise GraderError(f"could not write the results into {self.out}: {e}") from e
        if isinstance(outcome, EngineFailure):
            self.failure = self.failure or outcome
            self._stop.set()  # the other workers stop their gradings too
            return
        if isinstance(outcome, Cancelled):
            return
        row = outcome.row
        if outcome.skipped:
            self.skipped += 1
        else:
            self.graded += 1
            if row.problem is not None:
                self.problems.append((row.student, row.problem.headline()))
            prev = row.previous
            if prev is not None and prev.score != row.score:
                self.changes.append(Change(row.student, prev.score, row.score,
                                           change_reason(row), ""))
        self.by_status[row.status] = self.by_status.get(row.status, 0) + 1
        self.progress.finished(row.student, row.status, row.score, row.max_score,
                               row.timings.total, outcome.skipped)

    def _maybe_rebuild(self) -> None:
        """Refresh the gradebook now and then; at most ~10 % of the main process's time."""
        now = time.monotonic()
        if now - self._rebuilt < self._rebuild_every:
            return
        rebuild(self.out, self.exercise, self.sandboxes.image, self.entries, self.env)
        took = time.monotonic() - now
        self._rebuilt = time.monotonic()
        self._rebuild_every = max(1.0, 10 * took)


def rebuild(out: Path, exercise: Exercise, image: ImageRef, entries: Sequence[Entry],
            env: jinja2.Environment) -> ClassStats:
    """Rewrite the gradebook (CSV, JSON) and class summary from the stored rows."""
    writer = GradebookWriter(out, tuple(c.name for c in exercise.checks))
    stats = ClassStats.for_exercise(exercise)
    try:
        for entry in entries:
            row = load_row(out, entry.slug)
            if row is None or row.exercise != exercise.id:
                stats.add_pending(entry.student)
                continue
            writer.add(row)
            stats.add(row)
            if not _is_current(row, exercise, image):
                stats.stale += 1
    except BaseException:
        writer.abort()
        raise
    writer.close()
    write_summary(out, stats, env, len(entries))
    return stats


def _is_current(row: Row, exercise: Exercise, image: ImageRef) -> bool:
    return row.spec_sha256 == exercise.spec_sha256 and row.image_id == image.id


class OutputFolder:
    """Create *out*, refuse another exercise's results, and keep other batches out."""

    def __init__(self, out: Path, exercise: Exercise) -> None:
        self.out = out
        self.exercise = exercise
        self._fd: int | None = None

    def __enter__(self) -> Path:
        out = self.out
        manifest = out / BATCH_MARKER
        try:
            out.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(out / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise UsageError(f"{out}: cannot write the results there ({e.strerror}); pass "
                             "another folder with --out") from e
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            os.close(self._fd)
            self._fd = None
            raise UsageError(f"{out}: another `grade batch` is writing there right now; wait "
                             "for it to finish or pass another folder with --out") from e
        try:
            stored = json.loads(manifest.read_text(encoding="utf-8"))
        except FileNotFoundError:
            stored = None
        except (OSError, ValueError):
            stored = {}
        if stored is not None and stored.get("exercise") != self.exercise.id:
            self.__exit__()
            raise UsageError(f"{out} holds results of {stored.get('exercise') or 'another'} "
                             f"exercise, not {self.exercise.id}; pass another folder with "
                             "--out")
        atomic_write(manifest, json.dumps({"exercise": self.exercise.id,
                                                  "format": 1}) + "\n")
        return out

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # also releases the lock
            self._fd = None


def _remove_orphans(client: docker.DockerClient | None) -> None:
    """Remove sandboxes whose grading process is gone (Docker only).

    A worker interrupted while its container was being created cannot remove
    it: the engine creates it a moment later. Once the workers have exited,
    such containers are orphans. The engine may be the reason the batch stops,
    so failing to reach it here is no news; the next run sweeps again.
    """
    if client is None:
        return
    try:
        remove_orphans(client)
    except ENGINE_ERRORS:
        return


def summary_lines(exercise: Exercise, s: BatchSummary) -> list[str]:
    """What the CLI prints when a batch is done (student text is escaped by the caller)."""
    counts = " · ".join(f"{k} {s.by_status.get(k, 0)}" for k in STATUSES)
    lines = [f"{exercise.id} · {exercise.title}: {s.total} submissions in {s.seconds:.1f} s "
             f"({s.jobs} at once)",
             f"  graded now {s.graded} · already graded {s.skipped} · {counts}"]
    if s.changes:
        lines.append("  scores that changed when graded again:")
        lines += [f"    {shown(c.student, 1000)}: {c.old:g} → {c.new:g} ({c.reason})"
                  for c in s.changes]
    if s.problems:
        lines.append("  errors and timeouts graded now:")
        lines += [f"    {shown(student, 1000)}: {shown(headline, 200)}"
                  for student, headline in s.problems[:10]]
        if len(s.problems) > 10:
            lines.append(f"    … and {len(s.problems) - 10} more (see the class summary)")
    lines.append(f"gradebook: {s.out / 'gradebook.csv'} (and .json)")
    lines.append(f"class summary: {s.out / 'class.html'}")
    return lines


@contextmanager
def _safe_path() -> Iterator[None]:
    """Keep the working folder off the path of the processes multiprocessing starts.

    It starts its workers and its resource tracker with ``python -c``, which
    puts the working folder first on their path: run from inside a class
    folder, a student's ``multiprocessing.py`` or ``json.py`` would be imported
    by the grader's own workers. PYTHONSAFEPATH (Python 3.11 and later) stops
    that; the children inherit it, and it is put back as it was afterwards.
    """
    saved = os.environ.get("PYTHONSAFEPATH")
    os.environ["PYTHONSAFEPATH"] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PYTHONSAFEPATH", None)
        else:
            os.environ["PYTHONSAFEPATH"] = saved
