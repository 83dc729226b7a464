"""Running checks against a fake Target: a real unix-socket app, canned agent replies,
and SQLite files made here."""

from __future__ import annotations

import secrets
import shutil
import sqlite3
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask
import pytest

from grader.grading.checks import run_check
from grader.grading.db_fill import sqlite_type
from grader.grading.http_client import AppClient, unix_socket
from grader.grading.outcome import CheckOutcome
from grader.grading.scoring import score_check
from grader.sandbox.agent_client import AgentClient, AgentGone, AgentTimeout
from grader.spec.exercise import Check, load_exercise

from .helpers import serve_wsgi

# -- the fake submission -------------------------------------------------------------




def make_app(release: threading.Event) -> flask.Flask:
    app = flask.Flask("student")
    app.secret_key = "not-secret"

    @app.get("/")
    def index() -> str:
        return "hello"

    @app.route("/form", methods=["GET", "POST"])
    def form() -> Any:
        if flask.request.method == "GET":
            token = secrets.token_hex(8)
            flask.session["csrf"] = token  # the check only passes if cookies are kept
            return (f'<form method="post"><input type="hidden" name="csrf_token" '
                    f'value="{token}"><input name="name"></form>')
        if flask.request.form.get("csrf_token") != flask.session.get("csrf"):
            return "bad token", 400
        return f"Hello, {flask.request.form['name']}!"

    @app.post("/prg")
    def prg() -> Any:  # Post/Redirect/Get: the greeting is on the page redirected to
        flask.session["name"] = flask.request.form["name"]
        return flask.redirect("/greeting", 303)

    @app.get("/greeting")
    def greeting() -> str:
        return f"Hello, {flask.session.get('name', 'Stranger')}!"

    @app.get("/nap")
    def nap() -> str:
        time.sleep(0.4)
        return "rested"

    @app.get("/forms")
    def forms() -> str:
        return "<form" * 100_000  # 500 KB that makes ex04's regex backtrack for minutes

    @app.get("/api/user")
    def user() -> Any:
        return {"user": {"name": "ada", "tags": ["x", "y"]}}, 200, {"X-Token": "tok-1"}

    @app.route("/echo", methods=["GET", "POST"])
    def echo() -> Any:
        return {"args": flask.request.args.to_dict(),
                "json": flask.request.get_json(silent=True),
                "auth": flask.request.headers.get("Authorization")}

    @app.get("/slow")
    def slow() -> str:
        release.wait(10)
        return "late"

    return app


