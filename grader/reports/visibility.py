"""What a student may see of a hidden check: decided here, once, for every output.

An author hides a check so that students cannot tune their app to its
expectations. For a student, a hidden check shows

- its name, its points and its status (passed, failed, error, timeout);
- its hint, if the author wrote one: the author chose to say that much;

and never its requests, its assertions (the expected or the actual values), the
response, or its message: that becomes one fixed sentence, HIDDEN_MESSAGE.
Nor anything the app printed while hidden checks ran: they run after every
visible check (grading/pytest_plugin.py), the sandbox cuts its output where the
first one started, and a student sees only the part before the cut
(``GradeResult.output``; the rest, ``hidden_output``, is instructors' only).
docs/spec-language.md has the whole rule as one table.

A check with ``visibility: after_due_date`` is shown as a hidden one until the
due date of the assignment that uses the exercise (``GradeResult.due_date``,
from ``grade batch --due-date``), and as a visible one after it; with no due
date known it stays hidden. The app's output while it ran stays instructors'
only either way: it runs among the hidden checks, after the cut.

Every output a student reads renders :func:`for_student`'s view: the terminal
and CI summaries, JUnit XML, the GitHub job summary and annotations, the HTML
report and the JSON beside it, and Gradescope's results.json. So they all say
the same. (grading/scoring.py already redacts hidden checks as it scores them;
that stays, as defence in depth, and owns the sentence because grading may not
import from reports.)

Gradescope could hide a test entry altogether ("hidden", "after_due_date",
"after_published"). Hidden checks stay "visible" there, under the same rule
as everywhere else (name, points, status and hint, the output redacted):
hiding the entry would leave the listed tests short of the score Gradescope
shows, and would contradict the terminal, CI and HTML outputs, which name the
check and its points.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Literal

from grader.grading.scoring import HIDDEN_MESSAGE, SPEC_ERROR_HIDDEN, CheckResult, GradeResult

__all__ = ["HIDDEN_MESSAGE", "UNTIL_DUE_MESSAGE", "GradescopeVisibility", "check_for_student",
           "for_student", "gradescope_visibility", "released"]

# What a student reads of an after-due-date check before the date.
UNTIL_DUE_MESSAGE = "shown after the due date: its expectations are not shown before"

GradescopeVisibility = Literal["hidden", "after_due_date", "after_published", "visible"]


def check_for_student(check: CheckResult, shown_after_due: bool = False) -> CheckResult:
    """*check* as a student may see it: a hidden one keeps name, points, status, hint.

    An after-due-date check is hidden unless *shown_after_due* (the due date passed).
    """
    if check.after_due_date and not check.hidden and not shown_after_due:
        return replace(check, hidden=True, message=UNTIL_DUE_MESSAGE, assertions=(),
                       requests=())
    if not check.hidden:
        return check
    # A spec error says only whose fault it is (scoring.SPEC_ERROR_HIDDEN).
    message = (UNTIL_DUE_MESSAGE if check.message == UNTIL_DUE_MESSAGE
               else SPEC_ERROR_HIDDEN if check.problem == "spec" else HIDDEN_MESSAGE)
    return replace(check, message=message, assertions=(), requests=())


def released(due_date: str, now: datetime | None = None) -> bool:
    """Whether the due date (ISO 8601; no zone: UTC) has passed; none known: False."""
    if not due_date:
        return False
    try:
        due = datetime.fromisoformat(due_date)
    except ValueError:
        return False  # unreadable: keep hidden, never show early
    if due.tzinfo is None:
        due = due.replace(tzinfo=timezone.utc)
    return (now or datetime.now(timezone.utc)) >= due


def for_student(result: GradeResult, now: datetime | None = None) -> GradeResult:
    """*result* with every hidden check redacted and no output printed while they ran.

    After-due-date checks are redacted too until ``result.due_date`` (at *now*,
    default the current time). Applying it twice changes nothing.
    """
    after = released(result.due_date, now)
    return replace(result, checks=tuple(check_for_student(c, after) for c in result.checks),
                   hidden_output="")


def gradescope_visibility(check: CheckResult) -> GradescopeVisibility:
    """Gradescope's ``visibility`` of *check*'s test entry: always shown (see above)."""
    return "visible"
