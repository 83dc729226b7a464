"""Database checks on real tables: the grader fills the required columns a spec row
leaves out (db_fill.py), and reports what SQLite's refusal names and which unique
constraints are full ones (evaluator_ops.insert_rows).

Every database here is a real SQLite file in tmp_path; the op runs in this process,
and once in the real evaluator process, which loads db_fill.py from beside itself.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.grading import db_fill, evaluator_ops
from grader.grading.evaluator import Evaluator

USER = ("CREATE TABLE user (id INTEGER PRIMARY KEY, username VARCHAR(80) {username}, "
        "email VARCHAR(120) NOT NULL{email})")


def make_db(tmp_path: Path, ddl: str, name: str = "app.db") -> str:
    path = tmp_path / name
    conn = sqlite3.connect(path)
    try:
        conn.executescript(ddl)
    finally:
        conn.close()
    return str(path)


def insert(path: str, table: str, *rows: dict[str, Any]) -> dict[str, Any]:
    result = evaluator_ops.insert_rows(path, table, [list(row.items()) for row in rows])
    assert result is not None
    return result


def select(path: str, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def ok(filled: list[str]) -> dict[str, Any]:
    return {"outcome": "ok", "detail": "", "columns": [], "filled": filled,
            "check_constraint": False}


# -- the required columns a row leaves out ---------------------------------------------------


def test_an_extra_not_null_column_is_filled(tmp_path: Path) -> None:
    db = make_db(tmp_path, USER.format(username="NOT NULL UNIQUE", email=""))
    assert insert(db, "user", {"username": "alice"}) == {
        "rows": [ok(["email"])], "cannot_fill": None, "full_unique": [["id"], ["username"]]}
    assert select(db, "SELECT username, email FROM user") == [("alice", "v0")]


def test_a_duplicate_is_refused_for_the_column_under_test(tmp_path: Path) -> None:
    db = make_db(tmp_path, USER.format(username="NOT NULL UNIQUE", email=" UNIQUE"))
    result = insert(db, "user", {"username": "alice"}, {"username": "alice"})
    assert result["rows"] == [ok(["email"]), {
        "outcome": "unique_violation", "detail": "UNIQUE constraint failed: user.username",
        "columns": ["username"], "filled": ["email"], "check_constraint": False}]
    assert ["username"] in result["full_unique"] and ["email"] in result["full_unique"]


def test_a_missing_value_in_a_nullable_column_is_accepted(tmp_path: Path) -> None:
    # Without the fill, email's NOT NULL fired and "rejects a missing username" passed.
    db = make_db(tmp_path, USER.format(username="", email=""))
    assert insert(db, "user", {"username": None})["rows"] == [ok(["email"])]


def test_a_not_null_refusal_names_its_column(tmp_path: Path) -> None:
    db = make_db(tmp_path, USER.format(username="NOT NULL", email=""))
    (row,) = insert(db, "user", {"username": None})["rows"]
    assert (row["outcome"], row["columns"], row["filled"]) == (
        "not_null_violation", ["username"], ["email"])


def test_a_filled_unique_column_stays_distinct(tmp_path: Path) -> None:
    db = make_db(tmp_path, USER.format(username="NOT NULL", email=" UNIQUE"))
    result = insert(db, "user", {"username": "a"}, {"username": "b"}, {"username": "c"})
    assert result["rows"] == [ok(["email"])] * 3
    assert len({email for (email,) in select(db, "SELECT email FROM user")}) == 3


def test_filled_values_avoid_rows_the_database_holds(tmp_path: Path) -> None:
    db = make_db(tmp_path, USER.format(username="NOT NULL", email=" UNIQUE") + ";"
                 "INSERT INTO user (username, email) VALUES ('x', 'v0'), ('y', 'v2');")
    result = insert(db, "user", {"username": "a"}, {"username": "b"})
    assert result["rows"] == [ok(["email"])] * 2
    assert select(db, "SELECT email FROM user ORDER BY id") == [
        ("v0",), ("v2",), ("v1",), ("v3",)]


def test_a_short_string_keeps_its_length_and_stays_distinct(tmp_path: Path) -> None:
    db = make_db(tmp_path, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, "
                           "code VARCHAR(1) NOT NULL UNIQUE CHECK (length(code) <= 1))")
    rows = [{"name": str(n)} for n in range(36)]  # one per digit and letter
    assert insert(db, "t", *rows)["rows"] == [ok(["code"])] * 36
    codes = [code for (code,) in select(db, "SELECT code FROM t")]
    assert len(set(codes)) == 36 and all(len(code) == 1 for code in codes)


def test_given_columns_are_matched_without_case(tmp_path: Path) -> None:
    db = make_db(tmp_path, USER.format(username="NOT NULL", email=""))
    assert insert(db, "user", {"USERNAME": "a", "Email": "a@x"})["rows"] == [ok([])]


@pytest.mark.parametrize(("declared", "check"), [
    ("INTEGER", "typeof(c) = 'integer'"),
    ("BIGINT", "typeof(c) = 'integer'"),
    ("FLOAT", "typeof(c) = 'real'"),
    ("NUMERIC(10, 2)", "typeof(c) = 'integer'"),
    ("BOOLEAN", "c IN (0, 1)"),
    ("VARCHAR(3)", "length(c) <= 3"),
    ("TEXT", "typeof(c) = 'text'"),
    ("JSON", "c LIKE '{\"n\": %}'"),  # json_valid() is unsafe to the disarmed copy
    ("BLOB", "typeof(c) = 'blob'"),
    ("DATETIME", "datetime(c) = c"),
    ("DATE", "date(c) = c"),
    ("TIME", "time(c) = c"),
    ("", "typeof(c) = 'text'"),  # no type at all
    ('MY "WEIRD"" TYPE" (1, -2)', "typeof(c) = 'text'"),  # SQLite keeps any words
])
def test_each_declared_type_gets_a_value_of_its_kind(tmp_path: Path, declared: str,
                                                     check: str) -> None:
    db = make_db(tmp_path, f"CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT, "
                           f"c {declared} NOT NULL UNIQUE CHECK ({check}))")
    assert insert(db, "t", {"x": "a"}, {"x": "b"})["rows"] == [ok(["c"])] * 2


def test_made_up_dates_and_times_stay_valid_far_out() -> None:
    for kind, parse in (("datetime", datetime.fromisoformat), ("date", date.fromisoformat)):
        column = db_fill.Column("c", kind, None, True, None)
        values = {db_fill.made_up(column, k) for k in range(0, 100_000, 997)}
        assert len(values) == len(range(0, 100_000, 997))
        for value in values:
            assert isinstance(value, str)
            parse(value)
    column = db_fill.Column("c", "json", None, True, None)
    assert json.loads(str(db_fill.made_up(column, 7))) == {"n": 7}


def test_defaults_are_left_to_the_database(tmp_path: Path) -> None:
    db = make_db(tmp_path, "CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT, "
                           "made TEXT NOT NULL DEFAULT (datetime('now')), "
                           "n INTEGER NOT NULL DEFAULT 3, "
                           "none_ INTEGER NOT NULL DEFAULT NULL)")  # a default that is none
    assert insert(db, "t", {"x": "a"})["rows"] == [ok(["none_"])]
    assert select(db, "SELECT n, none_ FROM t") == [(3, 1000)]


def test_a_row_that_gives_nothing_takes_the_defaults(tmp_path: Path) -> None:
    db = make_db(tmp_path, "CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT DEFAULT 'd')")
    assert insert(db, "t", {})["rows"] == [ok([])]
    assert select(db, "SELECT x FROM t") == [("d",)]


def test_primary_keys_that_are_no_rowid_are_filled(tmp_path: Path) -> None:
    db = make_db(tmp_path, """
        CREATE TABLE code (code VARCHAR(8) PRIMARY KEY, label TEXT);
        CREATE TABLE pair (a INTEGER, b INTEGER, label TEXT, PRIMARY KEY (a, b));
        CREATE TABLE slim (id INTEGER PRIMARY KEY, label TEXT) WITHOUT ROWID;""")
    for table, filled, unique in (("code", ["code"], [["code"]]),
                                  ("pair", ["a", "b"], [["a", "b"]]),
                                  ("slim", ["id"], [["id"]])):
        result = insert(db, table, {"label": "x"}, {"label": "y"})
        assert result["rows"] == [ok(filled)] * 2, table
        assert result["full_unique"] == unique, table


# -- what a refusal names, and which unique constraints count -----------------------------------


def test_a_composite_unique_refusal_names_both_columns(tmp_path: Path) -> None:
    db = make_db(tmp_path, "CREATE TABLE vote (id INTEGER PRIMARY KEY, user_id INTEGER, "
                           "post_id INTEGER, UNIQUE (user_id, post_id))")
    result = insert(db, "vote", {"user_id": 1, "post_id": 2}, {"user_id": 1, "post_id": 2})
    assert result["rows"][-1]["columns"] == ["user_id", "post_id"]
    assert result["full_unique"] == [["id"], ["user_id", "post_id"]]


def test_a_partial_unique_index_is_no_unique_column(tmp_path: Path) -> None:
    db = make_db(tmp_path, USER.format(username="NOT NULL", email="") + ";"
                 "CREATE UNIQUE INDEX only_alice ON user (username) WHERE username = 'alice';")
    result = insert(db, "user", {"username": "alice"}, {"username": "alice"})
    assert result["rows"][-1]["outcome"] == "unique_violation"
    assert result["rows"][-1]["columns"] == ["username"]
    assert result["full_unique"] == [["id"]]


def test_an_expression_index_names_no_column(tmp_path: Path) -> None:
    db = make_db(tmp_path, USER.format(username="NOT NULL", email="") + ";"
                 "CREATE UNIQUE INDEX lower_name ON user (lower(username));")
    (_, row) = insert(db, "user", {"username": "Al"}, {"username": "al"})["rows"]
    assert (row["outcome"], row["detail"], row["columns"]) == (
        "unique_violation", "UNIQUE constraint failed: index 'lower_name'", [])


def test_a_check_that_refuses_a_made_up_value_is_reported(tmp_path: Path) -> None:
    db = make_db(tmp_path, USER.format(username="NOT NULL",
                                       email=" CHECK (length(email) > 20)"))
    assert insert(db, "user", {"username": "alice"})["rows"] == [{
        "outcome": "rejected", "detail": "CHECK constraint failed: length(email) > 20",
        "columns": [], "filled": ["email"], "check_constraint": True}]


def test_names_with_quotes_and_spaces(tmp_path: Path) -> None:
    db = make_db(tmp_path, 'CREATE TABLE "odd ""t""" (id INTEGER PRIMARY KEY, '
                           '"user name" TEXT NOT NULL UNIQUE, "e""mail, odd ""t"".x" '
                           'TEXT NOT NULL, "a, b" TEXT, UNIQUE ("e""mail, odd ""t"".x", "a, b"))')
    table, weird = 'odd "t"', 'e"mail, odd "t".x'
    result = insert(db, table, {"user name": "a", "a, b": "z"}, {"user name": "a"})
    assert [row["filled"] for row in result["rows"]] == [[weird]] * 2
    assert result["rows"][-1]["columns"] == ["user name"]
    assert result["full_unique"] == [["id"], [weird, "a, b"], ["user name"]]
    result = insert(db, table, {"user name": "b", weird: "v", "a, b": "z"},
                    {"user name": "c", weird: "v", "a, b": "z"})
    assert result["rows"][-1]["columns"] == [weird, "a, b"]


