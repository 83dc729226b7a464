"""GitHub Actions output: workflow-command escaping, annotations, the job summary."""

from __future__ import annotations

from dataclasses import replace

import pytest

from grader.grading.scoring import Problem
from grader.reports import github

from .helpers import SAMPLE_CHECKS, make_check, make_verdict


@pytest.mark.parametrize(("text", "data", "prop"), [
    ("plain", "plain", "plain"),
    ("100% sure", "100%25 sure", "100%25 sure"),
    ("two\nlines\r", "two%0Alines%0D", "two%0Alines%0D"),
    ("a:b,c", "a:b,c", "a%3Ab%2Cc"),
    ("\n::error::forged", "%0A::error::forged", "%0A%3A%3Aerror%3A%3Aforged"),
])
def test_escaping(text: str, data: str, prop: str) -> None:
    assert github.escape_data(text) == data
    assert github.escape_property(text) == prop


def _syntax_error(file: str | None, line: int | None = 9) -> Problem:
    return Problem("SyntaxError", "invalid syntax", file=file, line=line, text="def hello(:")


@pytest.mark.parametrize(("path", "is_file", "file", "expected"), [
    # a file submission: the file sits next to the submitted one
    ("ex01/app.py", True, "app.py", "ex01/app.py"),
    ("app.py", True, "app.py", "app.py"),
    # a folder submission: the file is inside it
    ("greet/", False, "views/main.py", "greet/views/main.py"),
    # the agent's word is untrusted: nothing outside the submission
    ("greet/", False, "../../etc/passwd", None),
    ("greet/", False, "/usr/lib/python3/flask/app.py", None),
    ("greet/", False, None, None),
])
def test_annotations_point_at_the_file_and_line(path: str, is_file: bool, file: str | None,
                                                expected: str | None) -> None:
    v = make_verdict(SAMPLE_CHECKS[:1], "error", _syntax_error(file))
    v = replace(v, path=path, is_file=is_file)
    (line,) = github.error_annotations([v])
    props, _, message = line.removeprefix("::error ").partition("::")
    assert props.startswith("title=ex02%3A 0/2 points (SyntaxError)")
    if expected is None:
        assert "file=" not in props
    else:
        assert props.endswith(f",file={expected},line=9")
    assert message == "SyntaxError: invalid syntax%0A    def hello(:"


def test_an_annotation_is_one_line_whatever_the_student_printed() -> None:
    problem = Problem("RuntimeError", "boom\n::error file=x,line=1::forged\r\x1b[2K", file="a,b.py",
                      line=1)
    (line,) = github.error_annotations([make_verdict(SAMPLE_CHECKS[:1], "error", problem)])
    # Commands start at the beginning of a line: one line means no forged command.
    assert len(line.splitlines()) == 1 and "\x1b" not in line
    assert ",file=greet/a%2Cb.py,line=1::RuntimeError: boom" in line


def test_below_the_required_score_without_a_problem() -> None:
    v = make_verdict(SAMPLE_CHECKS, required=5)
    (line,) = github.error_annotations([v])  # a folder: no file to point at
    assert line.startswith("::error title=ex02%3A 2.5/9 points::below the required 5 points")
    (line,) = github.error_annotations([replace(v, path="greet.py", is_file=True)])
    assert line.startswith("::error title=ex02%3A 2.5/9 points,file=greet.py::below")
    assert github.error_annotations([make_verdict(SAMPLE_CHECKS[2:3], "passed")]) == []


def test_job_summary() -> None:
    text = github.job_summary([make_verdict(SAMPLE_CHECKS, required=1)],
                              "the installed grade package",
                              "--sandbox process isolates less than Docker")
    assert text.startswith("## grade: Points 2.5/9 ✅\n")
    assert "| ex02 · Greet route | `greet/` | 2.5/9 | 1 | ❌ failed |" in text
    assert "- ❌ greets any name (0/2): hidden check: its expectations are not shown " in text
    assert "secret" not in text
    assert "*Hint: Use a variable part*" in text
    assert "Sandbox: \\-\\-sandbox process isolates less than Docker" in text


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>",
    "| forged | table |",
    "`code` **bold** [link](http://x)",
    "line\n## Points 9/9",
])
def test_the_summary_keeps_student_text_inert(hostile: str) -> None:
    checks = (make_check("greets Alice", "failed", 0, 2, hostile),)
    text = github.job_summary([make_verdict(checks)], "pkg")
    line = next(x for x in text.splitlines() if x.startswith("- ❌ greets Alice"))
    assert "<script>" not in line and "](" not in line and "**" not in line
    assert "| forged |" not in line and "\n" not in line
    assert "## Points" not in text


def test_points_line_and_outputs() -> None:
    verdicts = [make_verdict(SAMPLE_CHECKS), make_verdict(SAMPLE_CHECKS[2:3], "passed")]
    assert github.points_line(verdicts) == "Points 3.5/10"
    assert github.step_outputs(verdicts) == "points=3.5\nmax-points=10\npassed=false\n"
