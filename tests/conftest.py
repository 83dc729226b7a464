"""Shared fixtures. Docker tests use the real engine and the real sandbox image."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
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

from . import remote_engine as remote
from .helpers import EXERCISES, ROOT, GradePath

# Property tests (test_untrusted_input.py) are deterministic and modest: the same
# examples on every run and machine, few enough for CI. `--hypothesis-profile=deep`
# searches longer, locally.
settings.register_profile("ci", derandomize=True, max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("GRADE_HYPOTHESIS_PROFILE", "ci"))

# A shell starts background commands with SIGINT ignored, and an ignored signal stays
# ignored in every child: a `grade` started by the Ctrl-C tests would never see theirs.
# A handler of our own is reset to the default in children, so they get Ctrl-C again.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


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
    return [c.name for c in client.containers.list(all=True, ignore_removed=True,
                                                   filters={"label": [MANAGED_LABEL, mine]})]


def _no_leftovers_on(client: docker.DockerClient) -> Iterator[None]:
    before = set(_leftovers(client))
    yield
    left = set(_leftovers(client)) - before
    assert not left, f"containers left behind: {left}"


@pytest.fixture
def no_leftover_containers(docker_client: docker.DockerClient) -> Iterator[None]:
    """Fail the test if it leaves a sandbox container behind."""
    yield from _no_leftovers_on(docker_client)


def _grading_on(client: docker.DockerClient, sandboxes: SandboxFactory) -> Iterator[GradePath]:
    def run(exercise_id: str, path: Path) -> GradeResult:
        return grade(catalog.find(exercise_id, EXERCISES), path, sandboxes)

    for _ in _no_leftovers_on(client):
        yield run


@pytest.fixture
def grade_path(docker_client: docker.DockerClient,
               docker_sandboxes: SandboxFactory) -> Iterator[GradePath]:
    """Grade a submission path for an exercise id, for real (no container may be left)."""
    yield from _grading_on(docker_client, docker_sandboxes)


# -- a second engine that sees none of the client's files (tests/remote_engine.py) -----------


@pytest.fixture(scope="session")
def remote_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[remote.RemoteEngine]:
    """A running second engine, as Docker Desktop's: no client folder reaches it."""
    reason = remote.unavailable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs a second Docker engine: {reason}")
        pytest.skip(f"no second Docker engine: {reason}")
    log = tmp_path_factory.mktemp("remote-engine") / "dockerd.log"
    with ExitStack() as stack:
        try:
            engine = stack.enter_context(remote.running(log))
        except remote.RemoteEngineError as e:
            pytest.fail(f"the second engine did not start: {e}")
        yield engine


@pytest.fixture(scope="session")
def remote_client(remote_engine: remote.RemoteEngine) -> Iterator[docker.DockerClient]:
    """The second engine over its unix socket."""
    client = remote_engine.unix_client()
    yield client
    client.close()


@pytest.fixture(scope="session")
def tls_client(remote_engine: remote.RemoteEngine) -> Iterator[docker.DockerClient]:
    """The second engine over TCP with TLS (client certificate, checked CA)."""
    client = remote_engine.tls_client()
    yield client
    client.close()


@pytest.fixture(scope="session")
def remote_image(remote_engine: remote.RemoteEngine,
                 remote_client: docker.DockerClient) -> ImageRef:
    """The sandbox image, built on the second engine by `grade image build` (over TLS)."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "grader.cli", "image", "build"], cwd=ROOT,
                          env=remote_engine.env(os.environ, over_tls=True),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        pytest.fail(f"`grade image build` on the second engine failed ({done.returncode}):\n"
                    f"{done.stdout[-3000:]}{done.stderr[-3000:]}\n"
                    f"dockerd log ({remote_engine.log}):\n{remote_engine.log_tail()}")
    info = image.find_image(remote_client)
    assert info is not None, f"`grade image build` succeeded but no image:\n{done.stderr}"
    print(f"sandbox image built on the second engine in {time.monotonic() - started:.0f} s")
    return ImageRef(info.tag, info.id)


@pytest.fixture(scope="session")
def remote_sandboxes(remote_client: docker.DockerClient, remote_image: ImageRef
                     ) -> SandboxFactory:
    return SandboxFactory(SandboxPlan("docker", remote_image), remote_client)


@pytest.fixture(scope="session")
def tls_sandboxes(tls_client: docker.DockerClient, remote_image: ImageRef) -> SandboxFactory:
    return SandboxFactory(SandboxPlan("docker", remote_image), tls_client)


@pytest.fixture
def remote_grade_path(remote_client: docker.DockerClient,
                      remote_sandboxes: SandboxFactory) -> Iterator[GradePath]:
    """grade_path on the second engine over its unix socket."""
    yield from _grading_on(remote_client, remote_sandboxes)


@pytest.fixture
def tls_grade_path(tls_client: docker.DockerClient,
                   tls_sandboxes: SandboxFactory) -> Iterator[GradePath]:
    """grade_path on the second engine over TCP with TLS."""
    yield from _grading_on(tls_client, tls_sandboxes)


# -- the service (grade serve): a new database per test, on SQLite and PostgreSQL --------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def serve_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database's URL: every service test runs on both databases."""
    from .serve_support import new_database

    with new_database(request.param, tmp_path / "data") as url:
        yield url


@pytest.fixture
def serve_config(tmp_path: Path, serve_database: str) -> Iterator[object]:
    from .serve_support import make_config

    yield make_config(tmp_path / "data", serve_database)


@pytest.fixture
def serve_app(serve_config: object) -> Iterator[object]:
    """The service's Flask app on a migrated database (the web side; no grading)."""
    from grader.serve.app import create_app
    from grader.serve.database import upgrade
    from grader.serve.models import db

    app = create_app(serve_config, testing=True)  # type: ignore[arg-type]
    upgrade(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
