"""pytest checks run by pytest itself (code_check.py): collection, marks, points, partial
credit from code, who is to blame, and the fixtures that read the app's data bounded."""

from __future__ import annotations

import base64
import json
import textwrap
import time
import zlib
from pathlib import Path

import pytest

from grader.grading.checks import run_check
from grader.grading.code_check import blame
from grader.grading.evaluator import EvaluatorFailed, shared
from grader.grading.flask_session import MAX_COOKIE, MAX_DEPTH, MAX_PAYLOAD
from grader.grading.outcome import CheckOutcome
from grader.grading.scoring import earned, overall_status, score_check

from .test_checks import FakeTarget, app_socket, parse_check  # noqa: F401
from .test_checks import target as target  # noqa: F401 - the fixture, shared


def code(tmp_path: Path, source: str, partial: bool = True, points: int = 4) -> object:
    body = textwrap.indent(textwrap.dedent(source), "      ")
    return parse_check(tmp_path, f"- name: code\n  points: {points}\n  partial: "
                                 f"{'true' if partial else 'false'}\n  pytest: |\n{body}")


def run(check: object, target: FakeTarget) -> CheckOutcome:
    return run_check(check, target, time.monotonic() + 20)  # type: ignore[arg-type]


def test_parametrize_classes_marks_and_instructor_fixtures(tmp_path: Path,
                                                           target: FakeTarget) -> None:
    check = code(tmp_path, """\
        import pytest

        @pytest.fixture
        def home(client):
            return client.get("/")

        @pytest.mark.parametrize("path, status", [("/", 200), ("/nope", 404), ("/x", 200)])
        def test_status(client, path, status):
            assert client.get(path).status == status

        class TestHome:
            @pytest.mark.points(3)
            def test_text(self, home):
                assert home.text == "hello"

        @pytest.mark.skip(reason="not graded")
        def test_skipped():
            assert False
        """)
    out = run(check, target)
    assert [(a.label, a.passed, a.weight) for a in out.assertions] == [
        ("test_status[/-200]", True, 1.0), ("test_status[/nope-404]", True, 1.0),
        ("test_status[/x-200]", False, 1.0), ("TestHome::test_text", True, 3.0)]
    assert out.status == "failed" and out.problem is None
    assert earned(check, out) == 3.33  # type: ignore[arg-type]  # 4 × 5/6


def test_score_sets_partial_credit_from_code(tmp_path: Path, target: FakeTarget) -> None:
    check = code(tmp_path, """\
        def test_half(score):
            score.set(0.5)

        def test_quarter_then_fails(score):
            score.set(0.25)
            assert False, "the rest is missing"

        def test_full():
            pass
        """, points=3)
    out = run(check, target)
    assert [(a.passed, a.share) for a in out.assertions] == [(False, 0.5), (False, 0.25),
                                                             (True, 1.0)]
    assert earned(check, out) == 1.75  # type: ignore[arg-type]
    # without partial: all or nothing
    strict = code(tmp_path, "def test_half(score):\n    score.set(0.5)\n", partial=False)
    assert earned(strict, run(strict, target)) == 0.0  # type: ignore[arg-type]


