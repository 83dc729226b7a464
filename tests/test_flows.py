"""Parsing of the state features (issue 14): named flows, restart steps, database_file, merges."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from grader.authoring.validate import validate_spec
from grader.errors import SpecError
from grader.grading.checks import _step_name
from grader.grading.scoring import requests_of
from grader.spec.exercise import DatabaseCheck, Exercise, HttpCheck, load_exercise

HEAD = "id: demo\ntitle: Demo\n"
SIGN_IN = """\
flows:
  sign_in:
    - request: {path: /login}
      extract: {csrf: {regex: 'value="([^"]+)"'}}
    - request: {method: POST, path: /login, form: {csrf_token: "${csrf}", user: alice}}
      expect: {status: 302}
"""


def load(tmp_path: Path, body: str) -> Exercise:
    spec = tmp_path / "exercise.yaml"
    if body.startswith("flows:\n  sign_in:"):  # SIGN_IN + an indented rest
        body = SIGN_IN + textwrap.dedent(body[len(SIGN_IN):])
    spec.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    return load_exercise(spec)


def problem(tmp_path: Path, body: str) -> SpecError:
    with pytest.raises(SpecError) as info:
        load(tmp_path, body)
    return info.value


def steps_of(ex: Exercise, index: int = 0) -> HttpCheck:
    body = ex.checks[index].body
    assert isinstance(body, HttpCheck)
    return body


# -- named flows -------------------------------------------------------------------------------


def test_use_inserts_the_flows_steps_with_their_lines_and_name(tmp_path: Path) -> None:
    ex = load(tmp_path, SIGN_IN + """\
        checks:
          - name: dashboard
            steps:
              - use: sign_in
              - request: {path: /dashboard}
                expect: {contains: Hello}
        """)
    steps = steps_of(ex).steps
    assert [s.label() for s in steps] == ["GET /login", "POST /login", "GET /dashboard"]
    assert [s.flow for s in steps] == ["sign_in", "sign_in", None]
    assert steps[0].extracts[0].name == "csrf"  # the flow's variables are the check's
    assert not any(s.setup for s in steps)


def test_use_options_make_the_flow_set_up_steps_in_a_session(tmp_path: Path) -> None:
    ex = load(tmp_path, SIGN_IN + """\
        checks:
          - name: dashboard
            steps:
              - {use: sign_in, setup: true, session: alice}
              - request: {path: /dashboard}
        """)
    steps = steps_of(ex).steps
    assert [(s.setup, s.session) for s in steps] == [(True, "alice"), (True, "alice"),
                                                    (False, "main")]


def test_the_report_names_the_flow_of_a_step(tmp_path: Path) -> None:
    ex = load(tmp_path, SIGN_IN + """\
        checks:
          - name: dashboard
            steps:
              - use: sign_in
              - restart: true
              - request: {path: /dashboard}
        """)
    body = steps_of(ex)
    assert _step_name(body, 2) == "step 2 (from sign_in: POST /login)"
    assert _step_name(body, 3) == "step 3 (restart)"
    assert requests_of(ex.checks[0])[1:3] == (
        "step 2: POST /login · form: csrf_token='${csrf}', user='alice' (from sign_in)",
        "step 3: restart the app")


def test_flows_may_use_flows(tmp_path: Path) -> None:
    ex = load(tmp_path, """\
        flows:
          inner:
            - request: {path: /a}
          outer:
            - use: inner
            - request: {path: /b}
        checks:
          - name: c
            steps:
              - use: outer
        """)
    assert [s.flow for s in steps_of(ex).steps] == ["outer > inner", "outer"]


@pytest.mark.parametrize(("body", "line", "says"), [
    # a typo gets a suggestion
    (SIGN_IN + "checks:\n  - name: c\n    steps:\n      - use: sign_ni\n", 12,
     "no flow is named 'sign_ni'; did you mean 'sign_in'?"),
    # no flows at all: where to define them
    ("checks:\n  - name: c\n    steps:\n      - use: x\n", 6,
     "the spec has no `flows:`"),
    # a flow that uses itself through another
    ("flows:\n  a: [{use: b}]\n  b: [{use: a}]\nchecks:\n  - name: c\n    steps: [{use: a}]\n",
     5, "flow 'a' uses itself (a > b > a)"),
    # an error inside a flow is reported at the flow's own line, even if no check uses it
    ("flows:\n  f:\n    - request: {path: nope}\nchecks:\n  - name: c\n    request: {path: /}\n",
     5, "must start with '/'"),
    # a variable used before a flow extracts it
    ("flows:\n  f: [{request: {path: '/${x}'}}]\nchecks:\n  - name: c\n    steps: [{use: f}]\n",
     4, "step 1 (from f) uses ${x}"),
    # a flow's name
    ("flows:\n  9f: [{request: {path: /}}]\nchecks:\n  - name: c\n    request: {path: /}\n",
     4, "a flow's name must be letters"),
    # an empty flow
    ("flows:\n  f: []\nchecks:\n  - name: c\n    request: {path: /}\n", 4,
     "a flow needs at least one step"),
    # every step set-up: the check would score nothing
    (SIGN_IN + "checks:\n  - name: c\n    steps:\n      - {use: sign_in, setup: true}\n", 12,
     "every step is a set-up step"),
])
def test_flow_problems_are_spec_errors(tmp_path: Path, body: str, line: int, says: str) -> None:
    error = problem(tmp_path, body)
    assert says in str(error)
    assert error.line == line, str(error)


# -- restart steps -----------------------------------------------------------------------------


def test_a_restart_step_is_a_step_that_scores_nothing(tmp_path: Path) -> None:
    ex = load(tmp_path, """\
        checks:
          - name: c
            steps:
              - request: {path: /add, json: {a: 1}}
              - restart: true
              - request: {path: /}
        """)
    steps = steps_of(ex).steps
    assert [s.restart for s in steps] == [False, True, False]
    assert steps[1].setup and steps[1].describe() == "restart the app"


@pytest.mark.parametrize(("step", "says"), [
    ("{restart: false}", "a restart step says `restart: true`"),
    ("{restart: true, expect: {status: 200}}", "unknown key; expected one of: restart"),
    ("{restart: yes please}", "must be true or false"),
])
def test_restart_step_problems(tmp_path: Path, step: str, says: str) -> None:
    error = problem(tmp_path, f"checks:\n  - name: c\n    steps:\n      - {{request: "
                              f"{{path: /}}}}\n      - {step}\n")
    assert says in str(error)


def test_a_check_of_only_restarts_scores_nothing_and_is_refused(tmp_path: Path) -> None:
    error = problem(tmp_path, "checks:\n  - name: c\n    steps: [{restart: true}]\n")
    assert "every step is a set-up step" in str(error)


# -- database_file -----------------------------------------------------------------------------


def test_database_file_at_the_top_and_in_a_check(tmp_path: Path) -> None:
    ex = load(tmp_path, """\
        database_file: instance/todo.db
        checks:
          - name: d
            database: {table: todos, insert: [{title: x}], expect: ok, database_file: other.db}
        """)
    assert ex.database_file == "instance/todo.db"
    assert isinstance(ex.checks[0].body, DatabaseCheck)
    assert ex.checks[0].body.file == "other.db"


@pytest.mark.parametrize("path", [
    "/etc/passwd",       # absolute
    "../todo.db",        # out of the folder
    "data/../../x.db",   # out of the folder, later
    "./todo.db",         # a '.' part
    "data//todo.db",     # an empty part
    "data/",             # a folder
    "C:/todo.db",        # a drive
    "data\\\\todo.db",   # a Windows separator
])
def test_hostile_database_files_are_refused(tmp_path: Path, path: str) -> None:
    error = problem(tmp_path, f"database_file: \"{path}\"\nchecks:\n  - name: c\n"
                              "    request: {path: /}\n")
    assert error.line == 3 and "database_file" in str(error)


# -- YAML merge keys ---------------------------------------------------------------------------


def test_merge_keys_merge_and_own_keys_win(tmp_path: Path) -> None:
    ex = load(tmp_path, """\
        checks:
          - name: a
            request: &post {path: /api/todos, json: {title: Milk}, method: POST}
          - name: b
            request: {<<: *post, method: PUT, headers: {Accept: application/json}}
        """)
    request = steps_of(ex, 1).steps[0].request
    assert (request.method, request.path, request.headers) == (
        "PUT", "/api/todos", (("Accept", "application/json"),))


def test_a_merge_of_a_non_mapping_is_a_spec_error(tmp_path: Path) -> None:
    error = problem(tmp_path, "checks:\n  - name: a\n    request: {<<: [1], path: /}\n")
    assert "merges a mapping" in str(error)


def test_validate_lists_a_broken_flow_and_the_checks_problems(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "exercise.yaml").write_text(HEAD + textwrap.dedent("""\
        flows:
          sign_in:
            - request: {path: nope}
        checks:
          - name: a
            steps:
              - use: sign_inn
              - request: {path: /}
          - name: b
            points: ten
            steps: [{use: sign_in}, {request: {path: /}}]
        """), encoding="utf-8")
    lines = [str(p).split(": ", 1)[1] for p in validate_spec(folder / "exercise.yaml").problems]
    assert lines == [
        "flows.sign_in[0].request.path: must start with '/', got 'nope'",
        "checks[0].steps[0].use: no flow is named 'sign_inn'; did you mean 'sign_in'? "
        "(flows: sign_in)",
        "checks[1].points: must be a number, got 'ten'",
    ]
