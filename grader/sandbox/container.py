"""Run one submission in a locked-down container and talk to it.

Trust boundary: the container holds the student's code and the agent; the host
holds the spec and decides the score. Nothing of the host is mounted: the
engine's API is the only way in and out, so the same code works with a local
engine, Docker Desktop's VM, or an engine reached over TCP with TLS or SSH.

- The agent binds ``/grade/ctl.sock`` (JSON lines) and ``/grade/app.sock``
  (HTTP) in a small tmpfs, before any student code exists.
- The host starts the relay (sandbox/relay.py) with ``docker exec``, as a uid
  of its own that student code cannot signal or trace, and reaches both
  sockets through its stdin and stdout (exec_link.py). The relay owns
  ``/grade`` and makes it read-only once the agent listens.
- The submission's files go to the agent over that connection
  (``Sandbox.load``); its output comes back through the engine's logs.
"""

from __future__ import annotations

import math
import os
import socket
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
from grader.sandbox.base import Sandbox, SandboxRun, Target
from grader.sandbox.exec_link import ExecLink, LinkBroken
from grader.spec.exercise import Limits

SANDBOX_UID = 10001
RELAY = ["python3", "-I", "-S", "/opt/grade/relay.py"]
MANAGED_LABEL = "grade.managed"  # on every container and build helper grade creates
OWNER_LABEL = "grade.owner"  # host:pid of the grader that owns it


class DockerSandbox(Sandbox):
    """One hardened container for one submission."""

    def __init__(self, client: docker.DockerClient, image: str, submission: Path, limits: Limits,
                 labels: Mapping[str, str] | None = None) -> None:
        super().__init__(submission, limits)
        self.client = client
        self.image = image
        self.labels = dict(labels or {})
        self.name = f"grade-{uuid.uuid4().hex[:12]}"
        self._created = False  # API calls name it: one name, known before it exists
        self._link: ExecLink | None = None

    def _launch(self) -> None:
        lim = self.limits
        uid, relay = _sandbox_uid(), _relay_uid()
        api = self.client.api
        try:
            # The low-level calls: containers.create() would inspect the new container
            # once more, an engine round trip per submission that nothing here reads.
            host_config = api.create_host_config(
                network_mode="none",
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                read_only=True,
                tmpfs={"/tmp": f"rw,nosuid,nodev,size={lim.tmpfs_mb}m,mode=1777",
                       # The agent's sockets; the relay owns it and locks it (relay.py).
                       "/grade": f"rw,nosuid,nodev,noexec,size=64k,uid={relay},gid={relay},"
                                 "mode=1777"},
                shm_size="8m",
                pids_limit=lim.pids,
                mem_limit=f"{lim.memory_mb}m",
                memswap_limit=f"{lim.memory_mb}m",
                nano_cpus=int(lim.cpus * 1e9),
                ulimits=[Ulimit(name="nofile", soft=256, hard=256),
                         Ulimit(name="core", soft=0, hard=0)],
                log_config=LogConfig(type="json-file",
                                     config={"max-size": "1m", "max-file": "1"}),
            )
            api.create_container(
                self.image,
                command=["python3", "/opt/grade/agent.py"],
                name=self.name,
                user=f"{uid}:{uid}",
                labels={**managed_labels(), **self.labels},
                environment={"HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1"},
                working_dir="/tmp",
                host_config=host_config,
                detach=True,  # nothing attaches: the output comes through the logs
            )
            self._created = True
            api.start(self.name)
            # Started while the agent boots; the host's first connection waits for it.
            exec_id = api.exec_create(
                self.name, RELAY, stdin=True, stdout=True, stderr=True, tty=False,
                user=f"{relay}:{relay}", workdir="/")["Id"]
            self._link = ExecLink(api.exec_start(exec_id, socket=True), self.name)
        except docker.errors.ImageNotFound as e:
            raise SandboxError(f"the sandbox image {self.image} is missing; "
                               "run `grade image build`") from e
        except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
            raise SandboxError(f"Docker could not start the sandbox: {e}") from e
        except LinkBroken as e:
            raise SandboxError(str(e)) from e

    def _dial(self, target: Target, timeout: float) -> socket.socket:
        if self._link is None:
            raise LinkBroken("the sandbox is not started")
        # The agent is known to listen once its control connection is up: HTTP
        # connections need not wait for the relay's answer.
        return self._link.open(target, timeout, confirmed=target == "ctl")

    def _state(self) -> dict[str, Any]:
        return dict(self.client.api.inspect_container(self.name).get("State") or {})

    def _check_running(self) -> None:
        if self._state().get("Status") not in ("created", "running"):
            logs = self._logs().decode("utf-8", "replace")[-2000:]
            raise SandboxError(f"the sandbox agent exited before starting:\n{logs}")
        if self._link is not None and self._link.broken is not None:
            raise SandboxError(f"the connection to the sandbox ended: {self._link.broken}")

    def _still_ready(self) -> bool:
        if not self._created or self._link is None or self._link.broken is not None:
            return False
        try:
            return bool(self._state().get("Running"))
        except (docker.errors.APIError, requests.exceptions.RequestException):
            return False

    def _fix_hint(self) -> str:
        return "check the image with `grade image build --rebuild`"

    def wait_exit(self, timeout: float) -> int | None:
        try:
            result = self.client.api.wait(self.name, timeout=math.ceil(timeout))
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
        return bytes(self.client.api.logs(self.name, stdout=True, stderr=True))

    def _stop(self) -> SandboxRun:
        """Kill it, then read what the report needs; the removal may follow in the background.

        The kill comes first and the engine answers it once the container has
        stopped: its state then says whether the kernel killed it for memory
        (an OOM event is handled by the engine apart from the death it causes),
        and its log holds everything it printed up to the end (the engine
        copies the output asynchronously; a live read can miss the last lines,
        such as the traceback of the last request).
        """
        if not self._created:
            return SandboxRun()
        try:
            self.client.api.kill(self.name)
        except docker.errors.APIError:
            pass  # not running any more
        except requests.exceptions.RequestException:
            return SandboxRun()
        try:
            state = self._state()
            raw = self._logs()
        except (docker.errors.APIError, requests.exceptions.RequestException):
            return SandboxRun()
        running = bool(state.get("Running"))
        return self._ended(raw, total=len(raw),
                           exit_code=None if running else state.get("ExitCode"),
                           oom_killed=bool(state.get("OOMKilled")))

    def _remove(self) -> None:
        try:
            if self._link is not None:
                self._link.close()
        finally:
            force_remove(self.client, self.name)


def force_remove(client: docker.DockerClient, name: str) -> None:
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


def _relay_uid() -> int:
    # Not the student's: student code must not signal the relay or open its pipes.
    return _sandbox_uid() + 1


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
        force_remove(client, str(c.get("Id")))
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
