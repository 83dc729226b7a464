"""Progress of a batch on stderr: a live bar on a terminal, plain lines otherwise.

The bar shows counts (graded, errors, timeouts, skipped) and an ETA from the
rate of submissions actually graded in this run; already graded ones are
skipped in no time and do not make the estimate optimistic.
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

from grader.batch.names import shown

BAR_WIDTH = 24
REDRAW = 0.2  # seconds between redraws of the live bar


@dataclass
class Counts:
    total: int
    graded: int = 0  # graded in this run, whatever the verdict
    skipped: int = 0  # already graded with the same submission, spec and image
    errors: int = 0
    timeouts: int = 0

    @property
    def done(self) -> int:
        return self.graded + self.skipped


@dataclass
class BatchProgress:
    """Reports each finished submission; call :meth:`tick` now and then, :meth:`close` once."""

    total: int
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    live: bool | None = None
    counts: Counts = field(init=False)
    _started: float = field(init=False, default_factory=time.monotonic)
    _drawn: float = 0.0
    _width: int = 0

    def __post_init__(self) -> None:
        self.counts = Counts(self.total)
        if self.live is None:
            self.live = _is_terminal(self.stream)

    def finished(self, student: str, status: str, score: float, max_score: float,
                 seconds: float, skipped: bool) -> None:
        c = self.counts
        if skipped:
            c.skipped += 1
        else:
            c.graded += 1
            c.errors += status == "error"
            c.timeouts += status == "timeout"
        if self.live:
            self._draw(force=True)
        elif not skipped:
            self._line(f"[{c.done:>{len(str(c.total))}}/{c.total}] {shown(student, 1000)}: "
                       f"{score:g}/{max_score:g} {status} ({seconds:.1f} s)")

    def note(self, text: str) -> None:
        """A message that must not be overwritten by the bar."""
        if self.live:
            self._clear()
        self._line(shown(text, 4000))  # one line, whatever names it holds
        if self.live:
            self._draw(force=True)

    def tick(self) -> None:
        if self.live:
            self._draw(force=False)

    def close(self) -> None:
        if self.live:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()

    def eta(self, now: float | None = None) -> float | None:
        """Seconds left, from this run's grading rate; None until something was graded."""
        c = self.counts
        if c.graded == 0:
            return None
        elapsed = (now if now is not None else time.monotonic()) - self._started
        return elapsed / c.graded * max(c.total - c.done, 0)

    def status_line(self, width: int) -> str:
        c = self.counts
        filled = BAR_WIDTH * c.done // c.total if c.total else BAR_WIDTH
        bar = "█" * filled + "░" * (BAR_WIDTH - filled)
        eta = self.eta()
        parts = [f"{bar} {c.done}/{c.total}", f"graded {c.graded}", f"errors {c.errors}",
                 f"timeouts {c.timeouts}"]
        if c.skipped:
            parts.append(f"skipped {c.skipped}")
        parts.append(f"ETA {format_seconds(eta)}" if eta is not None else "ETA …")
        return " · ".join(parts)[:width]

    def _draw(self, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < REDRAW:
            return
        self._drawn = now
        width = max(shutil.get_terminal_size((100, 20)).columns - 1, 20)
        self.stream.write("\r" + self.status_line(width) + "\x1b[K")
        self.stream.flush()

    def _clear(self) -> None:
        self.stream.write("\r\x1b[K")

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def format_seconds(seconds: float) -> str:
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