def test_a_name_holding_the_separator_is_read_greedily() -> None:
    table = db_fill.Table("t", tuple(db_fill.Column(n, "text", None, False, None)
                                     for n in ("a, t.b", "c", "C d")), ())
    assert db_fill.named_columns("t.a, t.b, t.c", table) == ["a, t.b", "c"]
    assert db_fill.named_columns("t.c, t.a, t.b", table) == ["c", "a, t.b"]
    assert db_fill.named_columns("t.c D", table) == ["C d"]  # SQLite's case, ASCII only
    assert db_fill.named_columns("t.nope", table) == []
    assert db_fill.named_columns("index 'ix'", table) == []


# -- columns no made-up value can fill ------------------------------------------------------


FK = """CREATE TABLE author (id INTEGER PRIMARY KEY);
        CREATE TABLE book (id INTEGER PRIMARY KEY, title TEXT NOT NULL UNIQUE,
                           author_id INTEGER NOT NULL REFERENCES author (id),
                           editor_id INTEGER REFERENCES author (id));"""


def test_a_required_foreign_key_cannot_be_filled(tmp_path: Path) -> None:
    db = make_db(tmp_path, FK)
    result = insert(db, "book", {"title": "a"})
    assert result == {"rows": [], "full_unique": [["id"], ["title"]], "cannot_fill":
                      "column author_id references author(id); the grader cannot make up "
                      "a row it points to"}
    assert select(db, "SELECT count(*) FROM book") == [(0,)]  # nothing was inserted


