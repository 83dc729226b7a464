"""One check's work on the app's data, run in the evaluator by the check's deadline."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol

from grader.grading.evaluator import Evaluator, EvaluatorFailed, EvaluatorTimeout
from grader.grading.html_find import Wanted
from grader.grading.http_client import AppClient
from grader.grading.outcome import CheckStop


class ClientSource(Protocol):
    """Where a check gets an HTTP client for the app (checks.Target)."""

    def new_client(self, timeout: float) -> AppClient: ...


DATABASE_ERRORS = frozenset({"Error", "DatabaseError", "OperationalError", "IntegrityError",
                              "DataError", "InternalError", "ProgrammingError",
                              "NotSupportedError", "InterfaceError"})


@dataclass(frozen=True)
class HostWork:
    """One check's work on the app's data, run in the evaluator by the check's deadline.

    A late op ends the check as a timeout whose message names the work, never
    as a grader error: the submission chose the data that made it slow.
    """

    evaluator: Evaluator
    deadline: float  # time.monotonic() at which the check's time is up
    seconds: float  # the check's time, for messages

    @property
    def remaining(self) -> float:
        """Seconds left: each wait of the check (HTTP, agent) gets this, not a fresh limit."""
        return max(0.0, self.deadline - time.monotonic())

    def client(self, target: ClientSource) -> AppClient:
        client = target.new_client(self.remaining)
        client.deadline = self.deadline
        client.evaluator = self.evaluator
        return client

    def run(self, what: str, op: str, *args: Any) -> Any:
        try:
            return self.evaluator.call(op, *args, deadline=self.deadline)
        except EvaluatorTimeout as e:
            raise CheckStop("timeout", f"{what} took longer than the check's {self.seconds:.1f} s, "
                                   "so the check stopped there") from e

    def found(self, pattern: str, text: str) -> bool:
        return bool(self._regex("regex_found", pattern, text))

    def value(self, pattern: str, text: str) -> str | None:
        found = self._regex("regex_value", pattern, text)
        return found if isinstance(found, str) else None

    def elements(self, wanted: list[Wanted], text: str) -> list[int]:
        """How many elements of the page match each of *wanted* (html_find.py)."""
        # No element in the message: a hidden check's timeout must not show its expectation.
        what = f"finding HTML elements in the response ({len(text)} characters)"
        try:
            counts = self.run(what, "elements", text, wanted)
        except EvaluatorFailed as e:
            raise CheckStop("failed", f"{what} failed: {e.message}") from e
        return [int(c) for c in counts]

    def _regex(self, op: str, pattern: str, text: str) -> Any:
        # No pattern in the message: a hidden check's timeout must not show its expectation.
        what = f"matching the spec's regular expression against the response ({len(text)} " \
               "characters)"
        try:
            return self.run(what, op, pattern, text)
        except EvaluatorFailed as e:
            raise CheckStop("failed", f"{what} failed: {e.message}") from e

    def database(self, op: str, path: Path, *args: Any) -> Any:
        """An op of evaluator_ops on the database at *path*; its failures end the check."""
        try:
            return self.run("working on the app's database (a CHECK constraint, default or "
                            "index expression that computes for long?)", op, str(path), *args)
        except EvaluatorFailed as e:
            database_failed(e)


def database_failed(e: EvaluatorFailed) -> NoReturn:
    if e.kind in DATABASE_ERRORS:
        raise CheckStop("failed", f"the app's database file is not usable: {e.message}") from e
    raise CheckStop("failed", f"working on the app's database failed: {e.kind}: {e.message}") from e
