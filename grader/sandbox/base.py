"""The sandbox interface: one isolated run of one submission, and what backends share.

Life cycle of a sandbox (docs/architecture.md draws it):

    create   the backend lays out a private socket folder and starts the agent
             (a container, or a process); no student code exists yet
    ready    the agent has bound ``app.sock`` and ``ctl.sock``; the host makes
             the folder read-only, checks it holds exactly those two sockets,
             and connects the :class:`AgentClient`
    load     grading asks the agent to import the submission (``agent.load``)
    check    the host talks HTTP to ``app_socket`` and asks the agent typed
             questions; every answer is untrusted data. Before the first hidden
             check, grading calls :meth:`Sandbox.mark_hidden`: what the sandbox
             prints from then on is for instructors only
    remove   ``close()`` kills everything the sandbox started, keeps its capped
             output in :attr:`Sandbox.run`, and removes its files; always, in
             ``__exit__``, also on errors and Ctrl-C

A sandbox serves exactly one submission. Everything up to *ready* involves no
student code, which is what a pool of ready sandboxes may do ahead of time.
"""

from __future__ import annotations

import abc
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader.errors import SandboxError
from grader.sandbox.agent_client import AgentClient, AgentGone
from grader.spec.exercise import Limits

SandboxKind = Literal["docker", "process"]
SOCKETS = ("app.sock", "ctl.sock")
_STATUS_EVERY = 0.25  # seconds between asking the backend whether the agent still runs


@dataclass(frozen=True)
class SandboxRun:
    """What the host learned about the sandbox after it was removed.

    ``output`` is what it printed before :meth:`Sandbox.mark_hidden` (all of it
    if never marked), which a student may see; ``hidden_output`` is the rest,
    printed while hidden checks ran, for instructors only. Each is capped at the
    exercise's ``output_kb``.
    """

    output: str = ""
    output_truncated: bool = False
    exit_code: int | None = None
    oom_killed: bool = False
    hidden_output: str = ""


@dataclass(frozen=True)
class ImageRef:
    """What the submission ran in: an image's tag and id, or a description of the backend."""

    tag: str
    id: str = ""

    def describe(self) -> str:
        """How reports name it."""
        return f"{self.tag} ({self.id[:19]})" if self.id else self.tag


class Sandbox(abc.ABC):
    """One sandbox for one submission; use it as a context manager."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.run = SandboxRun()
        self._sock_dir: Path | None = None
        self._agent: AgentClient | None = None
        # What had been printed when mark_hidden was called: (bytes kept, bytes in all).
        self._shown: tuple[bytes, int] | None = None

    @property
    def app_socket(self) -> str:
        """The unix socket that reaches the student's app over HTTP."""
        if self._sock_dir is None:
            raise SandboxError("the sandbox is not started")
        return str(self._sock_dir / "app.sock")

    @property
    def agent(self) -> AgentClient:
        """The typed client for the agent (raises AgentGone before *ready* or after close)."""
        if self._agent is None:
            raise AgentGone("no control connection")
        return self._agent

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
        """Create the sandbox, wait until its agent is ready, lock the socket folder."""
        folder = self._sock_dir = self._launch()
        self._wait_for_sockets(folder, time.monotonic() + max(self.limits.startup, 10.0))
        self._lock(folder)
        found = sorted(p.name for p in folder.iterdir())
        if found != sorted(SOCKETS):
            raise SandboxError(f"unexpected files in the socket folder {folder}: {found}")
        self._agent = AgentClient.connect(str(folder / "ctl.sock"))

    def mark_hidden(self) -> None:
        """Hidden checks start now: what the sandbox prints from here on is instructors' only.

        The host takes what has reached it so far, itself: a marker printed by
        the agent would be the student's to forge or delay. Output still on its
        way (a pipe, Docker's log copier) falls after the cut, which only ever
        hides more.
        """
        if self._shown is None:
            self._shown = self._printed()

    def close(self) -> None:
        """Remove the sandbox: stop everything, keep the capped output, remove its files."""
        try:
            if self._agent is not None:
                self._agent.close()
                self._agent = None
            self.run = self._stop()
        finally:
            self._remove()

    def _ended(self, printed: bytes, *, total: int, exit_code: int | None,
               oom_killed: bool = False) -> SandboxRun:
        """The run, its output split at :meth:`mark_hidden`'s cut (backends' ``_stop``).

        *printed*: what the backend kept of the output, from its start unless
        it had to drop the oldest part (then the whole of it counts as hidden);
        *total*: how many bytes the sandbox printed in all.
        """
        cap = self.limits.output_kb * 1024
        shown, rest = printed, b""
        if self._shown is not None:
            shown, total = self._shown
            rest = printed[len(shown):] if printed.startswith(shown) else printed
        return SandboxRun(
            output=shown[:cap].decode("utf-8", "replace"),
            output_truncated=total > cap,
            exit_code=exit_code,
            oom_killed=oom_killed,
            hidden_output=rest[:cap].decode("utf-8", "replace"),
        )

    def _wait_for_sockets(self, folder: Path, deadline: float) -> None:
        wanted = [folder / name for name in SOCKETS]
        next_status = time.monotonic() + _STATUS_EVERY
        while not all(p.exists() and stat.S_ISSOCK(p.stat().st_mode) for p in wanted):
            now = time.monotonic()
            if now > deadline:
                raise SandboxError(f"the sandbox agent did not start in time; {self._fix_hint()}")
            if now > next_status:
                self._check_running()
                next_status = now + _STATUS_EVERY
            time.sleep(0.003)

    # -- what each backend provides ---------------------------------------------------------

    @abc.abstractmethod
    def _launch(self) -> Path:
        """Start the agent; return the folder where it will bind its two sockets."""

    @abc.abstractmethod
    def _check_running(self) -> None:
        """Raise SandboxError (with the agent's last words) if it has stopped."""

    @abc.abstractmethod
    def _lock(self, folder: Path) -> None:
        """Make the socket folder read-only to the sandbox."""

    @abc.abstractmethod
    def _printed(self) -> tuple[bytes, int]:
        """What has reached the host of the sandbox's output so far: (bytes kept, in all)."""

    @abc.abstractmethod
    def _stop(self) -> SandboxRun:
        """Kill everything the sandbox started; return :meth:`_ended` of what it printed."""

    @abc.abstractmethod
    def _remove(self) -> None:
        """Remove whatever is left (the container, the folders); runs even after errors."""

    @abc.abstractmethod
    def wait_exit(self, timeout: float) -> int | None:
        """The agent's exit code, if it stops within *timeout* seconds."""

    def _fix_hint(self) -> str:
        return "try again, or check the machine's load"
