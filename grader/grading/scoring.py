"""Scores and results. The host decides the score here, from the spec it holds.

Hidden checks lose their expectations already in :func:`score_check`, so no
report, JSON or summary made later can leak them. That is defence in depth:
what a student sees of a hidden check is decided in reports/visibility.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from grader.common.text import pointed, safe_optional, safe_text
from grader.grading.compare import Assertion
from grader.grading.outcome import MESSAGE_LIMIT, CheckOutcome
from grader.grading.status import Status
from grader.spec.exercise import Check, HttpCheck

# The one sentence a student reads in place of a hidden check's message
# (reports/visibility.py shows it everywhere; it lives here so grading need
# not import the reports room above it).
HIDDEN_MESSAGE = "hidden check: its expectations are not shown"
# ... and in place of a hidden check's spec error: whose fault it is, and nothing more.
SPEC_ERROR_HIDDEN = ("hidden check: the exercise's own check code failed (an error in the "
                     "spec, not in your app); your instructor has to fix it")

OUTPUT_LIMIT = 64 * 1024  # characters of the app's output a result keeps
TRACEBACK_LIMIT = 8192  # characters of a traceback
REQUEST_LIMIT = 500  # characters of one request a check made, as a report shows it
MAX_REQUESTS = 20  # requests of one check a report shows


@dataclass(frozen=True)
class CheckResult:
    id: str
    name: str
    kind: str
    status: Status
    points: float
    max_points: float
    message: str
    hidden: bool = False
    hint: str | None = None
    assertions: tuple[Assertion, ...] = ()
    duration: float = 0.0
    # The requests a visible HTTP check made, from the spec (Request.describe); a
    # hidden check's are never kept (score_check, and reports/visibility.py).
    requests: tuple[str, ...] = ()
    # Shown to students only after the due date (reports/visibility.py decides).
    after_due_date: bool = False
    # "spec": the check's own code failed (a pytest check's NameError, unknown fixture,
    # ...): status error, and no verdict on the submission (docs/spec-language.md).
    problem: str | None = None

    def __post_init__(self) -> None:
        # A result is built once, here; whatever the app put in its message is bounded
        # and made encodable before any report, JSON or terminal sees it.
        object.__setattr__(self, "message", safe_text(self.message, MESSAGE_LIMIT))
        object.__setattr__(self, "requests", tuple(
            safe_text(r, REQUEST_LIMIT) for r in self.requests[:MAX_REQUESTS]))


@dataclass(frozen=True)
class Problem:
    """Why a submission could not be graded normally (status error or timeout)."""

    kind: str  # SyntaxError, ImportError, NoApp, Exited, OutOfMemory, Timeout, ...
    message: str
    file: str | None = None
    line: int | None = None
    text: str | None = None
    traceback: str | None = None
    offset: int | None = None  # a SyntaxError's column in *text*, counted from 1
    # The app did not load: each module looked at and why it gave no app (at most 11 lines).
    tried: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Every field may quote the app (its exception, its file names): bounded here.
        object.__setattr__(self, "kind", safe_text(self.kind, 200))
        object.__setattr__(self, "message", safe_text(self.message, MESSAGE_LIMIT))
        object.__setattr__(self, "file", safe_optional(self.file, 500))
        object.__setattr__(self, "text", safe_optional(self.text, 1000))
        object.__setattr__(self, "traceback", safe_optional(self.traceback, TRACEBACK_LIMIT))
        object.__setattr__(self, "tried", tuple(safe_text(t, 200) for t in self.tried[:11]))

    def headline(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file and self.line else ""
        return f"{where}{self.kind}: {self.message}"

    def tried_shown(self) -> tuple[str, ...]:
        """The modules looked at, when they say more than the headline: several, or
        one that held no app."""
        return self.tried if len(self.tried) > 1 or self.kind == "NoApp" else ()

    def excerpt(self) -> tuple[str, ...]:
        """The offending line, printable and bounded, with a caret line under the
        column a SyntaxError names; () without a line. Every output shows this."""
        return pointed(self.text, self.offset) if self.text else ()


@dataclass(frozen=True)
class Timings:
    total: float = 0.0
    startup: float = 0.0
    checks: float = 0.0


@dataclass(frozen=True)
class GradeResult:
    exercise: str
    title: str
    status: Status
    score: float
    max_score: float
    checks: tuple[CheckResult, ...]
    submission: str
    spec_sha256: str
    image: str
    problem: Problem | None = None
    output: str = ""  # what the app printed before the first hidden check: a student's
    output_truncated: bool = False
    timings: Timings = field(default_factory=Timings)
    graded_at: str = ""
    report: str | None = None
    # What the app printed from the first hidden check on: instructors' only
    # (reports/visibility.py drops it from every student's view).
    hidden_output: str = ""
    # What was graded, as `flask --app` names it ("app.py:create_app()"), inside the
    # submission's lone sub-folder if it has one; the agent's claim, never scored.
    app: str = ""
    # The due date (ISO 8601) of the assignment graded, if known (`batch --due-date`):
    # checks with `visibility: after_due_date` are shown only after it.
    due_date: str = ""

    def __post_init__(self) -> None:
        # The app's output is capped by the sandbox in bytes; this also holds for
        # results made elsewhere (the process sandbox, a stored row, a test).
        if len(self.output) > OUTPUT_LIMIT:
            object.__setattr__(self, "output_truncated", True)
        object.__setattr__(self, "output", safe_text(self.output, OUTPUT_LIMIT))
        object.__setattr__(self, "submission", safe_text(self.submission, 1000))
        object.__setattr__(self, "app", safe_text(self.app, 400))

    def to_json(self) -> dict[str, Any]:
        """The ``grade submit --json`` object."""
        return {
            "exercise": self.exercise,
            "status": self.status,
            "score": self.score,
            "max_score": self.max_score,
            "checks": [
                {"name": c.name, "status": c.status, "points": c.points,
                 "max_points": c.max_points, "message": c.message,
                 "requests": list(c.requests)}
                # only a check whose own code failed: "problem": "spec"
                | ({"problem": c.problem} if c.problem else {})
                for c in self.checks
            ],
            "report": self.report,
            "app": self.app or None,
            "problem": asdict(self.problem) if self.problem else None,
            "spec_sha256": self.spec_sha256,
            "image": self.image,
            "timings": asdict(self.timings),
        }


def score_check(check: Check, outcome: CheckOutcome) -> CheckResult:
    """Points for one check: all or nothing, or a share of assertions if partial.

    A check that did not finish (see CheckOutcome.finished) earns no share.
    """
    points = earned(check, outcome)
    message = outcome.message
    assertions = outcome.assertions
    if check.hidden:
        assertions = tuple(Assertion(f"hidden assertion {i}", a.passed, weight=a.weight,
                                     credit=a.credit)
                           for i, a in enumerate(assertions, start=1))
        if outcome.status in ("failed", "error"):
            message = SPEC_ERROR_HIDDEN if outcome.problem == "spec" else HIDDEN_MESSAGE
    return CheckResult(
        id=check.id, name=check.name, kind=check.kind, status=outcome.status,
        points=points, max_points=check.points, message=message, hidden=check.hidden,
        hint=check.hint, assertions=assertions, duration=round(outcome.duration, 3),
        requests=() if check.hidden else requests_of(check), problem=outcome.problem,
        after_due_date=check.after_due_date,
    )


def requests_of(check: Check) -> tuple[str, ...]:
    """What an HTTP check sends, step by step, as the spec says it (``${vars}`` as
    written: their values are the app's answers, and a set-up step's may be secret)."""
    if not isinstance(check.body, HttpCheck):
        return ()
    steps = check.body.steps
    if len(steps) == 1:
        return (steps[0].describe(),)
    return tuple(f"step {n}: {s.describe()}" for n, s in enumerate(steps, start=1))


def earned(check: Check, outcome: CheckOutcome) -> float:
    """All the points for a pass; else, with ``partial``, the share of the *scored*
    assertions that passed (a set-up step's assertions pay nothing), when the check
    made them all; else nothing."""
    if outcome.status == "passed":
        return check.points
    scored = [a for a in outcome.assertions if a.scored]
    weight = sum(a.weight for a in scored)
    if check.partial and weight > 0 and outcome.finished:
        # A pytest check's tests weigh what their points marks say (1 each by default).
        got = sum(a.weight * a.share for a in scored)
        return round(check.points * got / weight, 2)
    return 0.0


def apply_guards(checks: tuple[Check, ...], results: tuple[CheckResult, ...]
                 ) -> tuple[CheckResult, ...]:
    """A check with ``requires`` scores only when every check it names passed.

    Guards name earlier checks (the parser makes sure), so one pass in spec
    order settles chains: a guarded check that scores nothing counts as not passed.
    """
    passed: dict[str, bool] = {}
    out = []
    for check, result in zip(checks, results, strict=True):
        missing = [name for name in check.requires if not passed.get(name, False)]
        if missing and (result.points > 0 or result.status == "passed"):
            names = ", ".join(repr(n) for n in missing)
            result = replace(result, status="failed", points=0.0, message=(
                f"scores nothing: it requires {names}, which did not pass, and without that "
                "behaviour this check proves nothing"))
        passed[check.name] = result.status == "passed"
        out.append(result)
    return tuple(out)


def not_run(check: Check, status: Status, message: str) -> CheckResult:
    """A check that could not run because the submission did not load.

    It carries no hint: a hint is about what a check that ran found wrong, and
    here the one cause is the load failure, said once above the checks.
    """
    return CheckResult(id=check.id, name=check.name, kind=check.kind, status=status,
                       points=0.0, max_points=check.points, message=message,
                       hidden=check.hidden, after_due_date=check.after_due_date)


def overall_status(results: tuple[CheckResult, ...], max_score: float,
                   problem: Problem | None) -> Status:
    if problem is not None:
        return "timeout" if problem.kind == "Timeout" else "error"
    if any(r.problem == "spec" for r in results):
        return "error"  # the spec failed, so the score is no verdict: never a quiet "failed"
    score = sum(r.points for r in results)
    if score >= max_score:
        return "passed"
    if any(r.status == "timeout" for r in results):
        return "timeout"
    return "failed"


def total(results: tuple[CheckResult, ...]) -> float:
    return round(sum(r.points for r in results), 2)
