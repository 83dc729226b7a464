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
from typing import Literal

from grader.grading.scoring import HIDDEN_MESSAGE, SPEC_ERROR_HIDDEN, CheckResult, GradeResult

__all__ = ["HIDDEN_MESSAGE", "GradescopeVisibility", "check_for_student", "for_student",
           "gradescope_visibility"]

GradescopeVisibility = Literal["hidden", "after_due_date", "after_published", "visible"]


def check_for_student(check: CheckResult) -> CheckResult:
    """*check* as a student may see it: a hidden one keeps name, points, status, hint."""
    if not check.hidden:
        return check
    # A spec error says only whose fault it is (scoring.SPEC_ERROR_HIDDEN).
    message = SPEC_ERROR_HIDDEN if check.problem == "spec" else HIDDEN_MESSAGE
    return replace(check, message=message, assertions=(), requests=())


def for_student(result: GradeResult) -> GradeResult:
    """*result* with every hidden check redacted and no output printed while they ran.

    Applying it twice changes nothing.
    """
    return replace(result, checks=tuple(check_for_student(c) for c in result.checks),
                   hidden_output="")


def gradescope_visibility(check: CheckResult) -> GradescopeVisibility:
    """Gradescope's ``visibility`` of *check*'s test entry: always shown (see above)."""
    return "visible"
