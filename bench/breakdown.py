"""Benchmark: where the CPU-seconds of one submission go, by the kernel's own accounting.

Not a test: run it by hand with the Docker engine up.

    python bench/breakdown.py [--students 20] [--jobs 2] [--calls 10] [--json PATH]

For `grade batch`, the naive pytest loop and the minimal test-client loop over
the same generated ex02 class, it prints CPU-seconds per submission split into

- client: the command's own process tree (the grader and its workers; or xargs,
  sh and the `docker` CLI), from os.wait4's rusage of that tree;
- engine: dockerd and containerd with the children they reaped, every
  containerd-shim (runc runs as its child) alive or reaped by PID 1
  (bench/cpu_accounting.engine_seconds: /proc/PID/stat before and after);
- containers: the containers' cgroups. The loops run with `--cgroup-parent`, a
  group of their own whose counter keeps what its removed children used; grade's
  containers live under the engine's group with everyone else's, so a thread
  reads each of them until it is removed (the last poll interval is lost) and
  keeps only those whose grade.owner label is a process of this batch;
- rest: the machine's busy time (/proc/stat) minus all of the above and this
  script: kernel threads and whatever else runs on the machine.

Then the engine's CPU per API call (create, start, kill, wait, remove), with the
json-file and the none log driver, on bare containers of the sandbox image;
the wall-clock phases of one `grade submit` (process start, the engine's
container events, the result's timings, the verdict, the exit); and the
slowest imports of the CLI's start-up (python -X importtime).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cpu_accounting as acct
import docker
from docker.types import LogConfig
from minimal_loop import run_minimal
from shared import (
    NAIVE_TEST,
    Measured,
    build_baseline,
    make_class,
    measure_batch,
    naive_command,
    xargs_loop,
)

from grader.sandbox import docker_connection, image
from grader.spec import catalog

CONTAINER_ID = re.compile(r"^[0-9a-f]{64}$")
BENCH_GROUP = "grade-bench"


@dataclass(frozen=True)
class Row:
    """CPU-seconds per submission of one side, by where they were spent."""

    side: str
    submissions: int
    wall_s: float
    client: float
    engine: float
    containers: float
    rest: float
    machine: float
    passed: int
    all_containers: float  # every container on the machine (the engine's group): a check
    sandbox_peak_kib: int  # the largest container's peak memory, where read

    def per(self, value: float) -> float:
        return round(value / self.submissions, 4)


@dataclass
class Sampler:
    """Reads, until stopped, the live shims and the cgroups of our containers.

    Shims and grade's containers go away with their last CPU time; a reading
    every INTERVAL keeps all but the last interval's. Containers are read only
    when OURS says so (grade's live under the engine's group with everyone's).
    """

    layout: acct.CgroupLayout
    ours: Callable[[str], bool] | None = None
    interval: float = 0.05
    shims: list[dict[int, float]] = field(default_factory=list)
    usage: dict[str, float] = field(default_factory=dict)
    peak_memory: dict[str, int] = field(default_factory=dict)
    verdict: dict[str, bool] = field(default_factory=dict)
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

    def _sample(self) -> None:
        self.shims.append(acct.engine_parts()[1])
        if self.ours is None:
            return
        try:
            names = [p.name for p in self.layout.docker_parent.iterdir()]
        except FileNotFoundError:
            return
        for name in names:
            cid = name.removeprefix("docker-").removesuffix(".scope")
            if not CONTAINER_ID.match(cid):
                continue
            if cid not in self.verdict:
                self.verdict[cid] = self.ours(cid)
            if not self.verdict[cid]:
                continue
            used = self.layout.container_usage(cid)
            if used is not None:
                self.usage[cid] = max(used, self.usage.get(cid, 0.0))
            peak = self.layout.container_peak_memory(cid)
            if peak is not None:
                self.peak_memory[cid] = max(peak, self.peak_memory.get(cid, 0))


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


@dataclass(frozen=True)
class Snapshot:
    daemons: float
    shims: dict[int, float]
    machine: float
    me: float
    group: float
    all_containers: float

    @staticmethod
    def take(layout: acct.CgroupLayout, group_usage: Callable[[], float]) -> Snapshot:
        me = os.times()
        daemons, shims = acct.engine_parts()
        return Snapshot(daemons, shims, acct.machine_busy(), me.user + me.system,
                        group_usage(), layout.group_usage(layout.docker_parent) or 0.0)


def account(side: str, n: int, run: Callable[[], tuple[Measured, int]],
            sampler: Sampler, group_usage: Callable[[], float]) -> Row:
    """Run one side and split the machine's CPU time of that window into rows.

    Containers: the sampler's readings of ours if it reads any (grade's), else
    the growth of the loops' own group (exact: a v1 parent keeps its removed
    children's time).
    """
    before = Snapshot.take(sampler.layout, group_usage)
    with sampler:
        done, passed = run()
    after = Snapshot.take(sampler.layout, group_usage)
    engine = after.daemons - before.daemons + acct.shim_growth(before.shims, sampler.shims)
    containers = (sum(sampler.usage.values()) if sampler.ours is not None
                  else after.group - before.group)
    machine = after.machine - before.machine
    rest = machine - done.cpu_s - engine - containers - (after.me - before.me)
    return Row(side, n, done.seconds, done.cpu_s, engine, containers, rest, machine, passed,
               after.all_containers - before.all_containers,
               max(sampler.peak_memory.values(), default=0) >> 10)


def bench_group_usage(layout: acct.CgroupLayout, name: str) -> Callable[[], float]:
    def usage() -> float:
        return layout.group_usage(layout.named_group(name)) or 0.0
    return usage


def remove_bench_groups(layout: acct.CgroupLayout, name: str) -> None:
    """The --cgroup-parent groups the engine made for the loops (empty once they end)."""
    roots = ([acct.CGROUP_ROOT / c for c in ("cpuacct", "cpu", "memory", "pids", "blkio",
                                             "devices", "freezer", "cpuset", "net_cls",
                                             "perf_event", "hugetlb", "systemd")]
             if layout.version == 1 else [acct.CGROUP_ROOT])
    for root in roots:
        group = root / name
        if group.is_dir():
            for child in group.iterdir():
                if child.is_dir():
                    child.rmdir()
            group.rmdir()


def class_rows(client: docker.DockerClient, sandbox: str, baseline: str, work: Path,
               students: int, jobs: int) -> list[Row]:
    layout = acct.cgroup_layout()
    make_class(work / "class", students)
    files = sorted((work / "class").glob("*.py"))
    group = bench_group_usage(layout, BENCH_GROUP)
    extra = ("--cgroup-parent", f"/{BENCH_GROUP}")

    def batch() -> tuple[Measured, int]:
        return measure_batch(work / "class", work / "out", jobs)

    def naive() -> tuple[Measured, int]:
        return xargs_loop(naive_command(baseline, NAIVE_TEST, extra), files, jobs)

    def minimal() -> tuple[Measured, int]:
        return run_minimal(files, sandbox, jobs, extra)

    rows = []
    # grade's workers are our grandchildren: their containers are ours.
    for side, run, ours in (("grade batch", batch, owned_by_tree(client, os.getpid())),
                            ("naive pytest loop", naive, None),
                            ("minimal test-client loop", minimal, None)):
        rows.append(account(side, len(files), run, Sampler(layout, ours), group))
        print(f"  {side}: {rows[-1].wall_s:.1f} s")
    return rows


def engine_cost(call: Callable[[str], object], cid: str) -> float:
    """The engine's CPU seconds while CALL(cid) ran."""
    before = acct.engine_seconds()
    call(cid)
    return acct.engine_seconds() - before


