"""Keep only the database facts the host can corroborate from the submission's source.

The database file reaches the host through the agent, which runs in the
student's interpreter: the student can replace the agent's handlers and send
a hand-made file. So the copy the checks read is rebuilt from the claimed
file, keeping a fact only where the staged source declares it too
(declared.py): a table that no model or migration declares is left out; a
column keeps NOT NULL, UNIQUE and PRIMARY KEY only where both the file and
the source say so, and its type only where both agree. Rows are copied as
they are. A check can therefore never score a constraint that exists only in
the claimed file.

The host decides the plan here, in plain Python; SQLite itself only ever runs
on the claimed file in the evaluator (evaluator_ops.py), under a deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.grading.db_fill import sqlite_type
from grader.grading.declared import DeclaredColumn, DeclaredSchema
from grader.grading.evaluator import Evaluator, EvaluatorFailed, EvaluatorTimeout
from grader.grading.evaluator_ops import ident
from grader.grading.outcome import DatabaseTooSlow, DatabaseUnusable

UNVERIFIED = "UNVERIFIED"  # the type a column gets when its declared type is not confirmed
ALEMBIC = "alembic_version"


@dataclass(frozen=True)
class _Column:
    name: str
    declared_type: str
    notnull: bool
    default: str | None
    primary_key: bool
    unique: bool


def corroborated_copy(claimed: Path, dest: Path, schema: DeclaredSchema, *,
                      migrations_only: bool, evaluator: Evaluator,
                      deadline: float) -> dict[str, str]:
    """Rebuild *claimed* into the new file *dest*; return why each table left out was.

    *migrations_only*: the tables must come from migration scripts (``setup:
    {migrate: true}``), not from model classes created some other way.
    """
    facts = _evaluate(evaluator, deadline, "claimed_schema", str(claimed))
    notes: dict[str, str] = {}
    plan = []
    versions: list[str] | None = None
    for name, (info, unique, sql) in facts.items():
        if name == ALEMBIC:
            versions = sorted(schema.revisions)
            continue
        declared = schema.table(name, migrations_only=migrations_only)
        if declared is None:
            where = ("migration in migrations/versions/" if migrations_only
                     else "model class or migration")
            notes[name] = f"table {name!r} is left out: no {where} of the submission declares it"
            continue
        columns = [_corroborate(c, declared.columns.get(c.name))
                   for c in _claimed_columns(info, set(unique))]
        checks = check_clauses(sql) if declared.checks else []
        plan.append((name, _create(name, columns, checks), [c.name for c in columns]))
    _evaluate(evaluator, deadline, "rebuild", str(claimed), str(dest), plan, versions)
    return notes


def claimed_copy(claimed: Path, dest: Path, *, evaluator: Evaluator, deadline: float) -> None:
    """Rebuild *claimed* into the new file *dest* as the file itself states it.

    For a ``database_file`` (an app on plain ``sqlite3``): no model or migration
    declares its tables, so there is nothing to corroborate them with. Every
    table keeps its columns, types, NOT NULL, UNIQUE, primary key and defaults
    as claimed; triggers, views and CHECK clauses are left out, like in
    :func:`corroborated_copy`.
    """
    facts = _evaluate(evaluator, deadline, "claimed_schema", str(claimed))
    plan = []
    for name, (info, unique, _sql) in facts.items():
        columns = _claimed_columns(info, set(unique))
        plan.append((name, _create(name, columns, []), [c.name for c in columns]))
    _evaluate(evaluator, deadline, "rebuild", str(claimed), str(dest), plan, None)


def _evaluate(evaluator: Evaluator, deadline: float, op: str, *args: Any) -> Any:
    try:
        return evaluator.call(op, *args, deadline=deadline)
    except EvaluatorTimeout as e:
        raise DatabaseTooSlow() from e
    except EvaluatorFailed as e:  # corrupt pages, not a database, a string too long, ...
        raise DatabaseUnusable(e.message[:300]) from e


def _claimed_columns(info: list[tuple[Any, ...]], unique: set[str]) -> list[_Column]:
    return [_Column(str(name), str(declared or ""), bool(notnull),
                    default if isinstance(default, str) else None, bool(pk), name in unique)
            for _, name, declared, notnull, default, pk in info]


def _corroborate(claimed: _Column, declared: DeclaredColumn | None) -> _Column:
    if declared is None:  # kept for inserts, but no fact of it counts
        return _Column(claimed.name, UNVERIFIED, False, claimed.default, False, False)
    kind, length = sqlite_type(claimed.declared_type)
    same_type = declared.kind is not None and declared.kind == kind and (
        declared.length is None or declared.length == length)
    # SQLite makes an INTEGER PRIMARY KEY NOT NULL without saying so.
    notnull = claimed.notnull or (claimed.primary_key and kind == "integer")
    return _Column(
        claimed.name,
        claimed.declared_type if same_type else UNVERIFIED,
        notnull and not declared.nullable,
        claimed.default,
        claimed.primary_key and declared.primary_key,
        claimed.unique and (declared.unique or declared.primary_key),
    )


def _create(table: str, columns: list[_Column], checks: list[str]) -> str:
    """The CREATE TABLE statement of the corroborated table."""
    pks = [c.name for c in columns if c.primary_key]
    defs = []
    for c in columns:
        parts = [ident(c.name), _type_name(c.declared_type)]
        if c.primary_key and len(pks) == 1:
            parts.append("PRIMARY KEY")  # INTEGER PRIMARY KEY stays the rowid alias
        if c.notnull:
            parts.append("NOT NULL")
        if c.unique and not (c.primary_key and len(pks) == 1):
            parts.append("UNIQUE")
        if c.default is not None:
            parts.append(f"DEFAULT ({c.default})")
        defs.append(" ".join(parts))
    if len(pks) > 1:
        defs.append(f"PRIMARY KEY ({', '.join(ident(p) for p in pks)})")
    defs += [f"CHECK ({clause})" for clause in checks]
    return f"CREATE TABLE {ident(table)} ({', '.join(defs)})"


MAX_SQL = 1 << 20  # characters of a CREATE statement worth scanning for CHECK clauses
_QUOTES = {"'": "'", '"': '"', "`": "`", "[": "]"}


def check_clauses(sql: str) -> list[str]:
    """The expressions of every ``CHECK (...)`` in a CREATE TABLE statement.

    Kept only for a table whose source declares CHECK constraints (their text may
    be computed there, so it cannot be compared): a CHECK makes the copy stricter,
    and its cost is the evaluator's, under the check's deadline.
    """
    if len(sql) > MAX_SQL:
        return []
    found = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in _QUOTES:
            end = sql.find(_QUOTES[ch], i + 1)
            i = n if end < 0 else end + 1
            continue
        if sql[i:i + 5].upper() == "CHECK" and (i == 0 or not _word(sql[i - 1])) \
                and (i + 5 >= n or not _word(sql[i + 5])):
            j = i + 5
            while j < n and sql[j].isspace():
                j += 1
            if j < n and sql[j] == "(":
                close = _closing(sql, j)
                if close is None:
                    return []  # unbalanced: keep none rather than guess
                found.append(sql[j + 1:close])
                i = close + 1
                continue
        i += 1
    return found


def _word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _closing(sql: str, start: int) -> int | None:
    """The index of the parenthesis that closes the one at *start*, quotes skipped."""
    depth, i = 0, start
    while i < len(sql):
        ch = sql[i]
        if ch in _QUOTES:
            end = sql.find(_QUOTES[ch], i + 1)
            if end < 0:
                return None
            i = end + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _type_name(declared: str) -> str:
    """A declared type as SQLite reads it back; anything odd becomes UNVERIFIED."""
    text = declared.strip()
    if all(ch.isalnum() or ch in " (),_" for ch in text):
        return text or UNVERIFIED
    return UNVERIFIED
