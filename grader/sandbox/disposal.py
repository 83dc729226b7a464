"""Kill and remove used sandboxes in the background, after their verdict is out.

A sandbox's run (its output, exit state) is read in ``Sandbox.close()``,
before the verdict; what is left is its removal, which takes a few hundred
milliseconds of engine time that no one waits for. :class:`Disposal` does it
on one thread, in the order the sandboxes came. :meth:`Disposal.close` waits
for the last one, so a one-shot ``grade submit`` still removes its container
before it exits. If the process dies first (SIGKILL, ``os._exit``), the
reaper (reaper.py) removes what is left.
"""

from __future__ import annotations

import queue
import sys
import threading

import docker.errors
import requests

from grader.errors import GraderError
from grader.sandbox.base import Sandbox

_DONE = None  # the queue's last item


class Disposal:
    """One thread that removes the sandboxes handed to it."""

    def __init__(self, name: str = "grade-disposal") -> None:
        self._queue: queue.SimpleQueue[Sandbox | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._closed = False
        self.failures = 0  # removals that failed (the reaper then sweeps)

    def put(self, box: Sandbox) -> None:
        """Remove *box* soon (at once, in this thread, once closed)."""
        if self._closed:
            box.remove()
            return
        self._queue.put(box)

    def close(self) -> None:
        """Wait until every sandbox handed over so far is removed."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_DONE)
        self._thread.join()

    def _run(self) -> None:
        while True:
            box = self._queue.get()
            if box is None:
                return
            try:
                box.remove()
            except (GraderError, docker.errors.DockerException,
                    requests.exceptions.RequestException) as e:
                # Not the grading's problem any more; the reaper and the next run's
                # orphan sweep remove it.
                self.failures += 1
                print(f"grade: warning: {e}", file=sys.stderr)
