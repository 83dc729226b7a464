"""JUnit XML: structure CI systems parse, one testcase per check, hidden checks kept hidden."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.ci.run import Verdict
from grader.grading.compare import Assertion
from grader.grading.scoring import CheckResult, GradeResult, Problem, Status, Timings
from grader.reports import junit

SECRET = "the secret expected body"
VISIBLE = "a visible expected body"


def _check(name: str, status: str, points: float, max_points: float, message: str = "ok",
           hidden: bool = False, hint: str | None = None) -> CheckResult:
    expected = SECRET if hidden else VISIBLE
    assertions = (Assertion("body", status == "passed", expected, "Hello"),)
    return CheckResult(id=name, name=name, kind="http", status=status,  # type: ignore[arg-type]
                       points=points, max_points=max_points, message=message, hidden=hidden,
                       hint=hint, assertions=assertions, duration=0.25)


def _verdict(checks: tuple[CheckResult, ...], status: Status = "failed",
             problem: Problem | None = None, required: float | None = None) -> Verdict:
    score = sum(c.points for c in checks)
    top = sum(c.max_points for c in checks)
    result = GradeResult(exercise="ex02", title="Greet route", status=status, score=score,
                         max_score=top, checks=checks, submission="/repo/greet",
                         spec_sha256="ab" * 32, image="process sandbox", problem=problem,
                         timings=Timings(1.5, 0.5, 1.0), graded_at="2026-01-01T00:00:00+00:00")
    return Verdict(result, "greet/", False, top if required is None else required)


CHECKS = (
    _check("greets Alice", "failed", 0, 2, f"body: expected {VISIBLE!r}, got 'Hi'",
           hint="Use a variable part"),
    _check("greets any name", "failed", 0, 2, f"body: expected {SECRET!r}", hidden=True,
           hint="Return f'Hello, {name}!' for " + SECRET),
    _check("404 without a name", "passed", 1, 1),
    _check("answers in time", "timeout", 0, 1, "timed out after 5 s"),
    _check("partial", "failed", 1.5, 3, "2 of 4 assertions"),
)


def _parse(*verdicts: Verdict) -> ET.Element:
    return ET.fromstring(junit.to_xml(list(verdicts)))


def test_one_suite_per_exercise_one_case_per_check() -> None:
    root = _parse(_verdict(CHECKS), _verdict(CHECKS[2:3], "passed"))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "3", "1")
    suites = root.findall("testsuite")
    assert [s.get("tests") for s in suites] == ["5", "1"]
    cases = suites[0].findall("testcase")
    assert [c.get("name") for c in cases] == [c.name for c in CHECKS]
    assert {c.get("classname") for c in cases} == {"grade.ex02"}
    assert [c[0].tag for c in cases if len(c) > 1] == ["failure", "failure", "error", "failure"]
    assert cases[3].find("error").get("type") == "timeout"  # type: ignore[union-attr]
    assert cases[4].find("failure").get("message").startswith("1.5/3 points: ")  # type: ignore[union-attr]
    assert cases[2].find("system-out").text == "1/1 points"  # type: ignore[union-attr]
    props = {p.get("name"): p.get("value") for p in suites[0].iter("property")}
    assert props["score"] == "2.5" and props["max_score"] == "9" and props["required"] == "9"
    assert props["reached_required"] == "false" and props["spec_sha256"] == "ab" * 32


def test_hidden_checks_show_only_their_name_and_result() -> None:
    xml = junit.to_xml([_verdict(CHECKS)])
    hidden = next(c for c in ET.fromstring(xml).iter("testcase")
                  if c.get("name") == "greets any name")
    failure = hidden.find("failure")
    assert failure is not None and not (failure.text or "").strip()
    assert failure.get("message") == ("0/2 points: hidden check: only its name and result are "
                                      "shown (failed)")
    assert SECRET not in xml  # not its message, assertions or hint
    assert VISIBLE in xml  # while visible checks say what they expected


@pytest.mark.parametrize("text", [
    "\x1b[2K\x1b[32m5/5 points (passed)\x1b[0m",  # terminal escapes
    "nul \x00 and bell \x07 and \ufffe",  # characters XML 1.0 cannot hold
    "]]></failure><testcase name='forged'/>",  # markup
])
def test_student_text_cannot_break_the_xml(text: str) -> None:
    problem = Problem("RuntimeError", text, file="app.py", line=3, traceback=text)
    checks = (_check("greets Alice", "error", 0, 2, f"not run: {text}"),)
    root = _parse(_verdict(checks, "error", problem))
    assert [c.get("name") for c in root.iter("testcase")] == ["greets Alice"]
    err = root.find("testsuite/system-err")
    assert err is not None and "RuntimeError" in (err.text or "")


def test_write_creates_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "junit.xml"
    junit.write(target, [_verdict(CHECKS)])
    assert ET.parse(target).getroot().get("tests") == "5"
