"""State and persistence in a real sandbox (issue 14): restart steps and the live database."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.grading.run import grade
from grader.grading.scoring import GradeResult
from grader.sandbox import SandboxFactory, open_sandbox
from grader.spec.exercise import load_exercise

pytestmark = pytest.mark.docker

COUNTER_APP = """\
import os
from flask import Flask

app = Flask(__name__)
HITS = [0]
if os.path.exists("{marker}"):
    {on_restart}


@app.get("/hit")
def hit():
    HITS[0] += 1
    return str(HITS[0])


@app.post("/note")
def note():
    with open("note.txt", "w") as fh:
        fh.write("kept")
    with open("{marker}", "w") as fh:
        fh.write("x")
    return "ok"


@app.get("/note")
def read_note():
    with open("note.txt") as fh:
        return fh.read()
"""

RESTART_SPEC = """\
id: state
title: State
limits: {time: 30, check: 4}
checks:
  - name: memory is lost and files are kept
    steps:
      - request: {path: /hit}
        expect: {body: "1"}
      - request: {path: /hit}
        expect: {body: "2"}
      - request: {method: POST, path: /note}
        setup: true
      - restart: true
      - request: {path: /hit}
        expect: {body: "1"}
      - request: {path: /note}
        expect: {body: kept}
  - name: the app answers after the restart
    request: {path: /note}
    expect: {body: kept}
"""


def grade_app(tmp_path: Path, spec: str, app: str, sandboxes: SandboxFactory) -> GradeResult:
    folder = tmp_path / "state"
    folder.mkdir(parents=True)
    (folder / "exercise.yaml").write_text(textwrap.dedent(spec), encoding="utf-8")
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "app.py").write_text(app, encoding="utf-8")
    return grade(load_exercise(folder / "exercise.yaml"), submission, sandboxes)


def counter(on_restart: str = "pass") -> str:
    return COUNTER_APP.format(marker="restarted.flag", on_restart=on_restart)


@pytest.fixture(scope="module")
def process_sandboxes() -> Iterator[SandboxFactory]:
    with open_sandbox("process") as made:
        yield made


@pytest.mark.usefixtures("no_leftover_containers")
def test_a_restart_keeps_the_files_and_loses_the_memory(
        tmp_path: Path, docker_sandboxes: SandboxFactory) -> None:
    result = grade_app(tmp_path, RESTART_SPEC, counter(), docker_sandboxes)
    assert [(c.status, c.message) for c in result.checks] == [("passed", "ok")] * 2
    assert result.problem is None


def test_a_restart_in_process_mode(tmp_path: Path, process_sandboxes: SandboxFactory) -> None:
    result = grade_app(tmp_path, RESTART_SPEC, counter(), process_sandboxes)
    assert [(c.status, c.message) for c in result.checks] == [("passed", "ok")] * 2


@pytest.mark.usefixtures("no_leftover_containers")
@pytest.mark.parametrize(("on_restart", "status", "says"), [
    # an exception while loading again is the student's, with its message
    ('raise RuntimeError("boom at restart")', "failed",
     "step 4 (restart): the app did not start again: RuntimeError: boom at restart"),
    # the new process exits
    ("os._exit(3)", "failed", "step 4 (restart): the app's process ended while starting again"),
    # the new process never finishes loading: bounded by the check's clock
    ("while True: pass", "timeout",
     "step 4 (restart): the app did not start again within the check's 4.0 s"),
])
def test_an_app_that_does_not_come_back_fails_the_check(
        tmp_path: Path, docker_sandboxes: SandboxFactory, on_restart: str, status: str,
        says: str) -> None:
    result = grade_app(tmp_path, RESTART_SPEC, counter(on_restart), docker_sandboxes)
    first, second = result.checks
    assert (first.status, first.points) == (status, 0.0)
    assert first.message.startswith(says), first.message
    assert second.status in ("failed", "timeout")  # no app to answer any more
    assert result.timings.total < 30 + 5


LIBRARY_APP = """\
from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///library.db"
db = SQLAlchemy(app)


class Book(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(80), unique=True, nullable=False)


@app.post("/books")
def add():
    book = Book(title=request.get_json()["title"])
    db.session.add(book)
    db.session.commit()
    return jsonify(id=book.id), 201
"""

LIVE_SPEC = """\
id: state
title: State
setup: {create_tables: true}
checks:
  - name: the model comes first
    model: {name: Book, columns: {title: {type: string, unique: true}}}
  - name: a row made in this check is read
    pytest: |
      def test_live(client, database):
          assert database.execute("SELECT count(*) FROM book").fetchone() == (0,)
          assert client.post("/books", json_body={"title": "Dune"}).status == 201
          rows = database.execute("SELECT title FROM book").fetchall()
          assert rows == [("Dune",)], rows
  - name: a later check sees it, and the database refuses a repeat
    database:
      model: Book
      insert: [{title: Dune}]    # the app's own row makes this one a repeat
      expect: rejected
"""


@pytest.mark.usefixtures("no_leftover_containers")
def test_the_database_is_read_live_after_a_model_check(
        tmp_path: Path, docker_sandboxes: SandboxFactory) -> None:
    result = grade_app(tmp_path, LIVE_SPEC, LIBRARY_APP, docker_sandboxes)
    assert [(c.name, c.status, c.message) for c in result.checks] == [
        (c.name, "passed", "ok") for c in result.checks]


PLAIN_APP = """\
import os
import sqlite3
from flask import Flask

app = Flask(__name__)
with sqlite3.connect("real.db") as conn:
    conn.execute("CREATE TABLE IF NOT EXISTS todos (title TEXT NOT NULL)")
if {link}:
    os.symlink(os.path.abspath("real.db"), "todo.db")


@app.post("/add")
def add():
    with sqlite3.connect("real.db") as conn:
        conn.execute("INSERT INTO todos VALUES ('milk')")
    return "ok", 201
"""

PLAIN_SPEC = """\
id: state
title: State
database_file: todo.db
checks:
  - name: reads the file
    pytest: |
      def test_rows(client, database):
          client.post("/add")
          assert database.execute("SELECT title FROM todos").fetchall() == [("milk",)]
  - name: the file refuses a null title
    database: {table: todos, insert: [{title: null}], expect: not_null_violation,
               database_file: real.db}
"""


@pytest.mark.usefixtures("no_leftover_containers")
def test_database_file_reads_a_plain_sqlite3_app_and_refuses_symlinks(
        tmp_path: Path, docker_sandboxes: SandboxFactory) -> None:
    plain = grade_app(tmp_path / "a", PLAIN_SPEC.replace("todo.db", "real.db"),
                      PLAIN_APP.format(link=False), docker_sandboxes)
    assert [(c.status, c.message) for c in plain.checks] == [("passed", "ok")] * 2
    linked = grade_app(tmp_path / "b", PLAIN_SPEC, PLAIN_APP.format(link=True),
                       docker_sandboxes)
    first, second = linked.checks
    assert first.status == "failed"
    assert first.message.startswith("the database file 'todo.db' could not be read: Symlink: "
                                    "database_file 'todo.db': 'todo.db' is a symbolic link"), \
        first.message
    assert second.status == "passed"  # the check's own database_file wins
    missing = grade_app(tmp_path / "c", PLAIN_SPEC, PLAIN_APP.format(link=False),
                        docker_sandboxes)
    assert "the app's folder has no database file 'todo.db'" in missing.checks[0].message