@pytest.mark.parametrize("source, says", [
    # a name the instructor never defined
    ("def test_x(client):\n    client.get(undefined_path)\n", "NameError"),
    # a client method that does not exist
    ("def test_x(client):\n    client.fetch('/')\n", "'CheckClient' object has no attribute"),
    # a keyword the client does not take
    ("def test_x(client):\n    client.get('/', json={})\n", "unexpected keyword argument"),
    # a fixture nobody defines
    ("def test_x(tmp_path):\n    pass\n", "fixture 'tmp_path' not found"),
    # a mark that is not registered (a typo of parametrize)
    ("import pytest\n@pytest.mark.parametrise('x', [1])\ndef test_x(x):\n    pass\n",
     "cannot be collected"),
    # an error at import
    ("import no_such_module\ndef test_x():\n    pass\n", "cannot be collected"),
    # a bad weight
    ("import pytest\n@pytest.mark.points('two')\ndef test_x():\n    pass\n", "points"),
    # score out of range
    ("def test_x(score):\n    score.set(2)\n", "score.set() takes a fraction"),
    # nothing to run
    ("class TestNothing:\n    pass\n", "no test_ function was collected"),
])
def test_the_instructors_bugs_are_spec_errors(tmp_path: Path, target: FakeTarget,
                                              source: str, says: str) -> None:
    check = code(tmp_path, source)
    out = run(check, target)  # type: ignore[arg-type]
    assert (out.status, out.problem) == ("error", "spec"), out.message
    assert out.message.startswith("spec error (the check's own code, not the submission)")
    assert says in out.message
    result = score_check(check, out)  # type: ignore[arg-type]
    assert (result.status, result.points, result.problem) == ("error", 0.0, "spec")
    assert overall_status((result,), 4.0, None) == "error"  # never a quiet "failed"


@pytest.mark.parametrize("source, says", [
    # the app's answer is not JSON
    ("def test_x(client):\n    client.get('/').json()\n", "NotJSON"),
    # a key the app's JSON lacks
    ("def test_x(client):\n    client.get('/api/user').json()['nope']\n", "KeyError"),
    # a method the app's data does not have: the app sent a list, not an object
    ("def test_x(client):\n    client.get('/api/user').json()['user']['tags'].get('a')\n",
     "AttributeError"),
    # pytest.fail: the instructor's verdict on the app
    ("import pytest\ndef test_x(client):\n    pytest.fail('no greeting')\n", "no greeting"),
])
def test_reading_the_apps_answer_is_the_submissions_failure(tmp_path: Path,
                                                            target: FakeTarget, source: str,
                                                            says: str) -> None:
    out = run(code(tmp_path, source), target)
    assert (out.status, out.problem) == ("failed", None), out.message
    assert says in out.message


def test_blame_by_kind() -> None:
    assert blame(NameError("x")) and blame(ImportError("x"))
    assert blame(TypeError("f() got an unexpected keyword argument 'y'"))
    assert blame(TypeError("unsupported operand")) is None
    assert blame(KeyError("x")) is None and blame(AssertionError()) is None
    try:
        getattr([], "get")  # noqa: B009 - the app's JSON list, asked like a dict
    except AttributeError as e:
        assert blame(e) is None  # the app's data