def test_a_foreign_key_the_rows_give_is_no_problem(tmp_path: Path) -> None:
    db = make_db(tmp_path, FK)
    result = insert(db, "book", {"title": "a", "author_id": 1}, {"title": "a", "author_id": 1})
    assert result["cannot_fill"] is None
    assert [row["outcome"] for row in result["rows"]] == ["ok", "unique_violation"]
    # one later row that leaves it out stops the whole check before any insert
    result = insert(db, "book", {"title": "b", "author_id": 1}, {"title": "c"})
    assert result["rows"] == [] and "author_id" in str(result["cannot_fill"])


# -- a hostile database ---------------------------------------------------------------------


def test_triggers_still_do_not_run(tmp_path: Path) -> None:
    db = make_db(tmp_path, USER.format(username="", email="") + ";"
                 "CREATE TRIGGER no BEFORE INSERT ON user BEGIN SELECT RAISE(ABORT, 'no'); END;")
    assert insert(db, "user", {"username": "a"})["rows"] == [ok(["email"])]


def test_two_thousand_required_columns(tmp_path: Path) -> None:
    columns = ", ".join(f'"c {i}" TEXT NOT NULL' for i in range(1998))
    db = make_db(tmp_path, f"CREATE TABLE wide (id INTEGER PRIMARY KEY, username TEXT, "
                           f"{columns})")
    (row,) = insert(db, "wide", {"username": "a"})["rows"]
    assert row["outcome"] == "ok" and len(row["filled"]) == 1998