def api_calls(client: docker.DockerClient, sandbox: str, calls: int,
              log_driver: str) -> dict[str, float]:
    """Mean engine CPU-ms per API call on bare containers, and the container's own."""
    costs: dict[str, list[float]] = {k: [] for k in ("create", "start", "kill", "wait", "remove",
                                                     "container")}
    layout = acct.cgroup_layout()
    labels = {"grade.managed": "1", "grade.owner": f"{socket.gethostname()}:{os.getpid()}"}
    for _ in range(calls):
        cid: str | None = None
        try:
            config = client.api.create_host_config(
                network_mode="none", log_config=LogConfig(type=log_driver, config={}))
            before = acct.engine_seconds()
            cid = str(client.api.create_container(
                sandbox, ["python3", "-c", "import sys; sys.stdin.read()"], stdin_open=True,
                labels=labels, host_config=config)["Id"])
            costs["create"].append(acct.engine_seconds() - before)
            costs["start"].append(engine_cost(client.api.start, cid))
            time.sleep(0.3)  # let python start: the kill is of a running process
            costs["container"].append(layout.container_usage(cid) or 0.0)
            costs["kill"].append(engine_cost(client.api.kill, cid))
            costs["wait"].append(engine_cost(client.api.wait, cid))
            before = acct.engine_seconds()
            client.api.remove_container(cid, force=True)
            cid = None
            costs["remove"].append(acct.engine_seconds() - before)
        finally:
            if cid is not None:
                client.api.remove_container(cid, force=True)
    # Means: /proc counts in clock ticks (10 ms), a median of a few calls would be 0 or 10.
    return {k: round(statistics.fmean(v) * 1000, 1) for k, v in costs.items() if v}


