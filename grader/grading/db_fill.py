"""The columns a database check's rows leave out, made up from the table's own schema.

A spec row gives the columns under test (``{username: null}``); the student's
real table may require more (a NOT NULL ``email``). Without a value for those,
every insert is refused for a column the spec never named, or "rejects a
missing username" passes on ``email``'s NOT NULL. So the evaluator
(evaluator_ops.insert_rows) fills each required column a row leaves out with a
value of its declared type, distinct per row, and reports what SQLite's
refusal names, for the host to judge.

Pure functions of ``PRAGMA`` rows, which come from the student's database:
any name, any declared type, any number of columns. This module imports the
standard library only: the evaluator runs without the grader's package
(``python -I -S``) and loads it from beside itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

_SQLITE_TYPES = (  # declared-type prefix -> spec type, in match order
    ("INT", "integer"), ("BIGINT", "integer"), ("SMALLINT", "integer"),
    ("VARCHAR", "string"), ("NVARCHAR", "string"), ("CHAR", "string"), ("NCHAR", "string"),
    ("TEXT", "text"), ("CLOB", "text"), ("BOOL", "boolean"), ("FLOAT", "float"),
    ("REAL", "float"), ("DOUBLE", "float"), ("NUMERIC", "numeric"), ("DECIMAL", "numeric"),
    ("DATETIME", "datetime"), ("TIMESTAMP", "datetime"), ("DATE", "date"), ("TIME", "time"),
    ("JSON", "json"), ("BLOB", "blob"),
)
_KINDS = frozenset(name for _, name in _SQLITE_TYPES)
_MAX_TYPE = 100  # characters of a declared type worth reading a length from
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_UNIQUE = "UNIQUE constraint failed: "
_NOT_NULL = "NOT NULL constraint failed: "
_CHECK = "CHECK constraint failed"
_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def sqlite_type(declared: str) -> tuple[str, int | None]:
    """The spec type and length for a declared SQLite column type such as VARCHAR(80);
    a type it does not know is its own name, lowercased ("none" without a type)."""
    text = declared.strip().upper()
    length = None
    # Bounded: the lazy group backtracks quadratically on a long run of letters and spaces.
    if len(text) <= _MAX_TYPE and (
            m := re.fullmatch(r"([A-Z ]+?)\s*\(\s*(\d+)\s*\)", text)) is not None:
        text, length = m.group(1), int(m.group(2))
    for prefix, name in _SQLITE_TYPES:
        if text.startswith(prefix):
            return name, length if name == "string" else None
    return text.lower() or "none", length


def fill_type(declared: str) -> tuple[str, int | None]:
    """The spec type and length to make a value for: sqlite_type's, and text for a
    type it does not know (SQLite stores the text as given)."""
    kind, length = sqlite_type(declared)
    return (kind, length) if kind in _KINDS else ("text", None)


def fold(name: str) -> str:
    """A name as SQLite compares identifiers: ASCII letters without case."""
    return name.translate(_FOLD)


@dataclass(frozen=True)
class Column:
    """One column of the table, as the filler sees it."""

    name: str
    kind: str  # the spec type (fill_type)
    length: int | None
    required: bool  # a row that leaves it out gets a made-up value
    references: str | None  # "author(id)" when it is part of a foreign key


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    full_unique: tuple[tuple[str, ...], ...]  # column sets a full unique constraint covers


@dataclass(frozen=True)
class Index:
    """One row of ``PRAGMA index_list`` with its ``index_info`` column names (None for an
    expression)."""

    unique: bool
    partial: bool
    origin: str  # "c" (CREATE INDEX), "u" (UNIQUE), "pk" (PRIMARY KEY)
    columns: tuple[str | None, ...]


def read_table(name: str, info: Sequence[Sequence[Any]], indexes: Sequence[Index],
               foreign_keys: Sequence[Sequence[Any]]) -> Table:
    """The table from ``PRAGMA table_info`` rows (cid, name, type, notnull, dflt_value, pk),
    its indexes and ``PRAGMA foreign_key_list`` rows (id, seq, table, from, to, ...)."""
    pks = [row for row in info if row[5]]
    # INTEGER PRIMARY KEY alone is the rowid (SQLite numbers it), unless the table is
    # WITHOUT ROWID or the key is DESC: then SQLite keeps it in an index of origin "pk".
    alias = (str(pks[0][1]) if len(pks) == 1 and str(pks[0][2] or "").upper() == "INTEGER"
             and not any(index.origin == "pk" for index in indexes) else None)
    references: dict[str, str] = {}
    for row in foreign_keys:
        target = f"{row[2]}({row[4]})" if row[4] is not None else f"{row[2]} (its primary key)"
        references.setdefault(fold(str(row[3])), target)
    columns = []
    for _cid, col, declared, notnull, default, pk in (tuple(row[:6]) for row in info):
        kind, length = fill_type(str(declared or ""))
        required = (bool(notnull) or bool(pk)) and _no_default(default) and col != alias
        columns.append(Column(str(col), kind, length, required, references.get(fold(str(col)))))
    unique: list[tuple[str, ...]] = [(alias,)] if alias is not None else []
    for index in indexes:
        cols = index.columns
        if index.unique and not index.partial and cols and all(c is not None for c in cols):
            names = tuple(str(c) for c in cols)
            if names not in unique:
                unique.append(names)
    return Table(name, tuple(columns), tuple(unique))


def _no_default(default: Any) -> bool:
    """``dflt_value`` gives no value: none at all, or a DEFAULT NULL."""
    return default is None or fold(str(default).strip("() \t\r\n")) == "null"


def left_out(table: Table, given: Sequence[str]) -> list[Column]:
    """The required columns a row that gives *given* leaves out, in table order."""
    named = {fold(name) for name in given}
    return [c for c in table.columns if c.required and fold(c.name) not in named]


def cannot_fill(table: Table, rows: Sequence[Sequence[str]]) -> str | None:
    """Why some row (its given column names) needs a column no made-up value can fill:
    a foreign key points at a row the grader would have to invent; None when all can be."""
    stuck: list[Column] = []
    for given in rows:
        stuck += [c for c in left_out(table, given)
                  if c.references is not None and c not in stuck]
    if not stuck:
        return None
    if len(stuck) == 1:
        (only,) = stuck
        return (f"column {only.name} references {only.references}; the grader cannot make "
                "up a row it points to")
    return (f"columns {', '.join(c.name for c in stuck)} reference "
            f"{', '.join(str(c.references) for c in stuck)}; the grader cannot make up rows "
            "they point to")


def made_up(column: Column, k: int) -> int | float | str | bytes:
    """The *k*-th made-up value for *column*: a different one for each k (booleans have
    two, a short string as many as its length allows)."""
    kind = column.kind
    if kind in ("integer", "numeric"):
        return 1000 + k
    if kind == "float":
        return 1000.0 + k
    if kind == "boolean":
        return k % 2
    if kind == "datetime":
        return (datetime(2024, 1, 1) + timedelta(seconds=k)).isoformat(sep=" ")
    if kind == "date":
        return (date(2024, 1, 1) + timedelta(days=k)).isoformat()
    if kind == "time":
        return f"{k // 3600 % 24:02d}:{k // 60 % 60:02d}:{k % 60:02d}"
    if kind == "json":
        return f'{{"n": {k}}}'
    if kind == "blob":
        return f"v{k}".encode()
    return _text(k, column.length)


def _text(k: int, length: int | None) -> str:
    text = f"v{k}"
    if length is None or len(text) <= length:
        return text
    digits = ""
    while True:  # k in base 36: the most distinct values that fit the length
        k, digit = divmod(k, len(_DIGITS))
        digits = _DIGITS[digit] + digits
        if not k:
            return digits[-length:] if length > 0 else ""


def refusal(message: str, table: Table) -> tuple[str, list[str], bool]:
    """The outcome of an IntegrityError's *message*, the columns it names (``[]`` when it
    names none, e.g. ``index 'ix'``), and whether a CHECK constraint refused."""
    if message.startswith(_UNIQUE):
        return "unique_violation", named_columns(message[len(_UNIQUE):], table), False
    if message.startswith(_NOT_NULL):
        return "not_null_violation", named_columns(message[len(_NOT_NULL):], table), False
    return "rejected", [], message.startswith(_CHECK)


def named_columns(text: str, table: Table) -> list[str]:
    """The columns in "user.username, user.email": known names of *table* only."""
    head = table.name + "."
    known = {fold(c.name): c.name for c in table.columns}
    if not text.startswith(head):
        return []
    parts = text[len(head):].split(", " + head)
    if all(fold(part) in known for part in parts):
        return [known[fold(part)] for part in parts]
    return _named_greedily(text[len(head):], head, list(known.values()))


def _named_greedily(text: str, head: str, names: list[str]) -> list[str]:
    """The same for names that hold ", table." themselves: the longest known name that
    ends where the text or the next name's head does."""
    found: list[str] = []
    while True:
        fits = [n for n in names if text.startswith(n)
                and (len(text) == len(n) or text.startswith(", " + head, len(n)))]
        if not fits:
            return []
        name = max(fits, key=len)
        found.append(name)
        if len(text) == len(name):
            return found
        text = text[len(name) + 2 + len(head):]