def test_more_columns_than_sqlite_allows_is_an_sqlite_error(tmp_path: Path) -> None:
    db = make_db(tmp_path, "CREATE TABLE user (id INTEGER PRIMARY KEY, username TEXT)")
    wide = ", ".join(f"c{i} TEXT NOT NULL" for i in range(10_000))
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'user'",
                     (f"CREATE TABLE user (id INTEGER PRIMARY KEY, username TEXT, {wide})",))
    finally:
        conn.close()
    with pytest.raises(sqlite3.DatabaseError, match="too many columns"):
        insert(db, "user", {"username": "a"})


def test_a_long_declared_type_is_read_quickly(tmp_path: Path) -> None:
    # The length pattern backtracks quadratically on letters and spaces without a bound.
    declared = "A" + " " * 200_000 + "B"
    db = make_db(tmp_path, f"CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT, "
                           f"c {declared} NOT NULL)")
    started = time.monotonic()
    assert insert(db, "t", {"x": "a"})["rows"] == [ok(["c"])]
    assert time.monotonic() - started < 20  # minutes without the bound
    assert db_fill.fill_type("VARCHAR(" + "9" * 5000 + ")") == ("string", None)


NAMES = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"),
                min_size=1, max_size=12)
TYPES = st.sampled_from(["", "INTEGER", "INT", "VARCHAR(1)", "VARCHAR(0)", "CHAR(3)",
                         "TEXT", "BOOLEAN", "DATETIME", "DATE", "TIME", "JSON", "BLOB",
                         "NUMERIC(10, 2)", "FLOAT", "WEIRD words", '"quoted"" type"'])
