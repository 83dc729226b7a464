"""One exercise of a ``grade check`` run: its result, and whether it reached its score.

It lives with the reports (JUnit, GitHub) that render it, below ci/, so the
CI runner imports them and never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.grading.scoring import GradeResult


@dataclass(frozen=True)
class ExerciseVerdict:
    """One exercise's result, and whether it reached the score it needs."""

    result: GradeResult
    path: str  # the submission as shown to the student (relative to the workspace)
    is_file: bool
    required: float

    @property
    def ok(self) -> bool:
        return self.result.score >= self.required - 1e-9
