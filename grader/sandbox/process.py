"""``--sandbox process``: run a submission without Docker, isolated less than Docker.

The same agent, sockets and trust boundary as the Docker sandbox (container.py), but the agent
is a separate process on the host rather than a container. What this machine
allows is probed once (:func:`probed`):

- as root: the student's code runs as a fresh, otherwise unused uid (one per
  sandbox, so no two runs can touch each other) with no supplementary groups
  and ``no_new_privs``; with ``unshare`` it also gets its own network (none),
  PID and mount namespaces, a size-limited tmpfs home and read-only copies of
  the world-writable folders (/tmp, /var/tmp, /dev/shm);
- as another user: it runs as *that same user*, in user/network/PID
  namespaces where unprivileged ones are permitted;
- always: resource limits (CPU seconds, address space, processes, file size,
  open files, no core dumps), a minimal environment, a Python whose path holds
  only the sandbox's Flask packages, and at the end every process it started is
  killed (the PID namespace dies, or every process of the sandbox uid).

It cannot hide files every user may read: the exercise specs shipped in the
grade package included. docs/ci.md lists what it does not contain, measured.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

from grader.common.data_files import data_path
from grader.errors import SandboxError
from grader.sandbox.base import Sandbox, SandboxRun, Target
from grader.sandbox.process_probe import Isolation, free_uid, probe, processes, processes_of
from grader.spec.exercise import Limits

# Address space is virtual: Python, Flask, SQLAlchemy and a few server threads
# map far more than they touch (measured: a VmPeak of about 175 MiB for ex04).
ADDRESS_SPACE_EXTRA_MB = 256
NOFILE = 256
WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
LAUNCHER = Path(__file__).resolve().parent / "process_launch.py"
SOCKETS = ("app.sock", "ctl.sock")


@contextlib.contextmanager
def probed() -> Iterator[Isolation]:
    """Probe what this machine allows; the sandbox's package folder lives until the end."""
    if not sys.platform.startswith("linux"):
        raise SandboxError(f"--sandbox process needs Linux (this is {sys.platform}); use Docker")
    folder = Path(tempfile.mkdtemp(prefix="grade-procsite-"))
    try:
        os.chmod(folder, 0o755)
        yield probe(folder / "site")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- one sandbox ------------------------------------------------------------------------------


class ProcessSandbox(Sandbox):
    """One agent process for one submission."""

    def __init__(self, isolation: Isolation, submission: Path, limits: Limits,
                 labels: Mapping[str, str] | None = None) -> None:
        super().__init__(submission, limits)
        self.isolation = isolation
        self.labels = dict(labels or {})
        self.uid = -1
        self._root: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._output = bytearray()
        self._output_total = 0
        self._keep = limits.output_kb * 1024  # bytes of output to keep; mark_hidden adds more
        self._reader: threading.Thread | None = None
        self._marker = uuid.uuid4().hex
        self._sock: Path | None = None
        self._locked = False

    @property
    def folder(self) -> Path | None:
        """The sandbox's private folder (sockets, home); gone after close."""
        return self._root

    def _launch(self) -> None:
        """Lay out the folders and start the agent."""
        iso = self.isolation
        self.uid = free_uid() if iso.drop else os.getuid()
        gid = self.uid if iso.drop else os.getgid()
        root = self._root = Path(tempfile.mkdtemp(prefix="grade-proc-"))
        os.chmod(root, 0o711)
        sock, home = root / "sock", root / "home"
        self._sock = sock
        sock.mkdir()
        home.mkdir()
        _own(sock, gid, 0o770 if iso.drop else 0o700)  # the agent binds here until we lock it
        if iso.drop:
            os.chown(home, self.uid, gid)
        os.chmod(home, 0o700)
        config = {
            "agent": str(data_path("sandbox") / "agent.py"),
            "site": str(iso.site), "home": str(home), "sock_dir": str(sock),
            "drop": iso.drop, "uid": self.uid, "gid": gid, "mounts": iso.mounts,
            "freeze": [d for d in WORLD_WRITABLE if os.path.isdir(d)
                       and not os.path.islink(d)],
            "tmpfs_mb": self.limits.tmpfs_mb, "limits": self._rlimits(),
        }
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home),
               "TMPDIR": str(home), "LANG": "C.UTF-8", "USER": "grade-sandbox",
               "LOGNAME": "grade-sandbox", "MALLOC_ARENA_MAX": "2",
               "GRADE_SOCK_DIR": str(sock), "GRADE_WORKDIR": str(home / "app"),
               "GRADE_SANDBOX_RUN": self._marker}
        cmd = [*iso.pdeathsig, *iso.unshare, iso.python, "-I", "-S", "-u", "-B",
               str(LAUNCHER), json.dumps(config)]
        try:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, env=env, cwd=str(root),
                                          start_new_session=True)
        except OSError as e:
            raise SandboxError(f"--sandbox process could not start {iso.python}: {e}") from e
        assert self._proc.stdout is not None
        self._reader = threading.Thread(target=self._drain, args=(self._proc.stdout.fileno(),),
                                        daemon=True)
        self._reader.start()

    def _dial(self, target: Target, timeout: float) -> socket.socket:
        folder = self._sock
        if folder is None:
            raise ConnectionRefusedError("the sandbox is not started")
        if not self._locked:
            if target != "ctl" or not all(_is_socket(folder / name) for name in SOCKETS):
                raise ConnectionRefusedError("the agent is not listening yet")
            os.chmod(folder, 0o750 if self.isolation.drop else 0o500)
            found = sorted(p.name for p in folder.iterdir())
            if found != sorted(SOCKETS):
                raise SandboxError(f"unexpected files in the socket folder {folder}: {found}")
            self._locked = True
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(str(folder / f"{target}.sock"))
        except OSError:
            sock.close()
            raise
        return sock

    def _rlimits(self) -> dict[str, int]:
        lim = self.limits
        nproc = lim.pids
        if not self.isolation.drop:  # RLIMIT_NPROC counts every process of the user
            nproc += sum(1 for _, uid, _ in processes() if uid == self.uid) + 16
        return {
            "RLIMIT_CPU": math.ceil(lim.time) + 1,
            "RLIMIT_AS": (lim.memory_mb + ADDRESS_SPACE_EXTRA_MB) << 20,
            "RLIMIT_NPROC": nproc,
            "RLIMIT_FSIZE": lim.tmpfs_mb << 20,
            "RLIMIT_NOFILE": NOFILE,
            "RLIMIT_CORE": 0,
        }

    def _drain(self, fd: int) -> None:
        while chunk := os.read(fd, 1 << 16):
            if len(self._output) < self._keep:
                self._output += chunk[:self._keep - len(self._output)]
            self._output_total += len(chunk)  # after: _printed reads it first

    def _printed(self) -> tuple[bytes, int]:
        total = self._output_total
        kept = bytes(self._output)
        # What follows is the hidden checks' part: keep as much of it again, for instructors.
        self._keep = len(kept) + self.limits.output_kb * 1024
        return kept, total

    def _check_running(self) -> None:
        assert self._proc is not None
        if self._proc.poll() is not None:
            if self._reader is not None:
                self._reader.join(1.0)  # let the reader take the last words
            tail = bytes(self._output[-2000:]).decode("utf-8", "replace")
            raise SandboxError(f"the sandbox agent exited before starting "
                               f"(exit code {self._proc.returncode}):\n{tail}")

    def wait_exit(self, timeout: float) -> int | None:
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def _stop(self) -> SandboxRun:
        """Kill every process of the sandbox and keep its capped output."""
        if self._proc is None:
            return SandboxRun()
        self._kill_all()
        if self.isolation.drop and not self.isolation.mounts:
            _sweep(self.uid)
        if self._reader is not None:
            self._reader.join(2.0)
        return self._ended(bytes(self._output), total=self._output_total,
                           exit_code=self._proc.returncode)

    def _remove(self) -> None:
        try:
            if self._proc is not None and self._proc.stdout is not None:
                self._proc.stdout.close()
        finally:
            if self._root is not None:
                _remove_tree(self._root)

    def _kill_all(self) -> None:
        assert self._proc is not None
        proc = self._proc
        for attempt in range(50):
            if self.isolation.drop:
                _kill_uid(self.isolation.python, self.uid)
            else:
                _kill_marked(self._marker, proc.pid)
            if proc.poll() is None:
                _signal(proc.pid, signal.SIGKILL)
            try:
                proc.wait(0.2 if attempt < 49 else 5.0)
            except subprocess.TimeoutExpired:
                continue
            if not self._leftovers():
                return
            time.sleep(0.05)  # SIGKILLed processes take a moment to be gone
        raise SandboxError(f"could not stop every process of the sandbox (uid {self.uid}); "
                           "kill them by hand")

    def _leftovers(self) -> list[int]:
        if self.isolation.drop:
            return processes_of(self.uid)
        return _marked(self._marker)


