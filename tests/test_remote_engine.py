"""Grading on an engine that sees none of the client's files, as Docker Desktop's does.

tests/remote_engine.py starts a second dockerd in its own mount namespace (a
fresh tmpfs on /tmp) reached over a unix socket and over TCP with TLS. These
tests first prove the simulation (a bind mount of a client folder arrives
empty there), then build the sandbox image on it with `grade image build`,
and grade the shipped exercises through both connections, in the library and
through the CLI (`submit`, `batch`, `check`, `selftest`), expecting the
verdicts the local engine gives. The hostile suite runs there too
(tests/test_hostile.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest
import requests

from grader.grading.scoring import GradeResult
from grader.sandbox import ImageRef
from grader.sandbox.container import managed_labels
from grader.spec import catalog

from .helpers import EXERCISES, ROOT, GradePath
from .remote_engine import CA_BUNDLE_ENV, DOCKER_ENV, RemoteEngine

pytestmark = [pytest.mark.docker, pytest.mark.remote_engine]

TRANSPORTS = ["unix", "tls"]  # the second engine's unix socket, and TCP with TLS
SHIPPED = catalog.available(EXERCISES)
EXAMPLE_REPO = ROOT / "examples" / "student-repo"
# Lists the mount point and leaves a file in it: neither may cross between the two sides.
_PROBE = ("import os; print(sorted(os.listdir('/mnt')));"
          "open('/mnt/from-the-container', 'w').close()")


def _client(request: pytest.FixtureRequest, transport: str) -> docker.DockerClient:
    name = {"local": "docker_client", "unix": "remote_client", "tls": "tls_client"}[transport]
    client: docker.DockerClient = request.getfixturevalue(name)
    return client


def _grade_path(request: pytest.FixtureRequest, transport: str) -> GradePath:
    name = {"local": "grade_path", "unix": "remote_grade_path", "tls": "tls_grade_path"}
    grade_path: GradePath = request.getfixturevalue(name[transport])
    return grade_path


@pytest.fixture
def client_folder() -> Iterator[Path]:
    """A fresh folder in the client's /tmp, holding one file."""
    folder = Path(tempfile.mkdtemp(prefix="grade-remote-probe-"))
    (folder / "on-the-client").write_text("the client's file\n", encoding="utf-8")
    yield folder
    shutil.rmtree(folder)


def _listing(client: docker.DockerClient, image: str, folder: Path) -> str:
    """What a container that bind-mounts *folder* at /mnt finds there."""
    container: Any = None
    try:
        container = client.containers.create(
            image, ["python3", "-c", _PROBE], network_mode="none", labels=managed_labels(),
            volumes={str(folder): {"bind": "/mnt", "mode": "rw"}})
        container.start()
        status = container.wait(timeout=60)
        output = bytes(container.logs()).decode("utf-8", "replace").strip()
        assert status.get("StatusCode") == 0, output
        return output
    finally:
        if container is not None:
            container.remove(force=True)


# -- the simulation itself ---------------------------------------------------------------------


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_second_engine_sees_none_of_the_clients_files(
        request: pytest.FixtureRequest, transport: str, remote_image: ImageRef,
        client_folder: Path) -> None:
    assert _listing(_client(request, transport), remote_image.tag, client_folder) == "[]"
    assert sorted(p.name for p in client_folder.iterdir()) == ["on-the-client"]


def test_the_local_engine_does_see_them(docker_client: docker.DockerClient,
                                        sandbox_image: ImageRef, client_folder: Path) -> None:
    # The control: the same probe on the first engine shares the folder both ways.
    found = _listing(docker_client, sandbox_image.tag, client_folder)
    assert found == "['on-the-client']"
    assert (client_folder / "from-the-container").is_file()


def test_tls_refuses_a_client_without_a_certificate(remote_engine: RemoteEngine) -> None:
    session = requests.Session()
    session.trust_env = False  # CA_BUNDLE_ENV would replace the engine's CA
    with pytest.raises(requests.exceptions.SSLError):
        session.get(f"https://127.0.0.1:{remote_engine.port}/_ping",
                    verify=str(remote_engine.tls.ca), timeout=30)
    answer = session.get(f"https://127.0.0.1:{remote_engine.port}/_ping",
                         verify=str(remote_engine.tls.ca), timeout=30,
                         cert=(str(remote_engine.tls.cert), str(remote_engine.tls.key)))
    assert answer.text == "OK"


