"""bench/cpu_accounting.py: the parsers of /proc and cgroup files the benchmarks rely on.

bench/ is not a package (its scripts run as `python bench/x.py`), so the module
is loaded from its file.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .helpers import ROOT


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_cpu_accounting",
                                                  ROOT / "bench" / "cpu_accounting.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


acct = _load()

# A real line's shape: pid (comm) state ppid ... utime stime cutime cstime ...
STAT = ("4242 ({name}) S 17 4242 4242 0 -1 4194560 1000 0 0 0 {utime} {stime} {cutime} "
        "{cstime} 20 0 1 0 12345 1000000 500 18446744073709551615")


@pytest.mark.parametrize(("name", "times", "own", "children"), [
    ("dockerd", (150, 50, 0, 0), 2.0, 0.0),  # 200 ticks of its own
    ("containerd-shim", (1, 2, 300, 100), 0.03, 4.0),  # runc runs reaped: children
    ("a b) c", (10, 0, 0, 10), 0.1, 0.1),  # a name with a space and a ')'
    ("", (0, 0, 0, 0), 0.0, 0.0),  # an empty name
])
def test_proc_stat_line(name: str, times: tuple[int, int, int, int], own: float,
                        children: float) -> None:
    u, s, cu, cs = times
    line = STAT.format(name=name, utime=u, stime=s, cutime=cu, cstime=cs)
    parsed = acct.parse_proc_stat(line, ticks=100)
    assert (parsed.pid, parsed.name, parsed.ppid) == (4242, name, 17)
    assert parsed.own == pytest.approx(own)
    assert parsed.children == pytest.approx(children)
    assert parsed.total == pytest.approx(own + children)


def test_proc_stat_ticks_are_the_given_clock() -> None:
    line = STAT.format(name="x", utime=250, stime=0, cutime=0, cstime=0)
    assert acct.parse_proc_stat(line, ticks=250).own == pytest.approx(1.0)


@pytest.mark.parametrize("line", [
    "",  # empty
    "4242 dockerd S 1 2 3",  # no parentheses
    "4242 (dockerd) S 1 2 3 4 5",  # cut short before utime
])
def test_proc_stat_rejects_what_is_not_a_stat_line(line: str) -> None:
    with pytest.raises(ValueError):
        acct.parse_proc_stat(line)


def test_this_process_reads_itself() -> None:
    import os

    me = acct.read_proc(os.getpid())
    assert me is not None and me.pid == os.getpid() and me.own >= 0


MACHINE = """cpu  100 20 30 400 50 6 4 10 7 0
cpu0 50 10 15 200 25 3 2 5 7 0
intr 12345
"""


def test_machine_busy_and_idle() -> None:
    busy, idle = acct.parse_machine_stat(MACHINE, ticks=10)
    # user+nice+system+irq+softirq+steal = 100+20+30+6+4+10; guest (7) is inside user
    assert busy == pytest.approx(17.0)
    assert idle == pytest.approx(45.0)  # idle+iowait


def test_machine_stat_without_the_cpu_line() -> None:
    with pytest.raises(ValueError, match="cpu"):
        acct.parse_machine_stat("cpu0 1 2 3 4\n")


def test_cgroup_v2_cpu_stat() -> None:
    text = "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n"
    assert acct.parse_cpu_stat_usage(text) == pytest.approx(2.5)
    with pytest.raises(ValueError):
        acct.parse_cpu_stat_usage("user_usec 1\n")


def test_cgroup_v1_cpuacct_usage() -> None:
    assert acct.parse_cpuacct_usage("1500000000\n") == pytest.approx(1.5)


def _proc(pid: int, name: str, ppid: int, own: float, children: float) -> object:
    return acct.ProcTimes(pid=pid, name=name, ppid=ppid, own=own, children=children)


@pytest.mark.parametrize(("cmdline", "cid"), [
    (b"/usr/bin/containerd-shim-runc-v2\0-namespace\0moby\0-id\0abc123\0-address\0/x.sock\0",
     "abc123"),
    (b"/usr/bin/containerd-shim-runc-v2\0-namespace\0moby\0", None),  # no -id
    (b"containerd-shim\0-id\0", ""),  # -id last: an empty value, not an error
    (b"", None),
])
def test_shim_container_id(cmdline: bytes, cid: str | None) -> None:
    assert acct.parse_shim_id(cmdline) == cid


def test_engine_parts_takes_the_daemons_and_each_shim() -> None:
    procs = [_proc(10, "dockerd", 1, 5.0, 1.0), _proc(11, "containerd", 10, 2.0, 0.5),
             _proc(50, "containerd-shim", 1, 0.2, 0.3), _proc(60, "python3", 50, 9.0, 0.0),
             _proc(1, "init", 0, 1.0, 100.0)]
    daemons, shims = acct.engine_parts(procs)
    assert daemons == pytest.approx(8.5)  # not the container's python, not init's orphans
    # a shim's own time only: its reaped children include the container's processes
    assert shims == {50: pytest.approx(0.2)}
    assert acct.engine_seconds(procs) == pytest.approx(8.7)


@pytest.mark.parametrize(("before", "samples", "grown"), [
    ({}, [], 0.0),  # nothing ran
    ({}, [{7: 0.1}, {7: 0.3}], 0.3),  # a new shim: its last reading
    ({7: 1.0}, [{7: 1.2}], 0.2),  # a shim already running: from the first reading on
    ({}, [{7: 0.3}, {}], 0.3),  # a shim gone before the end keeps its last reading
    ({}, [{7: 0.1, 8: 0.2}, {8: 0.5}], 0.6),  # two shims
])
def test_shim_growth(before: dict[int, float], samples: list[dict[int, float]],
                     grown: float) -> None:
    assert acct.shim_growth(before, samples) == pytest.approx(grown)


CID = "a" * 64


def test_cgroup_v1_layout(tmp_path: Path) -> None:
    (tmp_path / "cpuacct" / "docker" / CID).mkdir(parents=True)
    (tmp_path / "cpuacct" / "docker" / CID / "cpuacct.usage").write_text("250000000\n")
    (tmp_path / "memory" / "docker" / CID).mkdir(parents=True)
    (tmp_path / "memory" / "docker" / CID / "memory.max_usage_in_bytes").write_text("4096\n")
    layout = acct.cgroup_layout(tmp_path)
    assert layout.version == 1
    assert layout.container_usage(CID) == pytest.approx(0.25)
    assert layout.container_peak_memory(CID) == 4096
    assert layout.container_usage("b" * 64) is None  # removed: no reading, no error
    assert layout.named_group("grade-bench") == tmp_path / "cpuacct" / "grade-bench"


def test_cgroup_v2_layout_under_docker(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")
    (tmp_path / "docker" / CID).mkdir(parents=True)
    (tmp_path / "docker" / CID / "cpu.stat").write_text("usage_usec 750000\n")
    (tmp_path / "docker" / CID / "memory.peak").write_text("8192\n")
    layout = acct.cgroup_layout(tmp_path)
    assert (layout.version, layout.docker_parent) == (2, tmp_path / "docker")
    assert layout.container_usage(CID) == pytest.approx(0.75)
    assert layout.container_peak_memory(CID) == 8192


def test_cgroup_v2_layout_with_systemd(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")
    scope = tmp_path / "system.slice" / f"docker-{CID}.scope"
    scope.mkdir(parents=True)
    (scope / "cpu.stat").write_text("usage_usec 1000000\n")
    layout = acct.cgroup_layout(tmp_path)
    assert layout.container_group(CID) == scope
    assert layout.container_usage(CID) == pytest.approx(1.0)


def test_a_group_that_cannot_be_read_is_no_reading(tmp_path: Path) -> None:
    # A group being removed answers ENODEV: any OSError is "gone", not a crash of
    # the sampling thread. A directory in the file's place raises one too.
    (tmp_path / "cpuacct" / "docker" / CID / "cpuacct.usage").mkdir(parents=True)
    (tmp_path / "memory" / "docker" / CID / "memory.max_usage_in_bytes").mkdir(parents=True)
    layout = acct.cgroup_layout(tmp_path)
    assert layout.container_usage(CID) is None
    assert layout.container_peak_memory(CID) is None
