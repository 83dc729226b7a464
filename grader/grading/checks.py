"""Run one check against a loaded submission, on the trusted side.

The submission is reached only through :class:`Target`: HTTP to the app, the
agent's typed answers (untrusted; parsed by sandbox/agent_client.py) and a
copy of the database the app created, which the host opens and exercises itself.

Work on that data whose time the submission controls (regular expressions on
its bodies, anything SQLite does with its schema) runs in the evaluator
(evaluator.py) under the check's deadline, through :class:`HostWork`.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from grader.grading import db_verdict
from grader.grading import evaluator as evaluator_module
from grader.grading.code_fixtures import CheckClient, Source, data_copy, release_copy
from grader.grading.compare import (
    Assertion,
    around_mismatch,
    check_response,
    extract,
    first_difference,
    is_exact_body,
    short,
)
from grader.grading.db_fill import sqlite_type
from grader.grading.evaluator import Evaluator, EvaluatorFailed
from grader.grading.explain import with_database_note
from grader.grading.host_work import DATABASE_ERRORS, HostWork, database_failed
from grader.grading.http_client import (
    AppClient,
    AppUnreachable,
    NotSendable,
    RequestTimeout,
    SlowToRead,
)
from grader.grading.outcome import (
    CheckOutcome,
    CheckStop,
    SpecCodeError,
)
from grader.grading.status import Status
from grader.sandbox.agent_client import (
    AgentGone,
    AgentRefused,
    AgentTimeout,
    ModelClaim,
)
from grader.spec.exercise import (
    Check,
    CodeCheck,
    DatabaseCheck,
    HttpCheck,
    ModelCheck,
    substitute,
)


class Agent(Protocol):
    """The questions checks may ask the agent; raise AgentTimeout, AgentGone, AgentRefused."""

    def models(self, *, timeout: float) -> dict[str, ModelClaim]: ...

    def repr(self, model: str, fields: dict[str, Any], *, timeout: float) -> str | None: ...

    def jinja_filters(self, *, timeout: float) -> tuple[str, ...]: ...


class Target(Protocol):
    """What a check may touch of a loaded submission."""

    @property
    def agent(self) -> Agent:
        """The agent's answers: claims, corroborated where the host can (grading/run.py)."""
        ...

    def new_client(self, timeout: float) -> AppClient: ...

    @property
    def changes(self) -> int:
        """Grows with every HTTP exchange and restart: the app's database may have changed."""
        ...

    def restart(self, timeout: float) -> None:
        """Start the app again in a fresh process, its files kept (a ``restart`` step)."""
        ...

    def database_copy(self, timeout: float, file: str | None = None) -> Path:
        """A host-side copy of the app's SQLite database as it is now, made safe to read.

        *file*: the SQLite file in the app's folder; default: the exercise's
        ``database_file``, else the Flask-SQLAlchemy database.
        """
        ...

    def left_out(self, table: str) -> str | None:
        """Why the copy does not hold *table* although the app's file did, if so."""
        ...

    def exercise_folder(self) -> Path:
        """The exercise's folder on the host (its ``data/`` for pytest checks)."""
        ...

    def submission_files(self) -> tuple[Path, tuple[str, ...]]:
        """The staged submission on the host: its folder and its files' paths."""
        ...


def run_check(check: Check, target: Target, deadline: float,
              evaluator: Evaluator | None = None) -> CheckOutcome:
    """Run *check*, never past *deadline* (time.monotonic) or the check's own limit.

    *evaluator* does the host's work on the app's data (default: this process's).
    """
    start = time.monotonic()
    timeout = min(check.timeout, deadline - start)
    if timeout <= 0:
        return CheckOutcome("timeout", (), "not run: the submission's time limit was used up",
                            0.0)
    assertions: list[Assertion] = []
    runner = _RUNNERS[type(check.body)]
    work = HostWork(evaluator or evaluator_module.shared(), start + timeout, timeout)
    try:
        runner(check.body, target, work, assertions)
    except CheckStop as stop:
        return CheckOutcome(stop.status, tuple(assertions), stop.message,
                            time.monotonic() - start, finished=stop.accounted,
                            problem="spec" if isinstance(stop, SpecCodeError) else None)
    except SlowToRead as e:
        return CheckOutcome("timeout", tuple(assertions),
                            f"{e} took longer than the check's {timeout:.1f} s",
                            time.monotonic() - start, finished=False)
    except (RequestTimeout, AgentTimeout):
        return CheckOutcome("timeout", tuple(assertions),
                            f"no answer within {timeout:.1f} s (an endless loop?)",
                            time.monotonic() - start, finished=False)
    except (AppUnreachable, AgentGone) as e:
        return CheckOutcome("failed", tuple(assertions),
                            f"the app stopped answering (did it crash?): {e}",
                            time.monotonic() - start, finished=False)
    except NotSendable as e:
        return CheckOutcome("failed", tuple(assertions), f"the next request could not be "
                            f"made from the app's answers: {e}", time.monotonic() - start,
                            finished=False)
    except sqlite3.DatabaseError as e:
        # The file is the app's work: a corrupt page anywhere (an index, a row the
        # insert touches) fails the check, whichever statement meets it.
        status: Status = "timeout" if "interrupted" in str(e) else "failed"
        return CheckOutcome(status, tuple(assertions),
                            f"the app's database file is not usable: {e}",
                            time.monotonic() - start, finished=False)
    failed = [a for a in assertions if not a.passed]
    status = "failed" if failed or not assertions else "passed"
    message = "; ".join(_describe(a) for a in failed[:3]) if failed else "ok"
    return CheckOutcome(status, tuple(assertions), message, time.monotonic() - start)


