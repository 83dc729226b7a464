"""Ready sandboxes, started ahead of time, one submission each.

A pooled sandbox has gone through *create* and *ready* (base.py): the
container runs with its hardening, the relay is attached, the agent listens
and the host's control connection is up. None of that involves student code
or a submission, so it may happen before one arrives. :meth:`SandboxPool.take`
hands a ready sandbox out, which then serves exactly one submission and is
destroyed like any other; one that died while it waited is discarded, never
handed out.

Pools are keyed (:class:`PoolKey`) by image, the limits fixed when a
container is created (memory, pids, CPUs, tmpfs) and the labels: a sandbox
made for one key never serves another. A background thread keeps ``size``
ready per key it has seen; ``take`` makes one at once when none is ready.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import docker.errors
import requests

from grader.errors import GraderError
from grader.sandbox.base import Sandbox
from grader.spec.exercise import Limits

RETRY_AFTER = 2.0  # seconds the refill waits after a sandbox failed to start

Make = Callable[["PoolKey", Limits], Sandbox]  # a sandbox for the key, not started


@dataclass(frozen=True)
class PoolKey:
    """What a container fixes when it is created; sandboxes serve only their own key."""

    image: str
    memory_mb: int
    pids: int
    cpus: float
    tmpfs_mb: int
    labels: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, image: str, limits: Limits, labels: Mapping[str, str] | None) -> PoolKey:
        return cls(image, limits.memory_mb, limits.pids, limits.cpus, limits.tmpfs_mb,
                   tuple(sorted((labels or {}).items())))


class SandboxPool:
    """Keeps *size* ready sandboxes per key; owns them until they are taken."""

    def __init__(self, size: int, make: Make) -> None:
        self.size = size
        self._make = make
        self._ready: dict[PoolKey, list[Sandbox]] = {}
        self._limits: dict[PoolKey, Limits] = {}  # how each key's sandboxes start
        self._failed: dict[PoolKey, float] = {}  # when the last start failed
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._refill, name="grade-pool", daemon=True)
        self._thread.start()

    def warm(self, image: str, limits: Limits, labels: Mapping[str, str] | None = None
             ) -> PoolKey:
        """Start keeping sandboxes ready for this key (``take`` does it too)."""
        key = PoolKey.of(image, limits, labels)
        with self._changed:
            if key not in self._limits:
                self._limits[key] = limits
                self._ready[key] = []
                self._changed.notify_all()
        return key

    def wait_warm(self, timeout: float) -> bool:
        """Whether every key has its sandboxes ready within *timeout* seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not all(len(ready) >= self.size for ready in self._ready.values()):
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    return False
                self._changed.wait(left)
        return True

    def take(self, image: str, submission: Path, limits: Limits,
             labels: Mapping[str, str] | None = None) -> Sandbox:
        """A ready sandbox for *submission*: a pooled one, or one started now."""
        key = self.warm(image, limits, labels)
        while True:
            with self._changed:
                if self._closed:
                    raise GraderError("the sandbox pool is closed; open a new factory")
                box = self._ready[key].pop(0) if self._ready[key] else None
                self._changed.notify_all()
            if box is None:
                break
            if box.still_ready():
                box.submission = submission
                box.limits = limits  # the same creation limits; its own time and output
                return box
            box.close()  # it died while it waited: never handed out
        box = self._make(key, limits)
        box.submission = submission
        box.__enter__()  # started here, in the caller's time: the caller wanted it now
        return box

    def close(self) -> None:
        """Stop refilling and dispose of every sandbox still waiting."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._thread.join()
        with self._changed:
            left = [box for ready in self._ready.values() for box in ready]
            self._ready.clear()
        for box in left:
            box.close()

    def _wanted(self) -> PoolKey | None:
        """A key short of sandboxes that may be started now (under the lock)."""
        now = time.monotonic()
        for key, ready in self._ready.items():
            if len(ready) < self.size and now - self._failed.get(key, -RETRY_AFTER) >= RETRY_AFTER:
                return key
        return None

    def _refill(self) -> None:
        while True:
            with self._changed:
                key = self._wanted()
                while key is None and not self._closed:
                    self._changed.wait(RETRY_AFTER / 2)
                    key = self._wanted()
                if self._closed or key is None:
                    return
                limits = self._limits[key]
            box = self._make(key, limits)
            try:
                box.__enter__()  # Sandbox.__enter__ closes it if it fails to start
            except (GraderError, OSError, docker.errors.DockerException,
                    requests.exceptions.RequestException) as e:
                with self._changed:
                    self._failed[key] = time.monotonic()
                print(f"grade: warning: a pooled sandbox did not start: {e}", file=sys.stderr)
                continue
            with self._changed:
                if self._closed:
                    keep = False
                else:
                    self._ready[key].append(box)
                    keep = True
                self._changed.notify_all()
            if not keep:
                box.close()
