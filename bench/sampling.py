"""A thread that reads, while a benchmark runs, what vanishes before it ends.

Containers' cgroups and containerd's shims go away with their CPU time: they
are read every interval, and the last reading counts (bench/breakdown.py,
bench/speed.py, bench/engine_cpu.py).
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import cpu_accounting as acct
import docker

CONTAINER_ID = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class Sampler:
    """Reads, until stopped, the shims of our containers and, if asked, their cgroups.

    Shims and containers go away with their last CPU time; a reading every
    INTERVAL keeps all but the last interval's. OURS tells our containers from
    the machine's others by id (None: every shim counts); it is asked once per
    container. Containers' cgroups are read when READ_CONTAINERS (grade's live
    under the engine's group with everyone's; the loops have a group of their own).
    """

    layout: acct.CgroupLayout
    ours: Callable[[str], bool] | None = None
    read_containers: bool = False
    interval: float = 0.05
    shims: list[dict[int, float]] = field(default_factory=list)
    usage: dict[str, float] = field(default_factory=dict)
    peak_memory: dict[str, int] = field(default_factory=dict)
    verdict: dict[str, bool] = field(default_factory=dict)
    shim_ids: dict[int, str | None] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def is_ours(self, cid: str | None) -> bool:
        if self.ours is None:
            return True
        if cid is None:
            return False
        if cid not in self.verdict:
            self.verdict[cid] = self.ours(cid)
        return self.verdict[cid]

    def shims_now(self) -> dict[int, float]:
        """Our live shims' own CPU seconds, by pid."""
        shims = acct.engine_parts()[1]
        for pid in shims.keys() - self.shim_ids.keys():
            self.shim_ids[pid] = acct.shim_id(pid)
        return {pid: t for pid, t in shims.items() if self.is_ours(self.shim_ids[pid])}

    def _sample(self) -> None:
        self.shims.append(self.shims_now())
        if not self.read_containers:
            return
        try:
            names = [p.name for p in self.layout.docker_parent.iterdir()]
        except OSError:
            return
        for name in names:
            cid = name.removeprefix("docker-").removesuffix(".scope")
            if not CONTAINER_ID.match(cid) or not self.is_ours(cid):
                continue
            used = self.layout.container_usage(cid)
            if used is not None:
                self.usage[cid] = max(used, self.usage.get(cid, 0.0))
            peak = self.layout.container_peak_memory(cid)
            if peak is not None:
                self.peak_memory[cid] = max(peak, self.peak_memory.get(cid, 0))


def labelled(client: docker.DockerClient, key: str, value: str) -> Callable[[str], bool]:
    """A test for container ids: does it carry the label KEY=VALUE?"""
    def ours(cid: str) -> bool:
        try:
            labels = client.api.inspect_container(cid)["Config"]["Labels"] or {}
        except docker.errors.APIError:
            return False
        return bool(labels.get(key) == value)
    return ours


def descendant_of(pid: int, root: int) -> bool:
    """Whether PID is ROOT or one of its descendants (walking /proc's ppid chain)."""
    seen = 0
    while pid > 1 and seen < 64:
        if pid == root:
            return True
        times = acct.read_proc(pid)
        if times is None:
            return False
        pid, seen = times.ppid, seen + 1
    return False


def owned_by_tree(client: docker.DockerClient, root: int) -> Callable[[str], bool]:
    """A test for container ids: is its grade.owner a process of ROOT's tree on this host?"""
    host = socket.gethostname()

    def ours(cid: str) -> bool:
        try:
            labels = client.api.inspect_container(cid)["Config"]["Labels"] or {}
        except docker.errors.APIError:
            return False
        owner_host, _, owner = str(labels.get("grade.owner", "")).partition(":")
        return owner_host == host and owner.isdigit() and descendant_of(int(owner), root)
    return ours