def _describe(a: Assertion) -> str:
    note = f" ({a.note})" if a.note else ""
    if a.expected is None and a.actual is None:
        return a.label + note
    if a.expected is None:
        return f"{a.label}: {short(a.actual or '', 160)}{note}"
    if is_exact_body(a.label) and a.actual is not None and a.expected != a.actual:
        # Where the bodies part, not their first 80 characters (which may agree).
        expected, actual = around_mismatch(a.expected, a.actual, 80)
        at = first_difference(a.expected, a.actual) + 1
        return (f"{a.label}: expected {expected!r}, got {actual!r} (they differ from "
                f"character {at}){note}")
    return (f"{a.label}: expected {short(a.expected or '', 80)!r}, "
            f"got {short(a.actual or '', 80)!r}{note}")


# -- HTTP ----------------------------------------------------------------------


def _run_http(body: HttpCheck, target: Target, work: HostWork, out: list[Assertion]) -> None:
    clients: dict[str, AppClient] = {}  # one cookie jar per session
    variables: dict[str, str] = {}
    many = len(body.steps) > 1
    for number, step in enumerate(body.steps, start=1):
        if step.restart:
            _restart(body, number, target, work)
            continue
        req = step.request
        if step.session not in clients:
            clients[step.session] = work.client(target)
        client = clients[step.session]
        resp = client.request(
            req.method,
            substitute(req.path, variables),
            query=_pairs(req.query, variables) or None,
            form=_pairs(req.form, variables) if req.form is not None else None,
            json_body=_render_json(req.json, variables) if req.has_json else None,
            data=substitute(req.data, variables) if req.data is not None else None,
            headers=_pairs(req.headers, variables),
            follow_redirects=step.follows(),
        )
        prefix = _step_name(body, number) + ": " if many else ""
        made = check_response(step.expect, resp, work, substitute(req.path, variables))
        for spec in step.extracts:
            value = extract(spec, resp, client.cookies, work)
            made.append(Assertion(f"find {spec.name} ({spec.source} {spec.pattern})",
                                  value is not None))
            if value is not None:
                variables[spec.name] = value
        out.extend(Assertion(prefix + a.label, a.passed, a.expected, a.actual,
                             scored=not step.setup, note=a.note) for a in made)
        if step.setup:
            _setup_step(body, number, made)
        if any(spec.name not in variables for spec in step.extracts):
            missing = next(spec.name for spec in step.extracts if spec.name not in variables)
            _count_skipped(body, number, out)
            raise CheckStop("failed", f"{prefix}could not find {missing} in the response",
                            accounted=True)


def _step_name(body: HttpCheck, number: int) -> str:
    step = body.steps[number - 1]
    session = f", session {step.session}" if not step.restart and any(
        s.session != step.session for s in body.steps if not s.restart) else ""
    kind = "set-up step" if step.setup and not step.restart else "step"
    what = step.label() + session
    return f"{kind} {number} ({f'from {step.flow}: ' if step.flow else ''}{what})"


def _restart(body: HttpCheck, number: int, target: Target, work: HostWork) -> None:
    """A restart step: the app must come back from its files; if not, the check fails."""
    name = _step_name(body, number)
    try:
        target.restart(work.remaining)
    except AgentRefused as e:
        raise CheckStop("failed", f"{name}: the app did not start again: {e.failure.short()}"
                        ) from e
    except AgentGone as e:
        raise CheckStop("failed", f"{name}: the app's process ended while starting again "
                        f"({e}); look for code that exits or crashes when the app starts "
                        "with its files already there") from e
    except AgentTimeout as e:
        raise CheckStop("timeout", f"{name}: the app did not start again within the "
                        f"check's {work.seconds:.1f} s") from e


