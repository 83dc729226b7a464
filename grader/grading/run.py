"""Grade one submission end to end: stage, sandbox, load, run checks, score."""

from __future__ import annotations

import base64
import binascii
import importlib
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import docker

from grader.grading.checks import CheckStatus, TargetGone, TargetTimeout
from grader.grading.http_client import AppClient
from grader.grading.scoring import (
    CheckResult,
    GradeResult,
    Problem,
    Timings,
    not_run,
    overall_status,
    score_check,
    total,
)
from grader.grading.staging import stage
from grader.sandbox.agent_client import ControlClosed, ControlTimeout
from grader.sandbox.container import Sandbox, SandboxRun
from grader.spec.exercise import Exercise, Limits

MAX_DB_DUMP = 8 << 20


@dataclass(frozen=True)
class ImageRef:
    """The sandbox image to grade in (tag, and the id recorded in reports)."""

    tag: str
    id: str = ""


class SandboxBackend(Protocol):
    """What grading needs of a sandbox: :class:`Sandbox`, or ``--sandbox process``'s."""

    run: SandboxRun

    @property
    def app_socket(self) -> str: ...

    def __enter__(self) -> SandboxBackend: ...

    def __exit__(self, *exc: object) -> None: ...

    def call(self, op: str, args: dict[str, Any] | None = None, *,
             timeout: float) -> dict[str, Any]: ...

    def wait_exit(self, timeout: float) -> int | None: ...


# (staged submission folder, limits, labels) -> a sandbox not yet entered
SandboxFactory = Callable[[Path, Limits, dict[str, str]], SandboxBackend]


