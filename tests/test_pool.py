"""Pools of ready sandboxes, background removal and the reaper, for real (Docker)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from grader.errors import SandboxError
from grader.grading.run import grade, sandbox_labels
from grader.sandbox import ImageRef, Sandbox, SandboxFactory, SandboxPlan
from grader.sandbox.container import MANAGED_LABEL, OWNER_LABEL, DockerSandbox
from grader.sandbox.reaper import FACTORY_LABEL
from grader.spec import catalog
from grader.spec.exercise import Limits

from .helpers import ANY, CASES, EXERCISES, HOSTILE, ROOT

pytestmark = pytest.mark.docker

WARM = 120.0  # seconds a pool may take to fill on a loaded machine
GONE = 60.0  # seconds the reaper may take after its grader died


def _names(client: docker.DockerClient, *labels: str) -> set[str]:
    found = client.api.containers(all=True, filters={"label": [MANAGED_LABEL, *labels]})
    return {str(c["Names"][0]).lstrip("/") for c in found}


def _name(box: Sandbox) -> str:
    assert isinstance(box, DockerSandbox)
    return box.name


def _own(client: docker.DockerClient, factory: SandboxFactory) -> set[str]:
    return _names(client, f"{FACTORY_LABEL}={factory.labels[FACTORY_LABEL]}")


@pytest.fixture
def pooled(docker_client: docker.DockerClient, sandbox_image: ImageRef
           ) -> Iterator[SandboxFactory]:
    factory = SandboxFactory(SandboxPlan("docker", sandbox_image, pool=1), docker_client,
                             owned=True)
    try:
        yield factory
    finally:
        factory.close()
    assert not _own(docker_client, factory), "the factory left containers behind"


def test_a_pool_hands_out_ready_sandboxes_once_each(
        docker_client: docker.DockerClient, pooled: SandboxFactory, tmp_path: Path) -> None:
    limits = Limits()
    pooled.warm(limits)
    assert pooled.wait_warm(WARM)
    waiting = _own(docker_client, pooled)
    assert len(waiting) == 1
    box = pooled(tmp_path, limits)
    assert box.still_ready()
    assert {_name(box)} == waiting  # the one that waited, not a new one
    with box:
        assert box.agent is not None
    with pytest.raises(SandboxError, match="one submission"):
        box.__enter__()
    assert pooled.wait_warm(WARM)
    again = pooled(tmp_path, limits)
    assert _name(again) != _name(box)
    again.close()


def test_a_dead_pooled_sandbox_is_never_handed_out(
        docker_client: docker.DockerClient, pooled: SandboxFactory, tmp_path: Path) -> None:
    limits = Limits()
    pooled.warm(limits)
    assert pooled.wait_warm(WARM)
    (dead,) = _own(docker_client, pooled)
    docker_client.api.kill(dead)
    box = pooled(tmp_path, limits)
    try:
        assert _name(box) != dead
        assert box.still_ready()
    finally:
        box.close()


def test_pools_are_keyed_by_the_limits_fixed_at_creation(
        docker_client: docker.DockerClient, pooled: SandboxFactory, tmp_path: Path) -> None:
    pooled.warm(Limits(memory_mb=256))
    assert pooled.wait_warm(WARM)
    (small,) = _own(docker_client, pooled)
    box = pooled(tmp_path, Limits(memory_mb=300))
    try:
        assert _name(box) != small
        config = docker_client.api.inspect_container(_name(box))["HostConfig"]
        assert config["Memory"] == 300 << 20
    finally:
        box.close()


def test_a_pool_grades_as_fresh_sandboxes_do(
        docker_client: docker.DockerClient, sandbox_image: ImageRef,
        docker_sandboxes: SandboxFactory, pooled: SandboxFactory) -> None:
    ex02 = catalog.find("ex02", EXERCISES)
    ex01 = catalog.find("ex01", EXERCISES)
    hostile = HOSTILE / CASES["exit_at_import"].file
    pooled.warm(ex02.limits, sandbox_labels(ex02))
    pooled.warm(ex01.limits, sandbox_labels(ex01))
    assert pooled.wait_warm(WARM)
    for sandboxes in (docker_sandboxes, pooled):
        solved = grade(ex02, ex02.directory / "solution.py", sandboxes)
        assert (solved.status, solved.score) == ("passed", ex02.max_score)
        exited = grade(ex01, hostile, sandboxes)
        assert (exited.status, exited.score) == ("error", 0)
        assert exited.problem is not None and exited.problem.kind == "Exited"


def test_each_factory_has_its_own_reaper_label(
        docker_client: docker.DockerClient, sandbox_image: ImageRef) -> None:
    with SandboxFactory(SandboxPlan("docker", sandbox_image), docker_client, owned=True) as a, \
            SandboxFactory(SandboxPlan("docker", sandbox_image), docker_client,
                           owned=True) as b:
        assert a.labels[FACTORY_LABEL] != b.labels[FACTORY_LABEL]


_GRADER = textwrap.dedent("""
    import sys, time
    from grader.sandbox import ImageRef, SandboxFactory, SandboxPlan, docker_connection
    from grader.spec.exercise import Limits

    client = docker_connection.connect()
    plan = SandboxPlan("docker", ImageRef(sys.argv[1], sys.argv[2]), pool=2)
    factory = SandboxFactory(plan, client, owned=True)
    factory.warm(Limits())
    assert factory.wait_warm(120)
    print(factory.labels["grade.factory"], flush=True)
    time.sleep(600)