def test_the_image_built_there_is_the_one_both_connections_see(
        remote_image: ImageRef, remote_client: docker.DockerClient,
        tls_client: docker.DockerClient, sandbox_image: ImageRef) -> None:
    assert remote_image.tag == sandbox_image.tag  # same sandbox/ files, same tag
    assert tls_client.images.get(remote_image.tag).id == remote_image.id
    assert remote_client.images.get(remote_image.tag).id == remote_image.id


def test_grade_over_tls_ignores_a_ca_bundle_in_the_environment(
        remote_engine: RemoteEngine, remote_image: ImageRef) -> None:
    # requests would let REQUESTS_CA_BUNDLE (or CURL_CA_BUNDLE) replace docker-py's CA,
    # so `grade` could not reach a TLS engine from a shell that sets one (common behind
    # company proxies); `docker` itself can (docker_connection._client).
    env = remote_engine.env(os.environ, over_tls=True) | dict.fromkeys(
        CA_BUNDLE_ENV, "/etc/ssl/certs/ca-certificates.crt")
    done = subprocess.run([sys.executable, "-m", "grader.cli", "image", "build"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-1500:]


# -- grading there, in the library ---------------------------------------------------------------


def _verdict(result: GradeResult) -> tuple[object, ...]:
    return (result.status, result.score, tuple((c.name, c.status, c.points)
                                               for c in result.checks))


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("ex", SHIPPED)
def test_solution_full_marks_and_starter_as_locally(
        request: pytest.FixtureRequest, transport: str, ex: str) -> None:
    remote = _grade_path(request, transport)
    exercise = catalog.find(ex, EXERCISES)
    assert exercise.solution is not None and exercise.starter is not None
    solution = remote(ex, exercise.solution)
    failed = [(c.name, c.message) for c in solution.checks if c.status != "passed"]
    assert (solution.status, solution.score) == ("passed", solution.max_score), (
        solution.problem, failed, solution.output[-1500:])
    starter = remote(ex, exercise.starter)
    local = _grade_path(request, "local")(ex, exercise.starter)
    assert _verdict(starter) == _verdict(local), starter.output[-1500:]


# -- grading there, through the CLI --------------------------------------------------------------


def _cli(engine: RemoteEngine | None, transport: str, *args: str, cwd: Path = ROOT,
         **extra: str) -> subprocess.CompletedProcess[str]:
    """Run `grade ARGS` against the local engine or the second one."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("GRADE_")}
    env = base if engine is None else engine.env(base, over_tls=transport == "tls")
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=cwd,
                          env=env | extra, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def on_local() -> dict[tuple[str, ...], Any]:
    """What a command gave on the local engine, computed once per module."""
    return {}


def _both(on_local: dict[tuple[str, ...], Any], engine: RemoteEngine, transport: str,
          key: tuple[str, ...], run: Any) -> tuple[Any, Any]:
    """run(engine, transport) there, and (once) on the local engine."""
    if key not in on_local:
        on_local[key] = run(None, "local")
    return run(engine, transport), on_local[key]


def _submitted(engine: RemoteEngine | None, transport: str, ex: str, path: Path,
               out: Path) -> tuple[object, ...]:
    done = _cli(engine, transport, "submit", ex, str(path), "--json", "--report-dir",
                str(out / transport))
    assert done.returncode in (0, 1), done.stdout[-1500:] + done.stderr[-1500:]
    data = json.loads(done.stdout)
    return (done.returncode, data["status"], data["score"],
            [(c["name"], c["status"], c["points"]) for c in data["checks"]])


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("ex", ["ex02", "ex03"])
def test_submit_gives_the_local_verdict(remote_image: ImageRef, sandbox_image: ImageRef,
                                        remote_engine: RemoteEngine,
                                        on_local: dict[tuple[str, ...], Any],
                                        transport: str, ex: str, tmp_path: Path) -> None:
    for role in ("solution", "starter"):
        path = EXERCISES / ex / f"{role}.py"
        there, here = _both(on_local, remote_engine, transport, ("submit", ex, role),
                            lambda engine, t, p=path: _submitted(engine, t, ex, p, tmp_path))
        assert there == here
    assert here[:2] == (1, "failed")  # the starter: a verdict worth comparing


def _batch(engine: RemoteEngine | None, transport: str, cls: Path, out: Path
           ) -> dict[str, tuple[object, ...]]:
    done = _cli(engine, transport, "batch", "ex02", str(cls), "--out", str(out / transport),
                "--jobs", "2")
    assert done.returncode in (0, 1), done.stdout[-1500:] + done.stderr[-1500:]
    rows = json.loads((out / transport / "gradebook.json").read_text(encoding="utf-8"))
    return {r["student"]: (r["status"], r["score"]) for r in rows}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_batch_gives_the_local_gradebook(remote_image: ImageRef, sandbox_image: ImageRef,
                                         remote_engine: RemoteEngine,
                                         on_local: dict[tuple[str, ...], Any],
                                         transport: str, tmp_path: Path) -> None:
    cls = tmp_path / "class"
    cls.mkdir()
    shutil.copyfile(EXERCISES / "ex02" / "solution.py", cls / "alice.py")
    shutil.copyfile(EXERCISES / "ex02" / "starter.py", cls / "bob.py")
    (cls / "carol").mkdir()
    shutil.copyfile(EXERCISES / "ex02" / "solution.py", cls / "carol" / "app.py")
    (cls / "dave.py").write_text("from flask import Flask\napp = Flask(__name__\n",
                                 encoding="utf-8")
    there, here = _both(on_local, remote_engine, transport, ("batch",),
                        lambda engine, t: _batch(engine, t, cls, tmp_path))
    assert there == here
    assert {name: status for name, (status, _) in here.items()} == {
        "alice": "passed", "bob": "failed", "carol": "passed", "dave": "error"}


def _checked(engine: RemoteEngine | None, transport: str, repo: Path) -> tuple[object, ...]:
    done = _cli(engine, transport, "check", cwd=repo, GRADE_SANDBOX="docker")
    lines = [line for line in done.stdout.splitlines()
             if line.startswith(("ex01 ·", "ex02 ·", "Points"))]
    return done.returncode, lines, "isolates less" in done.stderr


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_check_gives_the_local_verdict(remote_image: ImageRef, sandbox_image: ImageRef,
                                       remote_engine: RemoteEngine,
                                       on_local: dict[tuple[str, ...], Any],
                                       transport: str, tmp_path: Path) -> None:
    repo = Path(shutil.copytree(EXAMPLE_REPO, tmp_path / f"repo-{uuid.uuid4().hex[:6]}"))
    there, here = _both(on_local, remote_engine, transport, ("check",),
                        lambda engine, t: _checked(engine, t, repo))
    assert there == here
    assert here[0] == 1 and "Points 5/12" in here[1] and here[2] is False


def test_selftest_passes_on_the_second_engine(remote_image: ImageRef,
                                              remote_engine: RemoteEngine) -> None:
    # Solutions, starters and every mutant, over the unix socket (TLS: the tests above).
    done = _cli(remote_engine, "unix", "selftest")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert done.stdout.rstrip().endswith(f"selftest: all {len(SHIPPED)} exercise(s) passed")


def _context_config(folder: Path, host: str) -> Path:
    """A Docker CLI configuration whose current context points at *host*, as Docker
    Desktop sets up ``desktop-linux`` (DOCKER_HOST unset)."""
    name = "desktop-sim"
    meta = folder / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({
        "Name": name, "Metadata": {},
        "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": False}}}), encoding="utf-8")
    (folder / "config.json").write_text(json.dumps({"currentContext": name}), encoding="utf-8")
    return folder


def test_the_docker_clis_current_context_is_followed(remote_image: ImageRef,
                                                     remote_engine: RemoteEngine,
                                                     tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("GRADE_") and k not in DOCKER_ENV}
    solution = str(EXERCISES / "ex02" / "solution.py")
    gone = _context_config(tmp_path / "gone", f"unix://{tmp_path}/no-engine.sock")
    done = subprocess.run([sys.executable, "-m", "grader.cli", "submit", "ex02", solution,
                           "--report-dir", str(tmp_path / "r1")], cwd=ROOT,
                          env=base | {"DOCKER_CONFIG": str(gone)}, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 3 and "no-engine.sock" in done.stderr, done.stderr[-1500:]
    there = _context_config(tmp_path / "there", remote_engine.unix_url)
    done = subprocess.run([sys.executable, "-m", "grader.cli", "submit", "ex02", solution,
                           "--report-dir", str(tmp_path / "r2")], cwd=ROOT,
                          env=base | {"DOCKER_CONFIG": str(there)}, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "7/7" in done.stdout, done.stdout + done.stderr[-1500:]