class FakeTarget:
    """A checks.Target: HTTP to a real app, canned agent replies on the wire, a SQLite copy."""

    def __init__(self, socket_path: str, workdir: Path, replies: dict[str, Any] | None = None,
                 database: Path | None = None) -> None:
        self.socket_path = socket_path
        self.workdir = workdir
        self.replies = replies or {}
        self.database = database
        self.calls: list[tuple[str, Any]] = []

    def new_client(self, timeout: float) -> AppClient:
        self.calls.append(("new_client", timeout))
        return AppClient(unix_socket(self.socket_path), timeout)

    @property
    def agent(self) -> AgentClient:
        return AgentClient(self)  # the real client, reading canned wire replies

    def call(self, op: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
        self.calls.append((op, args))
        reply = self.replies[op]
        if isinstance(reply, BaseException):
            raise reply
        return reply  # type: ignore[no-any-return]

    def close(self) -> None:
        pass

    def left_out(self, table: str) -> str | None:
        return None

    def exercise_folder(self) -> Path:
        return self.workdir / "exercise"

    def submission_files(self) -> tuple[Path, tuple[str, ...]]:
        folder = self.workdir / "submission"
        return folder, tuple(sorted(p.relative_to(folder).as_posix()
                                    for p in folder.rglob("*") if p.is_file()))

    @property
    def changes(self) -> int:
        return sum(1 for op, _ in self.calls if op in ("new_client", "restart"))

    def restart(self, timeout: float) -> None:
        self.calls.append(("restart", timeout))

    def database_copy(self, timeout: float, file: str | None = None) -> Path:
        assert self.database is not None
        copy = self.workdir / f"copy-{len(self.calls)}.sqlite"
        self.calls.append(("database_copy", file))
        shutil.copyfile(self.database, copy)
        return copy


@pytest.fixture
def app_socket(tmp_path: Path) -> Iterator[str]:
    release = threading.Event()
    try:
        with serve_wsgi(make_app(release), tmp_path / "app.sock") as path:
            yield path
    finally:
        release.set()


@pytest.fixture
def target(app_socket: str, tmp_path: Path) -> FakeTarget:
    return FakeTarget(app_socket, tmp_path)


def parse_check(tmp_path: Path, text: str) -> Check:
    """One check, written in the spec language and parsed by the real parser."""
    folder = tmp_path / "exercise"
    folder.mkdir(exist_ok=True)
    spec = folder / "exercise.yaml"
    body = textwrap.indent(textwrap.dedent(text), "  ")
    spec.write_text(f"id: ex\ntitle: T\nchecks:\n{body}", encoding="utf-8")
    (check,) = load_exercise(spec).checks
    return check


def run(check: Check, target: FakeTarget, budget: float = 10.0) -> CheckOutcome:
    return run_check(check, target, time.monotonic() + budget)


def labels(out: CheckOutcome) -> list[tuple[str, bool]]:
    return [(a.label, a.passed) for a in out.assertions]


# -- HTTP ------------------------------------------------------------------------------


def test_a_passing_request(tmp_path: Path, target: FakeTarget) -> None:
    check = parse_check(tmp_path, """\
        - name: home
          request: {path: /}
          expect: {status: 200, body: hello}
        """)
    out = run(check, target)
    assert (out.status, out.message) == ("passed", "ok")
    assert labels(out) == [("status", True), ("body", True)]
    assert out.duration > 0


def test_a_failing_request_says_what_differs(tmp_path: Path, target: FakeTarget) -> None:
    check = parse_check(tmp_path, """\
        - name: home
          request: {path: /}
          expect: {status: 200, body: bye, contains: [hell, nope]}
        """)
    out = run(check, target)
    assert out.status == "failed"
    assert labels(out) == [("status", True), ("body", False), ("body contains 'hell'", True),
                           ("body contains 'nope'", False)]
    assert out.message == ("body: expected 'bye', got 'hello' (they differ from character 1); "
                           "body contains 'nope': expected 'nope', got 'hello'")


CSRF_FLOW = """\
    - name: greets after a valid POST
      points: 4
      partial: true
      steps:
        - request: {path: /form}
          extract:
            csrf: {regex: 'name="csrf_token" value="([^"]+)"'}
        - request:
            path: /form
            form: {csrf_token: '${csrf}', name: Ada}
          expect: {status: 200, contains: 'Hello, Ada!'}
    """


def test_a_csrf_flow_extracts_the_token_and_keeps_cookies(tmp_path: Path,
                                                          target: FakeTarget) -> None:
    out = run(parse_check(tmp_path, CSRF_FLOW), target)
    assert out.status == "passed", out.message
    assert labels(out) == [
        ("step 1 (GET /form): status", True),
        ("step 1 (GET /form): find csrf (regex name=\"csrf_token\" value=\"([^\"]+)\")", True),
        ("step 2 (POST /form): status", True),
        ("step 2 (POST /form): body contains 'Hello, Ada!'", True),
    ]
    assert [c for c, _ in target.calls] == ["new_client"]  # one session for all steps


def test_a_forged_token_fails_the_same_flow(tmp_path: Path, target: FakeTarget) -> None:
    # the app does check the token, so the passing flow above proves the substitution
    forged = CSRF_FLOW.replace("'${csrf}'", "forged")
    out = run(parse_check(tmp_path, forged), target)
    assert out.status == "failed"
    assert ("step 2 (POST /form): status", False) in labels(out)


def test_skipped_steps_count_as_failed(tmp_path: Path, target: FakeTarget) -> None:
    check = parse_check(tmp_path, """\
        - name: flow
          points: 4
          partial: true
          steps:
            - request: {path: /}
              extract:
                csrf: {regex: 'csrf_token" value="([^"]+)"'}
            - request: {path: '/form', form: {csrf_token: '${csrf}', name: A}}
            - request: {path: /}
        """)
    out = run(check, target)
    assert out.status == "failed"
    assert out.message == "step 1 (GET /): could not find csrf in the response"
    assert [passed for _, passed in labels(out)] == [True, False, False, False]
    assert labels(out)[2:] == [("step 2 not run (an earlier step failed)", False),
                               ("step 3 not run (an earlier step failed)", False)]
    assert score_check(check, out).points == 1.0  # 1 of 4 assertions


SETUP_FLOW = """\
    - name: greets after a valid POST
      points: 3
      partial: true
      steps:
        - request: {path: /form}
          setup: true
          extract:
            csrf: {regex: 'name="csrf_token" value="([^"]+)"'}
        - request:
            path: /form
            form: {csrf_token: '${csrf}', name: Ada}
          expect: {status: 200, contains: 'GREETING'}
    """


@pytest.mark.parametrize(("greeting", "status", "points"), [
    ("Hello, Ada!", "passed", 3.0),
    # "Hi" instead of "Hello": fetching the form and its token earn nothing
    ("Hi, Ada!", "failed", 1.5),
])
def test_set_up_steps_score_nothing(tmp_path: Path, target: FakeTarget, greeting: str,
                                    status: str, points: float) -> None:
    check = parse_check(tmp_path, SETUP_FLOW.replace("GREETING", greeting))
    out = run(check, target)
    assert out.status == status
    assert [(a.label, a.scored) for a in out.assertions][:2] == [
        ("set-up step 1 (GET /form): status", False),
        ("set-up step 1 (GET /form): find csrf (regex name=\"csrf_token\" value=\"([^\"]+)\")",
         False)]
    # partial credit: only the status of step 2 of its two scored assertions, when "Hi"
    assert score_check(check, out).points == points


def test_a_failed_set_up_step_fails_the_check_saying_which(tmp_path: Path,
                                                          target: FakeTarget) -> None:
    check = parse_check(tmp_path, SETUP_FLOW.replace("/form}", "/}", 1).replace(
        "GREETING", "Hello, Ada!"))
    out = run(check, target)
    assert out.status == "failed" and not out.finished
    assert out.message.startswith("set-up step 1 (GET /) failed, so the check could not test "
                                  "what it is about: find csrf")
    assert score_check(check, out).points == 0  # no share, although partial


def test_sessions_keep_their_own_cookies(tmp_path: Path, target: FakeTarget) -> None:
    # the token is bound to the session that fetched it: in another session it is refused
    check = parse_check(tmp_path, """\
        - name: a token works only in its own session
          steps:
            - request: {path: /form}
              setup: true
              session: alice
              extract:
                token: {regex: 'name="csrf_token" value="([^"]+)"'}
            - request: {path: /form}
              setup: true
              session: mallory
            - request: {path: /form, form: {csrf_token: '${token}', name: M}}
              session: mallory
              expect: {status: 400}
            - request: {path: /form, form: {csrf_token: '${token}', name: Alice}}
              session: alice
              expect: {status: 200, contains: 'Hello, Alice!'}
        """)
    out = run(check, target)
    assert out.status == "passed", out.message
    assert [c for c, _ in target.calls] == ["new_client", "new_client"]
    assert out.assertions[-1].label == ("step 4 (POST /form, session alice): "
                                        "body contains 'Hello, Alice!'")


@pytest.mark.parametrize(("expect", "passed"), [
    # the result page: the redirect is followed (as a browser does, with a GET)
    ("{status: 200, contains: 'Hello, Ada!'}", True),
    # about the redirect itself: not followed
    ("{status: [302, 303]}", True),
    ("{headers: {Location: {prefix: /greet}}}", True),
    ("{headers: {Location: {regex: '^/greeting$'}}}", True),
    ("{status: 303, headers: {Location: /elsewhere}}", False),
])
def test_post_redirect_get(tmp_path: Path, target: FakeTarget, expect: str,
                           passed: bool) -> None:
    check = parse_check(tmp_path, f"""\
        - name: greets
          request: {{path: /prg, form: {{name: Ada}}}}
          expect: {expect}
        """)
    assert (run(check, target).status == "passed") is passed


def test_extracts_from_json_and_headers_feed_later_steps(tmp_path: Path,
                                                         target: FakeTarget) -> None:
    check = parse_check(tmp_path, """\
        - name: flow
          steps:
            - request: {path: /api/user}
              extract:
                who: {json: user.name}
                tag: {json: user.tags.1}
                tok: {header: X-Token}
            - request:
                path: /echo
                query: {who: '${who}'}
                json: {list: ['${tag}', 1, true]}
                headers: {Authorization: 'Bearer ${tok}'}
              expect:
                json: {args: {who: ada}, json: {list: [y, 1, true]}, auth: Bearer tok-1}
        """)
    out = run(check, target)
    assert out.status == "passed", out.message


def test_a_cookie_extract(tmp_path: Path, target: FakeTarget) -> None:
    check = parse_check(tmp_path, """\
        - name: flow
          steps:
            - request: {path: /form}
              extract:
                sid: {cookie: session}
            - request: {path: '/echo', query: {sid: '${sid}'}}
              expect: {regex: '"sid": ?"[^"]+\\.'}
        """)
    out = run(check, target)
    assert out.status == "passed", out.message


# -- models ----------------------------------------------------------------------------

USER_COLUMNS: list[dict[str, Any]] = [
    {"name": "id", "type": "integer", "length": None, "primary_key": True, "unique": False,
     "nullable": False},
    {"name": "username", "type": "string", "length": 80, "primary_key": False,
     "unique": True, "nullable": False},
]


def models_reply(models: Any) -> dict[str, Any]:
    return {"ok": True, "result": {"models": models}}


GOOD_MODELS = models_reply({"User": {"table": "user", "columns": USER_COLUMNS}})
MODEL_CHECK = """\
    - name: username column
      model:
        name: User
        table: user
        columns:
          username: {type: string, length: 80, unique: true, nullable: false}
    """


GOOD_DDL = ("CREATE TABLE user (id INTEGER NOT NULL, username VARCHAR(80) NOT NULL, "
            "PRIMARY KEY (id), UNIQUE (username))")


def model_target(tmp_path: Path, ddl: str = GOOD_DDL, **replies: Any) -> FakeTarget:
    """Canned agent replies, and a real SQLite database made from *ddl*."""
    path = tmp_path / "model.db"
    conn = sqlite3.connect(path)
    conn.executescript(ddl)
    conn.close()
    return FakeTarget(str(tmp_path / "no-app.sock"), tmp_path, replies, database=path)


def test_a_model_that_matches(tmp_path: Path) -> None:
    out = run(parse_check(tmp_path, MODEL_CHECK), model_target(tmp_path, models=GOOD_MODELS))
    assert out.status == "passed", out.message
    assert labels(out) == [("table name", True),
                           ("column username type", True), ("column username length", True),
                           ("column username unique", True),
                           ("column username nullable", True)]


@pytest.mark.parametrize(("ddl", "failing", "expected", "actual"), [
    # a longer string
    ("CREATE TABLE user (id INTEGER PRIMARY KEY, username VARCHAR(120) NOT NULL UNIQUE)",
     "column username length", "80", "120"),
    # no unique constraint
    ("CREATE TABLE user (id INTEGER PRIMARY KEY, username VARCHAR(80) NOT NULL)",
     "column username unique", "true", "false"),
    # nullable
    ("CREATE TABLE user (id INTEGER PRIMARY KEY, username VARCHAR(80) UNIQUE)",
     "column username nullable", "false", "true"),
    # a different type
    ("CREATE TABLE user (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE)",
     "column username type", "string", "text"),
    # unique only together with another column is not unique
    ("CREATE TABLE user (id INTEGER PRIMARY KEY, username VARCHAR(80) NOT NULL, "
     "org INTEGER, UNIQUE (username, org))", "column username unique", "true", "false"),
])
def test_a_model_column_that_differs(tmp_path: Path, ddl: str, failing: str,
                                     expected: str, actual: str) -> None:
    out = run(parse_check(tmp_path, MODEL_CHECK), model_target(tmp_path, ddl,
                                                               models=GOOD_MODELS))
    assert out.status == "failed"
    bad = [a for a in out.assertions if not a.passed]
    assert [(a.label, a.expected, a.actual) for a in bad][0] == (failing, expected, actual)


def test_the_agents_column_claims_are_not_trusted(tmp_path: Path) -> None:
    # the agent claims String(80)/unique/not null; the database says TEXT, nullable
    ddl = "CREATE TABLE user (id INTEGER PRIMARY KEY, username TEXT)"
    out = run(parse_check(tmp_path, MODEL_CHECK), model_target(tmp_path, ddl,
                                                               models=GOOD_MODELS))
    assert out.status == "failed"
    assert [a.label for a in out.assertions if not a.passed] == [
        "column username type", "column username length", "column username unique",
        "column username nullable"]


def test_a_table_missing_from_the_database(tmp_path: Path) -> None:
    out = run(parse_check(tmp_path, MODEL_CHECK),
              model_target(tmp_path, "CREATE TABLE other (id INTEGER)", models=GOOD_MODELS))
    assert out.status == "failed"
    assert "create_tables" in out.message


@pytest.mark.parametrize(("declared", "kind", "length"), [
    ("INTEGER", "integer", None),        # SQLAlchemy's Integer
    ("VARCHAR(80)", "string", 80),       # String(80)
    ("VARCHAR", "string", None),         # String() without a length
    ("varchar ( 12 )", "string", 12),    # spacing and case do not matter
    ("TEXT", "text", None),
    ("BOOLEAN", "boolean", None),
    ("DATETIME", "datetime", None),
    ("NUMERIC(10, 2)", "numeric", None),  # precision is not a length
    ("", "none", None),                  # SQLite allows no declared type
])
def test_sqlite_type(declared: str, kind: str, length: int | None) -> None:
    assert sqlite_type(declared) == (kind, length)


def test_a_missing_column_and_a_wrong_table(tmp_path: Path) -> None:
    replies = {"models": models_reply({"User": {"table": "users",
                                                "columns": USER_COLUMNS[:1]}})}
    ddl = "CREATE TABLE users (id INTEGER PRIMARY KEY)"
    out = run(parse_check(tmp_path, MODEL_CHECK), model_target(tmp_path, ddl, **replies))
    assert out.status == "failed"
    # the model's existence pays nothing; a missing column fails each fact asked of it
    assert labels(out) == [("table name", False), ("column username type", False),
                           ("column username length", False), ("column username unique", False),
                           ("column username nullable", False)]
    assert "expected 'user', got 'users'" in out.message


def test_a_missing_model(tmp_path: Path) -> None:
    replies = {"models": models_reply({"Post": {"table": "post", "columns": []}})}
    out = run(parse_check(tmp_path, MODEL_CHECK), model_target(tmp_path, **replies))
    assert (out.status, out.message) == ("failed",
                                         "no model class named User (models found: Post)")


REPR_CHECK = """\
    - name: repr
      model:
        name: User
        repr: {with: {username: alice}, equals: <User alice>}
    """


@pytest.mark.parametrize(("reply", "status", "actual"), [
    # the right text
    ({"ok": True, "result": {"repr": "<User alice>"}}, "passed", "<User alice>"),
    # the default repr
    ({"ok": True, "result": {"repr": "<User 1>"}}, "failed", "<User 1>"),
    # not a string at all
    ({"ok": True, "result": {"repr": ["<User alice>"]}}, "failed", "(not a string)"),
    ({"ok": True, "result": {"repr": None}}, "failed", "(not a string)"),
    # __repr__ raised inside the app
    ({"ok": False, "error": {"type": "ValueError", "message": "boom"}}, "failed",
     "ValueError: boom"),
    # an error without a usable description
    ({"ok": False, "error": "boom"}, "failed", "the app could not answer"),
])
def test_repr(tmp_path: Path, reply: dict[str, Any], status: str, actual: str) -> None:
    target = model_target(tmp_path, models=GOOD_MODELS, repr=reply)
    out = run(parse_check(tmp_path, REPR_CHECK), target)
    assert out.status == status
    assert (out.assertions[-1].expected, out.assertions[-1].actual) == ("<User alice>", actual)
    assert ("repr", {"model": "User", "fields": {"username": "alice"}}) in target.calls


def bad_column(**change: Any) -> dict[str, Any]:
    return models_reply({"User": {"table": "user", "columns": [USER_COLUMNS[1] | change]}})


@pytest.mark.parametrize("reply", [
    {"ok": True, "result": "models"},  # the result is not an object
    {"ok": True},  # no result at all
    models_reply(["User"]),  # models as a list
    models_reply({"User": "user"}),  # a model that is not an object
    models_reply({"User": {"table": 1, "columns": []}}),  # a table name that is a number
    models_reply({"User": {"table": "user", "columns": {}}}),  # columns as an object
    models_reply({"User": {"table": "user"}}),  # no columns
    bad_column(name=5),  # a column name that is a number
    bad_column(type=None),  # no type
    bad_column(length=True),  # a bool where an int belongs
    bad_column(length="80"),  # a string where an int belongs
    bad_column(length=80.0),  # a float where an int belongs
    bad_column(unique=1),  # an int where a bool belongs
    bad_column(nullable=None),  # a missing bool
])
def test_a_malformed_models_answer_fails_the_check(tmp_path: Path, reply: Any) -> None:
    out = run(parse_check(tmp_path, MODEL_CHECK), model_target(tmp_path, models=reply))
    assert out.status == "failed"
    assert "malformed" in out.message


def test_a_malformed_repr_answer_fails_the_check(tmp_path: Path) -> None:
    target = model_target(tmp_path, models=GOOD_MODELS, repr={"ok": True, "result": "x"})
    out = run(parse_check(tmp_path, REPR_CHECK), target)
    assert out.status == "failed" and "malformed" in out.message


def test_the_agent_refusing_models_fails_the_check(tmp_path: Path) -> None:
    reply = {"ok": False, "error": {"type": "RuntimeError", "message": "no SQLAlchemy"}}
    out = run(parse_check(tmp_path, MODEL_CHECK), model_target(tmp_path, models=reply))
    assert (out.status, out.message) == ("failed", "RuntimeError: no SQLAlchemy")


@pytest.mark.parametrize(("error", "status"), [
    (AgentTimeout("models"), "timeout"),  # the agent did not answer in time
    (AgentGone("closed"), "failed"),  # the process died
])
def test_the_agent_going_away(tmp_path: Path, error: Exception, status: str) -> None:
    out = run(parse_check(tmp_path, MODEL_CHECK), model_target(tmp_path, models=error))
    assert out.status == status


# -- database --------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE user (id INTEGER PRIMARY KEY, username VARCHAR(80) NOT NULL UNIQUE);
CREATE TABLE item (id INTEGER PRIMARY KEY, qty INTEGER CHECK (qty > 0));
"""


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    conn.close()
    return path


def db_check(tmp_path: Path, rows: str, expect: str, table: str = "table: user") -> Check:
    return parse_check(tmp_path, f"""\
        - name: db
          database:
            {table}
            insert: {rows}
            expect: {expect}
        """)


@pytest.mark.parametrize(("rows", "expect", "status", "actual"), [
    # a good row
    ("[{username: alice}]", "ok", "passed", "ok"),
    # a duplicate
    ("[{username: alice}, {username: alice}]", "unique_violation", "passed",
     "unique_violation: UNIQUE constraint failed: user.username"),
    # a missing value
    ("[{username: null}]", "not_null_violation", "passed",
     "not_null_violation: NOT NULL constraint failed: user.username"),
    # any refusal counts as rejected
    ("[{username: alice}, {username: alice}]", "rejected", "passed",
     "unique_violation: UNIQUE constraint failed: user.username"),
    # the database accepted what it should refuse
    ("[{username: alice}, {username: bob}]", "unique_violation", "failed", "ok"),
    # refused for the wrong reason
    ("[{username: null}]", "unique_violation", "failed",
     "not_null_violation: NOT NULL constraint failed: user.username"),
    # a column the table does not have
    ("[{email: a@b}]", "ok", "failed", "rejected: table user has no column named email"),
])
def test_database_outcomes(tmp_path: Path, db: Path, rows: str, expect: str, status: str,
                           actual: str) -> None:
    target = FakeTarget("unused", tmp_path, database=db)
    out = run(db_check(tmp_path, rows, expect), target)
    assert out.status == status, out.message
    last = out.assertions[-1]
    assert last.expected is not None and last.expected.split(" on ")[0] == expect
    assert (last.actual or "").startswith(actual)


def test_a_check_constraint_is_rejected(tmp_path: Path, db: Path) -> None:
    target = FakeTarget("unused", tmp_path, database=db)
    out = run(db_check(tmp_path, "[{qty: 0}]", "rejected", "table: item"), target)
    assert out.status == "passed"
    assert out.assertions[-1].actual == "rejected: CHECK constraint failed: qty > 0"


def test_a_rejected_setup_row_fails_the_check(tmp_path: Path, db: Path) -> None:
    target = FakeTarget("unused", tmp_path, database=db)
    out = run(db_check(tmp_path, "[{username: null}, {username: a}]", "ok"), target)
    assert out.status == "failed"
    assert out.message.startswith("row 1 {'username': None} was rejected: NOT NULL")


def test_a_missing_table_fails_the_check(tmp_path: Path, db: Path) -> None:
    target = FakeTarget("unused", tmp_path, database=db)
    out = run(db_check(tmp_path, "[{a: 1}]", "ok", "table: posts"), target)
    assert (out.status, out.message) == ("failed", "the database has no table 'posts'; "
                                                   "does the model define it?")


def test_the_table_comes_from_the_model(tmp_path: Path, db: Path) -> None:
    target = FakeTarget("unused", tmp_path, {"models": GOOD_MODELS}, database=db)
    out = run(db_check(tmp_path, "[{username: a}, {username: a}]", "unique_violation",
                       "model: User"), target)
    assert out.status == "passed", out.message
    assert [c for c, _ in target.calls] == ["models", "database_copy"]


def test_a_trigger_that_would_raise_is_dropped(tmp_path: Path, db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute('CREATE TRIGGER "no ""inserts""" BEFORE INSERT ON user '
                 "BEGIN SELECT RAISE(ABORT, 'trigger ran'); END")
    conn.close()
    target = FakeTarget("unused", tmp_path, database=db)
    out = run(db_check(tmp_path, "[{username: a}]", "ok"), target)
    assert out.status == "passed", out.message
    # the check worked on a copy: the app's own file keeps its trigger and has no rows
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE type='trigger'").fetchone() \
        == (1,)
    assert conn.execute("SELECT count(*) FROM user").fetchone() == (0,)
    conn.close()


