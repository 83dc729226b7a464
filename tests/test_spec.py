"""The spec language: shipped specs parse, bad specs say file:line: field: problem."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest

from grader.errors import SpecError, UsageError
from grader.spec.exercise import (
    CodeCheck,
    DatabaseCheck,
    Exercise,
    Expect,
    HeaderExpect,
    HttpCheck,
    Limits,
    ModelCheck,
    load_exercise,
    substitute,
)

from .helpers import ROOT

SHIPPED = sorted((ROOT / "exercises").glob("*/exercise.yaml"))
MARK = "# <--"  # marks the line an error must point at

HEAD = "id: demo\ntitle: Demo\n"
ONE_CHECK = "checks:\n  - name: home\n    request: {path: /}\n"


def write_spec(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "exercise.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str) -> Exercise:
    return load_exercise(write_spec(tmp_path / "demo", text))


def marked_line(text: str) -> int:
    lines = textwrap.dedent(text).splitlines()
    found = [i for i, line in enumerate(lines, start=1) if MARK in line]
    assert len(found) == 1, "each case marks exactly one line"
    return found[0]


# -- the shipped catalogue --------------------------------------------------------


def test_the_catalogue_is_not_empty() -> None:
    assert len(SHIPPED) >= 4


@pytest.mark.parametrize("spec", SHIPPED, ids=lambda p: p.parent.name)
def test_every_shipped_spec_parses(spec: Path) -> None:
    ex = load_exercise(spec)
    assert ex.id == spec.parent.name
    assert ex.max_score > 0
    assert ex.spec_sha256 == hashlib.sha256(spec.read_bytes()).hexdigest()
    assert len({c.id for c in ex.checks}) == len(ex.checks)
    for f in (ex.solution, ex.starter, ex.readme):
        assert f is None or f.exists()  # a solution may be a folder


# -- invalid specs ------------------------------------------------------------------

BAD = [
    # indentation that YAML cannot parse
    pytest.param(HEAD + "  oops: 1  # <--\n" + ONE_CHECK, "", "YAML does not parse",
                 id="yaml-syntax"),
    # a tab where YAML wants spaces
    pytest.param("id: demo\n\ttitle: x  # <--\n", "", "YAML does not parse", id="yaml-tab"),
    # a key nobody knows at the top
    pytest.param(HEAD + "colour: red  # <--\n" + ONE_CHECK, "colour", "unknown key",
                 id="unknown-top-key"),
    # a misspelt key inside a check
    pytest.param(HEAD + """\
checks:
  - name: home
    pionts: 2  # <--
    request: {path: /}
""", "checks[0].pionts", "unknown key", id="unknown-check-key"),
    # a check without a name
    pytest.param(HEAD + """\
checks:
  - points: 1  # <--
    request: {path: /}
""", "checks[0]", "missing required key 'name'", id="missing-name"),
    # a check that is both an HTTP and a model check
    pytest.param(HEAD + """\
checks:
  - name: home  # <--
    request: {path: /}
    model: {name: User, table: user}
""", "checks[0]", "mixes request and model", id="two-kinds"),
    # a check with no kind at all
    pytest.param(HEAD + """\
checks:
  - name: home  # <--
    points: 1
""", "checks[0]", "needs one of: request, steps", id="no-kind"),
    # points spelt out
    pytest.param(HEAD + """\
checks:
  - name: home
    points: ten  # <--
    request: {path: /}
""", "checks[0].points", "must be a number, got 'ten'", id="points-ten"),
    # points below zero
    pytest.param(HEAD + """\
checks:
  - name: home
    points: -1  # <--
    request: {path: /}
""", "checks[0].points", "must be at least 0", id="negative-points"),
    # two checks with one name: the error points at the second
    pytest.param(HEAD + """\
checks:
  - name: home
    request: {path: /}
  - name: home  # <--
    request: {path: /x}
""", "checks[1]", "repeats the one on line 4", id="duplicate-names"),
    # a regex that does not compile
    pytest.param(HEAD + """\
checks:
  - name: home
    request: {path: /}
    expect:
      regex: '(unclosed'  # <--
""", "checks[0].expect.regex", "not a valid regular expression", id="bad-regex"),
    # a bad regex in an extract
    pytest.param(HEAD + """\
checks:
  - name: flow
    steps:
      - request: {path: /}
        extract:
          tok: {regex: '[a-'}  # <--
""", "checks[0].steps[0].extract.tok.regex", "not a valid regular expression",
        id="bad-extract-regex"),
    # a relative path
    pytest.param(HEAD + """\
checks:
  - name: home
    request: {path: home}  # <--
""", "checks[0].request.path", "must start with '/'", id="path-without-slash"),
    # a variable no earlier step extracts
    pytest.param(HEAD + """\
