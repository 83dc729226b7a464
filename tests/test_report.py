"""The HTML and JSON report: what it shows, what it hides, and how it is written."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from grader.grading.compare import Assertion
from grader.grading.scoring import CheckResult, GradeResult, Problem, Timings
from grader.reports import html as report
from grader.reports.html import MAX_SHOWN, clip, diff, render_html, safe_name, write_report

HIDDEN_EXPECTED = "hidden-expectation-5d1e"
XSS_OUTPUT = "<script>alert(1)</script>"
XSS_VALUE = "</pre><img src=x onerror=alert(2)>"


def check(name: str, status: str = "passed", points: float = 1.0, max_points: float = 1.0,
          **kw: object) -> CheckResult:
    return CheckResult(id=name, name=name, kind="http", status=status,  # type: ignore[arg-type]
                       points=points, max_points=max_points,
                       message="ok" if status == "passed" else "did not match",
                       **kw)  # type: ignore[arg-type]


def make_result(*checks: CheckResult, **kw: object) -> GradeResult:
    fields: dict[str, object] = dict(
        exercise="ex01", title="Hello route", status="failed",
        score=sum(c.points for c in checks), max_score=sum(c.max_points for c in checks),
        checks=checks, submission="/home/s/app.py", spec_sha256="cd" * 32, image="img:1",
        output="* Running\n", timings=Timings(2.0, 1.0, 1.0), graded_at="2024-05-01T10:00:00")
    fields.update(kw)
    return GradeResult(**fields)  # type: ignore[arg-type]


BODY_FAIL = check("home page says hello", "failed", 0.0, 3.0, hint="Mind the comma.",
                  assertions=(Assertion("status", True, "200", "200"),
                              Assertion("body", False, "Hello, Flask World!\nbye",
                                        "Hello Flask World\nbye")))
HIDDEN_FAIL = check("only / is routed", "failed", 0.0, 1.0, hidden=True,
                    assertions=(Assertion("status", False, HIDDEN_EXPECTED, "200"),))
PASSED = check("home page answers 200", "passed", 1.0, 1.0)


@pytest.fixture
def page() -> str:
    return render_html(make_result(PASSED, BODY_FAIL, HIDDEN_FAIL))


def test_shows_score_and_status(page: str) -> None:
    assert '<span class="big">1</span> / 5 points' in page
    assert '<span class="badge">failed</span>' in page
    assert "ex01: Hello route" in page


def test_marks_passed_and_failed_checks(page: str) -> None:
    rows = re.findall(r'<tr class="check-(\w+)">\s*<td class="mark">(.)</td>', page)
    assert rows == [("passed", "✓"), ("failed", "✗"), ("failed", "✗")]


def test_shows_hints_of_failed_checks_only() -> None:
    passed_with_hint = check("fine", "passed", hint="never shown")
    page = render_html(make_result(passed_with_hint, BODY_FAIL))
    assert "Hint: Mind the comma." in page
    assert "never shown" not in page


def test_a_failed_body_check_gets_a_diff(page: str) -> None:
    assert '<pre class="diff">' in page
    assert '<span class="del">-Hello, Flask World!</span>' in page
    assert '<span class="add">+Hello Flask World</span>' in page


@pytest.mark.parametrize(("a", "lines"), [
    # a body: a line diff
    (Assertion("body", False, "a\nb", "a\nc"),
     [("hunk", "@@ -1,2 +1,2 @@"), ("same", " a"), ("del", "-b"), ("add", "+c")]),
    (Assertion("body", True, "a", "b"), []),  # passed: no diff
    (Assertion("status", False, "200", "404"), []),  # a status: no diff
    (Assertion("header X", False, "a", "b"), []),  # a header: no diff
    (Assertion("test_x", False, None, "boom"), []),  # nothing expected: no diff
])
def test_diff(a: Assertion, lines: list[tuple[str, str]]) -> None:
    assert diff(a) == lines


def test_hidden_checks_show_no_expectation(page: str) -> None:
    assert "only / is routed" in page and '<span class="tag">hidden</span>' in page
    assert HIDDEN_EXPECTED not in page


def escaped_everywhere(where: str, evil: str) -> GradeResult:
    """A result with *evil* in one place that student code can reach."""
    if where == "output":
        return make_result(PASSED, output=evil)
    if where == "actual":  # shown as a value, and as a diff
        return make_result(check("c", "failed", 0, 1, assertions=(
            Assertion("status", False, "200", evil), Assertion("body", False, "x", evil))))
    if where == "message":
        return make_result(CheckResult(id="c", name="c", kind="http", status="failed",
                                       points=0, max_points=1, message=evil))
    if where == "problem":
        return make_result(PASSED, problem=Problem(evil, evil, file=evil, line=1, text=evil))
    if where == "traceback":
        return make_result(PASSED, problem=Problem("Error", "x", traceback=evil))
    return make_result(PASSED, submission=evil)


@pytest.mark.parametrize("where", ["output", "actual", "message", "problem", "traceback",
                                   "submission"])
def test_student_text_is_escaped(where: str) -> None:
    page = render_html(escaped_everywhere(where, XSS_OUTPUT + XSS_VALUE))
    assert "<script>" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;/pre&gt;&lt;img src=x onerror=alert(2)&gt;" in page


def test_escaped_output_is_still_readable() -> None:
    page = render_html(make_result(PASSED, output=XSS_OUTPUT))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_long_values_are_clipped() -> None:
    long_actual = "A" * (MAX_SHOWN * 3)
    c = check("c", "failed", 0, 1, assertions=(Assertion("status", False, "200", long_actual),))
    page = render_html(make_result(c))
    assert "A" * MAX_SHOWN in page
    assert "A" * (MAX_SHOWN + 1) not in page
    assert "more characters)" in page  # the page says it cut the value


def test_long_messages_are_clipped() -> None:
    c = CheckResult(id="c", name="c", kind="http", status="failed", points=0, max_points=1,
                    message="M" * 5000)
    page = render_html(make_result(c))
    assert "M" * 600 in page and "M" * 601 not in page


def test_cut_output_is_announced() -> None:
    page = render_html(make_result(PASSED, output="x" * 10, output_truncated=True))
    assert "The output was cut here" in page
    assert "The output was cut here" not in render_html(make_result(PASSED, output="x"))


def test_long_output_is_clipped_by_the_report() -> None:
    page = render_html(make_result(PASSED, output="x" * 1_000_000))
    assert "x" * (MAX_SHOWN * 10) not in page


@pytest.mark.parametrize(("text", "limit", "out"), [
    (None, 5, ""),  # nothing
    ("abc", 5, "abc"),  # short enough
    ("abcdefg", 5, "abcde\n… (2 more characters)"),  # cut, with a count
])
def test_clip(text: str | None, limit: int, out: str) -> None:
    assert clip(text, limit) == out


def test_a_load_problem_is_shown() -> None:
    problem = Problem("SyntaxError", "invalid syntax", "app.py", 3, text="def f(:")
    page = render_html(make_result(check("c", "error", 0, 1), status="error", problem=problem))
    assert "The app could not be graded" in page
    assert "<code>app.py, line 3</code>" in page and "def f(:" in page


def test_a_load_timeout_is_named() -> None:
    page = render_html(make_result(check("c", "timeout", 0, 1), status="timeout",
                                   problem=Problem("Timeout", "slow")))
    assert "The app did not load in time" in page


# -- writing ---------------------------------------------------------------------------


def test_write_report_writes_html_and_json(tmp_path: Path) -> None:
    out = tmp_path / "reports" / "deeper"
    result = write_report(make_result(PASSED, BODY_FAIL), out, "ex01-app")
    assert sorted(p.name for p in out.iterdir()) == ["ex01-app.html", "ex01-app.json"]
    html_path = out / "ex01-app.html"
    assert result.report == str(html_path.resolve())
    assert html_path.read_text(encoding="utf-8").startswith("<!doctype html>")
    data = json.loads((out / "ex01-app.json").read_text(encoding="utf-8"))
    assert data["report"] == result.report
    assert (data["exercise"], data["score"], data["title"]) == ("ex01", 1.0, "Hello route")
    assert data["submission"] == "/home/s/app.py" and data["graded_at"] == "2024-05-01T10:00:00"


def test_write_report_replaces_an_old_report(tmp_path: Path) -> None:
    write_report(make_result(PASSED, title="first"), tmp_path, "r")
    write_report(make_result(PASSED, title="second"), tmp_path, "r")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r.json"]
    assert json.loads((tmp_path / "r.json").read_text())["title"] == "second"


def test_atomic_write_leaves_nothing_when_it_fails(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "r.html"
    target.write_text("old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        report.atomic_write(target, "new")
    assert os.listdir(tmp_path) == ["r.html"]
    assert target.read_text() == "old"


@pytest.mark.parametrize(("text", "out"), [
    ("app", "app"),  # already safe
    ("my app (v2)", "my_app_v2"),  # spaces and brackets
    ("../../etc/passwd", ".._.._etc_passwd"),  # no path separators survive
    ("élève", "l_ve"),  # non-ASCII is replaced, ends trimmed
    ("", "submission"),  # nothing left: a default
    ("///", "submission"),  # only separators
])
def test_safe_name(text: str, out: str) -> None:
    assert safe_name(text) == out
    assert "/" not in safe_name(text) and "\\" not in safe_name(text)


# Values a hostile app can make: long, all "<" (four bytes once escaped), four-byte
# characters, lone surrogates, control characters, many lines.
PATHOLOGICAL = [
    "<" * 12_000_000,
    "\U0001f600" * 3_000_000,
    ("\ud800\x00<a>\n" * 2_000_000),
    "M" * 12_000_000,
]


def test_one_submissions_reports_stay_under_a_megabyte(tmp_path: Path) -> None:
    # A 12-million-character class name once made seven 12 MB messages and 84 MB of
    # reports. Ten checks (the most any shipped exercise has) of five failing body
    # assertions each, every value pathological.
    checks = tuple(
        check(f"check {i}", "failed", 0.0, 1.0,
              assertions=tuple(Assertion(f"step {j}: body", False, PATHOLOGICAL[j % 4],
                                         PATHOLOGICAL[(i + j) % 4]) for j in range(5)))
        for i in range(10))
    checks = tuple(CheckResult(**{**c.__dict__, "message": PATHOLOGICAL[i % 4]})
                   for i, c in enumerate(checks))
    result = make_result(*checks, output=PATHOLOGICAL[0], submission=PATHOLOGICAL[2],
                         problem=Problem(PATHOLOGICAL[3], PATHOLOGICAL[0], PATHOLOGICAL[2], 1,
                                         PATHOLOGICAL[1], PATHOLOGICAL[2]))
    write_report(result, tmp_path, "r")
    html_bytes = (tmp_path / "r.html").stat().st_size
    json_bytes = (tmp_path / "r.json").stat().st_size
    assert html_bytes + json_bytes < 1_000_000, (html_bytes, json_bytes)
    json.loads((tmp_path / "r.json").read_bytes().decode("utf-8"))
    assert "\ufffd" in (tmp_path / "r.html").read_text(encoding="utf-8")
