"""visibility: after_due_date: hidden from students until the due date, then shown."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from grader.errors import SpecError
from grader.grading.pytest_plugin import run_order
from grader.grading.scoring import HIDDEN_MESSAGE, CheckResult, GradeResult
from grader.reports.gradebook import gradescope
from grader.reports.junit import to_xml
from grader.reports.terminal import summary
from grader.reports.verdict import ExerciseVerdict
from grader.reports.visibility import UNTIL_DUE_MESSAGE, for_student, released
from grader.spec.exercise import load_exercise

DUE = "2026-12-01T23:59:00+00:00"
BEFORE = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
AFTER = datetime(2026, 12, 2, 0, 0, tzinfo=timezone.utc)
SECRET = "expected 'Hello, Zoë!', got 'Hello'"


def spec(tmp_path: Path, extra: str) -> Path:
    (tmp_path / "demo").mkdir(exist_ok=True)
    path = tmp_path / "demo" / "exercise.yaml"
    path.write_text("id: demo\ntitle: T\nchecks:\n  - name: late\n    request: {path: /}\n"
                    f"{extra}  - name: hid\n    hidden: true\n    request: {{path: /h}}\n"
                    "  - name: seen\n    request: {path: /s}\n", encoding="utf-8")
    return path


def result(due: str = DUE) -> GradeResult:
    late = CheckResult("late", "late", "http", "failed", 0.0, 2.0, SECRET,
                       requests=("GET /secret-path",), after_due_date=True, hint="a hint")
    seen = CheckResult("seen", "seen", "http", "failed", 0.0, 1.0, "visible message")
    return GradeResult("demo", "T", "failed", 0.0, 3.0, (late, seen), "sub", "x", "img",
                       due_date=due)


def test_the_spec_key_and_run_order(tmp_path: Path) -> None:
    ex = load_exercise(spec(tmp_path, "    visibility: after_due_date\n"))
    late = ex.checks[0]
    assert late.after_due_date and not late.hidden and late.withheld
    # visible first, then after-due-date, then hidden: output is cut before `late`
    assert [c.name for c in run_order(ex.checks)] == ["seen", "late", "hid"]


@pytest.mark.parametrize(("extra", "problem"), [
    ("    visibility: later\n", "must be one of visible, hidden, after_due_date"),
    ("    visibility: after_due_date\n    hidden: true\n", "give one of the two"),
])
def test_bad_visibility(tmp_path: Path, extra: str, problem: str) -> None:
    with pytest.raises(SpecError, match=problem):
        load_exercise(spec(tmp_path, extra))


def test_visibility_hidden_is_hidden_true(tmp_path: Path) -> None:
    ex = load_exercise(spec(tmp_path, "    visibility: hidden\n"))
    assert ex.checks[0].hidden and not ex.checks[0].after_due_date


@pytest.mark.parametrize(("due", "now", "shown"), [
    (DUE, BEFORE, False),  # before the date: hidden
    (DUE, AFTER, True),  # after: shown
    ("", AFTER, False),  # no due date known (submit, check): stays hidden
    ("not a date", AFTER, False),  # unreadable: never shown early
    ("2026-12-01T23:59", AFTER, True),  # no zone: UTC
])
def test_released(due: str, now: datetime, shown: bool) -> None:
    assert released(due, now) is shown


def test_before_the_date_it_is_hidden_in_every_output() -> None:
    view = for_student(result(), BEFORE)
    late = view.checks[0]
    assert (late.hidden, late.message, late.requests, late.hint) == (
        True, UNTIL_DUE_MESSAGE, (), "a hint")
    assert for_student(view, BEFORE) == view  # twice changes nothing
    # the outputs that render for_student at the current time, which is before 2099
    future = result("2099-01-01T00:00:00+00:00")
    texts = [summary(future), str(gradescope(future)), junit_xml_text(future)]
    for text in texts:
        assert "Zoë" not in text and "secret-path" not in text
        assert UNTIL_DUE_MESSAGE in text


def test_after_the_date_it_is_shown() -> None:
    late = for_student(result(), AFTER).checks[0]
    assert (late.hidden, late.message, late.requests) == (False, SECRET, ("GET /secret-path",))
    past = result("2000-01-01T00:00:00+00:00")
    assert "Zoë" in summary(past) and "secret-path" in summary(past)
    assert HIDDEN_MESSAGE not in summary(past)


def junit_xml_text(r: GradeResult) -> str:
    return to_xml([ExerciseVerdict(r, "app.py", True, 3.0)])


@pytest.mark.parametrize(("text", "stored"), [
    ("2026-12-01T23:59+01:00", "2026-12-01T23:59:00+01:00"),  # with its zone
    ("2026-12-01T23:59", "2026-12-01T23:59:00+00:00"),  # no zone: UTC
    (None, ""),  # no flag: no due date, the checks stay hidden
])
def test_the_due_date_flag(text: str | None, stored: str) -> None:
    from grader.cli import _due_date
    assert _due_date(text) == stored


def test_a_bad_due_date_is_a_usage_error(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from grader.cli import main
    (tmp_path / "class").mkdir()
    with pytest.raises(SystemExit) as info:
        main(["batch", "ex11", str(tmp_path / "class"), "--due-date", "next friday"])
    assert info.value.code == 2
    assert "--due-date" in capsys.readouterr().err


@pytest.mark.parametrize(("graded_at", "stored_due", "due", "now", "again"), [
    ("2026-12-01T12:00:00+00:00", DUE, DUE, AFTER, True),  # written hidden, shown now
    ("2026-12-02T01:00:00+00:00", "", DUE, AFTER, True),  # graded late, but with no date
    ("2026-12-02T01:00:00+00:00", DUE, DUE, AFTER, False),  # already written released
    ("2026-12-01T12:00:00+00:00", DUE, DUE, BEFORE, False),  # still before the date
    ("2026-12-01T12:00:00+00:00", DUE, "", AFTER, False),  # no date given this run
    ("not a time", DUE, DUE, AFTER, True),  # unreadable: write it again
])
def test_a_batch_after_the_due_date_writes_withheld_reports_again(
        tmp_path: Path, graded_at: str, stored_due: str, due: str, now: datetime,
        again: bool) -> None:
    from dataclasses import replace

    from grader.batch.worker import released_since
    from grader.reports.gradebook import make_row

    exercise = load_exercise(spec(tmp_path, "    visibility: after_due_date\n"))
    row = make_row(replace(result(stored_due), graded_at=graded_at), "ann", "ann", "d" * 64,
                   "img")
    assert row.due_date == stored_due
    assert released_since(row, exercise, due, now) is again
    (tmp_path / "plain").mkdir()
    plain = load_exercise(spec(tmp_path / "plain", ""))  # nothing withheld: never again
    assert released_since(row, plain, due, now) is False
