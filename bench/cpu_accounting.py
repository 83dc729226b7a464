"""The kernel's own CPU accounting, read for the benchmarks (bench/breakdown.py).

Pure parsers first (tested without Docker in tests/test_bench_cpu_accounting.py),
then the readers that apply them to /proc and to the cgroup tree.

Where each kind of CPU time is found on Linux:

- a process, and the children it has waited for: fields 14-17 of
  /proc/PID/stat (utime, stime, cutime, cstime), in clock ticks;
- the whole machine: the first line of /proc/stat (jiffies per mode);
- a container: its cgroup. cgroup v1 has ``cpuacct.usage`` (ns) per group, and
  a parent's counter keeps what its removed children used; cgroup v2 has
  ``usage_usec`` in ``cpu.stat``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
CGROUP_ROOT = Path("/sys/fs/cgroup")
# The engine's long-lived processes and the per-container shim (runc runs as the
# shim's child, so its time is in the shim's cutime/cstime once reaped).
ENGINE_NAMES = ("dockerd", "containerd")
SHIM_PREFIX = "containerd-shim"


@dataclass(frozen=True)
class ProcTimes:
    """CPU seconds of one process: its own, and its reaped children's."""

    pid: int
    name: str
    ppid: int
    own: float
    children: float

    @property
    def total(self) -> float:
        return self.own + self.children


def parse_proc_stat(line: str, ticks: int = TICKS) -> ProcTimes:
    """One /proc/PID/stat line. The name is in parentheses and may hold spaces or ')'."""
    left, paren, rest = line.rpartition(")")
    if not paren or "(" not in left:
        raise ValueError(f"not a /proc/PID/stat line: {line[:80]!r}")
    pid_text, _, name = left.partition("(")
    fields = rest.split()
    # rest starts at field 3 (state): utime is field 14, so index 11 here.
    if len(fields) < 15:
        raise ValueError(f"/proc/PID/stat line too short ({len(fields) + 2} fields): {line[:80]!r}")
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return ProcTimes(pid=int(pid_text), name=name, ppid=int(fields[1]),
                     own=(utime + stime) / ticks, children=(cutime + cstime) / ticks)


def parse_machine_stat(text: str, ticks: int = TICKS) -> tuple[float, float]:
    """(busy, idle) CPU seconds of the machine from /proc/stat's 'cpu' line.

    Busy is user+nice+system+irq+softirq+steal; idle is idle+iowait. guest time
    is already in user, so it is not added twice.
    """
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "cpu":
            values = [int(v) for v in parts[1:]] + [0] * 8
            user, nice, system, idle, iowait, irq, softirq, steal = values[:8]
            return ((user + nice + system + irq + softirq + steal) / ticks,
                    (idle + iowait) / ticks)
    raise ValueError("no aggregate 'cpu' line in /proc/stat text")


def parse_cpu_stat_usage(text: str) -> float:
    """CPU seconds from a cgroup v2 cpu.stat (its usage_usec line)."""
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "usage_usec":
            return int(value) / 1e6
    raise ValueError("no usage_usec line in cpu.stat")


def parse_cpuacct_usage(text: str) -> float:
    """CPU seconds from a cgroup v1 cpuacct.usage (nanoseconds)."""
    return int(text.strip()) / 1e9


def read_proc(pid: int) -> ProcTimes | None:
    """The times of PID, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:  # the process is gone
        return None
    return parse_proc_stat(text)


def vm_rss(pid: int) -> int | None:
    """The resident set of process *pid* in KiB (VmRSS), or None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def all_procs() -> list[ProcTimes]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            times = read_proc(int(entry.name))
            if times is not None:
                found.append(times)
    return found


def machine_busy() -> float:
    """Busy CPU seconds of the whole machine since boot."""
    return parse_machine_stat(Path("/proc/stat").read_text(encoding="utf-8"))[0]


