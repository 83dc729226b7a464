"""JUnit XML for CI systems: one testsuite per exercise, one testcase per check.

Checks are rendered as a student may see them (visibility.py): a hidden one
keeps its name, points, status and hint, never its message or assertions.
Text from the student's app is stripped of characters XML 1.0 cannot carry.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from grader.common.atomic import atomic_write
from grader.grading.scoring import CheckResult, GradeResult
from grader.reports.verdict import ExerciseVerdict
from grader.reports.visibility import for_student

MAX_TEXT = 4000
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str, limit: int = MAX_TEXT) -> str:
    """*text* made safe for XML 1.0 (control characters shown as \\xNN) and truncated."""
    safe = _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return safe if len(safe) <= limit else safe[:limit] + f"… ({len(safe) - limit} more)"


def to_xml(verdicts: Sequence[ExerciseVerdict]) -> str:
    """The JUnit XML document for a ``grade check`` run."""
    suites = ET.Element("testsuites", name="grade")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for v in verdicts:
        suite = _suite(v)
        suites.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        total_time += v.result.timings.total
    for key, value in totals.items():
        suites.set(key, str(value))
    suites.set("time", f"{total_time:.3f}")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def write(path: Path, verdicts: Sequence[ExerciseVerdict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, to_xml(verdicts))


def _suite(v: ExerciseVerdict) -> ET.Element:
    r = for_student(v.result)
    failures = sum(1 for c in r.checks if c.status == "failed")
    errors = sum(1 for c in r.checks if c.status in ("error", "timeout"))
    suite = ET.Element("testsuite", {
        "name": xml_text(f"{r.exercise} · {r.title}", 200),
        "tests": str(len(r.checks)), "failures": str(failures), "errors": str(errors),
        "skipped": "0", "time": f"{r.timings.total:.3f}", "timestamp": r.graded_at,
        "file": xml_text(v.path, 500),
    })
    props = ET.SubElement(suite, "properties")
    for name, value in (("exercise", r.exercise), ("submission", v.path),
                        ("status", r.status), ("score", f"{r.score:g}"),
                        ("max_score", f"{r.max_score:g}"), ("required", f"{v.required:g}"),
                        ("reached_required", "true" if v.ok else "false"),
                        ("spec_sha256", r.spec_sha256), ("sandbox", r.image)):
        ET.SubElement(props, "property", name=name, value=xml_text(value, 500))
    for check in r.checks:
        suite.append(_case(r, check, v.path))
    if r.problem is not None:
        err = ET.SubElement(suite, "system-err")
        err.text = xml_text(r.problem.headline() + (f"\n{r.problem.traceback}"
                                                    if r.problem.traceback else ""))
    return suite


def _case(r: GradeResult, c: CheckResult, path: str) -> ET.Element:
    case = ET.Element("testcase", {
        "classname": f"grade.{r.exercise}", "name": xml_text(c.name, 500),
        "time": f"{c.duration:.3f}", "file": xml_text(path, 500),
    })
    points = f"{c.points:g}/{c.max_points:g} points"
    if c.status != "passed":
        tag = "failure" if c.status == "failed" else "error"
        message = f"{points}: {xml_text(c.message.splitlines()[0] if c.message else '', 500)}"
        body = _details(r, c)
        node = ET.SubElement(case, tag, message=message, type=c.status)
        node.text = body or None
    out = ET.SubElement(case, "system-out")
    out.text = points
    return case


def _details(r: GradeResult, c: CheckResult) -> str:
    lines = [xml_text(c.message)]
    for a in c.assertions:
        if not a.passed:
            lines.append(xml_text(f"- {a.label}: expected {a.expected!r}, got {a.actual!r}", 1000))
    if r.problem is not None:
        lines.append(xml_text(r.problem.headline(), 1000))
    if c.hint:
        lines.append(f"hint: {xml_text(c.hint, 1000)}")
    return "\n".join(lines)