class SandboxTarget:
    """The checks' view of a loaded submission (see checks.Target)."""

    def __init__(self, box: SandboxBackend, workdir: Path) -> None:
        self._box = box
        self._workdir = workdir
        self._dump: bytes | None = None
        self._copies = 0

    def new_client(self, timeout: float) -> AppClient:
        return AppClient(self._box.app_socket, timeout)

    def control(self, op: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
        try:
            return self._box.call(op, args, timeout=timeout)
        except ControlTimeout as e:
            raise TargetTimeout(op) from e
        except ControlClosed as e:
            raise TargetGone(str(e)) from e

    def database_copy(self, timeout: float) -> Path:
        if self._dump is None:
            self._dump = self._fetch_dump(timeout)
        self._copies += 1
        path = self._workdir / f"db-{self._copies}.sqlite"
        path.write_bytes(self._dump)
        return path

    def _fetch_dump(self, timeout: float) -> bytes:
        reply = self.control("dump_db", {}, timeout)
        result = reply.get("result") if reply["ok"] else None
        if not isinstance(result, dict):
            err = reply.get("error")
            msg = err.get("message") if isinstance(err, dict) else None
            raise TargetGone(f"the app's database could not be read: {msg or 'no answer'}")
        data = result.get("data")
        if not isinstance(data, str) or len(data) > MAX_DB_DUMP * 4 // 3 + 8:
            dialect = result.get("dialect")
            raise TargetGone(f"the app's database is not a SQLite file the grader can read "
                             f"(dialect {dialect!r}); use SQLALCHEMY_DATABASE_URI='sqlite:///...'")
        try:
            return base64.b64decode(data, validate=True)
        except binascii.Error as e:
            raise TargetGone("the app's database dump is not valid base64") from e


def grade(exercise: Exercise, source: Path, client: docker.DockerClient | None, image: ImageRef,
          *, sandbox: SandboxFactory | None = None) -> GradeResult:
    """Grade the .py file or folder *source* for *exercise* in a fresh sandbox.

    *sandbox* makes the sandbox (default: a Docker :class:`Sandbox` from *client*
    and *image*); ``--sandbox process`` passes its own.
    """
    started = time.monotonic()
    deadline = started + exercise.limits.time
    # pytest takes ~0.1 s to import: do it while the engine starts the sandbox.
    preload = threading.Thread(target=importlib.import_module,
                               args=("grader.grading.pytest_plugin",),
                               daemon=True)
    preload.start()
    work = Path(tempfile.mkdtemp(prefix="grade-work-"))
    problem: Problem | None = None
    results: tuple[CheckResult, ...] = ()
    startup = checks_time = 0.0
    try:
        staged = stage(source, work / "submission")
        labels = {"grade.exercise": exercise.id}
        if sandbox is not None:
            box = sandbox(staged.folder, exercise.limits, labels)
        elif client is not None:
            box = Sandbox(client, image.tag, staged.folder, exercise.limits, labels=labels)
        else:
            raise ValueError("grade() needs a Docker client or a sandbox factory")
        try:
            with box:
                problem = _load(box, exercise, deadline)
                startup = time.monotonic() - started
                if problem is None:
                    preload.join()
                    from grader.grading.pytest_plugin import GradingContext, run_checks

                    context = GradingContext(exercise, SandboxTarget(box, work), deadline)
                    outcomes = run_checks(context)
                    results = tuple(score_check(c, outcomes[c.id]) if c.id in outcomes
                                    else not_run(c, "error", "not run")
                                    for c in exercise.checks)
                    checks_time = time.monotonic() - started - startup
        finally:
            run = box.run
        problem = _explain_exit(problem, run, exercise)
        if not results:
            status: CheckStatus = ("timeout" if problem and problem.kind == "Timeout"
                                   else "error")
            results = tuple(not_run(c, status, "not run: the app did not load")
                            for c in exercise.checks)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return GradeResult(
        exercise=exercise.id,
        title=exercise.title,
        status=overall_status(results, exercise.max_score, problem),
        score=total(results),
        max_score=round(exercise.max_score, 2),
        checks=results,
        submission=str(source),
        spec_sha256=exercise.spec_sha256,
        image=f"{image.tag} ({image.id[:19]})" if image.id else image.tag,
        problem=problem,
        output=run.output,
        output_truncated=run.output_truncated,
        timings=Timings(round(time.monotonic() - started, 3), round(startup, 3),
                        round(checks_time, 3)),
        graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )


def _load(box: SandboxBackend, exercise: Exercise, deadline: float) -> Problem | None:
    args = {"entry": list(exercise.entry), "create_tables": exercise.create_tables}
    problem = _setup_step(
        box, "load", args, exercise, deadline,
        slow="loading the app took longer than {timeout:.0f} s. Look for an endless loop or "
             "a blocking call (input(), a server, sleep) that runs at import time.",
        exited="the app's process ended while loading (exit code {code}). Remove "
               "os._exit()/sys.exit() and similar calls that run when the file is imported.")
    if problem is None and exercise.migrate:
        # Run the submission's migrations in the sandbox (``setup: {migrate: true}``).
        return _setup_step(
            box, "migrate", {}, exercise, deadline,
            slow="running the migrations took longer than {timeout:.0f} s. Look for an "
                 "endless loop or a blocking call in migrations/env.py or migrations/versions/.",
            exited="the app's process ended while running the migrations (exit code {code}). "
                   "Remove exit calls from the migrations.")
    return problem


def _setup_step(box: SandboxBackend, op: str, args: dict[str, Any], exercise: Exercise,
                deadline: float, *, slow: str, exited: str) -> Problem | None:
    """One step that must succeed before the checks run; its failure is the Problem."""
    timeout = min(exercise.limits.startup, deadline - time.monotonic())
    try:
        reply = box.call(op, args, timeout=timeout)
    except ControlTimeout:
        return Problem("Timeout", slow.format(timeout=timeout))
    except ControlClosed:
        return Problem("Exited", exited.format(code=box.wait_exit(2.0)))
    return None if reply["ok"] else _problem_from(reply.get("error"))


def _problem_from(error: Any) -> Problem:
    """Build a Problem from the agent's untrusted error description."""
    if not isinstance(error, dict):
        return Problem("Error", "the app could not be loaded")

    def text(key: str, limit: int) -> str | None:
        value = error.get(key)
        return value[:limit] if isinstance(value, str) else None

    line = error.get("line")
    return Problem(
        kind=text("type", 80) or "Error",
        message=text("message", 2000) or "the app could not be loaded",
        file=text("file", 300),
        line=line if type(line) is int else None,
        text=text("text", 500),
        traceback=text("traceback", 4000),
    )


def _explain_exit(problem: Problem | None, run: SandboxRun, exercise: Exercise
                  ) -> Problem | None:
    if run.oom_killed:
        return Problem("OutOfMemory", f"the app used more than {exercise.limits.memory_mb} MiB "
                                      "of memory and was stopped")
    return problem
