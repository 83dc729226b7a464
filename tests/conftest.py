"""Shared fixtures. Docker tests use the real engine and the real sandbox image."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest

from grader.errors import DockerUnavailable
from grader.grading.run import ImageRef, grade
from grader.grading.scoring import GradeResult
from grader.sandbox import engine, image
from grader.sandbox.container import LABEL
from grader.spec import catalog

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = Path(__file__).resolve().parent / "submissions"
EXERCISES = ROOT / "exercises"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = engine.connect()
    except DockerUnavailable as e:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs a Docker engine: {e}")
        pytest.skip(f"no Docker engine: {e}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def sandbox_image(docker_client: docker.DockerClient) -> ImageRef:
    info = image.ensure_image(docker_client, progress=print)
    return ImageRef(info.tag, info.id)


def _leftovers(client: docker.DockerClient) -> list[str]:
    """This test process's sandbox containers (others may share the engine)."""
    mine = f"grade.owner={socket.gethostname()}:{os.getpid()}"
    return [c.name for c in client.containers.list(all=True, filters={"label": [LABEL, mine]})]


@pytest.fixture
def no_leftover_containers(docker_client: docker.DockerClient) -> Iterator[None]:
    """Fail the test if it leaves a sandbox container behind."""
    before = set(_leftovers(docker_client))
    yield
    left = set(_leftovers(docker_client)) - before
    assert not left, f"containers left behind: {left}"


@pytest.fixture
def grade_path(docker_client: docker.DockerClient, sandbox_image: ImageRef,
               no_leftover_containers: None) -> Callable[[str, Path], GradeResult]:
    """Grade a submission path for an exercise id, for real."""

    def run(exercise_id: str, path: Path) -> GradeResult:
        return grade(catalog.find(exercise_id, EXERCISES), path, docker_client, sandbox_image)

    return run
