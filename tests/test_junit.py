"""JUnit XML: structure CI systems parse, one testcase per check, hidden checks kept hidden."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.grading.scoring import HIDDEN_MESSAGE, Problem
from grader.reports import junit
from grader.reports.verdict import ExerciseVerdict

from .helpers import HIDDEN_HINT, SAMPLE_CHECKS, SECRET, VISIBLE, make_check, make_verdict


def _parse(*verdicts: ExerciseVerdict) -> ET.Element:
    return ET.fromstring(junit.to_xml(list(verdicts)))


def test_one_suite_per_exercise_one_case_per_check() -> None:
    root = _parse(make_verdict(SAMPLE_CHECKS), make_verdict(SAMPLE_CHECKS[2:3], "passed"))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "3", "1")
    suites = root.findall("testsuite")
    assert [s.get("tests") for s in suites] == ["5", "1"]
    cases = suites[0].findall("testcase")
    assert [c.get("name") for c in cases] == [c.name for c in SAMPLE_CHECKS]
    assert {c.get("classname") for c in cases} == {"grade.ex02"}
    assert [c[0].tag for c in cases if len(c) > 1] == ["failure", "failure", "error", "failure"]
    assert cases[3].find("error").get("type") == "timeout"  # type: ignore[union-attr]
    assert cases[4].find("failure").get("message").startswith("1.5/3 points: ")  # type: ignore[union-attr]
    assert cases[2].find("system-out").text == "1/1 points"  # type: ignore[union-attr]
    props = {p.get("name"): p.get("value") for p in suites[0].iter("property")}
    assert props["score"] == "2.5" and props["max_score"] == "9" and props["required"] == "9"
    assert props["reached_required"] == "false" and props["spec_sha256"] == "ab" * 32


def test_hidden_checks_show_their_name_result_and_hint_only() -> None:
    xml = junit.to_xml([make_verdict(SAMPLE_CHECKS)])
    hidden = next(c for c in ET.fromstring(xml).iter("testcase")
                  if c.get("name") == "greets any name")
    failure = hidden.find("failure")
    assert failure is not None
    assert failure.get("message") == f"0/2 points: {HIDDEN_MESSAGE}"
    assert (failure.text or "").splitlines() == [HIDDEN_MESSAGE, f"hint: {HIDDEN_HINT}"]
    assert SECRET not in xml  # not its message or assertions
    assert VISIBLE in xml  # while visible checks say what they expected


@pytest.mark.parametrize("text", [
    "\x1b[2K\x1b[32m5/5 points (passed)\x1b[0m",  # terminal escapes
    "nul \x00 and bell \x07 and \ufffe",  # characters XML 1.0 cannot hold
    "]]></failure><testcase name='forged'/>",  # markup
])
def test_student_text_cannot_break_the_xml(text: str) -> None:
    problem = Problem("RuntimeError", text, file="app.py", line=3, traceback=text)
    checks = (make_check("greets Alice", "error", 0, 2, f"not run: {text}"),)
    root = _parse(make_verdict(checks, "error", problem))
    assert [c.get("name") for c in root.iter("testcase")] == ["greets Alice"]
    err = root.find("testsuite/system-err")
    assert err is not None and "RuntimeError" in (err.text or "")


def test_write_creates_the_folder(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "junit.xml"
    junit.write(target, [make_verdict(SAMPLE_CHECKS)])
    assert ET.parse(target).getroot().get("tests") == "5"
