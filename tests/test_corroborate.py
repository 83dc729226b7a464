"""The database copy the checks read keeps only facts the source corroborates."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from grader.grading.corroborate import UNVERIFIED, check_clauses, corroborated_copy
from grader.grading.declared import DeclaredSchema, read_schema
from grader.grading.evaluator import shared
from grader.grading.outcome import DatabaseUnusable

HONEST = ("class User(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n"
          "    username = db.Column(db.String(80), unique=True, nullable=False)\n")
TEXT_ONLY = ("class User(db.Model):\n    id = db.Column(db.Integer, primary_key=True)\n"
             "    username = db.Column(db.Text)\n")
CLAIMED = ("CREATE TABLE user (id INTEGER NOT NULL, username VARCHAR(80) NOT NULL, "
           "PRIMARY KEY (id), UNIQUE (username));"
           "CREATE TABLE secrets (x TEXT NOT NULL UNIQUE);"
           "INSERT INTO user (username) VALUES ('alice');")


def copy_of(tmp_path: Path, source: str, ddl: str = CLAIMED, *, migrations: bool = False
            ) -> tuple[sqlite3.Connection, dict[str, str]]:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "app.py").write_text(source, encoding="utf-8")
    schema = read_schema(tmp_path, ["app.py"])
    claimed = tmp_path / "claimed.sqlite"
    conn = sqlite3.connect(claimed)
    conn.executescript(ddl)
    conn.close()
    dest = tmp_path / "kept.sqlite"
    notes = corroborated_copy(claimed, dest, schema, migrations_only=migrations,
                              evaluator=shared(), deadline=time.monotonic() + 10)
    return sqlite3.connect(dest), notes


def columns(conn: sqlite3.Connection, table: str) -> dict[str, tuple[str, int, int]]:
    return {name: (kind, notnull, pk) for _, name, kind, notnull, _, pk
            in conn.execute(f"PRAGMA table_info({table})")}


def test_an_honest_database_keeps_its_facts_and_rows(tmp_path: Path) -> None:
    conn, notes = copy_of(tmp_path, HONEST)
    assert columns(conn, "user") == {"id": ("INTEGER", 1, 1),
                                     "username": ("VARCHAR(80)", 1, 0)}
    assert conn.execute("SELECT username FROM user").fetchall() == [("alice",)]
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute("INSERT INTO user (username) VALUES ('alice')")
    assert conn.execute("INSERT INTO user (username) VALUES ('bob')").lastrowid == 2  # rowid
    assert notes == {"secrets": "table 'secrets' is left out: no model class or migration "
                                "of the submission declares it"}


def test_constraints_only_the_file_claims_are_dropped(tmp_path: Path) -> None:
    conn, _ = copy_of(tmp_path, TEXT_ONLY)
    assert columns(conn, "user")["username"] == (UNVERIFIED, 0, 0)
    conn.execute("INSERT INTO user (username) VALUES ('alice')")  # no longer unique
    conn.execute("INSERT INTO user (username) VALUES (NULL)")  # no longer NOT NULL


def test_a_partial_unique_index_is_not_uniqueness(tmp_path: Path) -> None:
    ddl = ("CREATE TABLE user (id INTEGER PRIMARY KEY, username VARCHAR(80) NOT NULL);"
           "CREATE UNIQUE INDEX only_alice ON user (username) WHERE username = 'alice';")
    conn, _ = copy_of(tmp_path, HONEST, ddl)
    conn.execute("INSERT INTO user (username) VALUES ('bob')")
    conn.execute("INSERT INTO user (username) VALUES ('bob')")


def test_with_migrations_only_models_declare_nothing(tmp_path: Path) -> None:
    conn, notes = copy_of(tmp_path, HONEST, migrations=True)
    tables = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    assert tables == [] and len(notes) == 2


def test_a_forged_alembic_revision_is_dropped(tmp_path: Path) -> None:
    ddl = ("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL);"
           "INSERT INTO alembic_version VALUES ('made-up');")
    conn, _ = copy_of(tmp_path, HONEST, ddl)
    assert conn.execute("SELECT * FROM alembic_version").fetchall() == []


def test_a_file_that_is_not_a_database_fails_honestly(tmp_path: Path) -> None:
    claimed = tmp_path / "claimed.sqlite"
    claimed.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with pytest.raises(DatabaseUnusable, match="not usable"):
        corroborated_copy(claimed, tmp_path / "kept.sqlite", DeclaredSchema(),
                          migrations_only=False, evaluator=shared(),
                          deadline=time.monotonic() + 10)


@pytest.mark.parametrize(("sql", "clauses"), [
    ("CREATE TABLE t (a INT CHECK (a > 0), b TEXT, CONSTRAINT c CHECK(length(b) < 9))",
     ["a > 0", "length(b) < 9"]),
    # a CHECK inside quotes is not one; parentheses inside strings do not count
    ("CREATE TABLE t (\"check (x)\" INT, a TEXT CHECK (a != ')'))", ["a != ')'"]),
    ("CREATE TABLE t (a INT CHECK (a > (1)", []),  # unbalanced: none
    ("CREATE TABLE t (checked INT)", []),  # a word that starts with check
])
def test_check_clauses(sql: str, clauses: list[str]) -> None:
    assert check_clauses(sql) == clauses


def test_checks_are_kept_only_where_the_source_declares_them(tmp_path: Path) -> None:
    ddl = ("CREATE TABLE user (id INTEGER PRIMARY KEY, username VARCHAR(80) NOT NULL, "
           "CHECK (length(username) > 3));")
    conn, _ = copy_of(tmp_path, HONEST, ddl)
    conn.execute("INSERT INTO user (username) VALUES ('bo')")  # no CHECK declared: dropped
    declared = HONEST + "    __table_args__ = (db.CheckConstraint(RULE),)\n"
    conn, _ = copy_of(tmp_path / "again", declared, ddl)
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute("INSERT INTO user (username) VALUES ('bo')")
