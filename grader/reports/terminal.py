"""What a person reads in a terminal or a CI log: check marks, and the submit summary.

The marks are plain characters, for terminals; GitHub's Markdown summary uses
its own emoji (github.py). Checks are rendered from the student's view
(visibility.py), and all text passes through a cleaner that escapes control
characters, so a submission cannot move the cursor or fake a score.
"""

from __future__ import annotations

from collections.abc import Callable

from grader.common.text import printable
from grader.grading.scoring import GradeResult
from grader.grading.status import Status
from grader.reports.visibility import for_student

MAX_SHOWN = 5  # requests of one failed check a terminal shows
MESSAGE_SHOWN = 700  # characters of a check's message (an explanation is ~450)
MARKS: dict[Status, str] = {"passed": "✓", "failed": "✗", "error": "✗", "timeout": "⏱"}

# (text, at most this many characters) -> text safe to print
Clean = Callable[[str, int], str]


def clipped(text: str, limit: int) -> str:
    """The submit summary's cleaner: printable, cut at *limit*, lines kept."""
    return printable(text[:limit])


def check_lines(result: GradeResult, clean: Clean) -> list[str]:
    """A line per check; a failed check of an app that loaded adds its message, the
    requests it made and its hint."""
    view = for_student(result)
    lines = []
    for c in view.checks:
        lines.append(f"  {MARKS[c.status]} {clean(c.name, 200)}  [{c.points:g}/{c.max_points:g}]")
        # An app that did not load has one cause, said once above the checks.
        if c.status != "passed" and view.problem is None:
            lines.append(f"      {clean(c.message, MESSAGE_SHOWN)}")
            # What the check sent (visible checks only: for_student drops the rest).
            lines += [f"      request: {clean(r, 300)}" for r in c.requests[:MAX_SHOWN]]
            if c.hint:
                lines.append(f"      hint: {clean(c.hint, 300)}")
    return lines


def summary(result: GradeResult) -> str:
    """What ``grade submit`` prints: the score, why the app did not load, each check."""
    lines = [f"{result.exercise} · {result.title}: {result.score:g}/{result.max_score:g} "
             f"points ({result.status})"]
    if result.app:
        lines.append(f"  graded: {printable(result.app)}")
    if result.problem is not None:
        p = result.problem
        lines.append(f"  {printable(p.headline())}")
        lines += [f"      {line}" for line in p.excerpt()]  # printable already
        if p.tried_shown():
            lines.append("  tried:")
            lines += [f"    {printable(t)}" for t in p.tried_shown()]
    lines += check_lines(result, clipped)
    lines.append(f"report: {result.report}")
    return "\n".join(lines)
