"""Run a ``pytest:`` check with pytest itself: collection, fixtures, marks, parametrize.

The check's code is written to a module in a folder of its own and run by a
nested, in-process pytest session with pytest's python plugin (the grading's
own session, pytest_plugin.py, leaves it out for speed). :class:`GradePlugin`
gives the grade fixtures (``client``, ``app``, ``database``, ``data``,
``source``, ``score``) and records each test's outcome, which becomes one
:class:`Assertion` weighed by its ``@pytest.mark.points(n)``.

Who is to blame (:func:`blame`): an exception while reading what the app
returned (an AssertionError, bad JSON, a missing key) fails that test, the
submission's failure; an exception of the instructor's own code (a NameError,
an unknown fixture, a method the grade objects do not have, a bad call) is an
error of the spec: the whole check ends as status ``error`` with problem
``spec`` (:class:`SpecCodeError`), never as the student's zero. A late app
or a crash (RequestTimeout, AppUnreachable, ...) ends the check as it does
any other check (checks.run_check).
"""

from __future__ import annotations

import contextlib
import io
import re
import secrets
import signal
import sqlite3
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from grader.grading import code_fixtures
from grader.grading.compare import Assertion
from grader.grading.host_work import HostWork
from grader.grading.http_client import (
    AppClient,
    AppUnreachable,
    NotSendable,
    RequestTimeout,
    Response,
)
from grader.grading.outcome import CheckStop, SpecCodeError
from grader.sandbox.agent_client import AgentGone, AgentTimeout
from grader.spec.exercise import CodeCheck

# Fixtures every pytest check may ask for, by name (docs/spec-language.md).
GRADE_FIXTURES = ("client", "app", "database", "data", "source", "score")
# pytest's own fixtures that make sense on the grader's side.
PYTEST_FIXTURES = ("request", "pytestconfig")
MARKERS = ("points(n): the test's weight in its check's partial credit (default 1)",)
# What pytest needs here: collection (python), marks, skip/xfail, assertion rewriting.
_PLUGINS = ("python", "skipping", "assertion")
_ALL_PLUGINS = ("terminal", "debugging", "unittest", "capture", "legacypath", "tmpdir",
                "monkeypatch", "recwarn", "pastebin", "junitxml", "doctest", "cacheprovider",
                "freeze_support", "setuponly", "setupplan", "stepwise", "warnings", "logging",
                "reports", "python_path", "unraisableexception", "threadexception",
                "faulthandler", "subtests", "nose")
# Exceptions that end the whole check, as they end any check (checks.run_check).
STOPS = (RequestTimeout, AgentTimeout, AppUnreachable, AgentGone, NotSendable, CheckStop)
# A call that does not fit the called function's signature: always the caller's code.
_SIGNATURE = re.compile(r"unexpected keyword argument|required (positional|keyword-only) "
                        r"argument|positional arguments? but|takes no arguments|"
                        r"object is not callable|got multiple values for argument")
_GRADE_TYPES = (code_fixtures.CheckClient, code_fixtures.Score, code_fixtures.Source,
                AppClient, Response, ModuleType)

Factory = Callable[[], Any]
# Seconds past the check's deadline at which the alarm (:func:`_alarm`) stops code that
# waits for nothing the clock bounds: the usual timeouts fire first.
ALARM_GRACE = 2.0


def blame(error: BaseException, grade_types: tuple[type, ...] = ()) -> str | None:
    """Why *error* is the spec's (the instructor's code), or None: the submission's."""
    if isinstance(error, pytest.fail.Exception):
        return None  # pytest.fail() and a pytest.raises that saw nothing: a verdict
    if isinstance(error, code_fixtures.SpecMistake):
        return "the check's code used a fixture wrongly"
    if isinstance(error, (NameError, ImportError, SyntaxError, RecursionError)):
        return "the check's code has a bug"
    if isinstance(error, AttributeError) and isinstance(
            getattr(error, "obj", None), _GRADE_TYPES + grade_types):
        return "the check's code asks a grade object for something it does not have"
    if isinstance(error, TypeError) and _SIGNATURE.search(str(error)):
        return "the check's code calls something with the wrong arguments"
    if isinstance(error, sqlite3.OperationalError) and "syntax error" in str(error):
        return "the check's SQL does not parse"
    if type(error).__module__.startswith(("_pytest", "pluggy")):
        return "pytest refused the check's code"  # a fixture lookup, a bad parametrize
    return None


