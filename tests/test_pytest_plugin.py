"""The order checks run in: every visible check first, and the sandbox told before a hidden one."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask
import pytest

from grader.grading.http_client import AppClient, unix_socket
from grader.grading.pytest_plugin import GradingContext, run_checks, run_order
from grader.sandbox.agent_client import AgentGone
from grader.spec.exercise import Exercise, load_exercise

from .helpers import serve_wsgi

# visible and hidden checks interleaved, as an author may write them
SPEC = """\
id: ex
title: T
checks:
  - {name: a, points: 1, request: {path: /a}, expect: {status: 200}}
  - {name: h1, points: 1, hidden: true, request: {path: /h1}, expect: {status: 200}}
  - {name: b, points: 1, request: {path: /b}, expect: {status: 200}}
  - {name: h2, points: 1, hidden: true, request: {path: /h2}, expect: {status: 200}}
  - {name: c, points: 1, request: {path: /c}, expect: {status: 200}}
"""


@pytest.fixture
def exercise(tmp_path: Path) -> Exercise:
    spec = tmp_path / "exercise.yaml"
    spec.write_text(textwrap.dedent(SPEC), encoding="utf-8")
    return load_exercise(spec)


class RecordingTarget:
    """HTTP to a real app that appends every path it serves to *events*."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path

    def new_client(self, timeout: float) -> AppClient:
        return AppClient(unix_socket(self.socket_path), timeout)

    @property
    def agent(self) -> Any:
        raise AgentGone("not used")

    def left_out(self, table: str) -> str | None:
        return None

    def database_copy(self, timeout: float, file: str | None = None) -> Path:
        raise AgentGone("not used")


@pytest.fixture
def events(tmp_path: Path) -> Iterator[tuple[list[str], str]]:
    seen: list[str] = []
    app = flask.Flask("recorder")

    @app.get("/<name>")
    def any_path(name: str) -> str:
        seen.append(f"/{name}")
        return "ok"

    with serve_wsgi(app, tmp_path / "app.sock") as path:
        yield seen, path


def test_run_order_puts_hidden_checks_last_and_keeps_the_spec_order(exercise: Exercise
                                                                    ) -> None:
    assert [c.name for c in run_order(exercise.checks)] == ["a", "b", "c", "h1", "h2"]


def test_run_order_of_visible_only_or_hidden_only_is_the_spec_order(exercise: Exercise
                                                                    ) -> None:
    visible = tuple(c for c in exercise.checks if not c.hidden)
    hidden = tuple(c for c in exercise.checks if c.hidden)
    assert run_order(visible) == visible and run_order(hidden) == hidden


def test_hidden_requests_come_after_every_visible_one_and_after_the_mark(
        exercise: Exercise, events: tuple[list[str], str]) -> None:
    seen, sock = events

    def mark() -> None:
        seen.append("MARK")

    outcomes = run_checks(GradingContext(exercise, RecordingTarget(sock),
                                         time.monotonic() + 60, before_hidden=mark))
    assert seen == ["/a", "/b", "/c", "MARK", "/h1", "/h2"]
    assert {k: o.status for k, o in outcomes.items()} == {
        c.id: "passed" for c in exercise.checks}


def test_no_hidden_check_no_mark(exercise: Exercise, events: tuple[list[str], str]) -> None:
    seen, sock = events
    spec = exercise.spec_path
    spec.write_text("\n".join(line for line in SPEC.splitlines() if "hidden" not in line),
                    encoding="utf-8")
    only_visible = load_exercise(spec)
    run_checks(GradingContext(only_visible, RecordingTarget(sock), time.monotonic() + 60,
                              before_hidden=lambda: seen.append("MARK")))
    assert seen == ["/a", "/b", "/c"]


class InterruptedTarget(RecordingTarget):
    """Ctrl-C arrives while a check talks to the app."""

    def new_client(self, timeout: float) -> AppClient:
        raise KeyboardInterrupt


def test_an_interrupt_during_a_check_is_an_interrupt_not_a_grader_bug(
        exercise: Exercise, tmp_path: Path) -> None:
    # a batch worker told to stop must cancel the student, never store "a bug in grade"
    with pytest.raises(KeyboardInterrupt):
        run_checks(GradingContext(exercise, InterruptedTarget(str(tmp_path / "none.sock")),
                                  time.monotonic() + 60))
