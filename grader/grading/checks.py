"""Run one check against a loaded submission, on the trusted side.

The submission is reached only through :class:`Target`: HTTP to the app, the
agent's typed answers (untrusted; parsed by sandbox/agent_client.py) and a
copy of the database the app created, which the host opens and exercises itself.
"""

from __future__ import annotations

import inspect
import json
import re
import sqlite3
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from grader.common.text import safe_text
from grader.grading.compare import Assertion, check_response, extract, short
from grader.grading.http_client import AppClient, AppUnreachable, NotSendable, RequestTimeout
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

MESSAGE_LIMIT = 2048  # characters of a check's message


class Agent(Protocol):
    """The questions checks may ask the agent; raise AgentTimeout, AgentGone, AgentRefused."""

    def models(self, *, timeout: float) -> dict[str, ModelClaim]: ...

    def repr(self, model: str, fields: dict[str, Any], *, timeout: float) -> str | None: ...


class Target(Protocol):
    """What a check may touch of a loaded submission."""

    @property
    def agent(self) -> Agent:
        """The agent's answers: claims, corroborated where the host can (grading/run.py)."""
        ...

    def new_client(self, timeout: float) -> AppClient: ...

    def database_copy(self, timeout: float) -> Path:
        """A fresh host-side copy of the app's SQLite database, as the host corroborated it."""
        ...


@dataclass(frozen=True)
class CheckOutcome:
    status: Status
    assertions: tuple[Assertion, ...]
    message: str
    duration: float
    # False when the check ended before all its assertions were made (a crash, a
    # timeout, a fact that could not be read): a share of the ones made would pay
    # for what was never established, so partial credit does not apply.
    finished: bool = True

    def __post_init__(self) -> None:
        # Messages quote the app (class names, errors): bounded here, whoever built them.
        object.__setattr__(self, "message", safe_text(self.message, MESSAGE_LIMIT))


class _Stop(Exception):
    """Ends a check early with a final outcome.

    *accounted*: every assertion the check would have made is in its list
    (the ones that cannot run counted as failed), so partial credit still holds.
    """

    def __init__(self, status: Status, message: str, *, accounted: bool = False) -> None:
        super().__init__(message)
        self.status: Status = status
        self.message = message
        self.accounted = accounted


class DatabaseUnusable(_Stop):
    """The app's database cannot be read as a database: the check fails, honestly."""

    def __init__(self, detail: str) -> None:
        super().__init__("failed", f"the app's database file is not usable: {detail}")


def run_check(check: Check, target: Target, deadline: float) -> CheckOutcome:
    """Run *check*, never past *deadline* (time.monotonic) or the check's own limit."""
    start = time.monotonic()
    timeout = min(check.timeout, deadline - start)
    if timeout <= 0:
        return CheckOutcome("timeout", (), "not run: the submission's time limit was used up",
                            0.0)
    assertions: list[Assertion] = []
    runner = _RUNNERS[type(check.body)]
    try:
        runner(check.body, target, timeout, assertions)
    except _Stop as stop:
        return CheckOutcome(stop.status, tuple(assertions), stop.message,
                            time.monotonic() - start, finished=stop.accounted)
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
    if a.expected is None and a.actual is None:
        return a.label
    if a.expected is None:
        return f"{a.label}: {short(a.actual or '', 160)}"
    return f"{a.label}: expected {short(a.expected or '', 80)!r}, got {short(a.actual or '', 80)!r}"


# -- HTTP ----------------------------------------------------------------------


def _run_http(body: HttpCheck, target: Target, timeout: float, out: list[Assertion]) -> None:
    client = target.new_client(timeout)
    variables: dict[str, str] = {}
    many = len(body.steps) > 1
    for number, step in enumerate(body.steps, start=1):
        req = step.request
        resp = client.request(
            req.method,
            substitute(req.path, variables),
            query=_pairs(req.query, variables) or None,
            form=_pairs(req.form, variables) if req.form is not None else None,
            json_body=_render_json(req.json, variables) if req.has_json else None,
            data=substitute(req.data, variables) if req.data is not None else None,
            headers=_pairs(req.headers, variables),
            follow_redirects=req.follow_redirects,
        )
        prefix = f"step {number} ({req.method} {req.path}): " if many else ""
        for a in check_response(step.expect, resp):
            out.append(Assertion(prefix + a.label, a.passed, a.expected, a.actual))
        for spec in step.extracts:
            value = extract(spec, resp, client.cookies)
            out.append(Assertion(f"{prefix}find {spec.name} ({spec.source} {spec.pattern})",
                                 value is not None))
            if value is None:
                _count_skipped(body, number, out)
                raise _Stop("failed", f"{prefix}could not find {spec.name} in the response",
                            accounted=True)
            variables[spec.name] = value


