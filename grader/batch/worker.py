"""A batch's worker process: grades one student at a time, exactly as `grade submit` does.

The main process (batch.py) starts N of these with the *spawn* method, so each
begins with a clean interpreter: pytest, which grade() runs in-process, never
sees another grading in the same process. A worker stops when the main process
asks (an Event), when it gets SIGINT or SIGTERM, and when the main process is
gone (SIGKILL): a grading in progress is then interrupted, and its sandbox is
removed in ``finally``.
"""

from __future__ import annotations

import multiprocessing.util
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import docker
import docker.errors
import jinja2
import requests

from grader.batch import intake
from grader.batch.intake import Entry
from grader.batch.names import shown
from grader.errors import GraderError, InfraError, SubmissionPathError
from grader.grading.run import grade, rejected, sandbox_labels
from grader.grading.scoring import Problem
from grader.grading.staging import stage
from grader.reports import html
from grader.reports.gradebook import Previous, Row, load_row, previous_of, result_key, save
from grader.reports.visibility import released
from grader.sandbox import ImageRef, SandboxFactory, SandboxPlan
from grader.spec.exercise import Exercise

Connect = Callable[[], docker.DockerClient]
ENGINE_ERRORS = (InfraError, docker.errors.DockerException, requests.exceptions.RequestException)


# -- what a worker sends back --------------------------------------------------


@dataclass(frozen=True)
class Graded:
    row: Row
    skipped: bool  # the stored result still held


@dataclass(frozen=True)
class EngineFailure:
    student: str
    message: str


@dataclass(frozen=True)
class Cancelled:
    student: str


Outcome = Graded | EngineFailure | Cancelled


# -- one student (runs in a worker process) --------------------------------------


def grade_entry(entry: Entry, exercise: Exercise, sandboxes: SandboxFactory, out: Path,
                force: bool, env: jinja2.Environment, due_date: str = "") -> Graded:
    """Unpack, key, and grade one student unless the stored result still holds."""
    image = sandboxes.image
    tmp = Path(tempfile.mkdtemp(prefix="grade-intake-"))
    try:
        try:
            source = intake.unpack(entry, tmp)
            staged = stage(source, tmp / "staged")
            digest = staged.sha256
        except SubmissionPathError as e:
            return Graded(_store_problem(entry, exercise, image, out, env,
                                         Problem("Rejected", _reason(str(e), entry, tmp))),
                          skipped=False)
        except Exception as e:  # noqa: BLE001 - the upload is data: whatever it raises
            # ... is this student's error row, and the class goes on (a damaged zip once
            # raised zlib.error through every handler and stopped the batch).
            reason = (f"{entry.path.name}: the upload could not be read "
                      f"({type(e).__name__}: {e}); upload it again")
            return Graded(_store_problem(entry, exercise, image, out, env,
                                         Problem("Rejected", _reason(reason, entry, tmp))),
                          skipped=False)
        stored = load_row(out, entry.slug)
        key = result_key(digest, exercise.spec_sha256, image.id)
        if (stored is not None and not force and stored.exercise == exercise.id
                and stored.key == key and not released_since(stored, exercise, due_date)):
            return Graded(stored, skipped=True)
        previous: Previous | None = None
        if (stored is not None and stored.exercise == exercise.id
                and stored.submission_sha256 == digest):
            previous = previous_of(stored)
        try:
            result = grade(exercise, source, sandboxes, staged=staged)
        except SubmissionPathError as e:
            return Graded(_store_problem(entry, exercise, image, out, env,
                                         Problem("Rejected", str(e))), skipped=False)
        except ENGINE_ERRORS:
            raise
        except GraderError as e:  # a bug in grade: say so, and try again next run
            return Graded(_store_problem(entry, exercise, image, out, env,
                                         Problem("GraderError", str(e))), skipped=False)
        except Exception as e:  # noqa: BLE001 - one student's grading never stops the class
            problem = Problem("GraderError", f"the grader failed on this submission "
                              f"({type(e).__name__}: {shown(str(e), 500)}); it is graded "
                              "again on the next run")
            return Graded(_store_problem(entry, exercise, image, out, env, problem),
                          skipped=False)
        if result.status in ("error", "timeout") and sandboxes.client is not None:
            sandboxes.client.ping()  # a dead engine looks like a crashed app: never store that
        result = replace(result, submission=str(entry.path), due_date=due_date)
        return Graded(save(out, result, entry.student, entry.slug, digest, image.id, previous,
                           env), skipped=False)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def released_since(stored: Row, exercise: Exercise, due_date: str,
                   now: datetime | None = None) -> bool:
    """Whether *stored*'s reports withhold after-due-date checks that are shown now.

    Its reports were written with the due date of the run that graded it, at its
    ``graded_at``; once *due_date* has passed, a report that hid those checks then
    is written again (by grading again: the row keeps no check's full output).
    """
    if not any(c.after_due_date for c in exercise.checks) or not released(due_date, now):
        return False
    try:
        at = datetime.fromisoformat(stored.graded_at)
    except ValueError:
        return True
    return not released(stored.due_date, at if at.tzinfo else at.replace(tzinfo=timezone.utc))