def _setup_step(body: HttpCheck, number: int, made: list[Assertion]) -> None:
    """A set-up step scores nothing; when it fails, so does the check, saying why."""
    failed = [a for a in made if not a.passed]
    if failed:
        raise CheckStop("failed", f"{_step_name(body, number)} failed, so the check could not "
                        f"test what it is about: {_describe(failed[0])}")


def _count_skipped(body: HttpCheck, done: int, out: list[Assertion]) -> None:
    """Scored steps that cannot run count as failed, so partial credit stays honest."""
    for number in range(done + 1, len(body.steps) + 1):
        if not body.steps[number - 1].setup:
            out.append(Assertion(f"step {number} not run (an earlier step failed)", False))


def _pairs(pairs: tuple[tuple[str, str], ...] | None, variables: dict[str, str]
           ) -> dict[str, str]:
    return {k: substitute(v, variables) for k, v in pairs or ()}


def _render_json(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, str):
        return substitute(value, variables)
    if isinstance(value, list):
        return [_render_json(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: _render_json(v, variables) for k, v in value.items()}
    return value


# -- models --------------------------------------------------------------------


def fetch_models(target: Target, timeout: float) -> dict[str, ModelClaim]:
    """The app's models as the agent describes them (a claim), by class name."""
    try:
        return target.agent.models(timeout=timeout)
    except AgentRefused as e:
        raise CheckStop("failed", with_database_note(e.failure.short(), e.failure.database)
                        ) from e


def _find_model(models: dict[str, ModelClaim], name: str) -> ModelClaim:
    if name not in models:
        found = ", ".join(sorted(models)) or "none"
        raise CheckStop("failed", f"no model class named {name} (models found: {found})")
    return models[name]


def _run_model(body: ModelCheck, target: Target, work: HostWork, out: list[Assertion]) -> None:
    # The model's existence is set-up, not a fact the check pays for: a missing
    # model stops the check with nothing earned (_find_model).
    model = _find_model(fetch_models(target, work.remaining), body.model)
    if body.table is not None:
        out.append(Assertion("table name", model.table == body.table, body.table,
                             model.table))
    if body.columns:
        # Column facts come from the database the app created, read on this side: the
        # agent's own description is the student's process talking and could be forged.
        columns = _database_columns(target, model.table, work)
        for col in body.columns:
            actual = columns.get(col.name)
            if all(getattr(col, prop) is None for prop in _FACTS):
                out.append(Assertion(f"column {col.name} exists", actual is not None, col.name,
                                     ", ".join(columns) or "(no columns)"))
            for prop in _FACTS:
                want = getattr(col, prop)
                if want is None:
                    continue
                if actual is None:  # a missing column earns none of its facts
                    out.append(Assertion(f"column {col.name} {prop}", False, _text(want),
                                         f"no column {col.name} (columns: "
                                         f"{', '.join(columns) or 'none'})"))
                    continue
                got = actual.get(prop)
                out.append(Assertion(f"column {col.name} {prop}", got == want,
                                     _text(want), _text(got)))
    if body.repr is not None:
        try:
            text = target.agent.repr(body.model, dict(body.repr.fields),
                                     timeout=work.remaining)
        except AgentRefused as e:
            out.append(Assertion(f"repr({body.model}(...))", False, body.repr.equals,
                                 e.failure.short()))
            return
        got = text if text is not None else "(not a string)"
        out.append(Assertion(f"repr({body.model}(...))", got == body.repr.equals,
                             body.repr.equals, got))


_FACTS = ("type", "length", "primary_key", "unique", "nullable")
def _database_columns(target: Target, table: str, work: HostWork
                      ) -> dict[str, dict[str, Any]]:
    facts = work.database("table_facts", target.database_copy(work.remaining), table)
    if facts is None:
        raise CheckStop("failed", target.left_out(table) or
                        f"table {table!r} is not in the app's database; were the tables "
                        "created (setup: create_tables)?")
    info, unique_columns = facts
    unique = set(unique_columns)
    pks = [row[1] for row in info if row[5]]
    columns = {}
    for _, name, declared, notnull, _default, pk in info:
        kind, length = sqlite_type(declared or "")
        columns[name] = {"type": kind, "length": length, "primary_key": bool(pk),
                         "unique": name in unique or (bool(pk) and len(pks) == 1),
                         "nullable": not notnull and not (pk and kind == "integer")}
    return columns


def _text(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


# -- database behaviour -------------------------------------------------------


def _run_database(body: DatabaseCheck, target: Target, work: HostWork,
                  out: list[Assertion]) -> None:
    table = body.table
    if table is None:
        assert body.model is not None
        table = _find_model(fetch_models(target, work.remaining), body.model).table
    path = target.database_copy(work.remaining, body.file)
    rows = [list(row) for row in body.rows]
    result = work.database("insert_rows", path, table, rows)
    if result is None:
        raise CheckStop("failed", target.left_out(table) or
                        f"the database has no table {table!r}; does the model define it?")
    out.append(db_verdict.judge(body, table, result))


# -- instructor code ------------------------------------------------------------


class AppInspector:
    """What instructor code may ask the app, as plain data."""

    def __init__(self, target: Target, work: HostWork) -> None:
        self._target = target
        self._work = work

    def models(self) -> dict[str, dict[str, Any]]:
        return {name: claim.as_dict()
                for name, claim in fetch_models(self._target, self._work.remaining).items()}

    def jinja_filters(self) -> list[str]:
        """The names of the app's Jinja filters (``app.jinja_env.filters``); the app's
        claim, so worth only the points the spec gives it."""
        try:
            return list(self._target.agent.jinja_filters(timeout=self._work.remaining))
        except AgentRefused:
            return []

    def repr(self, model: str, **fields: Any) -> str | None:
        try:
            return self._target.agent.repr(model, fields, timeout=self._work.remaining)
        except AgentRefused:
            return None


class Rows:
    """The rows one statement returned, read like a sqlite3 cursor."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows
        self._next = 0

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[tuple[Any, ...]]:
        rest = self._rows[self._next:]
        self._next = len(self._rows)
        return rest

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row


class Database:
    """The app's database for instructor code (the ``database`` fixture).

    It reads the live database: the first statement, and the first after any
    request to the app or restart, run on a new copy taken at that moment, so
    rows the app wrote a moment ago are there. Each statement runs in the
    evaluator on the copy, disarmed and in autocommit, so one CHECK constraint
    cannot hold the grader; a statement SQLite refuses raises the sqlite3
    exception of the same name. What a statement changes stays in the copy.
    """

    def __init__(self, work: HostWork, target: Target) -> None:
        self._work = work
        self._target = target
        self._path: Path | None = None
        self._taken_at = -1  # target.changes when the copy was taken

    def _copy(self) -> Path:
        if self._path is None or self._taken_at != self._target.changes:
            self._taken_at = self._target.changes
            self._path = self._target.database_copy(self._work.remaining)
        return self._path

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Rows:
        args = dict(params) if isinstance(params, Mapping) else tuple(params)
        path = self._copy()
        try:
            return Rows(self._work.run("a query on the app's database", "query",
                                       str(path), sql, args))
        except EvaluatorFailed as e:
            error = getattr(sqlite3, e.kind, None) if e.kind in DATABASE_ERRORS else None
            if isinstance(error, type) and issubclass(error, sqlite3.Error):
                raise error(e.message) from e
            database_failed(e)

    def close(self) -> None:
        """Nothing stays open between statements; kept for code written for sqlite3."""


def _run_code(body: CodeCheck, target: Target, work: HostWork, out: list[Assertion]) -> None:
    with tempfile.TemporaryDirectory(prefix="grade-code-") as tmp:
        fixtures: dict[str, Callable[[], Any]] = {
            "client": lambda: CheckClient(work.client(target), work),
            "app": lambda: AppInspector(target, work),
            "database": lambda: Database(work, target),
            "data": lambda: data_copy(target.exercise_folder(), Path(tmp)),
            "source": lambda: Source(*target.submission_files(), work),
        }
        # Code checks compile with pytest's assertion rewriting: imported only when
        # an exercise has one (0.15 s of a one-shot `grade submit` otherwise).
        from grader.grading import code_check

        try:
            out.extend(code_check.run(body, work, fixtures, Path(tmp),
                                      (AppInspector, Database, Rows)))
        finally:
            for made in Path(tmp).glob("data-*/data"):
                release_copy(made)


_RUNNERS: dict[type, Callable[[Any, Target, HostWork, list[Assertion]], None]] = {
    HttpCheck: _run_http,
    ModelCheck: _run_model,
    DatabaseCheck: _run_database,
    CodeCheck: _run_code,
}