""")


def test_the_reaper_removes_a_killed_graders_pool_and_nothing_else(
        docker_client: docker.DockerClient, sandbox_image: ImageRef, tmp_path: Path) -> None:
    script = tmp_path / "grader_process.py"
    script.write_text(_GRADER)
    proc = subprocess.Popen([sys.executable, str(script), sandbox_image.tag, sandbox_image.id],
                            stdout=subprocess.PIPE, cwd=ROOT, text=True)
    bystander = None
    try:
        assert proc.stdout is not None
        token = proc.stdout.readline().strip()
        assert token, "the grader process did not warm its pool"
        owner = f"{socket.gethostname()}:{proc.pid}"
        mine = (f"{OWNER_LABEL}={owner}", f"{FACTORY_LABEL}={token}")
        assert len(_names(docker_client, *mine)) == 2
        # The same process's container of another factory: not this reaper's.
        bystander = docker_client.api.create_container(
            sandbox_image.tag, command=["true"],
            labels={MANAGED_LABEL: "1", OWNER_LABEL: owner, FACTORY_LABEL: "another"})["Id"]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        deadline = time.monotonic() + GONE
        while _names(docker_client, *mine) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not _names(docker_client, *mine), "the killed grader's pool outlived it"
        assert docker_client.api.inspect_container(bystander)["Id"] == bystander
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=60)
        if proc.stdout is not None:
            proc.stdout.close()
        if bystander is not None:
            docker_client.api.remove_container(bystander, force=True)
        for name in _names(docker_client, f"{OWNER_LABEL}={socket.gethostname()}:{proc.pid}"):
            docker_client.api.remove_container(name, force=True)


def test_a_closed_factory_waited_for_its_removals(
        docker_client: docker.DockerClient, sandbox_image: ImageRef) -> None:
    ex02 = catalog.find("ex02", EXERCISES)
    with SandboxFactory(SandboxPlan("docker", sandbox_image), docker_client,
                        owned=True) as factory:
        result = grade(ex02, ex02.directory / "solution.py", factory)
    assert result.status == "passed"
    assert not _own(docker_client, factory)


@pytest.mark.parametrize("name", ["exit_at_import", "fork_bomb", "memory_bomb", "daemon",
                                  "huge_output"])
def test_hostile_submissions_grade_the_same_through_a_pool(
        name: str, docker_client: docker.DockerClient, pooled: SandboxFactory,
        tmp_path: Path) -> None:
    case = CASES[name]
    exercise = catalog.find(case.exercise, EXERCISES)
    pooled.warm(exercise.limits, sandbox_labels(exercise))
    assert pooled.wait_warm(WARM)
    submission = tmp_path / "submission" / case.file
    submission.parent.mkdir()
    submission.write_bytes((HOSTILE / case.file).read_bytes())
    result = grade(exercise, submission, pooled)
    assert (result.score, result.status) == (case.score, case.status), result.problem
    if case.problem not in (None, ANY):
        assert result.problem is not None and result.problem.kind == case.problem
    if case.verify is not None:
        case.verify(result, tmp_path)


def test_submit_prints_its_verdict_and_removes_its_container_before_it_exits(
        docker_client: docker.DockerClient, sandbox_image: ImageRef, tmp_path: Path) -> None:
    ex02 = EXERCISES / "ex02"
    proc = subprocess.Popen(
        [sys.executable, "-m", "grader.cli", "submit", "ex02", str(ex02 / "solution.py"),
         "--json", "--report-dir", str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert json.loads(out)["status"] == "passed"  # one JSON object, as ever
    # Gone with the process, not left to its reaper's sweep.
    assert not _names(docker_client, f"{OWNER_LABEL}={socket.gethostname()}:{proc.pid}")
