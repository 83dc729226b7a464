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
from grader.sandbox.image import ensure_image
from grader.sandbox.packages import read_extra, sandbox_pins
from grader.sandbox.process import ProcessSandbox, probed
from grader.sandbox.process_probe import WEAKER, Isolation
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


class SandboxFactory:
    """Makes one fresh sandbox per submission, all of the same kind and image."""

    def __init__(self, plan: SandboxPlan, client: docker.DockerClient | None = None) -> None:
        if plan.kind == "docker" and client is None:
            raise UsageError("Docker sandboxes need a Docker client")
        if plan.kind == "process" and plan.isolation is None:
            raise UsageError("process sandboxes need the probed isolation")
        self.plan = plan
        self._client = client

    @classmethod
    def from_plan(cls, plan: SandboxPlan, connect: Callable[[], docker.DockerClient]
                  ) -> SandboxFactory:
        """The same factory in another process; *connect* is called only for Docker."""
        return cls(plan, connect() if plan.kind == "docker" else None)

    @property
    def kind(self) -> SandboxKind:
        return self.plan.kind

    @property
    def image(self) -> ImageRef:
        return self.plan.image

    @property
    def client(self) -> docker.DockerClient | None:
        return self._client

    def __call__(self, submission: Path, limits: Limits,
                 labels: Mapping[str, str] | None = None) -> Sandbox:
        """A sandbox for the staged *submission*, not yet started (use it with ``with``)."""
        if self.plan.kind == "docker":
            assert self._client is not None
            return DockerSandbox(self._client, self.plan.image.tag, submission, limits, labels)
        assert self.plan.isolation is not None
        return ProcessSandbox(self.plan.isolation, submission, limits, labels)


@contextmanager
def open_sandbox(kind: SandboxKind, *, client: docker.DockerClient | None = None,
                 progress: Progress = lambda message: None,
                 requirements: Path | None = None) -> Iterator[SandboxFactory]:
    """Get the backend ready and yield the factory the caller owns until the end.

    Docker (the default and the strongest isolation) needs *client*: orphans of
    dead graders are removed and the image is built if missing. ``process``
    probes this machine and says, through *progress*, how much less it isolates.
    *requirements* is a catalogue's extra packages file (packages.EXTRA_FILENAME):
    the Docker image then holds them too, and its tag says so.
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
    yield SandboxFactory(SandboxPlan("docker", ImageRef(info.tag, info.id)), client)
