"""The class summary: statistics streamed from rows, the chart's geometry, the page."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from grader.grading.scoring import Problem, Timings
from grader.reports import html as report
from grader.reports.class_summary import (
    CHART_HEIGHT,
    CHART_MARGIN,
    ClassStats,
    bin_index,
    chart_bars,
    score_bins,
    write_summary,
)
from grader.reports.gradebook import Previous, make_row

from .helpers import make_result

XSS = "<script>alert(1)</script>"


def stats_for(students: dict[str, tuple[str, float, float]]) -> ClassStats:
    """students: name -> (status, score, seconds)."""
    stats = ClassStats("ex02", "Greet route", 5.0,
                       ("greets Alice", "greets anyone (hidden)", "404 without a name"),
                       (2.0, 2.0, 1.0), _passed=[0, 0, 0], _points=[0.0, 0.0, 0.0])
    for name, (status, score, seconds) in students.items():
        result = make_result(status=status, score=score, timings=Timings(seconds, 0, 0),
                             problem=Problem("Timeout", "too slow") if status == "timeout"
                             else None)
        stats.add(make_row(result, name, report.safe_name(name), "cd" * 32, "sha256:i"))
    return stats


@pytest.mark.parametrize(("max_score", "labels"), [
    (5, ["0", "1", "2", "3", "4", "5"]),            # one bar per point
    (50, [f"{i * 5}–{i * 5 + 5}" for i in range(10)]),  # ten ranges
    (7.5, [f"{i * 0.75:g}–{(i + 1) * 0.75:g}" for i in range(10)]),  # fractional maximum
])
def test_score_bins(max_score: float, labels: list[str]) -> None:
    assert score_bins(max_score) == labels


@pytest.mark.parametrize(("score", "max_score", "bins", "index"), [
    (0, 5, 6, 0), (5, 5, 6, 5), (2.5, 5, 6, 2),     # partial credit rounds down
    (50, 50, 10, 9), (4.99, 50, 10, 0), (5, 50, 10, 1),
])
def test_bin_index(score: float, max_score: float, bins: int, index: int) -> None:
    assert bin_index(score, max_score, bins) == index


def test_chart_bars_scale_to_the_tallest() -> None:
    bars = chart_bars(score_bins(2), [0, 2, 2, 2, 1.5], 2)
    assert [b.count for b in bars] == [1, 1, 3]
    tallest = CHART_HEIGHT - 2 * CHART_MARGIN
    assert bars[2].height == tallest and bars[2].y == CHART_MARGIN
    assert bars[0].height == pytest.approx(tallest / 3, abs=0.1)
    assert bars[0].x < bars[1].x < bars[2].x


def test_stats_count_rates_problems_and_slowest() -> None:
    stats = stats_for({f"s{i}": ("failed", 3.0, float(i)) for i in range(12)}
                      | {"late": ("timeout", 0.0, 30.0)})
    assert stats.graded == 13 and stats.by_status == {"failed": 12, "timeout": 1}
    rates = stats.check_rates()
    assert [(r.passed, r.graded) for r in rates] == [(13, 13), (0, 13), (13, 13)]
    assert [p.student for p in stats.problems] == ["late"]
    assert [s.student for s in stats.slowest()] == ["late", "s11", "s10", "s9", "s8", "s7",
                                                    "s6", "s5", "s4", "s3"]
    assert stats.median == 3.0


def test_summary_page(tmp_path: Path) -> None:
    stats = stats_for({"alice": ("passed", 5.0, 1.0), XSS: ("failed", 3.0, 2.0),
                       "carl": ("timeout", 0.0, 30.0)})
    moved = make_row(make_result(spec_sha256="ee" * 32), "dora", "dora", "cd" * 32, "sha256:i",
                     Previous(1.0, "failed", "ab" * 32, "sha256:i", "2024-04-01"))
    stats.add(moved)
    stats.add_pending("erin")
    path = write_summary(tmp_path, stats, report.environment(), 5)
    page = path.read_text(encoding="utf-8")
    assert "default-src 'none'" in page and "<script" not in page.replace("&lt;script", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<svg" in page and page.count('class="bar"') == 6
    links = re.findall(r'href="([^"]+)"', page)
    assert {"students/alice/report.html", "students/dora/report.html",
            "students/script_alert_1_script/report.html"} <= set(links)
    assert "<strong>4</strong> of 5 submissions graded" in page
    assert "Not graded yet: 1 (erin)" in page
    assert re.search(r"dora</a></td><td class=\"num\">1</td><td class=\"num\">3</td>"
                     r"<td>the spec changed", page)
    assert "carl" in page.split("Errors and timeouts")[1].split("Slowest")[0]


def test_summary_of_an_empty_class(tmp_path: Path) -> None:
    stats = stats_for({})
    page = write_summary(tmp_path, stats, report.environment(), 0).read_text()
    assert "<strong>0</strong> of 0 submissions graded" in page
    assert replace(stats).mean == 0.0