COLUMN = st.tuples(NAMES, TYPES, st.booleans(), st.booleans(),
                   st.sampled_from([None, "NULL", "3", "'x'", "(1 + 1)"]))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@given(st.lists(COLUMN, min_size=1, max_size=8,
                unique_by=lambda c: db_fill.fold(c[0]).lower()),
       st.sampled_from(["", "PRIMARY KEY (1)", "UNIQUE (0, 1)", "WITHOUT ROWID"]),
       st.integers(0, 3))
@settings(max_examples=80, deadline=None)
def test_any_schema_gives_an_answer_or_an_sqlite_error(
        tmp_path_factory: pytest.TempPathFactory, columns: list[tuple[Any, ...]], extra: str,
        rows: int) -> None:
    """Whatever the columns, the op answers in its shape, or raises an sqlite3 error."""
    parts = [f"{_ident(name)} {declared} {'NOT NULL' if notnull else ''} "
             f"{'UNIQUE' if unique else ''} {'' if default is None else 'DEFAULT ' + default}"
             for name, declared, notnull, unique, default in columns]
    if extra.endswith(")"):
        picked = [columns[int(i)][0] for i in extra[extra.index("(") + 1:-1].split(", ")
                  if int(i) < len(columns)]
        extra = extra[:extra.index("(")] + f"({', '.join(map(_ident, picked))})"
        parts.append(extra)
    ddl = f"CREATE TABLE t ({', '.join(parts)}) {'WITHOUT ROWID' if 'ROW' in extra else ''}"
    try:
        db = make_db(tmp_path_factory.mktemp("schema"), ddl)
    except sqlite3.Error:
        return  # SQLite refused the schema itself (e.g. WITHOUT ROWID without a key)
    given_rows = [[(columns[0][0], f"r{i}")] for i in range(rows)]
    try:
        result = evaluator_ops.insert_rows(db, "t", given_rows)
    except sqlite3.Error:
        return
    assert result is not None and set(result) == {"rows", "cannot_fill", "full_unique"}
    assert len(result["rows"]) <= rows
    for row in result["rows"]:
        assert set(row) == {"outcome", "detail", "columns", "filled", "check_constraint"}
    if all(row["outcome"] == "ok" for row in result["rows"]):
        assert len(result["rows"]) == rows


@given(st.data())
@settings(max_examples=60, deadline=None)
def test_a_damaged_file_gives_an_answer_or_an_sqlite_error(
        tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    db = make_db(tmp_path_factory.mktemp("good"), FK + USER.format(
        username="NOT NULL", email=" UNIQUE") + "; CREATE UNIQUE INDEX u ON user (username)"
        " WHERE username > 'a'; INSERT INTO user (username, email) VALUES ('a', 'v0');")
    blob = bytearray(Path(db).read_bytes())
    for _ in range(data.draw(st.integers(1, 40))):
        blob[data.draw(st.integers(0, len(blob) - 1))] = data.draw(st.integers(0, 255))
    Path(db).write_bytes(bytes(blob))
    for table, row in (("user", [("username", "b")]), ("book", [("title", "t")])):
        try:
            evaluator_ops.insert_rows(db, table, [row, row])
        except sqlite3.Error:
            pass  # the host turns these into an honest failure


def test_no_such_table(tmp_path: Path) -> None:
    db = make_db(tmp_path, "CREATE TABLE t (x);")
    assert evaluator_ops.insert_rows(db, "user", [[("x", 1)]]) is None


def test_through_the_real_evaluator_process(tmp_path: Path) -> None:
    db = make_db(tmp_path, USER.format(username="NOT NULL UNIQUE", email=" UNIQUE"))
    evaluator = Evaluator()
    try:
        result = evaluator.call("insert_rows", db, "user",
                                [[("username", "alice")], [("username", "alice")]],
                                deadline=time.monotonic() + 30)
    finally:
        evaluator.close()
    assert result == {
        "rows": [ok(["email"]), {"outcome": "unique_violation",
                                 "detail": "UNIQUE constraint failed: user.username",
                                 "columns": ["username"], "filled": ["email"],
                                 "check_constraint": False}],
        "cannot_fill": None, "full_unique": [["id"], ["email"], ["username"]]}
