"""The sandbox interface: one isolated run of one submission, and what backends share.

Life cycle of a sandbox (docs/architecture.md draws it):

    create   the backend starts the agent (a container, or a process) with no
             student code and no host folder it could write to
    ready    the agent listens on its control and HTTP sockets; the backend
             has made their folder read-only to the sandbox (the relay does it
             in a container, the host for a process) and the host's
             :class:`AgentClient` is connected through :meth:`Sandbox._dial`
    load     :meth:`Sandbox.load` sends the submission's files through the
             agent's connection and asks the agent to import them
    check    the host talks HTTP through :meth:`Sandbox.dial_app` and asks the
             agent typed questions; every answer is untrusted data. Before the
             first hidden check, grading calls :meth:`Sandbox.mark_hidden`:
             what the sandbox prints from then on is for instructors only
    remove   ``close()`` kills everything the sandbox started, keeps its capped
             output in :attr:`Sandbox.run`, and removes its files; always, in
             ``__exit__``, also on errors and Ctrl-C. The removing may be
             handed to the factory's disposal thread (:attr:`Sandbox.hand_off`),
             so the verdict does not wait for it

A sandbox serves exactly one submission. Everything up to *ready* involves
neither student code nor the submission, which is what a pool of ready
sandboxes (pool.py) does ahead of time. How the host reaches the sockets is the
backend's: a Docker sandbox shares no path with the host (its connections go
through the engine's API, exec_link.py), so the same code runs against an
engine in a VM or on another machine.
"""

from __future__ import annotations

import abc
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader.errors import SandboxError
from grader.sandbox.agent_client import AgentClient, AgentGone, Loaded, SocketChannel
from grader.sandbox.archive import pack
from grader.spec.exercise import Limits

SandboxKind = Literal["docker", "process"]
Target = Literal["ctl", "app"]  # the agent's control socket, the app's HTTP socket
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

    def __init__(self, submission: Path, limits: Limits) -> None:
        self.submission = submission
        self.limits = limits
        self.run = SandboxRun()
        self._agent: AgentClient | None = None
        # What had been printed when mark_hidden was called: (bytes kept, bytes in all).
        self._shown: tuple[bytes, int] | None = None
        self._closed = False
        # Who kills and removes it once its run is read; None: close() itself.
        self.hand_off: Callable[[Sandbox], None] | None = None

    def dial_app(self, timeout: float) -> socket.socket:
        """A new connection to the student's app, for one HTTP exchange.

        Raises OSError when the app cannot be reached (ConnectionError and
        TimeoutError included).
        """
        return self._dial("app", timeout)

    @property
    def agent(self) -> AgentClient:
        """The typed client for the agent (raises AgentGone before *ready* or after close)."""
        if self._agent is None:
            raise AgentGone("no control connection")
        return self._agent

    def __enter__(self) -> Sandbox:
        if self._closed:
            raise SandboxError("a sandbox serves one submission; this one was closed")
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Create the sandbox and wait until its agent is ready and connected.

        A sandbox that is ready already (taken from a pool) is left as it is.
        """
        if self._agent is not None:
            return
        self._launch()
        connection = self._wait_for_agent(time.monotonic() + max(self.limits.startup, 10.0))
        self._agent = AgentClient(SocketChannel(connection))

    def load(self, entry: tuple[str, ...], create_tables: bool, *, timeout: float) -> Loaded:
        """Send the submission's files to the agent and have it import them.

        Raises what :meth:`AgentClient.load` raises (AgentTimeout, AgentGone,
        AgentRefused); the files and the import share *timeout*.
        """
        deadline = time.monotonic() + timeout
        self.agent.receive(pack(self.submission), timeout=timeout)
        return self.agent.load(entry, create_tables,
                               timeout=max(0.0, deadline - time.monotonic()))

    def mark_hidden(self) -> None:
        """Hidden checks start now: what the sandbox prints from here on is instructors' only.

        The host takes what has reached it so far, itself: a marker printed by
        the agent would be the student's to forge or delay. Output still on its
        way (a pipe, Docker's log copier) falls after the cut, which only ever
        hides more.
        """
        if self._shown is None:
            self._shown = self._printed()

    def still_ready(self) -> bool:
        """Whether a ready sandbox that waited (in a pool) may still be handed out."""
        return self._agent is not None and not self._closed and self._still_ready()

    def close(self) -> None:
        """Stop everything, keep the capped output in :attr:`run`, remove its files.

        With :attr:`hand_off` set, the removing is the callee's.
        """
        self._closed = True
        try:
            if self._agent is not None:
                self._agent.close()
                self._agent = None
            self.run = self._stop()
        finally:
            if self.hand_off is None:
                self.remove()
            else:
                self.hand_off(self)

    def remove(self) -> None:
        """Kill whatever is left and remove it (the container, the folders)."""
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

    def _wait_for_agent(self, deadline: float) -> socket.socket:
        next_status = time.monotonic() + _STATUS_EVERY
        while True:
            try:
                return self._dial("ctl", max(0.5, min(5.0, deadline - time.monotonic())))
            except (ConnectionRefusedError, FileNotFoundError, TimeoutError):
                pass  # not listening yet
            except OSError as e:
                self._check_running()
                raise SandboxError(f"the sandbox could not be reached: {e}; "
                                   f"{self._fix_hint()}") from e
            now = time.monotonic()
            if now > deadline:
                raise SandboxError(f"the sandbox agent did not start in time; {self._fix_hint()}")
            if now > next_status:
                self._check_running()
                next_status = now + _STATUS_EVERY
            time.sleep(0.003)

    # -- what each backend provides ---------------------------------------------------------

    @abc.abstractmethod
    def _launch(self) -> None:
        """Start the agent (and whatever carries the host's connections to it)."""

    @abc.abstractmethod
    def _dial(self, target: Target, timeout: float) -> socket.socket:
        """A new connection to *target*, once the agent is ready.

        Raises ConnectionRefusedError, FileNotFoundError or TimeoutError while
        the agent is not listening yet (or, for "ctl", its folder is not
        locked yet), any other OSError when the sandbox cannot be reached.
        """

    @abc.abstractmethod
    def _check_running(self) -> None:
        """Raise SandboxError (with the agent's last words) if it has stopped."""

    @abc.abstractmethod
    def _printed(self) -> tuple[bytes, int]:
        """What has reached the host of the sandbox's output so far: (bytes kept, in all)."""

    @abc.abstractmethod
    def _stop(self) -> SandboxRun:
        """Stop what runs; return :meth:`_ended` of what it printed (``_remove`` follows)."""

    @abc.abstractmethod
    def _remove(self) -> None:
        """Kill and remove whatever is left (the container, the folders); runs even after errors."""

    def _still_ready(self) -> bool:
        """The backend's view: the agent still runs and its connection still holds."""
        return False

    @abc.abstractmethod
    def wait_exit(self, timeout: float) -> int | None:
        """The agent's exit code, if it stops within *timeout* seconds."""

    def _fix_hint(self) -> str:
        return "try again, or check the machine's load"