def test_print_does_not_reach_stdout(tmp_path: Path, target: FakeTarget,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = run(code(tmp_path, "def test_x():\n    print('noise')\n"), target)
    assert out.status == "passed"
    assert "noise" not in capsys.readouterr().out


def test_a_slow_app_still_times_out_the_check(tmp_path: Path, target: FakeTarget) -> None:
    check = code(tmp_path, """\
        import pytest

        @pytest.mark.parametrize("n", range(3))
        def test_slow(client, n):
            client.get("/slow")
        """)
    started = time.monotonic()
    out = run_check(check, target, time.monotonic() + 0.5)  # type: ignore[arg-type]
    assert out.status == "timeout" and not out.finished
    assert time.monotonic() - started < 5


# -- the session cookie, read without the key ------------------------------------------


def cookie(payload: bytes, compress: bool = False) -> str:
    if compress:
        payload = zlib.compress(payload)
    text = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return ("." if compress else "") + text + ".ZzZzZw.c2lnbmF0dXJl"


def decode(value: str) -> object:
    return shared().call("flask_session", value, deadline=time.monotonic() + 10)


def test_a_real_flask_session_cookie(tmp_path: Path, target: FakeTarget) -> None:
    out = run(code(tmp_path, """\
        def test_session(client):
            assert client.session() is None
            client.get("/form")
            assert set(client.session()) == {"csrf"}
        """), target)
    assert out.status == "passed", out.message


def test_session_values_reach_the_nested_ones(tmp_path: Path, target: FakeTarget) -> None:
    value = cookie(json.dumps({"user": {"name": "alice", "tags": ["x", 3]},
                               "flag": None, "n": {" t": ["bob", True]}}).encode())
    out = run(code(tmp_path, f"""\
        def test_values(client):
            assert client.session_values() == []
            client.set_cookie("session", {value!r})
            assert sorted(client.session_values()) == ["3", "True", "alice", "bob", "x"]
        """), target)
    assert out.status == "passed", out.message


def test_flasks_tags_and_compression() -> None:
    data = {"user": {" t": [1, "a"]}, "b": {" b": base64.b64encode(b"\x00").decode()},
            "m": {" m": "<b>x</b>"}, "d": {" di": {" t__": 5}}}
    assert decode(cookie(json.dumps(data).encode(), compress=True)) == {
        "user": (1, "a"), "b": b"\x00", "m": "<b>x</b>", "d": {" t": 5}}


@pytest.mark.parametrize("value, says", [
    ("x" * (MAX_COOKIE + 1), "characters long"),  # too long to be a cookie
    ("!!!.a.b", "URL-safe base64"),  # not base64
    (cookie(b"[1, 2]"), "not an object"),  # JSON, but not a session
    (cookie(b"{'a': 1}"), "not JSON"),
    (cookie(b"\xff\xfe"), "not UTF-8"),
    (cookie(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)), "nests more than"),
    # a zlib bomb: 1.4 KiB of cookie that inflates to 1 MiB
    (cookie(b'{"a": "' + b"0" * (1 << 20) + b'"}', compress=True), "inflates past"),
    (cookie(b'{"a": "' + b"0" * (MAX_PAYLOAD) + b'"}'), "characters long"),
    ("." + base64.urlsafe_b64encode(b"not zlib").decode().rstrip("="), "does not inflate"),
])
def test_hostile_session_cookies_are_refused(value: str, says: str) -> None:
    with pytest.raises(EvaluatorFailed) as info:
        decode(value)
    assert info.value.kind == "Unreadable"
    assert says in info.value.message


def test_an_unreadable_session_fails_the_test(tmp_path: Path, target: FakeTarget) -> None:
    out = run(code(tmp_path, """\
        def test_session(client):
            client.set_cookie("session", "!!!")
            client.session()
        """), target)
    assert (out.status, out.problem) == ("failed", None)
    assert "the session cookie cannot be read" in out.message


# -- the source and the data files ------------------------------------------------------


def test_source_and_data(tmp_path: Path, target: FakeTarget) -> None:
    sub = tmp_path / "submission"
    (sub / "templates").mkdir(parents=True)
    (sub / "app.py").write_text("from flask import Flask, redirect, url_for\n"
                                "app = Flask(__name__)\n@app.route('/a')\ndef a():\n"
                                "    return redirect(url_for('b'))\n")
    (sub / "broken.py").write_text("def (:\n")
    (sub / "templates" / "page.html").write_text("<p>{{ name|safe }}</p>\n")
    data = tmp_path / "exercise" / "data"
    data.mkdir(parents=True)
    (data / "users.json").write_text('["ada"]')
    out = run(code(tmp_path, """\
        import json

        def test_static(source):
            assert [c.args for c in source.calls("url_for")] == [("b",)]
            assert "flask.url_for" in source.imports()
            (fn,) = source.python("app.py")["functions"]
            assert fn[0] == "a" and fn[2] == [("app.route", ["/a"])]
            assert [(m.file, m.number) for m in source.grep(r"\\|\\s*safe\\b", "templates/*")] \\
                == [("templates/page.html", 1)]
            assert "broken.py" in source.errors
            assert source.tree("app.py")["_type"] == "Module"

        def test_data(data):
            assert json.loads((data / "users.json").read_text()) == ["ada"]
        """), target)
    assert out.status == "passed", out.message


