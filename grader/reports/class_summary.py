"""The class summary: score distribution, pass rate per check, problems, slowest, links.

:class:`ClassStats` takes rows one at a time (streamed from disk) and keeps
only small per-student lines; the chart's geometry is computed here, so the
template only draws rectangles (inline SVG: the report's CSP forbids scripts).
"""

from __future__ import annotations

import heapq
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from grader.common.atomic import atomic_write
from grader.reports.gradebook import REPORT_FILE, STUDENTS, Row
from grader.spec.exercise import Exercise

CHART_WIDTH = 640
CHART_HEIGHT = 220
CHART_MARGIN = 28
SLOWEST = 10


@dataclass(frozen=True)
class StudentLine:
    student: str
    status: str
    score: float
    seconds: float
    headline: str
    link: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    count: int


@dataclass(frozen=True)
class CheckRate:
    name: str
    max_points: float
    passed: int
    graded: int
    mean_points: float

    @property
    def percent(self) -> float:
        return 100.0 * self.passed / self.graded if self.graded else 0.0


@dataclass(frozen=True)
class Change:
    """A score that moved when a stored result was graded again."""

    student: str
    old: float
    new: float
    reason: str  # "the spec changed", "the sandbox image changed", "regraded"
    link: str


@dataclass
class ClassStats:
    exercise: str
    title: str
    max_score: float
    check_names: tuple[str, ...]
    check_points: tuple[float, ...]
    by_status: dict[str, int] = field(default_factory=dict)
    scores: list[float] = field(default_factory=list)
    everyone: list[StudentLine] = field(default_factory=list)
    problems: list[StudentLine] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    stale: int = 0  # rows graded with another spec or image (a regrade was interrupted)
    _passed: list[int] = field(default_factory=list)
    _points: list[float] = field(default_factory=list)
    _slowest: list[tuple[float, int, StudentLine]] = field(default_factory=list)

    @classmethod
    def for_exercise(cls, exercise: Exercise) -> ClassStats:
        names = tuple(c.name for c in exercise.checks)
        return cls(exercise.id, exercise.title, round(exercise.max_score, 2), names,
                   tuple(c.points for c in exercise.checks),
                   _passed=[0] * len(names), _points=[0.0] * len(names))

    def add(self, row: Row) -> None:
        headline = row.problem.headline() if row.problem else ""
        line = StudentLine(row.student, row.status, row.score, row.timings.total, headline,
                           f"{STUDENTS}/{row.slug}/{REPORT_FILE}")
        self.by_status[row.status] = self.by_status.get(row.status, 0) + 1
        self.scores.append(row.score)
        self.everyone.append(line)
        if row.status in ("error", "timeout"):
            self.problems.append(line)
        by_name = {c.name: c for c in row.checks}
        for i, name in enumerate(self.check_names):
            c = by_name.get(name)
            if c is not None:
                self._passed[i] += c.status == "passed"
                self._points[i] += c.points
        entry = (row.timings.total, len(self.everyone), line)
        if row.timings.total <= 0:
            pass  # never ran: a refused upload
        elif len(self._slowest) < SLOWEST:
            heapq.heappush(self._slowest, entry)
        else:
            heapq.heappushpop(self._slowest, entry)
        if row.previous is not None and row.previous.score != row.score:
            self.changes.append(Change(row.student, row.previous.score, row.score,
                                       change_reason(row), line.link))

    def add_pending(self, student: str) -> None:
        self.pending.append(student)

    @property
    def graded(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float:
        return round(statistics.fmean(self.scores), 2) if self.scores else 0.0

    @property
    def median(self) -> float:
        return round(statistics.median(self.scores), 2) if self.scores else 0.0

    def slowest(self) -> list[StudentLine]:
        return [line for _, _, line in sorted(self._slowest, reverse=True)]

    def check_rates(self) -> list[CheckRate]:
        n = self.graded
        return [CheckRate(name, pts, self._passed[i], n,
                          round(self._points[i] / n, 2) if n else 0.0)
                for i, (name, pts) in enumerate(zip(self.check_names, self.check_points,
                                                    strict=True))]

    def distribution(self) -> list[Bar]:
        return chart_bars(score_bins(self.max_score), self.scores, self.max_score)


def change_reason(row: Row) -> str:
    prev = row.previous
    if prev is None:
        return ""
    if prev.spec_sha256 != row.spec_sha256:
        return "the spec changed"
    if prev.image_id != row.image_id:
        return "the sandbox image changed"
    return "regraded"


def score_bins(max_score: float) -> list[str]:
    """Labels of the histogram's bins: one per point up to 20 points, else ten ranges."""
    if max_score <= 20 and float(max_score).is_integer():
        return [f"{i}" for i in range(int(max_score) + 1)]
    width = max_score / 10
    return [f"{i * width:g}–{(i + 1) * width:g}" for i in range(10)]


def bin_index(score: float, max_score: float, bins: int) -> int:
    if max_score <= 0:
        return 0
    if bins == int(max_score) + 1:  # one bin per point; partial credit rounds down
        return max(0, min(int(score), bins - 1))
    return max(0, min(int(score / (max_score / bins)), bins - 1))


def chart_bars(labels: list[str], scores: list[float], max_score: float) -> list[Bar]:
    counts = [0] * len(labels)
    for s in scores:
        counts[bin_index(s, max_score, len(labels))] += 1
    top = max(counts, default=0) or 1
    inner_w = CHART_WIDTH - 2 * CHART_MARGIN
    inner_h = CHART_HEIGHT - 2 * CHART_MARGIN
    slot = inner_w / len(labels)
    bars = []
    for i, (label, count) in enumerate(zip(labels, counts, strict=True)):
        height = round(inner_h * count / top, 1)
        bars.append(Bar(x=round(CHART_MARGIN + i * slot + slot * 0.1, 1),
                        y=round(CHART_MARGIN + inner_h - height, 1),
                        width=round(slot * 0.8, 1), height=height, label=label, count=count))
    return bars


def write_summary(out: Path, stats: ClassStats, env: jinja2.Environment, total: int) -> Path:
    """Render ``class.html`` into *out* (atomically)."""
    path = out / "class.html"
    html = env.get_template("class.html.j2").render(
        s=stats, total=total, bars=stats.distribution(), rates=stats.check_rates(),
        slowest=stats.slowest(), width=CHART_WIDTH, height=CHART_HEIGHT,
        margin=CHART_MARGIN)
    atomic_write(path, html)
    return path
