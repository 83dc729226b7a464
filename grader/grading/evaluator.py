"""A clock that really fires for the host's work on untrusted data.

A regular expression from a spec can backtrack for minutes on a body the
student chose, and one SQLite function call in a CHECK constraint (``instr``
on megabyte strings is quadratic) runs to its end whatever the progress
handler says: both are single C calls that no Python signal, timer or
``sqlite3_interrupt`` stops. So that work runs in a child process, the
evaluator (evaluator_ops.py), and the grader kills the child when a reply is
late: the call raises :class:`EvaluatorTimeout` and the next call gets a
fresh child (started at once, so it is warm by then).

One evaluator serves a whole grading process (:func:`shared`): started once,
about 30 ms; each call then costs a pipe round trip and a pickle of its data
(bench/evaluator_overhead.py). The child runs as the grader, receives only
data over an anonymous pipe, and never sees the submission's code; it dies
with the grader (``PR_SET_PDEATHSIG``) and lives under a memory limit.
"""

from __future__ import annotations

import atexit
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from grader.grading import evaluator_ops

_OPS_SCRIPT = Path(evaluator_ops.__file__)
_HEADER = evaluator_ops.HEADER


class EvaluatorTimeout(Exception):
    """The work did not end by its deadline; the evaluator was killed and is restarted."""


class EvaluatorFailed(Exception):
    """The work raised in the evaluator (``kind`` names the exception) or the child died."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class _Child:
    """One running evaluator process and its two pipe ends."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(_OPS_SCRIPT), str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            close_fds=True, env={})
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.writer: IO[bytes] = self.proc.stdin
        self.reader: IO[bytes] = self.proc.stdout

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.writer.close()
        self.reader.close()

    def close(self) -> None:
        """End an idle child gently: EOF on its input ends its loop."""
        try:
            self.writer.close()
        except OSError:
            pass  # it is gone already
        try:
            self.proc.wait(1.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.close()


class Evaluator:
    """Runs an op of evaluator_ops.py on data, and never past a deadline."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._child: _Child | None = None
        self.restarts = 0  # children killed for missing a deadline or dying

    def call(self, op: str, *args: Any, deadline: float) -> Any:
        """``OPS[op](*args)`` in the evaluator; raise EvaluatorTimeout past *deadline*.

        *deadline* is a time.monotonic() value. Raises EvaluatorFailed when the op
        raised (its kind and message) or the child died while working.
        """
        if op not in evaluator_ops.OPS:
            raise ValueError(f"unknown evaluator op {op!r}; add it to evaluator_ops.OPS")
        request = pickle.dumps((op, args), protocol=pickle.HIGHEST_PROTOCOL)
        if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise EvaluatorTimeout(op)
        try:
            try:
                return self._exchange(request, deadline)
            except EvaluatorFailed as e:
                if e.kind != "EvaluatorDied":
                    raise
                # Once more in a fresh child: the kernel also ends a child whose starting
                # thread ended (PR_SET_PDEATHSIG), which is no fault of the data.
                return self._exchange(request, deadline)
        finally:
            self._lock.release()

    def start(self) -> None:
        """Start the child now (it imports while the caller does other work); else lazily."""
        with self._lock:
            self._ensure()

    def close(self) -> None:
        with self._lock:
            if self._child is not None:
                self._child.close()
                self._child = None

    def _ensure(self) -> _Child:
        if self._child is not None and self._child.proc.poll() is not None:
            self._child.kill()  # dead already: reap it and close its pipes
            self._child = None
        if self._child is None:
            self._child = _Child()
        return self._child

    def _exchange(self, request: bytes, deadline: float) -> Any:
        if time.monotonic() >= deadline:
            raise EvaluatorTimeout("no time left")
        child = self._ensure()
        try:
            child.writer.write(_HEADER.pack(len(request)))
            child.writer.write(request)
            child.writer.flush()
            reply = self._read(child, deadline)
        except EvaluatorTimeout:
            self._replace(child)
            raise
        except (OSError, EOFError) as e:
            self._replace(child)
            raise EvaluatorFailed("EvaluatorDied", f"the evaluator process stopped ({e})"
                                  ) from e
        status, *rest = evaluator_ops.plain_loads(reply)
        if status == "ok":
            return rest[0]
        raise EvaluatorFailed(rest[0], rest[1])

    def _replace(self, child: _Child) -> None:
        child.kill()
        self.restarts += 1
        self._child = _Child()  # warm by the time the next call comes

    @staticmethod
    def _read(child: _Child, deadline: float) -> bytes:
        fd = child.reader.fileno()
        header = _read_exactly(fd, _HEADER.size, deadline)
        return _read_exactly(fd, _HEADER.unpack(header)[0], deadline)


def _read_exactly(fd: int, size: int, deadline: float) -> bytes:
    parts = []
    while size:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise EvaluatorTimeout("late")
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            raise EOFError("end of the evaluator's output")
        parts.append(chunk)
        size -= len(chunk)
    return b"".join(parts)


_shared: tuple[int, Evaluator] | None = None
_shared_lock = threading.Lock()


def shared() -> Evaluator:
    """This process's evaluator, started on first use and closed at exit.

    Keyed by pid: a forked process never writes into its parent's pipes.
    """
    global _shared
    with _shared_lock:
        if _shared is None or _shared[0] != os.getpid():
            evaluator = Evaluator()
            atexit.register(evaluator.close)
            _shared = (os.getpid(), evaluator)
        return _shared[1]
