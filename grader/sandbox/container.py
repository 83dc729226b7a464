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
import tempfile
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
from docker.types import LogConfig, Ulimit

from grader.errors import SandboxError
from grader.sandbox.base import Sandbox, SandboxRun
from grader.spec.exercise import Limits

SANDBOX_UID = 10001
MANAGED_LABEL = "grade.managed"  # on every container and build helper grade creates
OWNER_LABEL = "grade.owner"  # host:pid of the grader that owns it


class DockerSandbox(Sandbox):
    """One hardened container for one submission."""

    def __init__(self, client: docker.DockerClient, image: str, submission: Path, limits: Limits,
                 labels: Mapping[str, str] | None = None) -> None:
        super().__init__(limits)
        self.client = client
        self.image = image
        self.submission = submission
        self.labels = dict(labels or {})
        self.name = f"grade-{uuid.uuid4().hex[:12]}"
        self._dir: Path | None = None
        self._container: Any = None

    def _launch(self) -> Path:
        folder = self._dir = Path(tempfile.mkdtemp(prefix="grade-sock-"))
        # The sandbox user must create its sockets here, and only until we lock it.
        os.chmod(folder, 0o777)
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
                    str(folder): {"bind": "/grade", "mode": "rw"},
                },
                labels={**managed_labels(), **self.labels},
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
        return folder

    def _check_running(self) -> None:
        self._container.reload()
        if self._container.status not in ("created", "running"):
            logs = self._container.logs().decode("utf-8", "replace")[-2000:]
            raise SandboxError(f"the sandbox agent exited before starting:\n{logs}")

    def _lock(self, folder: Path) -> None:
        os.chmod(folder, 0o755)

    def _fix_hint(self) -> str:
        return "check the image with `grade image build --rebuild`"

    def wait_exit(self, timeout: float) -> int | None:
        try:
            result = self._container.wait(timeout=timeout)
            return int(result.get("StatusCode", -1))
        except (docker.errors.APIError, requests.exceptions.RequestException):
            return None  # still running, or the engine could not say

    def _printed(self) -> tuple[bytes, int]:
        try:
            raw = self._logs()
        except (docker.errors.APIError, requests.exceptions.RequestException):
            raw = b""  # nothing is shown to the student then, which is safe
        return raw, len(raw)

    def _logs(self) -> bytes:
        # At most the log driver's 1 MiB: older output is gone (log_config in _launch).
        return bytes(self._container.logs(stdout=True, stderr=True))

    def _stop(self) -> SandboxRun:
        c = self._container
        if c is None:
            return SandboxRun()
        try:
            c.kill()
        except docker.errors.APIError:
            pass  # already stopped
        try:
            c.reload()
            state = c.attrs.get("State", {})
            raw = self._logs()
        except docker.errors.APIError:
            return SandboxRun()
        return self._ended(raw, total=len(raw), exit_code=state.get("ExitCode"),
                           oom_killed=bool(state.get("OOMKilled")))

    def _remove(self) -> None:
        try:
            _remove(self.client, self.name)
        finally:
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)


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


def managed_labels() -> dict[str, str]:
    """The labels that let a later run find and remove what this process leaves behind."""
    return {MANAGED_LABEL: "1", OWNER_LABEL: f"{socket.gethostname()}:{os.getpid()}"}


def remove_orphans(client: docker.DockerClient) -> int:
    """Remove sandbox containers left by grader processes on this host that died."""
    host = socket.gethostname()
    removed = 0
    # The plain listing: containers.list() inspects each one, and another grader may
    # remove one in between (NotFound). Removing one already gone is fine too.
    for c in client.api.containers(all=True, filters={"label": MANAGED_LABEL}):
        labels = c.get("Labels") or {}
        owner_host, _, pid = str(labels.get(OWNER_LABEL, "")).partition(":")
        if owner_host != host or not pid.isdigit() or _alive(int(pid)):
            continue
        _remove(client, str(c.get("Id")))
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
