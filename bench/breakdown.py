"""Benchmark: where the CPU-seconds of one submission go, by the kernel's own accounting.

Not a test: run it by hand with the Docker engine up.

    python bench/breakdown.py [--students 20] [--jobs 2] [--calls 10] [--json PATH]

For `grade batch`, the naive pytest loop and the minimal test-client loop over
the same generated ex02 class, it prints CPU-seconds per submission split into

- client: the command's own process tree (the grader and its workers; or xargs,
  sh and the `docker` CLI), from os.wait4's rusage of that tree;
- engine: dockerd and containerd with the children they reaped, and the own
  time of each containerd-shim of our containers, read while it lives
  (bench/cpu_accounting.engine_parts, bench/sampling.Sampler);
- containers: the containers' cgroups. The loops run with `--cgroup-parent`, a
  group of their own whose counter keeps what its removed children used; grade's
  containers live under the engine's group with everyone else's, so a thread
  reads each of them until it is removed (the last poll interval is lost) and
  keeps only those whose grade.owner label is a process of this batch;
- rest: the machine's busy time (/proc/stat) minus all of the above and this
  script: runc (the shims' reaped children, with the containers' processes),
  kernel threads, and whatever else runs on the machine.

First, 5 s with nothing of ours running: the other users' share of the shared
engine and machine. Then the engine's CPU per API call (create, start, kill,
wait, remove) and per container life in five variants (bench/engine_cpu.py);
the wall-clock phases of one `grade submit` (process start, the engine's
container events, the result's timings, the verdict, the exit); and the CLI's
import time by package (python -X importtime).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cpu_accounting as acct
import docker
from engine_cpu import api_calls, lifecycles
from minimal_loop import run_minimal
from sampling import Sampler, labelled, owned_by_tree
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

BENCH_GROUP = "grade-bench"
IDLE_S = 5.0
BENCH_LABEL = "grade.bench"  # on the loops' containers: their shims are told by it


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


@dataclass(frozen=True)
class Snapshot:
    daemons: float
    shims: dict[int, float]
    machine: float
    me: float
    group: float
    all_containers: float

    @staticmethod
    def take(sampler: Sampler, group_usage: Callable[[], float]) -> Snapshot:
        me = os.times()
        daemons, shims = acct.engine_parts()[0], sampler.shims_now()
        layout = sampler.layout
        return Snapshot(daemons, shims, acct.machine_busy(), me.user + me.system,
                        group_usage(), layout.group_usage(layout.docker_parent) or 0.0)


def account(side: str, n: int, run: Callable[[], tuple[Measured, int]],
            sampler: Sampler, group_usage: Callable[[], float]) -> Row:
    """Run one side and split the machine's CPU time of that window into rows.

    Containers: the sampler's readings of ours if it reads any (grade's), else
    the growth of the loops' own group (exact: a v1 parent keeps its removed
    children's time).
    """
    before = Snapshot.take(sampler, group_usage)
    with sampler:
        done, passed = run()
    after = Snapshot.take(sampler, group_usage)
    engine = after.daemons - before.daemons + acct.shim_growth(before.shims, sampler.shims)
    containers = (sum(sampler.usage.values()) if sampler.read_containers
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
    """The --cgroup-parent groups the engine made for the loops (empty once they end).

    cgroup v1 has one tree per controller, each with its own copy of the group.
    A group that still holds a process (a container not yet gone) stays, named.
    """
    trees = ([d for d in layout.root.iterdir() if d.is_dir()] if layout.version == 1
             else [layout.root])
    for tree in trees:
        group = tree / name
        if not group.is_dir():
            continue
        try:
            for child in group.iterdir():
                if child.is_dir():
                    child.rmdir()
            group.rmdir()
        except OSError as e:
            print(f"left {group}: {e}; remove it with rmdir once its containers are gone")


def class_rows(client: docker.DockerClient, sandbox: str, baseline: str, work: Path,
               students: int, jobs: int) -> list[Row]:
    layout = acct.cgroup_layout()
    make_class(work / "class", students)
    files = sorted((work / "class").glob("*.py"))
    group = bench_group_usage(layout, BENCH_GROUP)
    mine = str(os.getpid())
    extra = ("--cgroup-parent", f"/{BENCH_GROUP}", "--label", f"{BENCH_LABEL}={mine}")

    def batch() -> tuple[Measured, int]:
        return measure_batch(work / "class", work / "out", jobs)

    def naive() -> tuple[Measured, int]:
        return xargs_loop(naive_command(baseline, NAIVE_TEST, extra), files, jobs)

    def minimal() -> tuple[Measured, int]:
        return run_minimal(files, sandbox, jobs, extra)

    def idle() -> tuple[Measured, int]:
        time.sleep(IDLE_S)
        return Measured(IDLE_S, 0.0, 0, 0, ""), 0

    # What the machine's other users spend meanwhile, per second: the engine and
    # the machine are shared, so the sides' engine and rest columns include it.
    rows = [account("(idle: background per s)", 1, idle, Sampler(layout), group)]
    # grade's workers are our grandchildren: their containers are ours.
    loops = labelled(client, BENCH_LABEL, mine)
    for side, run, sampler in (
            ("grade batch", batch, Sampler(layout, owned_by_tree(client, os.getpid()), True)),
            ("naive pytest loop", naive, Sampler(layout, loops)),
            ("minimal test-client loop", minimal, Sampler(layout, loops))):
        rows.append(account(side, len(files), run, sampler, group))
        print(f"  {side}: {rows[-1].wall_s:.1f} s")
    return rows


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
    idle, sides = rows[0], rows[1:]
    rate = idle.engine / idle.wall_s
    print("\nCPU-seconds per submission (kernel accounting)")
    print(f"{'side':26} {'wall/sub':>8} {'client':>7} {'engine':>7} {'eng-bg':>7} "
          f"{'contain':>7} {'rest':>7} {'machine':>7} {'all-ctr':>7} passed")
    for r in sides:
        print(f"{r.side:26} {r.per(r.wall_s):8.3f} {r.per(r.client):7.3f} "
              f"{r.per(r.engine):7.3f} {r.per(r.engine - rate * r.wall_s):7.3f} "
              f"{r.per(r.containers):7.3f} {r.per(r.rest):7.3f} "
              f"{r.per(r.machine):7.3f} {r.per(r.all_containers):7.3f} "
              f"{r.passed}/{r.submissions}")
    print(f"background, CPU-s per second while idle: engine {rate:.3f}, machine "
          f"{idle.machine / idle.wall_s:.3f}, "
          f"all containers {idle.all_containers / idle.wall_s:.3f}")
    print("client: the command's process tree; engine: dockerd, containerd, shims+runc; "
          "eng-bg: engine minus the\nbackground rate; contain: our containers' cgroups; rest: "
          "machine busy minus those (kernel,\nshims' last moments, other users); all-ctr: "
          "every container on the machine")


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
            calls = api_calls(client, sandbox, args.calls, "json-file")
            print("\nengine CPU-ms per API call (mean of --calls), and the container's own "
                  "until the kill:\n  " + ", ".join(f"{k} {v:.1f}" for k, v in calls.items()))
            lives = lifecycles(client, sandbox, args.calls)
            print("engine CPU-ms per container life (mean of --calls, shims included)")
            for name, ms in lives.items():
                print(f"  {name:48} {ms:6.1f}")
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
            "api_calls_ms": calls, "lifecycles_ms": lives, "submit_phases_ms": phases,
            "imports_ms": dict(imports)}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
