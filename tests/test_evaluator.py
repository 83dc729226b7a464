"""The evaluator: the host's work on untrusted data, in a child process with a real clock.

Time bounds here are generous (at least 3x what the work takes on a loaded 2-core
machine); what the tests assert is that a deadline fires at all, where the old
in-process work ran for minutes.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.grading import evaluator as evaluator_module
from grader.grading import evaluator_ops
from grader.grading.evaluator import Evaluator, EvaluatorFailed, EvaluatorTimeout

# A spec regex as ex04 writes it, and the body that makes it backtrack: each "<form"
# starts a [^>]* that runs to the end of the body before failing, so O(n^2).
BACKTRACKING = r'(?i)<form[^>]*method=["'']?post'
FORMS = "<form" * 100_000  # 500 KB; minutes for re.search
# One SQLite function call, quadratic in its arguments: no progress handler runs inside it.
QUADRATIC = "instr(hex(zeroblob({n})), hex(zeroblob({half})) || '1') = 0"


@pytest.fixture
def ev() -> Iterator[Evaluator]:
    evaluator = Evaluator()
    yield evaluator
    evaluator.close()


def soon(seconds: float = 10.0) -> float:
    return time.monotonic() + seconds


def make_db(path: Path, ddl: str) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(ddl)
    conn.close()
    return path


# -- results ------------------------------------------------------------------------------


@pytest.mark.parametrize(("op", "pattern", "text", "result"), [
    ("regex_found", r"H\w+", "say Hello", True),
    ("regex_found", r"^x", "say Hello", False),
    # group 1 when there is one, else the whole match
    ("regex_value", r'value="([^"]+)"', '<input value="tok123">', "tok123"),
    ("regex_value", r"\d+", "abc 42", "42"),
    ("regex_value", r"\d+", "abc", None),
    # an optional group that did not take part is no value
    ("regex_value", r"a(b)?", "a", None),
    # lone surrogates and NULs cross the pipe unchanged
    ("regex_value", "(\ud800\x00)", "x\ud800\x00y", "\ud800\x00"),
])
def test_regex_results(ev: Evaluator, op: str, pattern: str, text: str,
                       result: object) -> None:
    assert ev.call(op, pattern, text, deadline=soon()) == result


def test_sqlite_results(ev: Evaluator, tmp_path: Path) -> None:
    db = make_db(tmp_path / "a.db", "CREATE TABLE user (id INTEGER PRIMARY KEY, "
                                     "name VARCHAR(80) NOT NULL UNIQUE);")
    info, unique = ev.call("table_facts", str(db), "user", deadline=soon())
    assert [row[1:3] for row in info] == [("id", "INTEGER"), ("name", "VARCHAR(80)")]
    assert unique == ["name"]
    assert ev.call("table_facts", str(db), "nope", deadline=soon()) is None
    rows = [[("name", "a")], [("name", "a")], [("name", "b")]]
    tried = ev.call("insert_rows", str(db), "user", rows, deadline=soon())["rows"]
    assert [(r["outcome"], r["detail"], r["columns"]) for r in tried] == [
        ("ok", "", []), ("unique_violation", "UNIQUE constraint failed: user.name", ["name"])]
    assert ev.call("query", str(db), "SELECT name FROM user WHERE id = ?", (1,),
                   deadline=soon()) == [("a",)]
    with pytest.raises(EvaluatorFailed) as failed:
        ev.call("query", str(db), "SELECT * FROM nope", (), deadline=soon())
    assert (failed.value.kind, failed.value.message) == ("OperationalError",
                                                         "no such table: nope")


def test_triggers_are_dropped_before_any_work(ev: Evaluator, tmp_path: Path) -> None:
    db = make_db(tmp_path / "t.db", """
        CREATE TABLE user (id INTEGER PRIMARY KEY, name TEXT);
        CREATE TRIGGER forever BEFORE INSERT ON user BEGIN
          SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1
                                FROM c) SELECT x FROM c);
        END;""")
    assert [r["outcome"] for r in ev.call("insert_rows", str(db), "user", [[("name", "a")]],
                                          deadline=soon())["rows"]] == ["ok"]


def test_a_string_over_the_length_limit_is_a_refusal(ev: Evaluator, tmp_path: Path) -> None:
    # Without the limit this CHECK builds 2 GB in the grader's memory.
    db = make_db(tmp_path / "big.db", "CREATE TABLE user (id INTEGER PRIMARY KEY, name TEXT "
                                      "CHECK (length(hex(zeroblob(1000000000))) > 0));")
    (row,) = ev.call("insert_rows", str(db), "user", [[("name", "a")]], deadline=soon())["rows"]
    outcome = (row["outcome"], row["detail"])
    assert outcome == ("rejected", "string or blob too big")


def test_the_pipe_carries_plain_data_only() -> None:
    data = pickle.dumps(("ok", Path("/etc")))  # any class: here pathlib's
    with pytest.raises(pickle.UnpicklingError, match="only plain data"):
        evaluator_ops.plain_loads(data)


def test_the_child_has_a_memory_limit(ev: Evaluator, tmp_path: Path) -> None:
    db = make_db(tmp_path / "m.db", "CREATE TABLE t (x);")
    rows = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 2000) "
            "SELECT zeroblob(1000000) FROM c")  # 2 GB of rows
    with pytest.raises(EvaluatorFailed) as failed:
        ev.call("query", str(db), rows, (), deadline=soon(30))
    assert failed.value.kind == "MemoryError"
    assert ev.call("ping", deadline=soon()) > 0  # and it still answers


def test_the_child_runs_no_class_it_is_sent(ev: Evaluator) -> None:
    # Anything that could write on its pipe can still only call an op with plain data.
    with pytest.raises(EvaluatorFailed) as failed:
        ev.call("regex_found", Path("x"), "text", deadline=soon())
    assert failed.value.kind == "BadRequest" and "pathlib" in failed.value.message
    assert ev.call("regex_found", "x", "text", deadline=soon()) is True


def test_an_unknown_op_is_a_programming_error(ev: Evaluator) -> None:
    with pytest.raises(ValueError, match="unknown evaluator op 'eval'"):
        ev.call("eval", "1", deadline=soon())


# -- the clock ----------------------------------------------------------------------------


def test_a_backtracking_regex_is_cut_at_its_deadline(ev: Evaluator) -> None:
    first = ev.call("ping", deadline=soon())
    started = time.monotonic()
    with pytest.raises(EvaluatorTimeout):
        ev.call("regex_found", BACKTRACKING, FORMS, deadline=time.monotonic() + 0.5)
    assert time.monotonic() - started < 3.0
    assert ev.restarts == 1
    # a fresh child answers the next call, correctly
    assert ev.call("ping", deadline=soon()) != first
    assert ev.call("regex_found", BACKTRACKING, '<form method="post">',
                   deadline=soon()) is True


def test_a_quadratic_check_constraint_is_cut_at_its_deadline(ev: Evaluator,
                                                             tmp_path: Path) -> None:
    check = QUADRATIC.format(n=4_000_000, half=2_000_000)  # minutes of instr()
    db = make_db(tmp_path / "q.db", f"CREATE TABLE user (id INTEGER PRIMARY KEY, name TEXT "
                                    f"CHECK ({check}));")
    started = time.monotonic()
    with pytest.raises(EvaluatorTimeout):
        ev.call("insert_rows", str(db), "user", [[("name", "a")]],
                deadline=time.monotonic() + 0.5)
    assert time.monotonic() - started < 3.0
    assert ev.call("table_facts", str(db), "user", deadline=soon()) is not None


def test_why_a_progress_handler_is_no_clock() -> None:
    """One long built-in call runs between two opcodes: the handler is never asked."""
    conn = sqlite3.connect(":memory:")
    calls = 0

    def handler() -> int:
        nonlocal calls
        calls += 1
        return 0

    conn.set_progress_handler(handler, 1000)
    conn.execute(f"SELECT {QUADRATIC.format(n=100_000, half=50_000)}").fetchall()
    conn.close()
    assert calls == 0


def test_a_deadline_already_past_runs_nothing(ev: Evaluator) -> None:
    with pytest.raises(EvaluatorTimeout):
        ev.call("ping", deadline=time.monotonic() - 1)
    assert ev.restarts == 0


def test_a_dead_child_is_replaced(ev: Evaluator) -> None:
    pid = ev.call("ping", deadline=soon())
    os.kill(pid, 9)
    time.sleep(0.2)
    assert ev.call("ping", deadline=soon()) != pid


def test_the_child_dies_with_the_grader(tmp_path: Path) -> None:
    script = textwrap.dedent("""
        import os, sys, threading, time
        from grader.grading.evaluator import Evaluator
        ev = Evaluator()
        print(ev.call("ping", deadline=time.monotonic() + 10), flush=True)
        # busy in a long match when the grader is killed
        threading.Thread(target=ev.call, args=("regex_found", sys.argv[1], "<form" * 100000),
                         kwargs={"deadline": time.monotonic() + 600}, daemon=True).start()
        time.sleep(0.5)
        os._exit(0)
    """)
    out = subprocess.run([sys.executable, "-c", script, BACKTRACKING], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    child = Path(f"/proc/{out.split()[0]}/status")
    gone = time.monotonic() + 5
    while _alive(child) and time.monotonic() < gone:
        time.sleep(0.05)
    assert not _alive(child), "the evaluator outlived the grader"


def _alive(status: Path) -> bool:
    try:
        return "State:\tZ" not in status.read_text()  # a zombie is dead, waiting for init
    except FileNotFoundError:
        return False


def test_shared_is_one_per_process() -> None:
    assert evaluator_module.shared() is evaluator_module.shared()


# -- cost ---------------------------------------------------------------------------------


def test_a_call_costs_little(ev: Evaluator) -> None:
    ev.call("ping", deadline=soon())  # started
    body = "<p>Hello</p>" * 5000  # 60 KB, a large page
    started = time.perf_counter()
    for _ in range(50):
        ev.call("regex_found", r"<p>\w+</p>", body, deadline=soon())
    per_call = (time.perf_counter() - started) / 50
    assert per_call < 0.05, f"{per_call * 1000:.1f} ms per call"