def _reason(message: str, entry: Entry, tmp: Path) -> str:
    """*message* naming the upload, not the temporary folder; safe to show on one line."""
    message = message.replace(str(tmp / intake.UNZIPPED), entry.path.name)
    return shown(message.replace(str(tmp), entry.path.name), 1000)


def _store_problem(entry: Entry, exercise: Exercise, image: ImageRef, out: Path,
                   env: jinja2.Environment, problem: Problem) -> Row:
    """A refused upload (or a grader failure) as an error row; it is never reused."""
    result = rejected(exercise, str(entry.path), image, problem)
    return save(out, result, entry.student, entry.slug, "", image.id, None, env)


@dataclass(frozen=True)
class Setup:
    """What every worker needs, sent once when it starts."""

    exercise: Exercise
    plan: SandboxPlan
    out: Path
    force: bool
    connect: Connect  # used only for Docker sandboxes
    stop: Any  # a multiprocessing Event: the main process asks the workers to stop
    parent: int
    due_date: str = ""  # the assignment's (ISO 8601), for after-due-date checks


@dataclass
class _Worker:
    setup: Setup
    env: jinja2.Environment
    sandboxes: SandboxFactory | None = None
    busy: bool = False
    stopping: bool = False


_worker: _Worker | None = None  # this worker process's state (set by its initializer)


def init_worker(setup: Setup) -> None:
    """Run once in each new worker process."""
    global _worker
    _worker = _Worker(setup, html.environment())
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    threading.Thread(target=_watch, args=(_worker,), name="grade-watchdog", daemon=True).start()


def _on_signal(signum: int, frame: Any) -> None:
    """Interrupt a grading in progress (its sandbox is removed in finally); idle: just stop."""
    if _worker is not None:
        _worker.stopping = True
        if _worker.busy:
            raise KeyboardInterrupt


def _watch(state: _Worker) -> None:
    """Stop when the main process asks, or dies (SIGKILL): never grade for nobody."""
    interrupted = False
    while True:
        time.sleep(0.1)
        orphaned = os.getppid() != state.setup.parent
        if not orphaned and not state.setup.stop.is_set():
            continue
        state.stopping = True
        if state.busy and not interrupted:
            interrupted = True
            os.kill(os.getpid(), signal.SIGINT)
        elif orphaned and not state.busy:
            os._exit(1)


def work(entry: Entry) -> Outcome:
    """Grade one student in this worker; the engine failing once is retried once."""
    state = _worker
    assert state is not None, "work() runs only in a batch worker process"
    if state.stopping:
        return Cancelled(entry.student)
    state.busy = True
    try:
        s = state.setup
        for attempt in (1, 2):
            try:
                if state.sandboxes is None:
                    state.sandboxes = _open_factory(s.plan, s.connect, s.exercise)
                return grade_entry(entry, s.exercise, state.sandboxes, s.out, s.force,
                                   state.env, s.due_date)
            except ENGINE_ERRORS as e:
                if attempt == 2 or not _engine_alive(state.sandboxes):
                    return EngineFailure(entry.student, _engine_message(e))
        raise AssertionError("unreachable")
    except KeyboardInterrupt:
        return Cancelled(entry.student)
    finally:
        state.busy = False


def _open_factory(plan: SandboxPlan, connect: Connect, exercise: Exercise) -> SandboxFactory:
    """This worker's factory, closed (its pool removed) when the worker exits in order."""
    factory = SandboxFactory.from_plan(plan, connect)
    factory.warm(exercise.limits, sandbox_labels(exercise))
    # The executor's workers leave through multiprocessing's exit, which runs these
    # finalizers (not atexit); a worker that dies otherwise leaves them to the reaper.
    multiprocessing.util.Finalize(None, factory.close, exitpriority=10)
    return factory


def _engine_alive(sandboxes: SandboxFactory | None) -> bool:
    if sandboxes is None:
        return False
    if sandboxes.client is None:
        return True  # process sandboxes: no engine to lose; the retry tells
    try:
        return bool(sandboxes.client.ping())
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        return False


def _engine_message(e: BaseException) -> str:
    if isinstance(e, GraderError):
        return str(e)
    return f"the Docker engine stopped answering: {str(e)[:300]}"
