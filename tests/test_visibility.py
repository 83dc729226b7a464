"""What a student sees of a hidden check: the same in every output, and never its expectation."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from grader.grading.compare import Assertion
from grader.grading.run import grade
from grader.grading.scoring import HIDDEN_MESSAGE, CheckResult, GradeResult, Timings
from grader.reports import html as report
from grader.reports.visibility import check_for_student, for_student, gradescope_visibility
from grader.sandbox import SandboxFactory
from grader.spec.exercise import load_exercise

from .helpers import student_outputs

HIDDEN = "greets any name"
HINT = "Think of names other than Alice and Bob"
# What the hidden check expected, what the app answered, and the message that
# says both: as if scoring had let them through, so the rule alone must stop them.
# No character here is one that Markdown, HTML or JSON would escape, so a leak
# could not hide behind an escape.
EXPECTED = "secretexpected7f3a"
ACTUAL = "secretactual91c2"
MESSAGE = f"body: expected {EXPECTED!r}, got {ACTUAL!r}"
VISIBLE_EXPECTED = "Hello, Alice"
# What the app printed before the first hidden check, and while the hidden ones ran.
PRINTED_BEFORE = "GET /greet/Alice visible7e1d"
PRINTED_WHILE_HIDDEN = "GET /greet/Bob secretprinted4b8e"
# The requests each check made (from the spec): the visible one's is shown.
VISIBLE_REQUEST = "POST /greet/visiblereq5c2a"
HIDDEN_REQUEST = "POST /greet/secretrequest0d9e"


def make_result() -> GradeResult:
    visible = CheckResult(
        id="alice", name="greets Alice", kind="http", status="failed", points=0, max_points=2,
        message=f"body: expected {VISIBLE_EXPECTED!r}, got 'Hi'", hint="Mind the comma",
        assertions=(Assertion("body", False, VISIBLE_EXPECTED, "Hi"),),
        requests=(VISIBLE_REQUEST,))
    hidden = CheckResult(
        id="any", name=HIDDEN, kind="http", status="failed", points=0, max_points=2,
        message=MESSAGE, hidden=True, hint=HINT, requests=(HIDDEN_REQUEST,),
        assertions=(Assertion("status", True, "200", "200"),
                    Assertion("body", False, EXPECTED, ACTUAL)))
    passed = CheckResult(id="404", name="404 without a name", kind="http", status="passed",
                         points=1, max_points=1, message="ok")
    return GradeResult(
        exercise="ex02", title="Greet route", status="failed", score=1, max_score=5,
        checks=(visible, hidden, passed), submission="/repo/greet", spec_sha256="ab" * 32,
        image="img:1", timings=Timings(1.0, 0.5, 0.5), graded_at="2026-01-01T00:00:00+00:00",
        output=PRINTED_BEFORE, hidden_output=PRINTED_WHILE_HIDDEN)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The one result, rendered by every output a student reads."""
    return student_outputs(make_result(), tmp_path_factory.mktemp("outputs"))


OUTPUTS = ("terminal summary", "ci summary", "junit", "github job summary", "html report",
           "report json", "batch html report", "gradescope results.json")


@pytest.mark.parametrize("name", OUTPUTS)
def test_every_output_shows_the_hidden_checks_name_sentence_and_hint(
        outputs: dict[str, str], name: str) -> None:
    text = outputs[name]
    assert HIDDEN in text and HINT in text
    assert HIDDEN_MESSAGE in text  # the fixed sentence in place of the message


@pytest.mark.parametrize("name", OUTPUTS)
def test_no_output_shows_the_hidden_checks_expectation_or_response(
        outputs: dict[str, str], name: str) -> None:
    text = outputs[name]
    assert EXPECTED not in text and ACTUAL not in text
    assert VISIBLE_EXPECTED in text  # while the visible check says what it expected


@pytest.mark.parametrize("name", OUTPUTS)
def test_no_output_shows_the_request_a_hidden_check_made(outputs: dict[str, str],
                                                         name: str) -> None:
    assert HIDDEN_REQUEST not in outputs[name]
    assert check_for_student(make_result().checks[1]).requests == ()


@pytest.mark.parametrize("name", ["terminal summary", "ci summary", "html report",
                                  "report json", "batch html report"])
def test_reports_show_the_request_a_failed_visible_check_made(outputs: dict[str, str],
                                                              name: str) -> None:
    assert VISIBLE_REQUEST in outputs[name]


@pytest.mark.parametrize("name", OUTPUTS)
def test_no_output_shows_what_the_app_printed_while_hidden_checks_ran(
        outputs: dict[str, str], name: str) -> None:
    assert PRINTED_WHILE_HIDDEN not in outputs[name]
    if "html" in name:  # the page shows the app's output: the part before the cut
        assert PRINTED_BEFORE in outputs[name]
        assert "What it printed while the hidden checks ran is not shown" in outputs[name]


