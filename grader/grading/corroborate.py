"""Keep only the database facts the host can corroborate from the submission's source.

The database file reaches the host through the agent, which runs in the
student's interpreter: the student can replace the agent's handlers and send
a hand-made file. So the copy the checks read is rebuilt on the host from the
claimed file, keeping a fact only where the staged source declares it too
(declared.py): a table that no model or migration declares is left out; a
column keeps NOT NULL, UNIQUE and PRIMARY KEY only where both the file and
the source say so, and its type only where both agree. Rows are copied as
they are. A check can therefore never score a constraint that exists only in
the claimed file.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from grader.grading.checks import DatabaseUnusable, ident, open_untrusted_sqlite, sqlite_type
from grader.grading.declared import DeclaredColumn, DeclaredSchema, DeclaredTable

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
                      migrations_only: bool, deadline: float) -> tuple[str, ...]:
    """Rebuild *claimed* into the new file *dest*; return notes on what was left out.

    *migrations_only*: the tables must come from migration scripts (``setup:
    {migrate: true}``), not from model classes created some other way.
    """
    source = open_untrusted_sqlite(claimed, deadline)
    out = sqlite3.connect(str(dest), isolation_level=None)
    out.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
    notes: list[str] = []
    try:
        tables = [name for (name,) in source.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")]
        out.execute("BEGIN")
        for name in tables:
            if name == ALEMBIC:
                _copy_alembic(source, out, schema)
                continue
            declared = schema.table(name, migrations_only=migrations_only)
            if declared is None:
                where = "migration in migrations/versions/" if migrations_only else \
                    "model class or migration"
                notes.append(f"table {name!r} is left out: no {where} of the submission "
                             "declares it")
                continue
            _copy_table(source, out, name, declared)
        out.execute("COMMIT")
    except sqlite3.OperationalError as e:
        if "interrupted" in str(e):
            raise DatabaseUnusable("reading it took longer than the check's time limit") from e
        raise DatabaseUnusable(str(e)[:300]) from e
    except sqlite3.DatabaseError as e:  # corrupt pages, not a database, ...
        raise DatabaseUnusable(str(e)[:300]) from e
    finally:
        source.close()
        out.close()
    return tuple(notes)


def _copy_table(source: sqlite3.Connection, out: sqlite3.Connection, name: str,
                declared: DeclaredTable) -> None:
    columns = _claimed_columns(source, name)
    kept = [_corroborate(c, declared.columns.get(c.name)) for c in columns]
    pks = [c.name for c in kept if c.primary_key]
    defs = []
    for c in kept:
        parts = [ident(c.name), c.declared_type]
        if c.primary_key and len(pks) == 1:
            parts.append("PRIMARY KEY")  # INTEGER PRIMARY KEY stays the rowid alias
        if c.notnull:
            parts.append("NOT NULL")
        if c.unique and not (c.primary_key and len(pks) == 1):
            parts.append("UNIQUE")
        if c.default is not None:
            parts.append(f"DEFAULT {c.default}")
        defs.append(" ".join(parts))
    if len(pks) > 1:
        defs.append(f"PRIMARY KEY ({', '.join(ident(p) for p in pks)})")
    out.execute(f"CREATE TABLE {ident(name)} ({', '.join(defs)})")
    names = ", ".join(ident(c.name) for c in kept)
    for row in source.execute(f"SELECT {names} FROM {ident(name)}"):
        out.execute(f"INSERT INTO {ident(name)} ({names}) VALUES "
                    f"({', '.join('?' for _ in kept)})", row)


def _claimed_columns(source: sqlite3.Connection, table: str) -> list[_Column]:
    info = source.execute(f"PRAGMA table_info({ident(table)})").fetchall()
    unique: set[str] = set()
    for row in source.execute(f"PRAGMA index_list({ident(table)})").fetchall():
        index, is_unique = row[1], row[2]
        partial = row[4] if len(row) > 4 else 0
        cols = [r[2] for r in source.execute(f"PRAGMA index_info({ident(index)})")]
        if is_unique and not partial and len(cols) == 1:
            unique.add(cols[0])  # a partial index is not a uniqueness of the column
    return [_Column(name, declared or "", bool(notnull), default, bool(pk), name in unique)
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


def _copy_alembic(source: sqlite3.Connection, out: sqlite3.Connection,
                  schema: DeclaredSchema) -> None:
    """Alembic's own table: only revisions that a staged migration script declares."""
    out.execute(f"CREATE TABLE {ALEMBIC} (version_num VARCHAR(32) NOT NULL, "
                f"CONSTRAINT {ALEMBIC}_pkc PRIMARY KEY (version_num))")
    try:
        rows = source.execute(f"SELECT version_num FROM {ALEMBIC}").fetchall()
    except sqlite3.DatabaseError:
        return
    for (version,) in rows:
        if isinstance(version, str) and version in schema.revisions:
            out.execute(f"INSERT INTO {ALEMBIC} (version_num) VALUES (?)", (version,))
