"""Grade one submission end to end: stage, sandbox, load, run checks, score."""

from __future__ import annotations

import importlib
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from grader.grading import missing_module
from grader.grading.checks import Agent
from grader.grading.corroborate import claimed_copy, corroborated_copy
from grader.grading.declared import DeclaredSchema, from_plain
from grader.grading.evaluator import Evaluator, EvaluatorFailed, EvaluatorTimeout, shared
from grader.grading.explain import load_failure
from grader.grading.http_client import AppClient
from grader.grading.outcome import CheckStop
from grader.grading.scoring import (
    CheckResult,
    GradeResult,
    Problem,
    Timings,
    apply_guards,
    not_run,
    overall_status,
    score_check,
    total,
)
from grader.grading.server_errors import explain_server_errors
from grader.grading.staging import Staged, stage
from grader.grading.status import Status
from grader.sandbox import ImageRef, Sandbox, SandboxFactory, SandboxRun
from grader.sandbox.agent_client import (
    AgentClient,
    AgentFailure,
    AgentGone,
    AgentRefused,
    AgentTimeout,
    Loaded,
    ModelClaim,
)
from grader.spec.exercise import Exercise

# Seconds a grading may last past ``limits.time``: after the deadline only the sandbox's
# removal is left (a killed container's removal takes about 0.5 s on a loaded machine).
# docs/spec-language.md (limits) and the README's threat model state this number.
HOST_MARGIN = 5.0

KEEP_COPIES = 4  # database copies kept on disk at once; older ones are no longer read
SCHEMA_SECONDS = 5.0  # at most, for reading what the staged source declares
# One set-up step: ask the agent something, within a timeout, before any check runs.
_Step = Callable[[float], None]  # a set-up step, given its timeout


class SandboxTarget:
    """The checks' view of a loaded submission (see checks.Target).

    What the agent says is a claim. Models count only where the staged source
    declares them (declared.py), and the database the checks read is rebuilt
    from the claimed file with only the facts that source corroborates
    (corroborate.py).
    """

    def __init__(self, box: Sandbox, workdir: Path, exercise: Exercise, staged: Staged,
                 evaluator: Evaluator, deadline: float) -> None:
        self._evaluator = evaluator
        self._deadline = deadline
        self._box = box
        self._workdir = workdir
        self._exercise = exercise
        self._staged = staged
        self._schema: DeclaredSchema | None = None
        self._copies: list[Path] = []  # the newest KEEP_COPIES database copies
        self._serial = 0
        self._changes = 0
        self._left_out: dict[str, str] = {}  # table -> why the copy does not hold it

    @property
    def agent(self) -> Agent:
        return _CorroboratedAgent(self._box.agent, self.schema)

    @property
    def schema(self) -> DeclaredSchema:
        """The schema the staged source declares, read once, in the evaluator.

        Source that takes too long to read (or cannot be read) declares nothing.
        """
        if self._schema is None:
            deadline = time.monotonic() + min(SCHEMA_SECONDS, self._time_left())
            try:
                plain = self._evaluator.call("declared_schema", str(self._staged.folder),
                                             list(self._staged.files), deadline=deadline)
                self._schema = from_plain(plain)
            except (EvaluatorTimeout, EvaluatorFailed):
                self._schema = DeclaredSchema()
        return self._schema

    def _time_left(self) -> float:
        return max(0.0, self._deadline - time.monotonic())

    def new_client(self, timeout: float) -> AppClient:
        return AppClient(self._dial_app, timeout)

    def _dial_app(self, timeout: float) -> socket.socket:
        self._changes += 1  # each exchange may write to the app's database
        return self._box.dial_app(timeout)

    @property
    def changes(self) -> int:
        return self._changes

    def restart(self, timeout: float) -> None:
        self._changes += 1
        self._box.agent.restart(timeout=timeout)

    def left_out(self, table: str) -> str | None:
        return self._left_out.get(table)

    def exercise_folder(self) -> Path:
        return self._exercise.directory

    def submission_files(self) -> tuple[Path, tuple[str, ...]]:
        return self._staged.folder, self._staged.files

    def database_copy(self, timeout: float, file: str | None = None) -> Path:
        """A copy of the database as it is now: each call asks the sandbox again."""
        deadline = time.monotonic() + timeout
        file = file or self._exercise.database_file
        self._serial += 1
        claimed = self._workdir / f"claimed-{self._serial}.sqlite"
        kept = self._workdir / f"db-{self._serial}.sqlite"
        try:
            if file is None:
                claimed.write_bytes(self._box.agent.dump_db(timeout=timeout))
                self._left_out = corroborated_copy(
                    claimed, kept, self.schema, migrations_only=self._exercise.migrate,
                    evaluator=self._evaluator, deadline=deadline)
            else:
                try:
                    data = self._box.agent.dump_file(file, timeout=timeout)
                except AgentRefused as e:
                    raise CheckStop("failed", f"the database file {file!r} could not be read: "
                                    f"{e.failure.short()}") from e
                if data is None:
                    raise CheckStop("failed", f"the app's folder has no database file {file!r} "
                                    "(database_file); the app must create it there, e.g. "
                                    f"sqlite3.connect({file!r}) next to the app")
                claimed.write_bytes(data)
                claimed_copy(claimed, kept, evaluator=self._evaluator, deadline=deadline)
        finally:
            claimed.unlink(missing_ok=True)
        self._copies.append(kept)
        for old in self._copies[:-KEEP_COPIES]:  # a loop of queries must not fill the disk
            old.unlink(missing_ok=True)
        del self._copies[:-KEEP_COPIES]
        return kept