def parse_shim_id(cmdline: bytes) -> str | None:
    """The container id in a containerd-shim's /proc/PID/cmdline (its -id argument)."""
    args = cmdline.split(b"\0")
    for flag, value in zip(args, args[1:], strict=False):
        if flag == b"-id":
            return value.decode("ascii", "replace")
    return None


def shim_id(pid: int) -> str | None:
    try:
        return parse_shim_id(Path(f"/proc/{pid}/cmdline").read_bytes())
    except OSError:
        return None


def engine_parts(procs: list[ProcTimes] | None = None) -> tuple[float, dict[int, float]]:
    """The engine's CPU seconds so far: dockerd and containerd (with the children they
    reaped), and each live containerd-shim's own time, by pid.

    A shim's reaped children are not counted: they are runc's runs, but also the
    container's own processes (the shim reaps the container's init), which the
    cgroup already counts. So runc's time falls into the machine's rest. A shim
    daemonises and PID 1 reaps it (on a shared machine PID 1's cutime holds every
    other orphan too), so shims are read while they live (sampling.Sampler).
    """
    procs = all_procs() if procs is None else procs
    daemons = sum(p.total for p in procs if p.name in ENGINE_NAMES)
    return daemons, {p.pid: p.own for p in procs if p.name.startswith(SHIM_PREFIX)}


def engine_seconds(procs: list[ProcTimes] | None = None) -> float:
    """dockerd, containerd and the live shims' own time."""
    daemons, shims = engine_parts(procs)
    return daemons + sum(shims.values())


def shim_growth(before: dict[int, float], samples: list[dict[int, float]]) -> float:
    """CPU seconds the shims used after BEFORE, given later SAMPLES of them (pid -> total).

    A shim's last reading counts; one that already ran at BEFORE counts from there.
    """
    last: dict[int, float] = {}
    for sample in samples:
        for pid, total in sample.items():
            last[pid] = max(total, last.get(pid, 0.0))
    return sum(total - before.get(pid, 0.0) for pid, total in last.items())


@dataclass(frozen=True)
class CgroupLayout:
    """Where the engine puts container cgroups on this host."""

    version: int
    docker_parent: Path  # the group that holds the containers' groups (v1: in cpuacct)
    pattern: str = "{id}"  # a container's group under it (systemd: docker-{id}.scope)
    root: Path = CGROUP_ROOT

    def container_group(self, container_id: str) -> Path:
        return self.docker_parent / self.pattern.format(id=container_id)

    def container_usage(self, container_id: str) -> float | None:
        return self.group_usage(self.container_group(container_id))

    def group_usage(self, group: Path) -> float | None:
        try:
            if self.version == 1:
                return parse_cpuacct_usage((group / "cpuacct.usage").read_text(encoding="utf-8"))
            return parse_cpu_stat_usage((group / "cpu.stat").read_text(encoding="utf-8"))
        except OSError:  # gone, or going: a group being removed answers ENODEV
            return None

    def container_peak_memory(self, container_id: str) -> int | None:
        """Peak memory of a container in bytes (v1 max_usage_in_bytes, v2 memory.peak)."""
        if self.version == 1:
            path = self.root / "memory" / self.docker_parent.name / container_id
            name = "memory.max_usage_in_bytes"
        else:
            path, name = self.container_group(container_id), "memory.peak"
        try:
            return int((path / name).read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            return None

    def named_group(self, name: str) -> Path:
        """A top-level group (for `docker run --cgroup-parent /NAME`)."""
        return (self.root / "cpuacct" / name) if self.version == 1 else self.root / name


def cgroup_layout(root: Path = CGROUP_ROOT) -> CgroupLayout:
    """The layout of this host: cgroup v1 with the cgroupfs driver, or v2 (systemd or not)."""
    if (root / "cgroup.controllers").exists():
        if (root / "docker").is_dir():
            return CgroupLayout(2, root / "docker", root=root)
        return CgroupLayout(2, root / "system.slice", "docker-{id}.scope", root)
    return CgroupLayout(1, root / "cpuacct" / "docker", root=root)
