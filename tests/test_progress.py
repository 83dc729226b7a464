"""Batch progress: plain lines when not on a terminal, a live bar with an ETA when on one."""

from __future__ import annotations

import io

import pytest

from grader.batch.progress import BatchProgress, format_seconds


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_for_graded_submissions_only() -> None:
    out = io.StringIO()
    p = BatchProgress(12, out)
    assert p.live is False
    p.finished("alice", "passed", 7, 7, 0.84, skipped=False)
    p.finished("bob", "failed", 1, 7, 0.7, skipped=True)
    p.finished("eve\x1b[2J", "error", 0, 7, 0.1, skipped=False)
    p.close()
    assert out.getvalue().splitlines() == [
        "[ 1/12] alice: 7/7 passed (0.8 s)",
        "[ 3/12] eve\\x1b[2J: 0/7 error (0.1 s)",  # no terminal escapes from file names
    ]
    c = p.counts
    assert (c.graded, c.skipped, c.errors, c.timeouts, c.done) == (2, 1, 1, 0, 3)


def test_live_bar_counts_and_eta() -> None:
    out = Tty()
    p = BatchProgress(10, out)
    assert p.live is True
    assert "ETA …" in p.status_line(200)
    p.finished("a", "timeout", 0, 7, 5.0, skipped=False)
    p.finished("b", "passed", 7, 7, 1.0, skipped=True)
    line = p.status_line(200)
    assert "2/10" in line and "graded 1" in line and "timeouts 1" in line
    assert "skipped 1" in line
    p.note("a message")
    p.close()
    text = out.getvalue()
    assert "\r" in text and "\x1b[K" in text and "a message\n" in text
    assert text.endswith("\n")


def test_eta_uses_only_this_runs_grading_rate() -> None:
    p = BatchProgress(10, io.StringIO())
    p.finished("a", "passed", 1, 1, 1.0, skipped=True)  # skipped: no time spent
    assert p.eta() is None
    p.finished("b", "passed", 1, 1, 1.0, skipped=False)
    started = p._started
    assert p.eta(now=started + 4.0) == pytest.approx(4.0 * 8)  # 4 s per graded, 8 left


@pytest.mark.parametrize(("seconds", "text"), [(0, "0:00"), (61.4, "1:01"),
                                               (3725, "1:02:05")])
def test_format_seconds(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text