def test_a_backtracking_grep_times_out(tmp_path: Path, target: FakeTarget) -> None:
    sub = tmp_path / "submission"
    sub.mkdir()
    (sub / "app.py").write_text("a" * 5000 + "!")
    check = code(tmp_path, "def test_x(source):\n    source.grep(r'(a|aa)+$')\n")
    started = time.monotonic()
    out = run_check(check, target, time.monotonic() + 1)  # type: ignore[arg-type]
    assert out.status == "timeout" and time.monotonic() - started < 5


# -- in the real sandbox ----------------------------------------------------------------


@pytest.mark.docker
def test_ex10_reads_the_session_that_survives_logout(docker_client: object,
                                                     docker_sandboxes: object,
                                                     no_leftover_containers: None,
                                                     tmp_path: Path) -> None:
    from grader.authoring import patches
    from grader.grading.run import grade
    from grader.spec.exercise import load_exercise

    from .helpers import EXERCISES

    ex10 = EXERCISES / "ex10"
    mutant = patches.materialize(ex10 / "mutants" / "logout_keeps_the_user.diff",
                                 ex10 / "solution.py", tmp_path)
    result = grade(load_exercise(ex10 / "exercise.yaml"), mutant,
                   docker_sandboxes)  # type: ignore[arg-type]
    checks = {c.name: c for c in result.checks}
    logout = checks["logout forgets the user"]
    # the HTTP half passes: the dashboard closes; the cookie still names the user
    assert [(a.label, a.passed) for a in logout.assertions] == [
        ("test_the_dashboard_closes", True), ("test_the_session_keeps_nothing_of_the_user",
                                              False)]
    assert logout.points == 1.5 and "still holds the user" in logout.message
    assert result.status == "failed" and result.score == 13.5


@pytest.mark.docker
def test_a_spec_error_is_the_specs_in_a_real_grading(docker_client: object,
                                                     docker_sandboxes: object,
                                                     no_leftover_containers: None,
                                                     tmp_path: Path) -> None:
    import shutil

    from grader.grading.run import grade
    from grader.spec.exercise import load_exercise

    from .helpers import EXERCISES

    folder = shutil.copytree(EXERCISES / "ex10", tmp_path / "ex10")
    spec = folder / "exercise.yaml"
    text = spec.read_text(encoding="utf-8")
    typo = text.replace('"alice" not in client.session_values()',
                        '"alice" not in client.sesion_values()')
    assert typo != text
    spec.write_text(typo, encoding="utf-8")
    result = grade(load_exercise(spec), folder / "solution.py",
                   docker_sandboxes)  # type: ignore[arg-type]
    broken = {c.name: c for c in result.checks}["logout forgets the user"]
    assert (broken.status, broken.problem, broken.points) == ("error", "spec", 0.0)
    assert "'CheckClient' object has no attribute 'sesion_values'" in broken.message
    assert result.status == "error"  # not a quiet "failed" for the reference solution
    assert result.to_json()["checks"][5]["problem"] == "spec"


def test_the_clock_stops_a_loop_in_the_checks_own_code(tmp_path: Path,
                                                       target: FakeTarget) -> None:
    check = code(tmp_path, "def test_x():\n    while True:\n        pass\n")
    started = time.monotonic()
    out = run_check(check, target, time.monotonic() + 0.5)  # type: ignore[arg-type]
    assert time.monotonic() - started < 5
    assert (out.status, out.problem) == ("timeout", None)
    assert "ran past its" in out.message


def test_a_hidden_checks_spec_error_says_only_whose_fault_it_is(tmp_path: Path,
                                                                target: FakeTarget) -> None:
    from dataclasses import replace

    from grader.grading.scoring import SPEC_ERROR_HIDDEN
    from grader.reports.visibility import check_for_student

    check = replace(code(tmp_path, "def test_x():\n    secret_helper()\n"),  # type: ignore[type-var]
                    hidden=True)
    result = score_check(check, run(check, target))
    assert (result.status, result.problem, result.message) == ("error", "spec",
                                                                SPEC_ERROR_HIDDEN)
    assert "secret_helper" not in check_for_student(result).message
    assert check_for_student(result).message == SPEC_ERROR_HIDDEN
