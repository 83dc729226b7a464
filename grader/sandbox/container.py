"""Run one submission in a locked-down container and talk to it.

Trust boundary: the container holds the student's code and the agent; the host
holds the spec and decides the score. The two meet at two unix sockets in a
host folder mounted at ``/grade``: ``app.sock`` (HTTP to the student's app)
and ``ctl.sock`` (JSON lines to the agent). The agent binds both before any
student code exists; the host then makes the folder read-only, so student code
cannot write files that reach the host.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
from docker.types import LogConfig, Ulimit

from grader.errors import SandboxError
from grader.sandbox.agent_client import ControlChannel, ControlClosed
from grader.spec.exercise import Limits

SANDBOX_UID = 10001
LABEL = "grade.managed"


@dataclass(frozen=True)
class SandboxRun:
    """What the host learned about the container after it was removed."""

    output: str = ""
    output_truncated: bool = False
    exit_code: int | None = None
    oom_killed: bool = False


@dataclass
class Sandbox:
    """One container for one submission; use as a context manager."""

    client: docker.DockerClient
    image: str
    submission: Path
    limits: Limits
    labels: dict[str, str] = field(default_factory=dict)
    name: str = field(default_factory=lambda: f"grade-{uuid.uuid4().hex[:12]}")
    run: SandboxRun = field(default_factory=SandboxRun)
    _dir: Path | None = None
    _container: Any = None
    _ctl: ControlChannel | None = None

    @property
    def app_socket(self) -> str:
        assert self._dir is not None
        return str(self._dir / "app.sock")

    def __enter__(self) -> Sandbox:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Create the container, wait for the agent's sockets, lock the folder."""
        self._dir = Path(tempfile.mkdtemp(prefix="grade-sock-"))
        # The sandbox user must create its sockets here, and only until we lock it.
        os.chmod(self._dir, 0o777)
        lim = self.limits
        try:
            self._container = self.client.containers.create(
                self.image,
                command=["python3", "/opt/grade/agent.py"],
                name=self.name,
                user=f"{_sandbox_uid()}:{_sandbox_uid()}",
                network_mode="none",
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                read_only=True,
                tmpfs={"/tmp": f"rw,nosuid,nodev,size={lim.tmpfs_mb}m,mode=1777"},
                shm_size="8m",
                pids_limit=lim.pids,
                mem_limit=f"{lim.memory_mb}m",
                memswap_limit=f"{lim.memory_mb}m",
                nano_cpus=int(lim.cpus * 1e9),
                ulimits=[Ulimit(name="nofile", soft=256, hard=256),
                         Ulimit(name="core", soft=0, hard=0)],
                volumes={
                    str(self.submission): {"bind": "/submission", "mode": "ro"},
                    str(self._dir): {"bind": "/grade", "mode": "rw"},
                },
                labels={LABEL: "1", "grade.owner": _owner(), **self.labels},
                log_config=LogConfig(type="json-file",
                                     config={"max-size": "1m", "max-file": "1"}),
                environment={"HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"},
                working_dir="/tmp",
                detach=True,
            )
            self._container.start()
        except docker.errors.ImageNotFound as e:
            raise SandboxError(f"the sandbox image {self.image} is missing; "
                               "run `grade image build`") from e
        except docker.errors.DockerException as e:
            raise SandboxError(f"Docker could not start the sandbox: {e}") from e
        self._wait_for_agent(time.monotonic() + max(self.limits.startup, 10.0))
        os.chmod(self._dir, 0o755)
        extra = sorted(p.name for p in self._dir.iterdir()) != ["app.sock", "ctl.sock"]
        if extra:
            raise SandboxError(f"unexpected files in the socket folder {self._dir}")
        self._ctl = ControlChannel(str(self._dir / "ctl.sock"))

    def _wait_for_agent(self, deadline: float) -> None:
        assert self._dir is not None
        wanted = [self._dir / "ctl.sock", self._dir / "app.sock"]
        next_status = time.monotonic() + 0.25
        while not all(p.exists() and stat.S_ISSOCK(p.stat().st_mode) for p in wanted):
            now = time.monotonic()
            if now > deadline:
                raise SandboxError("the sandbox agent did not start in time; "
                                   "check the image with `grade image build --rebuild`")
            if now > next_status:
                self._container.reload()
                if self._container.status not in ("created", "running"):
                    logs = self._container.logs().decode("utf-8", "replace")[-2000:]
                    raise SandboxError(f"the sandbox agent exited before starting:\n{logs}")
                next_status = now + 0.25
            time.sleep(0.003)

    def call(self, op: str, args: dict[str, Any] | None = None, *,
             timeout: float) -> dict[str, Any]:
        """Send one control request; return the agent's reply as untrusted data."""
        if self._ctl is None:
            raise ControlClosed("no control connection")
        return self._ctl.call(op, args, timeout)

    def wait_exit(self, timeout: float) -> int | None:
        """The container's exit code, if it stops within *timeout* seconds."""
        try:
            result = self._container.wait(timeout=timeout)
            return int(result.get("StatusCode", -1))
        except (docker.errors.APIError, requests.exceptions.RequestException):
            return None  # still running, or the engine could not say

    def close(self) -> None:
        """Kill and remove the container, keep its capped output, remove the folder."""
        try:
            if self._ctl is not None:
                self._ctl.close()
            if self._container is not None:
                self.run = self._collect()
        finally:
            try:
                _remove(self.client, self.name)
            finally:
                if self._dir is not None:
                    shutil.rmtree(self._dir, ignore_errors=True)

    def _collect(self) -> SandboxRun:
        c = self._container
        try:
            c.kill()
        except docker.errors.APIError:
            pass  # already stopped
        try:
            c.reload()
            state = c.attrs.get("State", {})
            raw = c.logs(stdout=True, stderr=True)
        except docker.errors.APIError:
            return SandboxRun()
        cap = self.limits.output_kb * 1024
        return SandboxRun(
            output=raw[:cap].decode("utf-8", "replace"),
            output_truncated=len(raw) > cap,
            exit_code=state.get("ExitCode"),
            oom_killed=bool(state.get("OOMKilled")),
        )


def _remove(client: docker.DockerClient, name: str) -> None:
    """Force-remove by name; a second Ctrl-C during removal does not skip it."""
    for attempt in range(3):
        try:
            client.api.remove_container(name, force=True, v=True)
            return
        except docker.errors.NotFound:
            return
        except KeyboardInterrupt:
            if attempt == 2:
                raise
        except docker.errors.APIError as e:
            if "removal of container" in str(e) and "in progress" in str(e):
                return
            if attempt == 2:
                raise SandboxError(f"could not remove container {name}: {e}") from e
            time.sleep(0.2)


def _sandbox_uid() -> int:
    # Never the grader's own uid: student code must not run as the checker's user.
    return SANDBOX_UID if os.getuid() != SANDBOX_UID else SANDBOX_UID + 1


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def remove_orphans(client: docker.DockerClient) -> int:
    """Remove sandbox containers left by grader processes on this host that died."""
    host = socket.gethostname()
    removed = 0
    for c in client.containers.list(all=True, filters={"label": LABEL}):
        owner_host, _, pid = str(c.labels.get("grade.owner", "")).partition(":")
        if owner_host != host or not pid.isdigit() or _alive(int(pid)):
            continue
        _remove(client, str(c.name))
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
