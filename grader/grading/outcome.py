"""How a check ended: its outcome, and the exceptions that end a check early.

A check never raises past run_check: it ends with a :class:`CheckOutcome`, or
stops early with a :class:`CheckStop` that says the outcome itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from grader.common.text import safe_text
from grader.grading.compare import Assertion
from grader.grading.status import Status

MESSAGE_LIMIT = 2048  # characters of a check's message


@dataclass(frozen=True)
class CheckOutcome:
    status: Status
    assertions: tuple[Assertion, ...]
    message: str
    duration: float
    # False when the check ended before all its assertions were made (a crash, a
    # timeout, a fact that could not be read): a share of the ones made would pay
    # for what was never established, so partial credit does not apply.
    finished: bool = True
    # "spec": the spec's own code failed (code_check.py), not the submission; status error.
    problem: str | None = None

    def __post_init__(self) -> None:
        # Messages quote the app (class names, errors): bounded here, whoever built them.
        object.__setattr__(self, "message", safe_text(self.message, MESSAGE_LIMIT))


class CheckStop(Exception):
    """Ends a check early with a final outcome.

    *accounted*: every assertion the check would have made is in its list
    (the ones that cannot run counted as failed), so partial credit still holds.
    """

    def __init__(self, status: Status, message: str, *, accounted: bool = False) -> None:
        super().__init__(message)
        self.status: Status = status
        self.message = message
        self.accounted = accounted


class SpecCodeError(CheckStop):
    """The instructor's code of a pytest check failed: an error of the spec, never the
    submission's (status error, problem "spec")."""

    def __init__(self, message: str) -> None:
        super().__init__("error", message)


class DatabaseUnusable(CheckStop):
    """The app's database cannot be read as a database: the check fails, honestly."""

    def __init__(self, detail: str) -> None:
        super().__init__("failed", f"the app's database file is not usable: {detail}")


class DatabaseTooSlow(CheckStop):
    """Reading the app's database took longer than the check may: a timeout, honestly."""

    def __init__(self) -> None:
        super().__init__("timeout", "reading the app's database took longer than the "
                                    "check's time (a default or an expression that computes "
                                    "for long?)")