checks:
  - name: flow
    steps:
      - request: {path: /}
        extract:
          csrf: {regex: 'v="(.*)"'}
      - request: {path: '/x/${token}'}  # <--
""", "checks[0].steps[1]", "step 2 uses ${token}, which no earlier step extracts",
        id="unknown-variable"),
    # a step cannot use what it extracts itself
    pytest.param(HEAD + """\
checks:
  - name: flow
    steps:
      - request: {path: '/${tok}'}  # <--
        extract:
          tok: {header: X-Token}
""", "checks[0].steps[0]", "step 1 uses ${tok}", id="variable-used-too-early"),
    # instructor code that is not Python
    pytest.param(HEAD + """\
checks:
  - name: code
    pytest: |  # <--
      def test_x(client):
          assert (
""", "checks[0].pytest", "Python does not parse", id="pytest-syntax-error"),
    # instructor code with nothing to run
    pytest.param(HEAD + """\
checks:
  - name: code
    pytest: |  # <--
      def check_x(client):
          assert True
""", "checks[0].pytest", "must define at least one function named test_",
        id="pytest-without-test"),
    # a database check that names both a model and a table
    pytest.param(HEAD + """\
checks:
  - name: db
    database:
      model: User  # <--
      table: user
      insert: [{username: a}]
      expect: ok
""", "checks[0].database", "exactly one of 'model'", id="database-model-and-table"),
    # an outcome that does not exist
    pytest.param(HEAD + """\
checks:
  - name: db
    database:
      table: user
      insert: [{username: a}]
      expect: maybe  # <--
""", "checks[0].database.expect", "must be one of ok, unique_violation", id="bad-expect-choice"),
    # an unknown HTTP method
    pytest.param(HEAD + """\
checks:
  - name: home
    request:
      method: FETCH  # <--
      path: /
""", "checks[0].request.method", "must be one of GET, POST", id="bad-method"),
    # a time limit of zero
    pytest.param(HEAD + "limits:\n  time: 0  # <--\n" + ONE_CHECK, "limits.time",
                 "must be at least 0.1", id="limit-too-small"),
    # more CPUs than the range allows
    pytest.param(HEAD + "limits:\n  cpus: 601  # <--\n" + ONE_CHECK, "limits.cpus",
                 "must be at most 600", id="limit-too-large"),
    # too little memory for Python to start
    pytest.param(HEAD + "limits:\n  memory_mb: 16  # <--\n" + ONE_CHECK, "limits.memory_mb",
                 "must be at least 32", id="memory-too-small"),
    # a solution file that is not there
    pytest.param(HEAD + "solution: nope.py  # <--\n" + ONE_CHECK, "solution",
                 "'nope.py', which does not exist", id="solution-missing"),
    # a solution outside the exercise folder
    pytest.param(HEAD + "solution: ../elsewhere.py  # <--\n" + ONE_CHECK, "solution",
                 "inside the exercise folder", id="solution-outside"),
    # nothing to score
    pytest.param(HEAD + """\
checks:
  - name: a  # <--
    points: 0
    request: {path: /}
""", "checks", "worth 0 points in total", id="total-points-zero"),
    # expectations beside a model check
    pytest.param(HEAD + """\
checks:
  - name: m
    model: {name: User, table: user}
    expect: {status: 200}  # <--
""", "checks[0].expect", "'expect' belongs with 'request'", id="expect-beside-model"),
    # a key given twice
    pytest.param(HEAD + "title: Again  # <--\n" + ONE_CHECK, "title", "is given twice",
                 id="duplicate-key"),
    # an id with capitals
    pytest.param("id: Demo One  # <--\ntitle: Demo\n" + ONE_CHECK, "id",
                 "must be lowercase letters", id="bad-id"),
    # a form and a JSON body at once (a block mapping's line is its first key's)
    pytest.param(HEAD + """\
checks:
  - name: home
    request:
      path: /  # <--
      form: {a: b}
      json: {a: b}
""", "checks[0].request", "give only one request body, not form and json", id="two-bodies"),
    # a YAML tag that would build a Python object
    pytest.param(HEAD + """\
checks:
  - name: home
    request:
      path: /
      json: !!python/object/apply:os.system ['true']  # <--
""", "checks[0].request.json", "cannot be read", id="python-tag"),
    # an empty list of checks
    pytest.param(HEAD + "checks: []  # <--\n", "checks", "needs at least one check",
                 id="no-checks"),
    # a status code that HTTP does not have
    pytest.param(HEAD + """\
checks:
  - name: home
    request: {path: /}
    expect: {status: 99}  # <--
""", "checks[0].expect.status", "must be at least 100", id="bad-status"),
    # a spec that is a list, not a mapping
    pytest.param("- id: demo  # <--\n", "(top level)", "must be a mapping", id="top-is-list"),
]


@pytest.mark.parametrize(("text", "field", "problem"), BAD)
def test_invalid_specs_name_file_line_and_field(tmp_path: Path, text: str, field: str,
                                                 problem: str) -> None:
    spec = write_spec(tmp_path / "demo", text)
    with pytest.raises(SpecError) as info:
        load_exercise(spec)
    err = info.value
    line = marked_line(text)
    assert (err.path, err.line, err.field) == (str(spec), line, field)
    assert problem in err.problem
    where = f"{spec}:{line}: "
    assert str(err) == (where + f"{field}: {err.problem}" if field else where + err.problem)


@pytest.mark.parametrize("text", [
    "",  # nothing at all
    "# only a comment\n",  # comments are not a document
])
def test_an_empty_spec_is_an_error_on_line_1(tmp_path: Path, text: str) -> None:
    spec = write_spec(tmp_path / "demo", text)
    with pytest.raises(SpecError) as info:
        load_exercise(spec)
    assert str(info.value).startswith(f"{spec}:1: the file is empty")


def test_spec_error_is_a_usage_error() -> None:
    # the CLI maps UsageError to exit 2
    assert issubclass(SpecError, UsageError)
    assert SpecError("x.yaml", None, "", "bad").exit_code == 2
    assert str(SpecError("x.yaml", None, "", "bad")) == "x.yaml: bad"


def test_a_spec_that_is_not_utf8(tmp_path: Path) -> None:
    spec = tmp_path / "exercise.yaml"
    spec.write_bytes(b"id: \xff\xfe\n")
    with pytest.raises(SpecError, match="is not UTF-8 text"):
        load_exercise(spec)


def test_a_missing_spec_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot be read"):
        load_exercise(tmp_path / "exercise.yaml")


def test_duplicate_error_names_the_first_checks_line(tmp_path: Path) -> None:
    text = HEAD + "checks:\n  - name: A b\n    request: {path: /}\n" \
                  "  - name: a-B\n    request: {path: /}\n"
    # names that slug alike are the same check id
    with pytest.raises(SpecError, match="repeats the one on line 4"):
        load_text(tmp_path, text)


def test_distinct_non_ascii_names_are_not_repeats(tmp_path: Path) -> None:
    text = HEAD + "checks:\n  - name: 日本語\n    request: {path: /}\n" \
                  "  - name: Привет\n    request: {path: /}\n"
    ex = load_text(tmp_path, text)
    assert len({c.id for c in ex.checks}) == 2


@pytest.mark.parametrize(("where", "text"), [
    # NaN points make every score NaN
    ("points", HEAD + "checks:\n  - name: a\n    points: .nan\n    request: {path: /}\n"),
    # a NaN time limit disables the deadline arithmetic
    ("limits", HEAD + "limits:\n  time: .nan\n" + ONE_CHECK),
], ids=["points", "limits"])
def test_nan_is_not_a_number_a_spec_may_use(tmp_path: Path, where: str, text: str) -> None:
    with pytest.raises(SpecError):
        load_text(tmp_path, text)


# -- defaults -----------------------------------------------------------------------


def test_defaults_of_a_minimal_spec(tmp_path: Path) -> None:
    ex = load_text(tmp_path, HEAD + ONE_CHECK)
    assert ex.limits == Limits()
    assert (ex.summary, ex.create_tables, ex.entry) == ("", False, ())
    assert (ex.solution, ex.starter, ex.readme) == (None, None, None)
    (check,) = ex.checks
    assert (check.id, check.name, check.kind, check.line) == ("home", "home", "http", 4)
    assert (check.points, check.hidden, check.partial, check.hint) == (1.0, False, False, None)
    assert check.timeout == Limits().check
    assert isinstance(check.body, HttpCheck)
    (step,) = check.body.steps
    assert step.request.method == "GET"
    assert step.request.form is None and not step.request.has_json
    assert step.expect == Expect(status=(200,))
    assert step.request.follow_redirects is None and step.follows()  # auto


@pytest.mark.parametrize(("request_yaml", "method"), [
    ("{path: /}", "GET"),  # no body: GET
    ("{path: /, form: {a: b}}", "POST"),  # a form implies POST
    ("{path: /, json: {a: 1}}", "POST"),  # so does JSON
    ("{path: /, data: raw}", "POST"),  # and raw data
    ("{path: /, method: PUT, form: {a: b}}", "PUT"),  # an explicit method wins
    ("{path: /, method: DELETE}", "DELETE"),  # without a body too
])
def test_request_method_defaults(tmp_path: Path, request_yaml: str, method: str) -> None:
    ex = load_text(tmp_path, HEAD + f"checks:\n  - name: a\n    request: {request_yaml}\n")
    body = ex.checks[0].body
    assert isinstance(body, HttpCheck)
    assert body.steps[0].request.method == method


def test_expect_without_status_checks_no_status(tmp_path: Path) -> None:
    ex = load_text(tmp_path, HEAD + "checks:\n  - name: a\n    request: {path: /}\n"
                                    "    expect: {contains: hi}\n")
    body = ex.checks[0].body
    assert isinstance(body, HttpCheck)
    assert body.steps[0].expect == Expect(contains=("hi",))
    assert Expect().status is None


def test_a_full_spec_parses_into_typed_values(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    folder.mkdir()
    (folder / "solution.py").write_text("app = None\n")
    ex = load_text(tmp_path, """\
        id: demo
        title: Demo
        summary: a summary
        solution: solution.py
        entry: [wsgi.py, app.py]
        setup: {create_tables: true}
        limits: {time: 30, check: 2, memory_mb: 128}
        checks:
          - name: Greets Alice!
            points: 2.5
            hidden: true
            partial: true
            hint: say hi
            timeout: 3
            request:
              path: /greet
              query: {name: Alice, n: 2}
              headers: {X-A: b}
              follow_redirects: true
            expect:
              status: 201
              body: ""
              contains: [a, b]
              not_contains: c
              regex: 'h.'
              json: {a: [1, true]}
              headers: {Content-Type: text/plain}
          - name: model
            model:
              name: User
              columns:
                username: {type: string, length: 80, unique: true, nullable: false}
              repr: {with: {username: al}, equals: <User al>}
          - name: db
            database:
              model: User
              insert: [{username: a}, {username: null}]
              expect: not_null_violation
          - name: code
            pytest: |
              def test_it(client):
                  assert client
        """)
    assert ex.solution == (folder / "solution.py").resolve()
    assert ex.entry == ("wsgi.py", "app.py") and ex.create_tables
    assert ex.limits == Limits(time=30.0, check=2.0, memory_mb=128)
    assert ex.max_score == 5.5
    http, model, db, code = ex.checks
    assert (http.id, http.points, http.hidden, http.partial, http.timeout) == (
        "greets-alice", 2.5, True, True, 3.0)
    assert [c.timeout for c in ex.checks[1:]] == [2.0, 2.0, 2.0]  # limits.check
    assert isinstance(http.body, HttpCheck)
    req, exp = http.body.steps[0].request, http.body.steps[0].expect
    assert req.query == (("name", "Alice"), ("n", "2")) and req.follow_redirects
    assert req.headers == (("X-A", "b"),)
    assert exp == Expect(status=(201,), body="", contains=("a", "b"), not_contains=("c",),
                         regex="h.", json={"a": [1, True]}, has_json=True,
                         headers=(HeaderExpect("Content-Type", "text/plain"),))
    assert isinstance(model.body, ModelCheck) and model.kind == "model"
    (col,) = model.body.columns
    assert (col.name, col.type, col.length, col.unique, col.nullable, col.primary_key) == (
        "username", "string", 80, True, False, None)
    assert model.body.repr is not None and model.body.repr.equals == "<User al>"
    assert isinstance(db.body, DatabaseCheck) and db.kind == "database"
    assert db.body.rows == ((("username", "a"),), (("username", None),))
    assert isinstance(code.body, CodeCheck) and code.kind == "pytest"
    assert "def test_it" in code.body.source


def test_steps_keep_their_extracts(tmp_path: Path) -> None:
    ex = load_text(tmp_path, HEAD + """\
checks:
  - name: flow
    steps:
      - request: {path: /}
        extract:
          csrf: {regex: 'v="([^"]+)"'}
          sid: {cookie: session}
      - request: {path: /next, form: {csrf_token: '${csrf}'}}
        expect: {status: 302}
""")
    body = ex.checks[0].body
    assert isinstance(body, HttpCheck)
    first, second = body.steps
    assert [(e.name, e.source) for e in first.extracts] == [("csrf", "regex"), ("sid", "cookie")]
    assert first.expect.status == (200,)  # a step without expect still wants 200
    assert second.request.method == "POST" and second.expect.status == (302,)
    assert first.follows() and not second.follows()  # a 3xx expectation is not followed


# -- substitute ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "variables", "out"), [
    ("/x/${a}", {"a": "1"}, "/x/1"),  # one variable
    ("${a}${b}-${a}", {"a": "A", "b": "B"}, "AB-A"),  # several, repeated
    ("/x/${missing}", {}, "/x/${missing}"),  # unknown names stay as written
    ("$a {a} $${a}", {"a": "v"}, "$a {a} $v"),  # only ${name} is a variable
    ("${a}", {"a": "${b}"}, "${b}"),  # values are not substituted again
    ("${1x}", {"1x": "no"}, "${1x}"),  # names cannot start with a digit
])
def test_substitute(text: str, variables: dict[str, str], out: str) -> None:
    assert substitute(text, variables) == out