def test_outputs_agree_on_the_hidden_check(outputs: dict[str, str]) -> None:
    shown = for_student(make_result()).checks[1]
    from_json = json.loads(outputs["report json"])["checks"][1]
    assert from_json == {"name": HIDDEN, "status": "failed", "points": 0, "max_points": 2,
                         "message": HIDDEN_MESSAGE, "hidden": True, "hint": HINT,
                         "requests": []}
    assert (shown.status, shown.points, shown.message, shown.hint) == (
        from_json["status"], from_json["points"], from_json["message"], from_json["hint"])
    test = json.loads(outputs["gradescope results.json"])["tests"][1]
    assert (test["name"], test["score"], test["max_score"], test["status"]) == (
        HIDDEN, 0, 2, "failed")
    assert test["output"] == f"{HIDDEN_MESSAGE}\nHint: {HINT}"
    assert test["visibility"] == "visible"
    # the terminal and CI summaries print the same lines for it
    term = outputs["terminal summary"].splitlines()
    ci_lines = outputs["ci summary"].splitlines()
    at = term.index(f"  ✗ {HIDDEN}  [0/2]")
    assert term[at:at + 3] == ci_lines[ci_lines.index(term[at]):][:3] == [
        f"  ✗ {HIDDEN}  [0/2]", f"      {HIDDEN_MESSAGE}", f"      hint: {HINT}"]


# -- the rule itself ------------------------------------------------------------------


@pytest.mark.parametrize("status", ["passed", "failed", "error", "timeout"])
def test_a_hidden_check_keeps_name_points_status_and_hint_only(status: str) -> None:
    hidden = replace(make_result().checks[1], status=status)
    shown = check_for_student(hidden)
    assert (shown.name, shown.points, shown.max_points, shown.status, shown.hint) == (
        hidden.name, hidden.points, hidden.max_points, hidden.status, HINT)
    assert shown.message == HIDDEN_MESSAGE and shown.assertions == ()


def test_visible_checks_are_left_alone_and_the_view_is_stable() -> None:
    result = make_result()
    view = for_student(result)
    assert view.checks[0] is result.checks[0] and view.checks[2] is result.checks[2]
    assert for_student(view) == view
    assert (view.output, view.hidden_output) == (PRINTED_BEFORE, "")
    assert (view.score, view.status, view.max_score) == (result.score, result.status,
                                                          result.max_score)


def test_gradescope_shows_every_check() -> None:
    assert {gradescope_visibility(c) for c in make_result().checks} == {"visible"}


def test_write_report_returns_what_it_wrote(tmp_path: Path) -> None:
    written = report.write_report(make_result(), tmp_path, "r")
    assert written.checks[1].message == HIDDEN_MESSAGE
    assert written.report == str((tmp_path / "r.html").resolve())


# -- for real: hidden checks run last, so no visible response can echo them -------------------

ECHO_SPEC = """\
id: echo
title: Echo
checks:
  - {name: first, points: 1, request: {path: /first}, expect: {body: first}}
  - {name: secret, points: 1, hidden: true, request: {path: /hidden-7d1f}, expect: {status: 200}}
  - {name: echo, points: 1, request: {path: /seen}, expect: {body: nothing}}
"""

# An app whose answers list every request it got before: a visible check after a
# hidden one in the spec would show the hidden request in its (visible) body.
ECHO_APP = """\
from flask import Flask, request

app = Flask(__name__)
SEEN = []


@app.route("/<name>")
def any_path(name):
    answer = "first" if name == "first" else "seen: " + " ".join(SEEN)
    SEEN.append(request.path)
    return answer
"""


@pytest.mark.docker
def test_a_later_visible_check_cannot_echo_a_hidden_request(
        docker_sandboxes: SandboxFactory, no_leftover_containers: None, tmp_path: Path) -> None:
    (tmp_path / "spec").mkdir()
    spec = tmp_path / "spec" / "exercise.yaml"
    spec.write_text(ECHO_SPEC, encoding="utf-8")
    app = tmp_path / "app.py"
    app.write_text(ECHO_APP, encoding="utf-8")
    result = grade(load_exercise(spec), app, docker_sandboxes)
    echo = next(c for c in result.checks if c.name == "echo")
    assert (echo.status, result.score) == ("failed", 2)
    assert echo.assertions[0].actual == "seen: /first"  # the visible body, as it was
    for name, text in student_outputs(result, tmp_path / "outputs").items():
        assert "hidden-7d1f" not in text, f"the {name} shows the hidden request"
    assert [c.name for c in result.checks] == ["first", "secret", "echo"]  # spec order
