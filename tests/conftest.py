"""Shared fixtures. Docker tests use the real engine and the real sandbox image."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import pytest
from hypothesis import HealthCheck, settings

from grader.errors import DockerUnavailable
from grader.grading.run import grade
from grader.grading.scoring import GradeResult
from grader.sandbox import ImageRef, SandboxFactory, SandboxPlan, docker_connection, image
from grader.sandbox.container import MANAGED_LABEL
from grader.spec import catalog

from .helpers import EXERCISES

# Property tests (test_untrusted_input.py) are deterministic and modest: the same
# examples on every run and machine, few enough for CI. `--hypothesis-profile=deep`
# searches longer, locally.
settings.register_profile("ci", derandomize=True, max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("GRADE_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = docker_connection.connect()
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


@pytest.fixture(scope="session")
def docker_sandboxes(docker_client: docker.DockerClient, sandbox_image: ImageRef
                     ) -> SandboxFactory:
    """Docker sandboxes in the real sandbox image, as `grade submit` makes them."""
    return SandboxFactory(SandboxPlan("docker", sandbox_image), docker_client)


def _leftovers(client: docker.DockerClient) -> list[str]:
    """This test process's sandbox containers (others may share the engine)."""
    mine = f"grade.owner={socket.gethostname()}:{os.getpid()}"
    return [c.name for c in client.containers.list(all=True,
                                                   filters={"label": [MANAGED_LABEL, mine]})]


@pytest.fixture
def no_leftover_containers(docker_client: docker.DockerClient) -> Iterator[None]:
    """Fail the test if it leaves a sandbox container behind."""
    before = set(_leftovers(docker_client))
    yield
    left = set(_leftovers(docker_client)) - before
    assert not left, f"containers left behind: {left}"


@pytest.fixture
def grade_path(docker_sandboxes: SandboxFactory,
               no_leftover_containers: None) -> Callable[[str, Path], GradeResult]:
    """Grade a submission path for an exercise id, for real."""

    def run(exercise_id: str, path: Path) -> GradeResult:
        return grade(catalog.find(exercise_id, EXERCISES), path, docker_sandboxes)

    return run