def test_a_file_that_is_not_sqlite_fails_the_check(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    out = run(db_check(tmp_path, "[{a: 1}]", "ok"), FakeTarget("unused", tmp_path,
                                                               database=junk))
    assert (out.status, out.message) == (
        "failed", "the app's database file is not usable: file is not a database")


# -- instructor code ---------------------------------------------------------------------


def code_check(tmp_path: Path, source: str) -> Check:
    body = textwrap.indent(textwrap.dedent(source), "      ")
    return parse_check(tmp_path, f"- name: code\n  partial: true\n  pytest: |\n{body}")


def test_passing_code(tmp_path: Path, target: FakeTarget) -> None:
    out = run(code_check(tmp_path, """\
        def test_home(client):
            r = client.get("/")
            assert r.status == 200 and r.text == "hello"

        def test_again(client):
            assert client.get("/nope").status == 404
        """), target)
    assert out.status == "passed", out.message
    assert labels(out) == [("test_home", True), ("test_again", True)]


def test_a_failing_assertion_with_a_message(tmp_path: Path, target: FakeTarget) -> None:
    out = run(code_check(tmp_path, """\
        def test_home(client):
            r = client.get("/")
            assert r.text == "bye", f"got {r.text}"

        def test_ok():
            pass
        """), target)
    assert out.status == "failed"
    assert labels(out) == [("test_home", False), ("test_ok", True)]
    assert out.assertions[0].actual == "got hello"
    assert "got hello" in out.message and "test_home" in out.message


def test_a_code_failure_message_does_not_claim_an_empty_expectation(
        tmp_path: Path, target: FakeTarget) -> None:
    out = run(code_check(tmp_path, """\
        def test_home(client):
            assert False, "the greeting is missing"
        """), target)
    assert "expected ''" not in out.message


def test_a_bare_assert_names_its_line(tmp_path: Path, target: FakeTarget) -> None:
    out = run(code_check(tmp_path, """\
        def test_home(client):
            r = client.get("/")

            assert r.status == 201
        """), target)
    assert out.status == "failed"
    # pytest's own explanation of the assertion, and where
    assert out.assertions[0].actual == ("assert 200 == 201 +  where 200 = <Response 200, 5 "
                                        "bytes>.status (line 4 of the check)")


def test_an_exception_in_code_fails_that_test(tmp_path: Path, target: FakeTarget) -> None:
    out = run(code_check(tmp_path, """\
        def test_json(client):
            client.get("/").json()["missing"]
        """), target)
    assert out.status == "failed"
    assert out.assertions[0].actual is not None
    assert out.assertions[0].actual.startswith("NotJSON: ")


def test_an_unknown_fixture_is_an_error(tmp_path: Path, target: FakeTarget) -> None:
    out = run(code_check(tmp_path, """\
        def test_x(client, tmp_path):
            pass
        """), target)
    assert (out.status, out.problem) == ("error", "spec")
    assert out.message.startswith("spec error (the check's own code, not the submission): "
                                  "test_x: pytest refused the check's code: fixture "
                                  "'tmp_path' not found; available fixtures: app, client, "
                                  "data, database, pytestconfig, score, source")


def test_the_app_and_database_fixtures(tmp_path: Path, db: Path) -> None:
    target = FakeTarget("unused", tmp_path, {"models": GOOD_MODELS,
                                            "repr": {"ok": True, "result": {"repr": "<U a>"}}},
                        database=db)
    out = run(code_check(tmp_path, """\
        def test_models(app):
            assert app.models()["User"]["table"] == "user"
            assert app.repr("User", username="a") == "<U a>"

        def test_database(database):
            database.execute("INSERT INTO user (username) VALUES ('z')")
            assert database.execute("SELECT count(*) FROM user").fetchone() == (1,)
        """), target)
    assert out.status == "passed", out.message


def test_a_slow_app_inside_code_is_a_timeout(tmp_path: Path, target: FakeTarget) -> None:
    check = code_check(tmp_path, """\
        def test_slow(client):
            client.get("/slow")
        """)
    out = run_check(check, target, time.monotonic() + 0.3)
    assert out.status == "timeout"


# -- time ------------------------------------------------------------------------------


def test_a_spent_deadline_runs_nothing(tmp_path: Path, target: FakeTarget) -> None:
    check = parse_check(tmp_path, "- name: home\n  request: {path: /}\n")
    out = run_check(check, target, time.monotonic() - 1)
    assert (out.status, out.assertions, out.duration) == ("timeout", (), 0.0)
    assert "time limit was used up" in out.message
    assert target.calls == []


def test_the_check_timeout_bounds_a_slow_request(tmp_path: Path, target: FakeTarget) -> None:
    check = parse_check(tmp_path, "- name: slow\n  timeout: 0.3\n  request: {path: /slow}\n")
    start = time.monotonic()
    out = run(check, target)
    assert (out.status, out.message) == ("timeout", "no answer within 0.3 s (an endless loop?)")
    assert time.monotonic() - start < 5.0  # /slow answers after 10 s


def test_the_submission_deadline_bounds_a_slow_request(tmp_path: Path,
                                                       target: FakeTarget) -> None:
    check = parse_check(tmp_path, "- name: slow\n  timeout: 30\n  request: {path: /slow}\n")
    start = time.monotonic()
    out = run_check(check, target, time.monotonic() + 0.3)
    assert out.status == "timeout"
    assert time.monotonic() - start < 5.0  # /slow answers after 10 s


def test_an_app_that_is_gone_fails_the_check(tmp_path: Path) -> None:
    check = parse_check(tmp_path, "- name: home\n  request: {path: /}\n")
    out = run(check, FakeTarget(str(tmp_path / "gone.sock"), tmp_path))
    assert out.status == "failed"
    assert out.message.startswith("the app stopped answering (did it crash?)")


# -- the host's own work is bounded ----------------------------------------------------------
# A check's work on the app's data runs in the evaluator and stops at the check's deadline:
# the outcome is a timeout naming the work, for that submission, never a grader error.

BACKTRACKING = """'(?i)<form[^>]*method=["'']?post'"""
QUADRATIC_CHECK = "instr(hex(zeroblob(4000000)), hex(zeroblob(2000000)) || '1') = 0"


@pytest.mark.parametrize("check", [
    # the spec's regex expectation
    f"""\
    - name: r
      timeout: 1
      request: {{path: /forms}}
      expect: {{status: 200, regex: {BACKTRACKING}}}
    """,
    # a regex extract in a step
    f"""\
    - name: r
      timeout: 1
      steps:
        - request: {{path: /forms}}
          extract: {{token: {{regex: {BACKTRACKING}}}}}
        - request: {{path: "/?t=${{token}}"}}
    """,
])
def test_a_backtracking_regex_times_out_the_check(tmp_path: Path, target: FakeTarget,
                                                  check: str) -> None:
    started = time.monotonic()
    out = run(parse_check(tmp_path, check), target)
    assert time.monotonic() - started < 5
    assert out.status == "timeout"
    assert out.message == ("matching the spec's regular expression against the response "
                           "(500000 characters) took longer than the check's 1.0 s, so the "
                           "check stopped there")


def test_the_submissions_deadline_cuts_a_regex_too(tmp_path: Path, target: FakeTarget) -> None:
    check = parse_check(tmp_path, f"""\
        - name: r
          timeout: 30
          request: {{path: /forms}}
          expect: {{regex: {BACKTRACKING}}}
        """)
    started = time.monotonic()
    out = run(check, target, budget=1.0)  # 1 s left of the grading's limits.time
    assert time.monotonic() - started < 5
    assert out.status == "timeout"


def quadratic_db(tmp_path: Path) -> Path:
    path = tmp_path / "quadratic.db"
    conn = sqlite3.connect(path)
    conn.executescript(f"CREATE TABLE user (id INTEGER PRIMARY KEY, username VARCHAR(80) "
                       f"NOT NULL UNIQUE CHECK ({QUADRATIC_CHECK}));")
    conn.close()
    return path


def test_a_quadratic_check_constraint_times_out_the_check(tmp_path: Path) -> None:
    database = quadratic_db(tmp_path)
    target = FakeTarget("unused", tmp_path, database=database)
    check = parse_check(tmp_path, """\
        - name: db
          timeout: 1
          database: {table: user, insert: [{username: a}], expect: ok}
        """)
    started = time.monotonic()
    out = run(check, target)
    assert time.monotonic() - started < 5
    assert (out.status, out.message) == (
        "timeout", "working on the app's database (a CHECK constraint, default or index "
                   "expression that computes for long?) took longer than the check's 1.0 s, "
                   "so the check stopped there")
    # the columns are facts about the schema: reading them runs no CHECK
    columns = run(parse_check(tmp_path, """\
        - name: m
          model: {name: User, columns: {username: {type: string, length: 80}}}
        """), FakeTarget("unused", tmp_path, {"models": GOOD_MODELS}, database=database))
    assert columns.status == "passed", columns.message


def test_the_database_fixture_runs_in_the_evaluator(tmp_path: Path, db: Path) -> None:
    out = run(code_check(tmp_path, """\
        import sqlite3
        import pytest

        def test_rows(database):
            database.execute("INSERT INTO user (username) VALUES (?)", ("ada",))
            rows = database.execute("SELECT username FROM user WHERE id = :id", {"id": 1})
            assert rows.fetchone() == ("ada",) and rows.fetchone() is None
            assert [n for (n,) in database.execute("SELECT name FROM sqlite_master "
                                                   "WHERE type = 'table'")] == ["user", "item"]

        def test_errors_are_sqlites(database):
            with pytest.raises(sqlite3.IntegrityError):
                database.execute("INSERT INTO item (qty) VALUES (0)")
            with pytest.raises(sqlite3.OperationalError, match="no such table"):
                database.execute("SELECT * FROM nope")
        """), FakeTarget("unused", tmp_path, database=db))
    assert out.status == "passed", out.message


def test_a_query_through_the_fixture_times_out_the_check(tmp_path: Path) -> None:
    check = parse_check(tmp_path, """\
        - name: code
          timeout: 1
          pytest: |
            def test_insert(database):
                database.execute("INSERT INTO user (username) VALUES ('a')")
        """)
    started = time.monotonic()
    out = run(check, FakeTarget("unused", tmp_path, database=quadratic_db(tmp_path)))
    assert time.monotonic() - started < 5
    assert out.status == "timeout"
    assert out.message.startswith("a query on the app's database took longer than")


def test_the_steps_of_a_check_share_its_time(tmp_path: Path, target: FakeTarget) -> None:
    """Four answers of 0.4 s each do not fit in 1 s: each request waits only what is left."""
    steps = "".join("\n    - request: {path: /nap}" for _ in range(4))
    check = parse_check(tmp_path, f"- name: naps\n  timeout: 1\n  steps:{steps}\n")
    started = time.monotonic()
    out = run(check, target)
    assert out.status == "timeout"
    assert time.monotonic() - started < 3
