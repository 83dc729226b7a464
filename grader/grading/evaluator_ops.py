"""The evaluator's side: the host's work on untrusted data, run in a child process.

This module is started as a script (``python -I -S evaluator_ops.py``) by
evaluator.py and must import nothing but the standard library. It reads
requests ``(op, args)`` from stdin and writes replies to stdout, both as
length-prefixed pickles; the parent kills it when a reply is late, which is
the only clock that stops a C call such as a backtracking ``re`` match or an
SQLite function (neither checks Python signals nor SQLite's progress handler).

Every op is a plain function of plain data and returns plain data (str,
bytes, numbers, None, tuples, lists, dicts), so the parent can unpickle the
reply without importing anything.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import resource
import sqlite3
import struct
import sys
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any


def _beside(name: str) -> Any:
    """A module of this folder, loaded from its file: started as a script (python -I
    -S), the evaluator cannot import the grader's package. Loaded once per process."""
    import importlib.util

    if (loaded := sys.modules.get(f"grade_{name}")) is not None:
        return loaded
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"grade_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[f"grade_{name}"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING or __package__:
    from grader.grading import db_fill, flask_session, html_find, source_files
else:
    db_fill = _beside("db_fill")
    html_find = _beside("html_find")
    flask_session = _beside("flask_session")
    source_files = _beside("source_files")

HEADER = struct.Struct("!Q")  # the length of the pickle that follows
MEMORY_LIMIT = 768 << 20  # bytes of address space the child may use
SQLITE_MAX_LENGTH = 32 << 20  # bytes of one string or blob SQLite may build

# -- regular expressions -----------------------------------------------------------------------


def regex_found(pattern: str, text: str) -> bool:
    """Whether *pattern* matches anywhere in *text* (``re.search``)."""
    return re.search(pattern, text) is not None


def regex_value(pattern: str, text: str) -> str | None:
    """The first match's group 1 (or the whole match without groups); None if none."""
    m = re.search(pattern, text)
    if m is None:
        return None
    value = m.group(1) if m.groups() else m.group(0)
    return value if isinstance(value, str) else None  # an optional group that did not take part


# -- cookies -----------------------------------------------------------------------------------


MAX_SET_COOKIE = 5 << 10  # characters: a 4 KiB cookie and its attributes, as browsers keep


def set_cookies(values: list[str]) -> list[tuple[str, str | None, str | None]]:
    """What a browser keeps of these Set-Cookie values: (name, value, value as sent on
    the wire), the values None when the cookie is deleted."""
    kept: list[tuple[str, str | None, str | None]] = []
    for value in values:
        if len(value) > MAX_SET_COOKIE:
            continue  # browsers drop cookies over 4 KiB (RFC 6265, 6.1)
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(value)
        except CookieError:
            continue  # a browser ignores a cookie it cannot parse
        for key, morsel in jar.items():
            gone = morsel["max-age"] == "0" or morsel.value == ""
            kept.append((key, None, None) if gone else (key, morsel.value, morsel.coded_value))
    return kept


# -- SQLite ------------------------------------------------------------------------------------