@dataclass
class _Test:
    """One collected test, as it ran."""

    name: str
    weight: float = 1.0
    outcome: str = "passed"  # passed, failed, skipped
    message: str = ""
    spec: str | None = None  # why its failure is the spec's
    score: code_fixtures.Score | None = None


class GradePlugin:
    """The grade fixtures and the record of each test, for one nested session."""

    def __init__(self, fixtures: dict[str, Factory], work: HostWork, module: str,
                 grade_types: tuple[type, ...] = ()) -> None:
        self._fixtures = fixtures
        self._grade_types = grade_types
        self._work = work
        self._module = module
        self.tests: dict[str, _Test] = {}
        self.collect_errors: list[str] = []
        self.stop: BaseException | None = None

    # -- fixtures (each made when a test asks for it) ----------------------------------

    @pytest.fixture
    def client(self) -> Any:
        return self._fixtures["client"]()

    @pytest.fixture
    def app(self) -> Any:
        return self._fixtures["app"]()

    @pytest.fixture
    def database(self) -> Any:
        return self._fixtures["database"]()

    @pytest.fixture
    def data(self) -> Any:
        return self._fixtures["data"]()

    @pytest.fixture
    def source(self) -> Any:
        return self._fixtures["source"]()

    @pytest.fixture
    def score(self, request: pytest.FixtureRequest) -> code_fixtures.Score:
        made = code_fixtures.Score()
        self._test(request.node).score = made
        return made

    # -- the record ----------------------------------------------------------------------

    def _test(self, item: pytest.Item) -> _Test:
        key = item.nodeid
        if key not in self.tests:
            name = key.split("::", 1)[-1]
            self.tests[key] = _Test(name)
        return self.tests[key]

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(_short_repr(report.longreprtext, self._module))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> bool | None:
        test = self._test(item)
        marker = item.get_closest_marker("points")
        if marker is not None:
            weight = marker.args[0] if len(marker.args) == 1 and not marker.kwargs else None
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
                test.outcome, test.spec = "failed", "pytest.mark.points takes one number >= 0"
                test.message = f"points mark {marker.args!r}"
                return True
            test.weight = float(weight)
        if self.stop is not None:
            return True  # the check is over: what is left is not run
        if self._work.remaining <= 0:
            self.stop = CheckStop("timeout", f"the check's code ran past its "
                                             f"{self._work.seconds:.1f} s")
            item.session.shouldstop = "out of time"
            return True
        return None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]
                                  ) -> Any:
        report = yield
        test = self._test(item)
        error = call.excinfo.value if call.excinfo is not None else None
        if isinstance(error, STOPS) and self.stop is None:
            self.stop = error
            item.session.shouldstop = "the check stopped"
        if report.skipped and call.when != "teardown" and test.outcome == "passed":
            test.outcome = "skipped"
        elif report.failed and test.outcome != "failed":
            test.outcome = "failed"
            if error is None:  # an xfail(strict=True) test that passed
                test.message = report.longreprtext.strip()[:300] or "failed"
            else:
                test.spec = blame(error, self._grade_types)
                test.message = _message(error, self._module)
        return report


def run(body: CodeCheck, work: HostWork, fixtures: dict[str, Factory],
        scratch: Path | None = None, grade_types: tuple[type, ...] = ()) -> list[Assertion]:
    """The check's tests, each one Assertion; raises SpecCodeError, or what stopped it."""
    with tempfile.TemporaryDirectory(prefix="check-", dir=scratch) as tmp:
        module = f"grade_check_{secrets.token_hex(6)}"
        path = Path(tmp) / f"{module}.py"
        path.write_text(body.source, encoding="utf-8")
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\nmarkers =\n" + "".join(f"    {m}\n" for m in MARKERS),
                       encoding="utf-8")
        args = [str(path), "-c", str(ini), "--rootdir", tmp, "--noconftest",
                "--import-mode=importlib", "--strict-markers", "-p", "no:cacheprovider"]
        for name in _ALL_PLUGINS:
            if name not in _PLUGINS and name != "cacheprovider":
                args += ["-p", f"no:{name}"]
        plugin = GradePlugin(fixtures, work, module, grade_types)
        rang: list[bool] = []
        try:
            # print() in the check's code must not reach the grader's stdout (--json).
            with contextlib.redirect_stdout(io.StringIO()), _alarm(work, rang):
                code = pytest.main(args, plugins=[plugin])
        finally:
            sys.modules.pop(module, None)
    if rang and plugin.stop is None:  # it rang outside a test: in pytest's own steps
        raise _late(work)
    # A collection error also ends pytest as "interrupted"; a Ctrl-C leaves no other trace.
    if code == pytest.ExitCode.INTERRUPTED and plugin.stop is None \
            and not plugin.collect_errors:
        raise KeyboardInterrupt
    if plugin.stop is not None:
        raise plugin.stop
    return _assertions(plugin, code)


