"""Hostile submissions, graded for real: each must get its honest grade, in bounded time.

Every app in tests/hostile/ attacks the sandbox or the grader and is built so
its honest score is known (it usually serves a wrong answer after the attack,
so a successful attack would show up as extra points). Each case asserts the
exact score and status, a wall-clock bound, that no check ran past its own
time limit, that the folder holding the submission is unchanged, and (through
the ``grade_path`` fixture) that no sandbox container is left behind.

Every case runs three times with one body (``_grade_hostile``): on the local
engine, and on a second engine that sees none of the host's files, as Docker
Desktop's does (tests/remote_engine.py), over its unix socket and over TCP
with TLS.

Known grader bugs are marked with :func:`known_bug` at the one assertion they
break, so the rest of the case is still checked and a fix shows up as a failure
asking to drop the marker.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from contextlib import AbstractContextManager, ExitStack, nullcontext
from pathlib import Path

import docker
import pytest

from grader.reports.terminal import summary
from grader.sandbox.container import MANAGED_LABEL
from grader.spec import catalog

from .helpers import (
    ANY,
    CASES,
    DAEMON_MARKER,
    EXERCISES,
    HOSTILE,
    MARGIN,
    BugAt,
    Case,
    GradePath,
    known_bug,
    processes_with,
    shared_folders,
)

# -- helpers ------------------------------------------------------------------------------


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every path under *folder* with its mode and (for files) its bytes."""
    return {p.relative_to(folder).as_posix():
            (p.lstat().st_mode, p.read_bytes() if p.is_file() else b"")
            for p in sorted(folder.rglob("*"))}


def _ours(client: docker.DockerClient) -> list[str]:
    owner = f"{socket.gethostname()}:{os.getpid()}"
    return [str(c.name) for c in client.containers.list(
        all=True, ignore_removed=True, filters={"label": [MANAGED_LABEL, f"grade.owner={owner}"]})]


def _at(case: Case, step: BugAt) -> AbstractContextManager[None]:
    return known_bug(case.bug) if case.bug and case.bug_at == step else nullcontext()


# -- the tests: one body, run on each engine ------------------------------------------------


def _grade_hostile(name: str, grade_path: GradePath, client: docker.DockerClient,
                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                   request: pytest.FixtureRequest) -> None:
    """Grade case *name* with *grade_path*, which grades on the engine *client* reaches."""
    case = CASES[name]
    held = ExitStack()
    request.addfinalizer(held.close)
    held.enter_context(shared_folders(case))
    exercise = catalog.find(case.exercise, EXERCISES)
    monkeypatch.setenv("GRADE_HOSTILE_CANARY", f"canary-{os.getpid()}-{time.time_ns()}")
    assert not processes_with(DAEMON_MARKER), "a daemon from an earlier run is still alive"
    folder = tmp_path / "submission"
    folder.mkdir()
    submission = folder / (case.submit_as or case.file)
    shutil.copyfile(HOSTILE / case.file, submission)
    before = _snapshot(tmp_path)

    started = time.monotonic()
    result = grade_path(case.exercise, submission)
    elapsed = time.monotonic() - started

    shown = f"{summary(result)}\noutput: {result.output[:500]!r}"
    assert elapsed < case.seconds, f"grading took {elapsed:.1f} s\n{shown}"
    assert elapsed < exercise.limits.time + MARGIN
    assert not _ours(client), "a sandbox container of this test was left behind"
    assert _snapshot(tmp_path) == before, "grading changed the folder holding the submission"
    if case.problem is None:
        assert result.problem is None, shown
    elif case.problem == ANY:
        assert result.problem is not None, shown
    else:
        assert result.problem is not None and result.problem.kind == case.problem, shown
    with _at(case, "score"):
        assert (result.score, result.status) == (case.score, case.status), shown
    if case.verify is not None:
        with _at(case, "verify"):
            case.verify(result, tmp_path)
    limits = {c.id: c.timeout for c in exercise.checks}
    with _at(case, "durations"):
        late = [(c.name, c.duration) for c in result.checks if c.duration > limits[c.id] + 1]
        assert not late, f"checks ran past their time limit: {late}"


@pytest.mark.docker
@pytest.mark.parametrize("name", list(CASES))
def test_hostile_submission_gets_its_honest_grade(
    name: str, grade_path: GradePath, docker_client: docker.DockerClient, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
) -> None:
    _grade_hostile(name, grade_path, docker_client, tmp_path, monkeypatch, request)


# The same on an engine that sees none of the host's files (tests/remote_engine.py), over
# its unix socket and over TCP with TLS.


@pytest.mark.docker
@pytest.mark.remote_engine
@pytest.mark.parametrize("name", list(CASES))
def test_hostile_submission_on_the_second_engine_over_unix(
    name: str, remote_grade_path: GradePath, remote_client: docker.DockerClient,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
) -> None:
    _grade_hostile(name, remote_grade_path, remote_client, tmp_path, monkeypatch, request)


@pytest.mark.docker
@pytest.mark.remote_engine
@pytest.mark.parametrize("name", list(CASES))
def test_hostile_submission_on_the_second_engine_over_tls(
    name: str, tls_grade_path: GradePath, tls_client: docker.DockerClient,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest,
) -> None:
    _grade_hostile(name, tls_grade_path, tls_client, tmp_path, monkeypatch, request)