def submit_phases(client: docker.DockerClient, work: Path) -> dict[str, float]:
    """Wall-clock phases of one `grade submit` of the ex02 solution, in ms from its start."""
    solution = catalog.find("ex02").directory / "solution.py"
    since = time.time()
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "grader.cli", "submit", "ex02", str(solution),
                             "--json", "--report-dir", str(work / "single")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read() if proc.stdout is not None else ""
    printed = time.monotonic() - started
    proc.wait()
    exited = time.monotonic() - started
    result = json.loads(out)
    owner = f"{socket.gethostname()}:{proc.pid}"
    events = client.events(since=int(since), until=int(time.time()) + 1, decode=True,
                           filters={"type": "container", "label": f"grade.owner={owner}"})
    marks: dict[str, float] = {}
    for ev in events:
        action = str(ev.get("Action", "")).split(":")[0]
        marks.setdefault(action, int(ev["timeNano"]) / 1e9 - since)
    ordered = sorted(marks.items(), key=lambda kv: kv[1])
    phases: dict[str, float] = {f"engine event {k}": round(v * 1000) for k, v in ordered}
    t = result.get("timings", {})
    phases.update({"grade() total (result timings)": round(t.get("total", 0) * 1000),
                   "  of which start-up: create, start, agent, load": round(
                       t.get("startup", 0) * 1000),
                   "  of which checks": round(t.get("checks", 0) * 1000),
                   "verdict printed": round(printed * 1000),
                   "process exited": round(exited * 1000)})
    return phases


def import_times(top: int = 12) -> list[tuple[str, float]]:
    """The CLI's import time, and its self time by top-level package, ms (-X importtime).

    By package, not by importer: the first module to import docker or pytest
    would otherwise carry them, whichever command needs them.
    """
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "import grader.cli"],
                          capture_output=True, text=True, check=True)
    by_package: dict[str, float] = {}
    total = 0.0
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        name = parts[2].strip()
        package = ".".join(name.split(".")[:2]) if name.startswith("grader.") else \
            name.split(".")[0]
        by_package[package] = by_package.get(package, 0.0) + int(parts[0]) / 1000
        if name == "grader.cli":
            total = int(parts[1]) / 1000
    ranked = sorted(by_package.items(), key=lambda kv: -kv[1])[:top]
    return [("(all) import grader.cli", total)] + ranked


def print_rows(rows: list[Row]) -> None:
    print("\nCPU-seconds per submission (kernel accounting)")
    print(f"{'side':26} {'wall/sub':>8} {'client':>7} {'engine':>7} {'contain':>7} "
          f"{'rest':>7} {'machine':>7} {'all-ctr':>7} passed")
    for r in rows:
        print(f"{r.side:26} {r.per(r.wall_s):8.3f} {r.per(r.client):7.3f} "
              f"{r.per(r.engine):7.3f} {r.per(r.containers):7.3f} {r.per(r.rest):7.3f} "
              f"{r.per(r.machine):7.3f} {r.per(r.all_containers):7.3f} "
              f"{r.passed}/{r.submissions}")
    print("client: the command's process tree; engine: dockerd, containerd, shims+runc; "
          "contain: our containers' cgroups;\nrest: machine busy minus those (kernel, "
          "shims' last moments, other users); all-ctr: every container on the machine")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--calls", type=int, default=10, help="containers per API-call row")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    client = docker_connection.connect()
    layout = acct.cgroup_layout()
    try:
        sandbox = image.ensure_image(client, progress=print).tag
        baseline = build_baseline(client, sandbox)
        with tempfile.TemporaryDirectory(prefix="grade-bench-") as tmp:
            print(f"{args.students} submissions, jobs {args.jobs}, cgroup v{layout.version} "
                  f"({layout.docker_parent})")
            rows = class_rows(client, sandbox, baseline, Path(tmp), args.students, args.jobs)
            print_rows(rows)
            calls = {driver: api_calls(client, sandbox, args.calls, driver)
                     for driver in ("json-file", "none")}
            print("\nengine CPU-ms per API call (mean of --calls), and the container's own "
                  "until the kill")
            for driver, costs in calls.items():
                print(f"  log driver {driver:9}: "
                      + ", ".join(f"{k} {v:.1f}" for k, v in costs.items()))
            phases = submit_phases(client, Path(tmp))
            print("\none grade submit, ms from the process start")
            for name, ms in phases.items():
                print(f"  {name:48} {ms:6}")
        imports = import_times()
        print("\nCLI start-up: cumulative import ms (python -X importtime, one run)")
        for name, ms in imports:
            print(f"  {name:40} {ms:7.1f}")
    finally:
        remove_bench_groups(layout, BENCH_GROUP)
        client.close()
    if args.json:
        args.json.write_text(json.dumps({
            "rows": [asdict(r) | {"per_submission": {k: r.per(getattr(r, k)) for k in (
                "wall_s", "client", "engine", "containers", "rest", "machine")}} for r in rows],
            "api_calls_ms": calls, "submit_phases_ms": phases,
            "imports_ms": dict(imports)}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