def _late(work: HostWork) -> CheckStop:
    return CheckStop("timeout", f"the check's code ran past its {work.seconds:.1f} s (a "
                                "loop in the check's own code?)")


@contextlib.contextmanager
def _alarm(work: HostWork, rang: list[bool]) -> Iterator[None]:
    """The check's clock for the instructor's own code, which no wait bounds (a loop):
    SIGALRM shortly past the deadline raises a timeout in whatever runs. Only where
    signals can be had: the main thread, on POSIX; elsewhere the deadline is checked
    between tests only."""
    if threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "setitimer"):
        yield
        return

    def ring(signum: int, frame: object) -> None:
        rang.append(True)
        raise _late(work)

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, work.remaining + ALARM_GRACE)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _assertions(plugin: GradePlugin, code: int) -> list[Assertion]:
    if plugin.collect_errors:
        raise SpecCodeError("spec error (the check's own code, not the submission): it "
                            f"cannot be collected: {plugin.collect_errors[0]}")
    spec = [t for t in plugin.tests.values() if t.spec]
    if spec:
        first = spec[0]
        raise SpecCodeError(f"spec error (the check's own code, not the submission): "
                            f"{first.name}: {first.spec}: {first.message}"
                            + (f" (and {len(spec) - 1} more)" if len(spec) > 1 else ""))
    ran = [t for t in plugin.tests.values() if t.outcome != "skipped"]
    if not ran:
        why = "no test_ function was collected" if not plugin.tests else "every test skipped"
        raise SpecCodeError(f"spec error (the check's own code, not the submission): {why} "
                            f"(pytest exit code {int(code)})")
    out = []
    for test in ran:
        credit = test.score.fraction if test.score is not None else None
        if credit is not None and test.outcome == "passed" and credit < 1:
            out.append(Assertion(test.name, False, None, f"earned {credit:g} of its points",
                                 weight=test.weight, credit=credit))
        elif test.outcome == "passed":
            out.append(Assertion(test.name, True, weight=test.weight, credit=credit))
        else:
            out.append(Assertion(test.name, False, None, test.message or "failed",
                                 weight=test.weight, credit=credit))
    return out


def _message(error: BaseException, module: str) -> str:
    """What a failed test says: the assertion's text (pytest's rewritten explanation),
    or the exception; with the line of the check's code it happened at."""
    lookup = getattr(error, "formatrepr", None)
    if type(error).__name__ == "FixtureLookupError" and callable(lookup):
        # "fixture 'x' not found / available fixtures: ..." without pytest's own advice
        said = str(getattr(lookup(), "errorstring", error)).splitlines()
        return "; ".join(line.strip() for line in said if "pytest --fixtures" not in line)
    text = str(error).strip()
    if isinstance(error, AssertionError) and not text.startswith("assert "):
        # The instructor's own message (pytest puts its explanation after it): as written.
        return text.split("\nassert ", 1)[0] if text else _where(error, module, "failed")
    if isinstance(error, AssertionError):
        # No message: pytest's explanation, its first lines, and where.
        text = " ".join(line.strip() for line in text.splitlines()[:3])
    else:
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return _where(error, module, text)


def _where(error: BaseException, module: str, text: str) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if Path(f.filename).stem == module]
    return f"{text} (line {frames[-1].lineno} of the check)" if frames else text


def _short_repr(text: str, module: str) -> str:
    """A collection error's last lines, without the temporary folder's path."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    shown = " / ".join(lines[-3:])
    return re.sub(r"\S*" + re.escape(module) + r"\.py", "<check code>", shown)[:1500]