def _open(path: str) -> sqlite3.Connection:
    """A database the student's code produced, with its code paths disarmed."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA trusted_schema = OFF")
    # hex(zeroblob(10**9)) in a CHECK would otherwise build gigabytes in this process
    # (Python 3.10 has no setlimit: the address-space limit stops it there).
    setlimit = getattr(conn, "setlimit", None)
    if setlimit is not None:
        setlimit(getattr(sqlite3, "SQLITE_LIMIT_LENGTH", 0), SQLITE_MAX_LENGTH)
    # Triggers are code; the checks are about declared constraints only.
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'"
                                ).fetchall():
        conn.execute(f"DROP TRIGGER {ident(name)}")
    return conn


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_facts(path: str, table: str) -> tuple[list[tuple[Any, ...]], list[str]] | None:
    """``PRAGMA table_info`` rows and the columns a full single-column unique index
    covers; None: no such table."""
    conn = _open(path)
    try:
        info = conn.execute(f"PRAGMA table_info({ident(table)})").fetchall()
        if not info:
            return None
        return info, _unique_columns(conn, table)
    finally:
        conn.close()


def _unique_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    """The columns a full single-column unique index covers (a partial one is no
    uniqueness of the column)."""
    unique = []
    for row in conn.execute(f"PRAGMA index_list({ident(table)})").fetchall():
        index, is_unique, partial = row[1], row[2], row[4] if len(row) > 4 else 0
        cols = [r[2] for r in conn.execute(f"PRAGMA index_info({ident(index)})")]
        if is_unique and not partial and len(cols) == 1:
            unique.append(cols[0])
    return unique


def insert_rows(path: str, table: str, rows: list[list[tuple[str, Any]]]
                ) -> dict[str, Any] | None:
    """Insert *rows* in order, each with made-up values for the required columns it leaves
    out (db_fill.py); the outcome of each, up to the first refused one.

    None when the database has no such table; else ``{"rows": [{"outcome", "detail",
    "columns" (those the refusal names), "filled", "check_constraint"}, ...],
    "cannot_fill": None or why nothing was inserted, "full_unique": [[column, ...], ...]}``.
    """
    try:
        return _insert_rows(path, table, rows)
    except UnicodeDecodeError as e:  # Python's sqlite3 raises it for a name that is not UTF-8
        raise sqlite3.DatabaseError(f"the database holds text that is not UTF-8 ({e})") from e


def _insert_rows(path: str, table: str, rows: list[list[tuple[str, Any]]]
                 ) -> dict[str, Any] | None:
    conn = _open(path)
    try:
        found = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name=?",
                             (table,)).fetchone()
        if not found:
            return None
        shape = _read_table(conn, str(found[0]))
        why = db_fill.cannot_fill(shape, [[str(name) for name, _ in row] for row in rows])
        outcomes: list[dict[str, Any]] = []
        if why is None:
            filler = _Filler(conn, shape)
            for row in rows:
                outcome = _insert(conn, shape, row, filler)
                outcomes.append(outcome)
                if outcome["outcome"] != "ok":
                    break
        return {"rows": outcomes, "cannot_fill": why,
                "full_unique": [list(names) for names in shape.full_unique]}
    finally:
        conn.close()


def _read_table(conn: sqlite3.Connection, table: str) -> db_fill.Table:
    indexes = []
    for row in conn.execute(f"PRAGMA index_list({ident(table)})").fetchall():
        cols = tuple(r[2] for r in conn.execute(f"PRAGMA index_info({ident(row[1])})"))
        partial = bool(row[4]) if len(row) > 4 else False  # SQLite before 3.8.9: none
        indexes.append(db_fill.Index(bool(row[2]), partial, str(row[3]), cols))
    return db_fill.read_table(
        table, conn.execute(f"PRAGMA table_info({ident(table)})").fetchall(), indexes,
        conn.execute(f"PRAGMA foreign_key_list({ident(table)})").fetchall())


class _Filler:
    """Made-up values, column by column: each new, and none a row of the table holds
    already (the database may not start empty)."""

    TRIES = 100  # values to try past those in the table; then one that collides

    def __init__(self, conn: sqlite3.Connection, table: db_fill.Table) -> None:
        self.conn = conn
        self.table = table
        self.next: dict[str, int] = {}
        self.had_rows = conn.execute(f"SELECT 1 FROM {ident(table.name)} LIMIT 1"
                                     ).fetchone() is not None

    def value(self, column: db_fill.Column) -> Any:
        k = start = self.next.get(column.name, 0)
        for k in range(start, start + (self.TRIES if self.had_rows else 0)):
            if not self._held(column, db_fill.made_up(column, k)):
                break
        self.next[column.name] = k + 1
        return db_fill.made_up(column, k)

    def _held(self, column: db_fill.Column, value: Any) -> bool:
        return self.conn.execute(f"SELECT 1 FROM {ident(self.table.name)} WHERE "
                                 f"{ident(column.name)} = ? LIMIT 1", (value,)
                                 ).fetchone() is not None


def _insert(conn: sqlite3.Connection, table: db_fill.Table, row: list[tuple[str, Any]],
            filler: _Filler) -> dict[str, Any]:
    filled = db_fill.left_out(table, [str(name) for name, _ in row])
    pairs = [(str(name), value) for name, value in row]
    pairs += [(column.name, filler.value(column)) for column in filled]
    into = (f"({', '.join(ident(k) for k, _ in pairs)}) VALUES "
            f"({', '.join('?' for _ in pairs)})" if pairs else "DEFAULT VALUES")
    outcome, detail, check = "ok", "", False
    columns: list[str] = []
    try:
        conn.execute(f"INSERT INTO {ident(table.name)} {into}", [v for _, v in pairs])
    except sqlite3.IntegrityError as e:
        detail = str(e)
        outcome, columns, check = db_fill.refusal(detail, table)
    except (sqlite3.OperationalError, sqlite3.DataError) as e:
        outcome, detail = "rejected", str(e)  # e.g. a CHECK that builds a string too long
    return {"outcome": outcome, "detail": detail, "columns": columns,
            "filled": [column.name for column in filled], "check_constraint": check}


def claimed_schema(path: str) -> dict[str, tuple[list[tuple[Any, ...]], list[str], str]]:
    """Every table's ``PRAGMA table_info`` rows, the columns a full (not partial)
    single-column unique index covers, and its CREATE statement, for the host to
    corroborate (corroborate.py)."""
    conn = _open(path)
    try:
        names = [n for (n,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name").fetchall()]
        schema = {}
        for name in names:
            info = conn.execute(f"PRAGMA table_info({ident(name)})").fetchall()
            unique = _unique_columns(conn, name)
            (sql,) = conn.execute("SELECT coalesce(sql, '') FROM sqlite_master "
                                  "WHERE type = 'table' AND name = ?", (name,)).fetchone()
            schema[name] = (info, unique, str(sql))
        return schema
    finally:
        conn.close()


def rebuild(claimed: str, dest: str, tables: list[tuple[str, str, list[str]]],
            versions: list[str] | None) -> None:
    """Write *dest* from the host's plan: each (table, CREATE TABLE statement, columns),
    with the claimed rows of those columns; Alembic's rows only for *versions*."""
    source = _open(claimed)
    out = sqlite3.connect(dest, isolation_level=None)
    try:
        out.execute("BEGIN")
        for table, create, columns in tables:
            out.execute(create)
            names = ", ".join(ident(c) for c in columns)
            insert = (f"INSERT INTO {ident(table)} ({names}) VALUES "
                      f"({', '.join('?' for _ in columns)})")
            for row in source.execute(f"SELECT {names} FROM {ident(table)}"):
                out.execute(insert, row)
        if versions is not None:
            out.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                        "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))")
            try:
                rows = source.execute("SELECT version_num FROM alembic_version").fetchall()
            except sqlite3.DatabaseError:
                rows = []
            for (version,) in rows:
                if isinstance(version, str) and version in versions:
                    out.execute("INSERT INTO alembic_version (version_num) VALUES (?)",
                                (version,))
        out.execute("COMMIT")
    finally:
        source.close()
        out.close()