class _CorroboratedAgent:
    """The agent's answers, kept only where the staged source corroborates them."""

    def __init__(self, agent: AgentClient, schema: DeclaredSchema) -> None:
        self._agent = agent
        self._schema = schema

    def models(self, *, timeout: float) -> dict[str, ModelClaim]:
        claims = self._agent.models(timeout=timeout)
        return {name: claim for name, claim in claims.items()
                if self._schema.model_table(name) == claim.table}

    def repr(self, model: str, fields: dict[str, Any], *, timeout: float) -> str | None:
        """A repr counts only if the source gives the class one (a claim otherwise)."""
        if model not in self._schema.reprs:  # no need to ask the agent at all
            raise AgentRefused(AgentFailure(
                "NoRepr", f"class {model} defines no __repr__ in the submission's source"))
        return self._agent.repr(model, fields, timeout=timeout)

    def jinja_filters(self, *, timeout: float) -> tuple[str, ...]:
        """The app's filter names: a claim (the HTTP checks show what they do)."""
        return self._agent.jinja_filters(timeout=timeout)


def grade(exercise: Exercise, source: Path, sandboxes: SandboxFactory,
          *, staged: Staged | None = None, evaluator: Evaluator | None = None) -> GradeResult:
    """Grade the .py file or folder *source* for *exercise* in a fresh sandbox.

    *staged*: *source* already staged by the caller (a batch stages once, to
    key its results), so it is not copied again. *evaluator*: where the host's
    work on the app's data runs (default: this process's, see evaluator.py).

    ``exercise.limits.time`` counts from here and covers the host's work too:
    no check starts after it, and each check's work (HTTP, agent, evaluator)
    stops by it. What may follow is the sandbox's removal (HOST_MARGIN).
    """
    started = time.monotonic()
    deadline = started + exercise.limits.time
    evaluator = evaluator or shared()
    evaluator.start()  # its ~50 ms start-up overlaps the sandbox's
    # pytest takes ~0.1 s to import: do it while the engine starts the sandbox.
    preload = threading.Thread(target=importlib.import_module,
                               args=("grader.grading.pytest_plugin",), daemon=True)
    preload.start()
    work = Path(tempfile.mkdtemp(prefix="grade-work-"))
    problem: Problem | None = None
    results: tuple[CheckResult, ...] = ()
    startup = checks_time = 0.0
    run = SandboxRun()
    loaded = Loaded()
    try:
        if staged is None:
            staged = stage(source, work / "submission")
        waited = time.monotonic()
        box = sandboxes(staged.folder, exercise.limits, sandbox_labels(exercise))
        # A pool's wait (or the start of one it did not have ready) is not the submission's.
        if sandboxes.pooled:
            deadline += time.monotonic() - waited
        try:
            with box:
                problem, loaded = _load(box, exercise, deadline)
                startup = time.monotonic() - started
                if problem is None:
                    preload.join()
                    from grader.grading.pytest_plugin import GradingContext, run_checks

                    target = SandboxTarget(box, work, exercise, staged, evaluator, deadline)
                    context = GradingContext(exercise, target, deadline, evaluator=evaluator,
                                             before_hidden=box.mark_hidden)
                    outcomes = run_checks(context)
                    results = apply_guards(exercise.checks, tuple(
                        score_check(c, outcomes[c.id]) if c.id in outcomes
                        else not_run(c, "error", "not run") for c in exercise.checks))
                    checks_time = time.monotonic() - started - startup
        finally:
            run = box.run
        problem = _explain_exit(problem, run, exercise)
        results = explain_server_errors(results, run.output)
        if not results:
            status: Status = ("timeout" if problem and problem.kind == "Timeout"
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
        image=sandboxes.image.describe(),
        problem=problem,
        output=run.output,
        output_truncated=run.output_truncated,
        hidden_output=run.hidden_output,
        timings=Timings(round(time.monotonic() - started, 3), round(startup, 3),
                        round(checks_time, 3)),
        graded_at=_now(),
        app=_graded_app(staged, loaded),
    )