def _sweep(uid: int) -> None:
    """Remove what the sandbox's uid left in the shared world-writable folders.

    Only without a mount namespace, which would have made them read-only; the
    uid is this sandbox's alone, so everything it owns there came from it.
    """
    for folder in WORLD_WRITABLE:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue  # gone already


def _is_socket(path: Path) -> bool:
    try:
        return stat.S_ISSOCK(path.lstat().st_mode)
    except OSError:
        return False


def _own(path: Path, gid: int, mode: int) -> None:
    if os.geteuid() == 0:
        os.chown(path, 0, gid)
    os.chmod(path, mode)


def _remove_tree(root: Path) -> None:
    """Remove a sandbox folder, also where the sandbox (our own user) took away our rights."""
    if os.geteuid() != 0:
        with contextlib.suppress(OSError):
            os.chmod(root, 0o700)
        # os.walk lists a folder before descending, so open up the children first.
        for dirpath, dirnames, _ in os.walk(root):
            for name in dirnames:
                with contextlib.suppress(OSError):
                    os.chmod(os.path.join(dirpath, name), 0o700)
    shutil.rmtree(root, ignore_errors=True)


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass  # already gone


def _kill_uid(python: str, uid: int) -> None:
    """SIGKILL every process of *uid* at once: kill(-1) from a process running as it.

    kill(-1) runs under the kernel's task-list lock, so a fork bomb cannot add
    children while it goes; pids, in contrast, would be a race.
    """
    code = "import os, signal; os.kill(-1, signal.SIGKILL)"
    try:
        subprocess.run([python, "-I", "-S", "-c", code], user=uid, group=uid, extra_groups=[],
                       env={}, stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired, subprocess.SubprocessError):
        pass  # probably the fork bomb held every pid: the loop in _kill_all tries again


def _marked(marker: str) -> list[int]:
    """Our own processes whose environment carries *marker* (not root: same uid)."""
    needle = f"GRADE_SANDBOX_RUN={marker}".encode()
    found = []
    for pid, uid, state in processes():
        if uid != os.getuid() or pid == os.getpid() or state == "Z":
            continue
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(pid)
    return found


def _kill_marked(marker: str, leader: int) -> None:
    try:
        os.killpg(leader, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass  # the session is gone already
    for pid in _marked(marker):
        _signal(pid, signal.SIGKILL)
