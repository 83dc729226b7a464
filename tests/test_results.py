"""Scoring: all or nothing, partial credit, hidden checks, overall status, JSON."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from grader.grading.compare import Assertion
from grader.grading.outcome import CheckOutcome
from grader.grading.scoring import (
    HIDDEN_MESSAGE,
    CheckResult,
    GradeResult,
    Problem,
    Timings,
    not_run,
    overall_status,
    score_check,
    total,
)
from grader.grading.status import Status as CheckStatus
from grader.spec.exercise import Check, Expect, HttpCheck, Request, Step

SECRET = "expected-SECRET-7f3a"  # the expectation of a hidden check
STUDENT = "student-answer-91c2"  # what the app answered


def make_check(points: float = 2.0, *, hidden: bool = False, partial: bool = False,
               name: str = "greets") -> Check:
    step = Step(Request("/greet"), Expect(status=200, body=SECRET))
    return Check(id=name, name=name, points=points, body=HttpCheck((step,)), line=3,
                 hidden=hidden, hint="say hi", partial=partial)


def outcome(status: CheckStatus, *passed: bool, message: str = "",
            expected: str = SECRET, actual: str = STUDENT) -> CheckOutcome:
    assertions = tuple(Assertion(f"body contains {expected!r}", p, expected, actual)
                       for p in passed)
    return CheckOutcome(status, assertions, message or f"body: expected {expected!r}", 0.12345)


# What run_check says for each status: only a failure's message quotes the expectation.
RUN_CHECK_MESSAGES = {
    "passed": "ok",
    "failed": f"body contains {SECRET!r}: expected {SECRET!r}, got {STUDENT!r}",
    "timeout": "no answer within 5.0 s (an endless loop?)",
    "error": "test_x asks for unknown fixtures ['db']; available: ['app', 'client']",
}


# -- score_check -------------------------------------------------------------------


@pytest.mark.parametrize(("points", "partial", "result", "score"), [
    (2.0, False, outcome("passed", True, True), 2.0),  # all passed: full points
    (2.0, False, outcome("failed", True, False), 0.0),  # one failed: nothing
    (2.0, True, outcome("failed", True, False), 1.0),  # partial: half
    (1.0, True, outcome("failed", True, False, False), 0.33),  # rounded to 2 places
    (2.0, True, outcome("failed", True, True, False), 1.33),  # 2 * 2/3
    (3.0, True, outcome("failed", False, False), 0.0),  # partial, none passed
    (3.0, True, outcome("failed"), 0.0),  # partial without assertions
    (3.0, True, outcome("passed", True), 3.0),  # partial, all passed
    (2.0, True, outcome("timeout", True, False), 1.0),  # a timeout keeps what passed
    (2.0, False, outcome("timeout", True), 0.0),  # but not all-or-nothing checks
    (0.0, False, outcome("passed", True), 0.0),  # a check worth nothing
])
def test_score_check_points(points: float, partial: bool, result: CheckOutcome,
                            score: float) -> None:
    r = score_check(make_check(points, partial=partial), result)
    assert r.points == score
    assert r.max_points == points
    assert r.status == result.status


def test_score_check_copies_what_a_report_needs() -> None:
    r = score_check(make_check(), outcome("failed", False, message="why"))
    assert (r.id, r.name, r.kind, r.hint, r.hidden, r.message) == (
        "greets", "greets", "http", "say hi", False, "why")
    assert r.duration == 0.123
    assert r.assertions[0].expected == SECRET  # visible checks keep their details


@pytest.mark.parametrize("status", ["failed", "passed", "timeout", "error"])
def test_hidden_checks_keep_no_expectations(status: CheckStatus) -> None:
    passed = (status == "passed",)
    r = score_check(make_check(hidden=True),
                    outcome(status, *passed, message=RUN_CHECK_MESSAGES[status]))
    assert r.hidden
    assert [(a.label, a.passed, a.expected, a.actual) for a in r.assertions] == [
        ("hidden assertion 1", status == "passed", None, None)]
    assert SECRET not in repr(r)
    assert STUDENT not in repr(r)


def test_a_failed_hidden_check_has_a_generic_message() -> None:
    r = score_check(make_check(hidden=True), outcome("failed", True, False))
    assert r.message == HIDDEN_MESSAGE


def test_a_hidden_check_leaks_nowhere_in_a_grade_result() -> None:
    hidden = score_check(make_check(hidden=True, partial=True, name="hidden one"),
                         outcome("failed", True, False))
    visible = score_check(make_check(name="visible"),
                          outcome("failed", False, expected="shown", actual="also shown"))
    result = grade_result((visible, hidden))
    assert hidden.points == 1.0  # partial credit still counts
    assert SECRET not in repr(result)
    assert SECRET not in json.dumps(result.to_json())
    assert STUDENT not in repr(result)
    assert "also shown" in repr(result)  # the visible check keeps its details


def test_not_run() -> None:
    r = not_run(make_check(hidden=True), "error", "not run: the app did not load")
    assert (r.status, r.points, r.max_points, r.assertions) == ("error", 0.0, 2.0, ())
    assert r.hidden and r.message == "not run: the app did not load"
    assert r.hint is None  # a hint belongs to a check that ran and failed


# -- overall status ------------------------------------------------------------------


def result_with(status: CheckStatus, points: float, max_points: float = 1.0) -> CheckResult:
    return CheckResult(id="c", name="c", kind="http", status=status, points=points,
                       max_points=max_points, message="")


@pytest.mark.parametrize(("results", "problem", "status"), [
    # the app did not load in time
    ((), Problem("Timeout", "slow import"), "timeout"),
    # any other load problem
    ((), Problem("SyntaxError", "bad"), "error"),
    ((result_with("passed", 1),), Problem("OutOfMemory", "big"), "error"),  # even with points
    # everything passed
    ((result_with("passed", 1), result_with("passed", 1)), None, "passed"),
    # a timed-out check below full marks
    ((result_with("passed", 1), result_with("timeout", 0)), None, "timeout"),
    # below full marks otherwise
    ((result_with("passed", 1), result_with("failed", 0)), None, "failed"),
    ((result_with("error", 0), result_with("passed", 1)), None, "failed"),
    # partial credit short of the maximum is a failure
    ((result_with("failed", 1.5, 2), result_with("passed", 0.0, 0)), None, "failed"),
])
def test_overall_status(results: tuple[CheckResult, ...], problem: Problem | None,
                        status: str) -> None:
    assert overall_status(results, 2.0, problem) == status


def test_total_rounds() -> None:
    rs = (result_with("failed", 0.33), result_with("failed", 0.33), result_with("failed", 0.34))
    assert total(rs) == 1.0


def test_problem_headline() -> None:
    assert Problem("SyntaxError", "invalid syntax", "app.py", 3).headline() == (
        "app.py:3: SyntaxError: invalid syntax")
    assert Problem("Timeout", "slow").headline() == "Timeout: slow"


# -- JSON ----------------------------------------------------------------------------


def grade_result(checks: tuple[CheckResult, ...], **kw: object) -> GradeResult:
    base = GradeResult(exercise="ex01", title="Hello", status="failed", score=total(checks),
                       max_score=sum(c.max_points for c in checks), checks=checks,
                       submission="/s/app.py", spec_sha256="ab" * 32, image="img:1",
                       timings=Timings(1.0, 0.5, 0.5), graded_at="2024-01-01T00:00:00+00:00",
                       report="/r/ex01-app.html")
    return replace(base, **kw)  # type: ignore[arg-type]


def test_to_json_has_the_required_keys() -> None:
    checks = (score_check(make_check(), outcome("failed", False, message="nope")),)
    data = grade_result(checks).to_json()
    assert {"exercise", "status", "score", "max_score", "checks", "report"} <= set(data)
    assert (data["exercise"], data["status"], data["score"], data["max_score"]) == (
        "ex01", "failed", 0.0, 2.0)
    assert data["report"] == "/r/ex01-app.html"
    assert data["checks"] == [{"name": "greets", "status": "failed", "points": 0.0,
                               "max_points": 2.0, "message": "nope",
                               "requests": ["GET /greet"]}]
    json.dumps(data)  # serialisable as it is


def test_to_json_includes_the_problem() -> None:
    data = grade_result((), problem=Problem("SyntaxError", "bad", "app.py", 2)).to_json()
    assert data["problem"]["kind"] == "SyntaxError" and data["problem"]["line"] == 2
    assert grade_result(()).to_json()["problem"] is None
