"""Turn an exercise spec into pytest items, as in pytest's "non-python tests" example.

pytest collects the spec file through ``pytest_collect_file``; each check is
an Item whose ``runtest`` runs it against the sandbox. The grading context
(exercise, target, deadline, outcomes) lives in ``config.stash``.

Hidden checks run after every visible one (:func:`run_order`), and the
sandbox is told before the first of them (``GradingContext.before_hidden``):
so neither a visible check's response nor the app output a student sees can
carry a hidden check's request.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from grader.errors import GraderError
from grader.grading.checks import Target, run_check
from grader.grading.evaluator import Evaluator, shared
from grader.grading.outcome import CheckOutcome
from grader.spec.exercise import Check, Exercise


@dataclass
class GradingContext:
    exercise: Exercise
    target: Target
    deadline: float
    outcomes: dict[str, CheckOutcome] = field(default_factory=dict)
    evaluator: Evaluator = field(default_factory=shared)  # the host's work on the app's data
    # Called once, right before the first hidden check runs (Sandbox.mark_hidden).
    before_hidden: Callable[[], None] = lambda: None
    hidden_started: bool = False


def run_order(checks: Sequence[Check]) -> tuple[Check, ...]:
    """The order checks run in: the visible ones, those shown after the due date, then the
    hidden ones, each in spec order. The app's output is cut before the second group."""
    return (tuple(c for c in checks if not c.withheld)
            + tuple(c for c in checks if c.after_due_date and not c.hidden)
            + tuple(c for c in checks if c.hidden))


CONTEXT = pytest.StashKey[GradingContext]()

# Built-in plugins the spec items never use; loading them is most of pytest's start-up.
UNUSED_PLUGINS = ("cacheprovider", "terminal", "logging", "warnings", "stepwise", "doctest",
                  "junitxml", "pastebin", "legacypath", "tmpdir", "monkeypatch", "recwarn",
                  "setuponly", "setupplan", "unittest", "debugging", "faulthandler",
                  "threadexception", "unraisableexception", "skipping", "python")


class CheckFailed(Exception):
    def __init__(self, outcome: CheckOutcome) -> None:
        super().__init__(outcome.message)
        self.outcome = outcome


class SpecPlugin:
    """Registered for one grading run; hands the context to pytest."""

    def __init__(self, context: GradingContext) -> None:
        self.context = context

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[CONTEXT] = self.context

    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector
                            ) -> pytest.Collector | None:
        # pytest hands over absolute paths; the spec may have been named relatively.
        if file_path.resolve() == self.context.exercise.spec_path.resolve():
            return SpecFile.from_parent(parent, path=file_path)
        return None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # A crash in the grader's own item code still yields an outcome.
        if report.failed and report.when == "call":
            check_id = report.nodeid.rsplit("::", 1)[-1]
            for check in self.context.exercise.checks:
                if check.name == check_id and check.id not in self.context.outcomes:
                    self.context.outcomes[check.id] = CheckOutcome(
                        "error", (), f"the grader failed on this check: {report.longreprtext}"
                        [:2000], report.duration)


class SpecFile(pytest.File):
    def collect(self) -> Iterator[CheckItem]:
        for check in run_order(self.config.stash[CONTEXT].exercise.checks):
            yield CheckItem.from_parent(self, name=check.name, check=check)


class CheckItem(pytest.Item):
    def __init__(self, *, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check

    def runtest(self) -> None:
        context = self.config.stash[CONTEXT]
        if self.check.withheld and not context.hidden_started:
            context.hidden_started = True
            context.before_hidden()
        outcome = run_check(self.check, context.target, context.deadline, context.evaluator)
        context.outcomes[self.check.id] = outcome
        if outcome.status != "passed":
            raise CheckFailed(outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailed):
            return f"{self.check.name}: {excinfo.value.outcome.message}"
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.check.line - 1, f"check: {self.check.name}"


def run_checks(context: GradingContext) -> dict[str, CheckOutcome]:
    """Collect and run the spec's checks with pytest, in this process."""
    with tempfile.TemporaryDirectory(prefix="grade-pytest-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n", encoding="utf-8")
        args = [str(context.exercise.spec_path), "-c", str(ini), "--rootdir", tmp,
                "--noconftest", "--capture=no"]
        for name in UNUSED_PLUGINS:
            args += ["-p", f"no:{name}"]
        saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        try:
            code = pytest.main(args, plugins=[SpecPlugin(context)])
        finally:
            if saved is None:
                os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
            else:
                os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved
    if code == pytest.ExitCode.INTERRUPTED:
        # pytest caught a Ctrl-C (or a batch worker told to stop) mid-check: pass it
        # on as such, not as a grader bug that a batch would store as the result.
        raise KeyboardInterrupt
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        # Never turn a broken grader run into a silent zero for the student.
        raise GraderError(f"the checks of {context.exercise.spec_path} could not be run "
                          f"(pytest exit code {int(code)}); this is a bug in grade")
    return context.outcomes