def _count_skipped(body: HttpCheck, done: int, out: list[Assertion]) -> None:
    """Steps that cannot run count as failed, so partial credit stays honest."""
    for number in range(done + 1, len(body.steps) + 1):
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
        raise _Stop("failed", e.failure.short()) from e


def _find_model(models: dict[str, ModelClaim], name: str) -> ModelClaim:
    if name not in models:
        found = ", ".join(sorted(models)) or "none"
        raise _Stop("failed", f"no model class named {name} (models found: {found})")
    return models[name]


def _run_model(body: ModelCheck, target: Target, timeout: float, out: list[Assertion]) -> None:
    model = _find_model(fetch_models(target, timeout), body.model)
    out.append(Assertion(f"model {body.model} exists", True))
    if body.table is not None:
        out.append(Assertion("table name", model.table == body.table, body.table,
                             model.table))
    if body.columns:
        # Column facts come from the database the app created, read on this side: the
        # agent's own description is the student's process talking and could be forged.
        columns = _database_columns(target, model.table, timeout)
        for col in body.columns:
            actual = columns.get(col.name)
            if actual is None:
                out.append(Assertion(f"column {col.name} exists", False, col.name,
                                     ", ".join(columns) or "(no columns)"))
                continue
            for prop in ("type", "length", "primary_key", "unique", "nullable"):
                want = getattr(col, prop)
                if want is not None:
                    got = actual.get(prop)
                    out.append(Assertion(f"column {col.name} {prop}", got == want,
                                         _text(want), _text(got)))
    if body.repr is not None:
        try:
            text = target.agent.repr(body.model, dict(body.repr.fields), timeout=timeout)
        except AgentRefused as e:
            out.append(Assertion(f"repr({body.model}(...))", False, body.repr.equals,
                                 e.failure.short()))
            return
        got = text if text is not None else "(not a string)"
        out.append(Assertion(f"repr({body.model}(...))", got == body.repr.equals,
                             body.repr.equals, got))


_SQLITE_TYPES = (  # declared-type prefix → spec type, in match order
    ("INT", "integer"), ("BIGINT", "integer"), ("SMALLINT", "integer"),
    ("VARCHAR", "string"), ("NVARCHAR", "string"), ("CHAR", "string"), ("NCHAR", "string"),
    ("TEXT", "text"), ("CLOB", "text"), ("BOOL", "boolean"), ("FLOAT", "float"),
    ("REAL", "float"), ("DOUBLE", "float"), ("NUMERIC", "numeric"), ("DECIMAL", "numeric"),
    ("DATETIME", "datetime"), ("TIMESTAMP", "datetime"), ("DATE", "date"), ("TIME", "time"),
    ("JSON", "json"), ("BLOB", "blob"),
)


def sqlite_type(declared: str) -> tuple[str, int | None]:
    """The spec type and length for a declared SQLite column type such as VARCHAR(80)."""
    text = declared.strip().upper()
    length = None
    if (m := re.fullmatch(r"([A-Z ]+?)\s*\(\s*(\d+)\s*\)", text)) is not None:
        text, length = m.group(1), int(m.group(2))
    for prefix, name in _SQLITE_TYPES:
        if text.startswith(prefix):
            return name, length if name == "string" else None
    return text.lower() or "none", length


def _database_columns(target: Target, table: str, timeout: float) -> dict[str, dict[str, Any]]:
    conn = open_untrusted_sqlite(target.database_copy(timeout), time.monotonic() + timeout)
    try:
        info = conn.execute(f"PRAGMA table_info({ident(table)})").fetchall()
        if not info:
            raise _Stop("failed", f"table {table!r} is not in the app's database; were the "
                                  "tables created (setup: create_tables)?")
        unique: set[str] = set()
        for _, index, is_unique, *_rest in conn.execute(f"PRAGMA index_list({ident(table)})"):
            cols = [r[2] for r in conn.execute(f"PRAGMA index_info({ident(index)})")]
            if is_unique and len(cols) == 1:
                unique.add(cols[0])
        pks = [row[1] for row in info if row[5]]
        columns = {}
        for _, name, declared, notnull, _default, pk in info:
            kind, length = sqlite_type(declared or "")
            columns[name] = {"type": kind, "length": length, "primary_key": bool(pk),
                             "unique": name in unique or (bool(pk) and len(pks) == 1),
                             "nullable": not notnull and not (pk and kind == "integer")}
        return columns
    except sqlite3.DatabaseError as e:
        raise DatabaseUnusable(str(e)) from e
    finally:
        conn.close()


