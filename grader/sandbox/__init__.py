"""The sandbox room: where a submission runs, isolated from the grader.

Everything that grades asks for sandboxes the same way::

    with open_sandbox("docker", client=client) as sandboxes:   # or "process"
        with sandboxes(staged_folder, exercise.limits, labels) as box:
            box.load(entry, create_tables, timeout=...)   # sends the files, imports them
            box.agent.models(...)        # typed agent client (agent_client.py)
            ... HTTP over box.dial_app(timeout) ...

:func:`open_sandbox` returns a :class:`SandboxFactory` that the caller owns
for as long as the ``with`` lasts: it has checked that the backend can run
(the Docker image exists and orphans are swept, or ``--sandbox process`` was
probed), and each call makes one fresh :class:`Sandbox` (base.py) for one
submission. The Docker client is injected: the command line creates it once.
A factory's :attr:`~SandboxFactory.plan` is plain, picklable data, so a batch
worker process rebuilds the same factory with :meth:`SandboxFactory.from_plan`.

An *owned* factory (:func:`open_sandbox`, :meth:`~SandboxFactory.from_plan`;
closed by its owner) of Docker sandboxes also keeps ``plan.pool`` ready
sandboxes per key (pool.py), removes used ones in the background after their
verdict (disposal.py), and has a reaper child that removes its containers if
the process dies (reaper.py). :meth:`SandboxFactory.close` waits for the
removals. Process sandboxes have no pool: they start in a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import docker

from grader.errors import UsageError
from grader.sandbox.base import ImageRef, Sandbox, SandboxKind, SandboxRun
from grader.sandbox.container import DockerSandbox, remove_orphans
from grader.sandbox.disposal import Disposal
from grader.sandbox.image import ensure_image
from grader.sandbox.packages import read_extra, sandbox_pins
from grader.sandbox.pool import PoolKey, SandboxPool
from grader.sandbox.process import ProcessSandbox, probed
from grader.sandbox.process_probe import WEAKER, Isolation
from grader.sandbox.reaper import Reaper
from grader.spec.exercise import Limits

__all__ = [
    "ImageRef",
    "Sandbox",
    "SandboxFactory",
    "SandboxKind",
    "SandboxPlan",
    "SandboxRun",
    "open_sandbox",
]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SandboxPlan:
    """Which sandboxes to make: plain data a worker process can receive."""

    kind: SandboxKind
    image: ImageRef
    isolation: Isolation | None = None  # what ``--sandbox process`` may do here
    note: str = ""  # one line for reports and CI summaries about the isolation
    pool: int = 0  # ready Docker sandboxes kept per key by an owned factory (0: none)


class SandboxFactory:
    """Makes one fresh sandbox per submission, all of the same kind and image."""

    def __init__(self, plan: SandboxPlan, client: docker.DockerClient | None = None,
                 *, owned: bool = False) -> None:
        """*owned*: the caller closes it (:meth:`close`, or ``with``); only then are
        removals in the background and ``plan.pool`` sandboxes kept ready."""
        if plan.kind == "docker" and client is None:
            raise UsageError("Docker sandboxes need a Docker client")
        if plan.kind == "process" and plan.isolation is None:
            raise UsageError("process sandboxes need the probed isolation")
        if plan.pool < 0:
            raise UsageError(f"a sandbox pool holds 0 or more sandboxes, not {plan.pool}")
        self.plan = plan
        self._client = client
        self._reaper: Reaper | None = None
        self._disposal: Disposal | None = None
        self._pool: SandboxPool | None = None
        if owned and plan.kind == "docker":
            self._reaper = Reaper()  # first: no container of this factory outlives it
            self._disposal = Disposal()
            if plan.pool > 0:
                self._pool = SandboxPool(plan.pool, self._make)

    @classmethod
    def from_plan(cls, plan: SandboxPlan, connect: Callable[[], docker.DockerClient]
                  ) -> SandboxFactory:
        """The same factory in another process, owned; *connect* is called only for Docker."""
        return cls(plan, connect() if plan.kind == "docker" else None, owned=True)

    def __enter__(self) -> SandboxFactory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the pooled sandboxes, wait for the removals, let the reaper go.

        Interrupted, or with a removal that failed, the reaper is not told all
        is done: it sweeps the factory's containers as the process ends.
        """
        done = False
        try:
            try:
                if self._pool is not None:
                    self._pool.close()
            finally:
                if self._disposal is not None:
                    self._disposal.close()
            done = self._disposal is None or self._disposal.failures == 0
        finally:
            if self._reaper is not None:
                self._reaper.close(done=done)

    def warm(self, limits: Limits, labels: Mapping[str, str] | None = None) -> None:
        """Keep sandboxes ready for these limits and labels (a pool only; else nothing)."""
        if self._pool is not None:
            self._pool.warm(self.plan.image.tag, limits, self._labels(labels))

    def wait_warm(self, timeout: float) -> bool:
        """Whether the pool holds its ready sandboxes within *timeout* (no pool: True)."""
        return self._pool is None or self._pool.wait_warm(timeout)

    @property
    def kind(self) -> SandboxKind:
        return self.plan.kind

    @property
    def image(self) -> ImageRef:
        return self.plan.image

    @property
    def client(self) -> docker.DockerClient | None:
        return self._client

    @property
    def labels(self) -> dict[str, str]:
        """The labels every container of this factory carries (its reaper's)."""
        return dict(self._reaper.labels) if self._reaper is not None else {}

    @property
    def pooled(self) -> bool:
        """Whether its sandboxes come ready (from a pool), not started at ``with``."""
        return self._pool is not None

    def __call__(self, submission: Path, limits: Limits,
                 labels: Mapping[str, str] | None = None) -> Sandbox:
        """A sandbox for the staged *submission* (use it with ``with``).

        Without a pool it is not started yet; from a pool it is ready (a
        pooled one, or one started now if none was ready).
        """
        if self._pool is not None:
            return self._pool.take(self.plan.image.tag, submission, limits,
                                   self._labels(labels))
        if self.plan.kind == "docker":
            return self._make(PoolKey.of(self.plan.image.tag, limits, self._labels(labels)),
                              limits, submission)
        assert self.plan.isolation is not None
        return ProcessSandbox(self.plan.isolation, submission, limits, labels)

    def _labels(self, labels: Mapping[str, str] | None) -> dict[str, str]:
        return {**(labels or {}), **self.labels}

    def _make(self, key: PoolKey, limits: Limits, submission: Path = Path()) -> Sandbox:
        assert self._client is not None
        box = DockerSandbox(self._client, key.image, submission, limits, dict(key.labels))
        if self._disposal is not None:
            box.hand_off = self._disposal.put
        return box