def sandbox_labels(exercise: Exercise) -> dict[str, str]:
    """The labels of *exercise*'s sandboxes (a pool keeps ready ones per labels)."""
    return {"grade.exercise": exercise.id}


def _graded_app(staged: Staged | None, loaded: Loaded) -> str:
    """``app.py:app``, inside the staged sub-folder if one was stepped into."""
    if not loaded.app or staged is None or not staged.inside:
        return loaded.app
    return f"{staged.inside}/{loaded.app}"


def rejected(exercise: Exercise, submission: str, image: ImageRef,
             problem: Problem) -> GradeResult:
    """The result of a submission that was not graded at all (a refused upload, ...)."""
    checks = tuple(not_run(c, "error", "not run: the submission was not graded")
                   for c in exercise.checks)
    return GradeResult(
        exercise=exercise.id, title=exercise.title, status="error", score=0.0,
        max_score=round(exercise.max_score, 2), checks=checks, submission=submission,
        spec_sha256=exercise.spec_sha256, image=image.describe(), problem=problem,
        timings=Timings(), graded_at=_now())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _load(box: Sandbox, exercise: Exercise, deadline: float) -> tuple[Problem | None, Loaded]:
    """Load the app (and run its migrations if the spec says so): why not, and what loaded."""
    loaded: list[Loaded] = []
    problem = _setup_step(
        box, lambda timeout: loaded.append(
            box.load(exercise.entry, exercise.create_tables, timeout=timeout)),
        exercise, deadline,
        slow="loading the app took longer than {timeout:.0f} s. Look for an endless loop or "
             "a blocking call (input(), a server, sleep) that runs at import time.",
        exited="the app's process ended while loading (exit code {code}). Remove "
               "os._exit()/sys.exit() and similar calls that run when the file is imported.")
    what = loaded[0] if loaded else Loaded()
    if problem is None and exercise.migrate:
        # Run the submission's migrations in the sandbox (``setup: {migrate: true}``).
        return _setup_step(
            box, lambda timeout: box.agent.migrate(timeout=timeout), exercise, deadline,
            slow="running the migrations took longer than {timeout:.0f} s. Look for an "
                 "endless loop or a blocking call in migrations/env.py or migrations/versions/.",
            exited="the app's process ended while running the migrations (exit code {code}). "
                   "Remove exit calls from the migrations."), what
    return problem, what


def _setup_step(box: Sandbox, step: _Step, exercise: Exercise, deadline: float, *,
                slow: str, exited: str) -> Problem | None:
    """One step that must succeed before the checks run; its failure is the Problem."""
    timeout = min(exercise.limits.startup, deadline - time.monotonic())
    try:
        step(timeout)
    except AgentTimeout:
        return Problem("Timeout", slow.format(timeout=timeout))
    except AgentGone:
        return Problem("Exited", exited.format(code=box.wait_exit(2.0)))
    except AgentRefused as e:
        return missing_module.explain(_problem_from(e.failure),
                                      missing_module.image_pins(exercise.directory))
    return None


def _problem_from(failure: AgentFailure) -> Problem:
    message = load_failure(failure.kind, failure.message, failure.text, failure.database)
    return Problem(kind=failure.kind, message=message, file=failure.file,
                   line=failure.line, text=failure.text, traceback=failure.traceback,
                   offset=failure.offset, tried=failure.tried)


def _explain_exit(problem: Problem | None, run: SandboxRun, exercise: Exercise
                  ) -> Problem | None:
    if run.oom_killed:
        return Problem("OutOfMemory", f"the app used more than {exercise.limits.memory_mb} MiB "
                                      "of memory and was stopped")
    return problem

