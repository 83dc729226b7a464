"""Remove a grader's containers when it dies, even by SIGKILL.

The grader starts a small child process (:class:`Reaper`, ``_CHILD``) in a
session of its own, so the terminal's Ctrl-C does not reach it first. The
child holds the read end of a pipe whose write end only the grader holds:
when the grader exits in any way, the kernel closes that end and the child
reads EOF. It then removes every container that carries both this grader's
owner label (``grade.owner``: host and pid) and this factory's own label, and
exits; it cannot see, let alone remove, another grader's containers, nor
those of another factory of the same process. A grader that closes its
factory in order says ``done`` first: everything is removed already. A close
that was interrupted, or saw a removal fail, leaves the sweep to the child.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import docker
import docker.errors
import requests

from grader.errors import GraderError
from grader.sandbox.container import OWNER_LABEL, force_remove, managed_labels

FACTORY_LABEL = "grade.factory"  # one factory's containers, among its process's
SWEEPS = (0.0, 2.0, 5.0)  # seconds after EOF: a create still in flight lands meanwhile
DONE = b"done\n"
# The child waits with nothing imported but os, signal and sys (a few milliseconds
# of start-up, paid by every factory), and imports the grader only to sweep.
_CHILD = """\
import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)
said = b""
while True:
    chunk = os.read(0, 64)
    if not chunk:
        break
    said = (said + chunk)[-64:]
if not said.endswith(b"done\\n"):  # DONE
    from grader.sandbox.reaper import sweep_until_gone
    sweep_until_gone(sys.argv[1], sys.argv[2])
"""
# Where the child starts: the folder that holds the grader package. Python puts the
# working folder first on the child's path, and the grader's own working folder
# may be a student's repository (`grade check`) with a requests.py of its own.
_HOME = Path(__file__).resolve().parents[2]


class Reaper:
    """The grader's end: start the child, hold the pipe, say ``done`` on an orderly close."""

    def __init__(self) -> None:
        self.token = uuid.uuid4().hex[:16]
        self.owner = managed_labels()[OWNER_LABEL]
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, self.owner, self.token], cwd=_HOME,
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True)

    @property
    def labels(self) -> dict[str, str]:
        """What every container of this factory carries."""
        return {FACTORY_LABEL: self.token}

    @property
    def pid(self) -> int:
        return self._proc.pid

    def close(self, *, done: bool) -> None:
        """Let the child go: without sweeping if *done* (everything is removed)."""
        stdin = self._proc.stdin
        if stdin is None or stdin.closed:
            return
        try:
            if done:
                stdin.write(DONE)
                stdin.flush()
        except BrokenPipeError:
            pass  # the child is gone already; nothing to tell it
        finally:
            try:
                stdin.close()
            except BrokenPipeError:
                pass
        if done:  # it exits at once: collect it (a sweeping one is left to finish)
            try:
                self._proc.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                pass


def sweep(client: docker.DockerClient, owner: str, token: str) -> int:
    """Remove the containers of *owner*'s factory *token*; how many there were."""
    found = client.api.containers(all=True, filters={
        "label": [f"{OWNER_LABEL}={owner}", f"{FACTORY_LABEL}={token}"]})
    for c in found:
        force_remove(client, str(c.get("Id")))
    return len(found)


def sweep_until_gone(owner: str, token: str) -> None:
    """The child's work once its grader is gone: sweep now, and again for late creates."""
    from grader.sandbox import docker_connection

    started = time.monotonic()
    client = None
    for delay in SWEEPS:
        time.sleep(max(0.0, started + delay - time.monotonic()))
        try:
            client = client or docker_connection.connect()
            sweep(client, owner, token)
        except (docker.errors.DockerException, requests.exceptions.RequestException,
                OSError, GraderError):
            continue  # the engine may be busy: the next sweep tries again