@contextmanager
def open_sandbox(kind: SandboxKind, *, client: docker.DockerClient | None = None,
                 progress: Progress = lambda message: None,
                 requirements: Path | None = None, pool: int = 0
                 ) -> Iterator[SandboxFactory]:
    """Get the backend ready and yield the factory the caller owns until the end.

    Docker (the default and the strongest isolation) needs *client*: orphans of
    dead graders are removed and the image is built if missing. ``process``
    probes this machine and says, through *progress*, how much less it isolates.
    *requirements* is a catalogue's extra packages file (packages.EXTRA_FILENAME):
    the Docker image then holds them too, and its tag says so. *pool*: ready
    Docker sandboxes kept per key (a long-running grader's; pool.py).
    """
    extra = None if requirements is None else read_extra(requirements, sandbox_pins())
    if kind == "process":
        if extra is not None:
            progress(f"warning: --sandbox process offers only the packages of "
                     f"sandbox/requirements.txt, not the extras of {requirements}; an app "
                     "that imports one fails to load. Grade with Docker to have them")
        with probed() as isolation:
            note = isolation.describe()
            progress(note)
            plan = SandboxPlan("process", ImageRef(f"process sandbox ({WEAKER})"), isolation,
                               note.splitlines()[0])
            yield SandboxFactory(plan)
        return
    if client is None:
        raise UsageError("Docker sandboxes need a Docker client")
    remove_orphans(client)
    info = ensure_image(client, progress=progress, extra=extra)
    with SandboxFactory(SandboxPlan("docker", ImageRef(info.tag, info.id), pool=pool), client,
                        owned=True) as factory:
        yield factory