def _text(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


# -- database behaviour -------------------------------------------------------


def _run_database(body: DatabaseCheck, target: Target, timeout: float,
                  out: list[Assertion]) -> None:
    table = body.table
    if table is None:
        assert body.model is not None
        table = _find_model(fetch_models(target, timeout), body.model).table
    path = target.database_copy(timeout)
    conn = open_untrusted_sqlite(path, time.monotonic() + timeout)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                            (table,)).fetchone():
            raise _Stop("failed", f"the database has no table {table!r}; "
                                  "does the model define it?")
        *setup, last = body.rows
        for number, row in enumerate(setup, start=1):
            outcome, detail = _insert(conn, table, row)
            if outcome != "ok":
                out.append(Assertion(f"insert row {number}", False, "accepted", detail))
                raise _Stop("failed", f"row {number} {dict(row)} was rejected: {detail}")
        outcome, detail = _insert(conn, table, last)
        ok = outcome == body.expect or (body.expect == "rejected" and outcome != "ok")
        out.append(Assertion(f"inserting {dict(last)}", ok, body.expect,
                             f"{outcome}: {detail}" if detail else outcome))
    finally:
        conn.close()


def open_untrusted_sqlite(path: Path, deadline: float) -> sqlite3.Connection:
    """Open a database the student's code produced, with its code paths disarmed."""
    try:
        conn = sqlite3.connect(str(path), isolation_level=None)
    except sqlite3.DatabaseError as e:
        raise _Stop("failed", f"the app's database file is not usable: {e}") from e
    try:
        conn.execute("PRAGMA trusted_schema = OFF")
        conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
        # Triggers are code; the check is about declared constraints only.
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'"
                                    ).fetchall():
            conn.execute(f"DROP TRIGGER {ident(name)}")
    except sqlite3.DatabaseError as e:
        conn.close()
        raise DatabaseUnusable(str(e)) from e
    return conn


def _insert(conn: sqlite3.Connection, table: str, row: tuple[tuple[str, Any], ...]
            ) -> tuple[str, str]:
    cols = ", ".join(ident(k) for k, _ in row)
    marks = ", ".join("?" for _ in row)
    try:
        conn.execute(f"INSERT INTO {ident(table)} ({cols}) VALUES ({marks})",
                     [v for _, v in row])
    except sqlite3.IntegrityError as e:
        msg = str(e)
        if msg.startswith("UNIQUE constraint failed"):
            return "unique_violation", msg
        if msg.startswith("NOT NULL constraint failed"):
            return "not_null_violation", msg
        return "rejected", msg
    except sqlite3.OperationalError as e:
        if "interrupted" in str(e):
            raise AgentTimeout("database check") from e
        return "rejected", str(e)
    return "ok", ""


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- instructor code ------------------------------------------------------------


class AppInspector:
    """What instructor code may ask the app, as plain data."""

    def __init__(self, target: Target, timeout: float) -> None:
        self._target = target
        self._timeout = timeout

    def models(self) -> dict[str, dict[str, Any]]:
        return {name: claim.as_dict()
                for name, claim in fetch_models(self._target, self._timeout).items()}

    def repr(self, model: str, **fields: Any) -> str | None:
        try:
            return self._target.agent.repr(model, fields, timeout=self._timeout)
        except AgentRefused:
            return None


def _run_code(body: CodeCheck, target: Target, timeout: float, out: list[Assertion]) -> None:
    namespace: dict[str, Any] = {"__name__": "grade_check"}
    exec(compile(body.source, "<check code>", "exec"), namespace)  # noqa: S102 - instructor's
    fixtures: dict[str, Callable[[], Any]] = {
        "client": lambda: target.new_client(timeout),
        "app": lambda: AppInspector(target, timeout),
        "database": lambda: open_untrusted_sqlite(target.database_copy(timeout),
                                                  time.monotonic() + timeout),
    }
    for name, fn in namespace.items():
        if not (name.startswith("test_") and callable(fn)):
            continue
        params = list(inspect.signature(fn).parameters)
        unknown = [p for p in params if p not in fixtures]
        if unknown:
            raise _Stop("error", f"{name} asks for unknown fixtures {unknown}; "
                                 f"available: {sorted(fixtures)}")
        try:
            fn(**{p: fixtures[p]() for p in params})
        except AssertionError as e:
            out.append(Assertion(name, False, None, str(e) or _assert_line(e)))
        except (RequestTimeout, AgentTimeout, AppUnreachable, AgentGone, _Stop):
            raise
        except Exception as e:  # noqa: BLE001 - the app's answer broke the check's code
            out.append(Assertion(name, False, None, f"{type(e).__name__}: {e}"))
        else:
            out.append(Assertion(name, True))


def _assert_line(e: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == "<check code>"]
    return f"assertion failed at line {frames[-1].lineno} of the check" if frames else "failed"


_RUNNERS: dict[type, Callable[[Any, Target, float, list[Assertion]], None]] = {
    HttpCheck: _run_http,
    ModelCheck: _run_model,
    DatabaseCheck: _run_database,
    CodeCheck: _run_code,
}