def declared_schema(folder: str, files: list[str]) -> dict[str, Any]:
    """What the staged source declares (declared.py, loaded from beside this file), as
    plain data."""
    declared = _beside("declared")
    plain: dict[str, Any] = declared.to_plain(declared.read_schema(Path(folder), files))
    return plain


def query(path: str, sql: str, params: tuple[Any, ...] | dict[str, Any]
          ) -> list[tuple[Any, ...]]:
    """Every row of one statement, run on the disarmed database (autocommit)."""
    conn = _open(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


OPS: dict[str, Callable[..., Any]] = {
    "regex_found": regex_found,
    "regex_value": regex_value,
    "elements": html_find.count_elements,
    "table_facts": table_facts,
    "insert_rows": insert_rows,
    "query": query,
    "claimed_schema": claimed_schema,
    "rebuild": rebuild,
    "declared_schema": declared_schema,
    "set_cookies": set_cookies,
    # a pytest check's fixtures (code_fixtures.py): the session cookie, the source
    "flask_session": flask_session.decode,
    "source_read": source_files.read,
    "source_grep": source_files.grep,
    "source_tree": source_files.tree,
    "ping": lambda: os.getpid(),
}

# -- the loop ----------------------------------------------------------------------------------


class PlainUnpickler(pickle.Unpickler):
    """Both directions carry plain data only: no class is looked up, so nothing is run."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"the evaluator's pipe carried {module}.{name}; "
                                     "only plain data is accepted")


def plain_loads(data: bytes) -> Any:
    return PlainUnpickler(io.BytesIO(data)).load()


def _read_exactly(fd: int, size: int) -> bytes | None:
    parts = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


def _write(fd: int, data: bytes) -> None:
    view = memoryview(HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _answer(op: str, args: tuple[Any, ...]) -> tuple[Any, ...]:
    try:
        return ("ok", OPS[op](*args))
    except MemoryError:
        return ("raised", "MemoryError", "needed more memory than the grader allows "
                                         f"({MEMORY_LIMIT >> 20} MiB)")
    except RecursionError as e:
        return ("raised", "RecursionError", str(e))
    except sqlite3.Error as e:
        return ("raised", type(e).__name__, str(e))
    except Exception as e:  # noqa: BLE001 - any failure is the caller's to explain
        return ("raised", type(e).__name__, str(e))


def serve(fd_in: int, fd_out: int) -> None:
    """Answer requests until the parent closes the pipe."""
    while (header := _read_exactly(fd_in, HEADER.size)) is not None:
        body = _read_exactly(fd_in, HEADER.unpack(header)[0])
        if body is None:
            return
        try:
            op, args = plain_loads(body)  # from the grader; plain data even if it were not
        except (pickle.UnpicklingError, ValueError, TypeError, EOFError) as e:
            reply: tuple[Any, ...] = ("raised", "BadRequest", str(e))
        else:
            reply = _answer(op, args) if op in OPS else ("raised", "BadRequest", repr(op))
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, RecursionError) as e:
            data = pickle.dumps(("raised", type(e).__name__, str(e)))
        _write(fd_out, data)


def _die_with_parent(parent: int) -> None:
    """Let the kernel kill this process when the grader dies (Linux); else poll nothing."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        pass  # not Linux: the pipe's EOF still ends an idle child
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(0)


def main() -> None:
    _die_with_parent(int(sys.argv[1]))
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    # Replies go on fd 1 alone: anything printed by accident goes to stderr instead.
    fd_out = os.dup(1)
    os.dup2(2, 1)
    serve(0, fd_out)


if __name__ == "__main__":
    main()
