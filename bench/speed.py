"""Benchmark: grade's speed against two hand-written Docker loops, with the issue's goals.

Not a test: run it by hand with the Docker engine up (the quieter the machine, the better).

    python bench/speed.py [--students 40] [--rounds 2] [--jobs 1,2,4] [--singles 10]
                          [--warm 50] [--rss 0] [--json PATH]

In one run, on the same generated class of ex02 submissions (bench/shared.py):
1. per --jobs value, --rounds rounds of three sides, in a rotating order so that
   each sees the same load: `grade batch` (a fresh --out each round), the naive
   loop (`xargs -P N docker run --rm ... python3 -m pytest`, bench/naive_test_ex02.py
   in the sandbox image plus pytest, built offline) and the minimal loop (the
   sandbox image, Flask's test client, bench/minimal_loop.py);
2. --singles alternating pairs of one `grade submit` (time to the printed verdict
   and to the process's exit) and one naive `docker run`;
3. bench/warm_driver.py, if it exists, for --warm submissions handed to a grader
   already running with a warm pool;
4. with --rss N, one `grade batch` of N submissions, reading the grader's resident
   memory as it goes (at the 100th and the 1,000th) and each sandbox's peak;
then prints every measure with its goal, best and median, met or not met
(judged on the best, as the issue's numbers were), and --json writes it all.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cpu_accounting as acct
from minimal_loop import run_minimal
from sampling import Sampler, owned_by_tree
from shared import (
    HERE,
    NAIVE_TEST,
    Measured,
    batch_command,
    build_baseline,
    make_class,
    measure_batch,
    naive_command,
    xargs_loop,
)

from grader.sandbox import docker_connection, image
from grader.spec import catalog

WARM_DRIVER = HERE / "warm_driver.py"
VERDICT = "points ("  # the first line of `grade submit`'s summary (reports/terminal.py)


@dataclass
class Series:
    """Repeated measures of one quantity, in seconds or KiB."""

    values: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def as_json(self) -> dict[str, Any]:
        return {"best": round(self.best, 3), "median": round(self.median, 3),
                "runs": [round(v, 3) for v in self.values]}


@dataclass(frozen=True)
class Goal:
    """One line of the final table."""

    measure: str
    value: str
    goal: str
    met: bool | None  # None: not measured in this run

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "-" if self.goal == "-" else "not measured"
        return "met" if self.met else "NOT met"


def ratio_goal(measure: str, ours: Series, theirs: Series, limit: float) -> Goal:
    best, median = ours.best / theirs.best, ours.median / theirs.median
    return Goal(measure, f"best {best:.2f} ({ours.best:.2f} vs {theirs.best:.2f} s), "
                         f"median {median:.2f}", f"<= {limit}", best <= limit)


def class_sides(work: Path, files: list[Path], sandbox: str, baseline: str, jobs: int,
                rounds: int, grader_rss: Series) -> dict[str, Series]:
    sides: dict[str, Series] = {"batch": Series(), "naive": Series(), "minimal": Series()}

    def batch(r: int) -> tuple[Measured, int]:
        done, passed = measure_batch(work / "class", work / f"out-j{jobs}-r{r}", jobs)
        grader_rss.values.append(done.maxrss_kib)
        return done, passed

    runs: list[tuple[str, Callable[[int], tuple[Measured, int]]]] = [
        ("batch", batch),
        ("naive", lambda r: xargs_loop(naive_command(baseline, NAIVE_TEST), files, jobs)),
        ("minimal", lambda r: run_minimal(files, sandbox, jobs)),
    ]
    for r in range(rounds):
        order = runs[r % 3:] + runs[:r % 3]  # a rotating start: each side goes first in turn
        for name, run in order:
            done, passed = run(r)
            sides[name].values.append(done.seconds)
            print(f"  jobs {jobs} round {r + 1}: {name:8} {done.seconds:6.1f} s "
                  f"({passed} passed)", flush=True)
    return sides


def submit_once(solution: Path, out: Path) -> tuple[float, float, int]:
    """One `grade submit`: seconds to the verdict line, to the exit, and its peak RSS (KiB)."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "grader.cli", "submit", "ex02", str(solution),
                             "--report-dir", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    verdict = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if verdict is None and VERDICT in line:
                verdict = time.monotonic() - started
    finally:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    exited = time.monotonic() - started
    if verdict is None:
        raise SystemExit(f"grade submit printed no verdict (exit {proc.returncode}); try "
                         f"`grade submit ex02 {solution}` by hand")
    return verdict, exited, usage.ru_maxrss


def singles(baseline: str, work: Path, count: int) -> dict[str, Series]:
    solution = catalog.find("ex02").directory / "solution.py"
    one = [a.replace("{}", str(solution)) for a in naive_command(baseline, NAIVE_TEST)]
    out: dict[str, Series] = {k: Series() for k in ("verdict", "exit", "naive", "rss")}
    for i in range(count):
        for side in (("submit", "naive") if i % 2 == 0 else ("naive", "submit")):
            if side == "submit":
                verdict, exited, rss = submit_once(solution, work / "single")
                out["verdict"].values.append(verdict)
                out["exit"].values.append(exited)
                out["rss"].values.append(rss)
            else:
                started = time.monotonic()
                subprocess.run(one, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               check=False)
                out["naive"].values.append(time.monotonic() - started)
    return out


def warm(n: int, rss: int, work: Path) -> dict[str, Any] | None:
    """bench/warm_driver.py's numbers (normalize_warm's keys), or None when it is not there."""
    if not WARM_DRIVER.exists():
        return None
    path = work / "warm.json"
    cmd = [sys.executable, str(WARM_DRIVER), "--json", str(path), "--n", str(n)]
    if rss:
        cmd += ["--rss", str(rss)]
    subprocess.run(cmd, check=True)
    return normalize_warm(json.loads(path.read_text(encoding="utf-8")))


def normalize_warm(data: dict[str, Any]) -> dict[str, Any]:
    """The warm driver's JSON in one shape: p50_ms, p95_ms, naive_ms, rss_kib_at
    (submission -> KiB) and sandbox_peak_rss_kib.

    Takes these keys as they are, or the driver's own (verdict_p50_s,
    verdict_p95_s, naive_docker_run_p50_s, grader_rss_kib {N: {vm_rss_kib}},
    sandbox_peak_mib_max).
    """
    if "p50_ms" in data:
        return data
    rss = data.get("grader_rss_kib") or {}
    peak = data.get("sandbox_peak_mib_max")
    return {
        "p50_ms": float(data["verdict_p50_s"]) * 1000,
        "p95_ms": float(data["verdict_p95_s"]) * 1000,
        "naive_ms": float(data["naive_docker_run_p50_s"]) * 1000,
        "rss_kib_at": {str(k): int(v["vm_rss_kib"]) for k, v in rss.items()},
        "sandbox_peak_rss_kib": None if peak is None else round(float(peak) * 1024),
        "raw": data,
    }


@dataclass
class RssWatch:
    """Reads the resident memory of a batch's processes while it grades."""

    root: Callable[[], int | None]
    students: Path
    # (graded so far, the main process's KiB, the largest other process's KiB, how many)
    readings: list[tuple[int, int, int, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.wait(0.25):
            pid = self.root()
            if pid is None:
                continue
            done = graded(self.students)
            main, others = acct.vm_rss(pid), rss_tree(pid)[1:]
            if main is not None:
                self.readings.append((done, main, max(others, default=0), len(others)))

    def stop(self) -> None:
        self._stop.set()

    def at(self, mark: int) -> dict[str, int] | None:
        """The first reading at MARK graded with the workers alive, or else the last one
        with them alive (they exit as the batch ends): its count says which it is."""
        alive = [r for r in self.readings if r[3] > 0]
        chosen = next((r for r in alive if r[0] >= mark), alive[-1] if alive else None)
        if chosen is None:
            return None
        return {"graded": chosen[0], "main_kib": chosen[1], "largest_worker_kib": chosen[2]}


def graded(students: Path) -> int:
    try:
        return sum(1 for d in os.scandir(students) if os.path.exists(
            os.path.join(d.path, "grade.json")))
    except OSError:
        return 0


def rss_tree(root: int) -> list[int]:
    """VmRSS (KiB) of ROOT and then of each of its descendants."""
    procs = acct.all_procs()
    tree, grew = [root], True
    while grew:
        more = [p.pid for p in procs if p.ppid in tree and p.pid not in tree]
        tree += more
        grew = bool(more)
    return [kib for kib in (acct.vm_rss(pid) for pid in tree) if kib is not None]




def rss_pass(client: Any, work: Path, n: int, jobs: int) -> dict[str, Any]:
    """One batch of N: its time, the grader's RSS at marks, each sandbox's peak memory."""
    make_class(work / "rss-class", n)
    out = work / "rss-out"
    pid: list[int] = []
    watch = RssWatch(lambda: pid[0] if pid else None, out / "students")
    watcher = threading.Thread(target=watch.run, daemon=True)
    sampler = Sampler(acct.cgroup_layout(), owned_by_tree(client, os.getpid()), True, 0.1)
    started = time.monotonic()
    proc = subprocess.Popen(batch_command(work / "rss-class", out, jobs),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid.append(proc.pid)
    watcher.start()
    try:
        with sampler:
            proc.wait()
    finally:
        watch.stop()
        watcher.join()
    seconds = time.monotonic() - started
    peaks = sorted(sampler.peak_memory.values())
    return {"submissions": n, "jobs": jobs, "seconds": round(seconds, 1),
            "grader_rss_at": {str(m): watch.at(m) for m in (100, n)},
            "sandbox_peak_kib": {"max": peaks[-1] >> 10 if peaks else None,
                                 "median": peaks[len(peaks) // 2] >> 10 if peaks else None,
                                 "read": len(peaks)}}


def goals(classes: dict[int, dict[str, Series]], single: dict[str, Series],
          warm_numbers: dict[str, Any] | None, rss: dict[str, Any] | None,
          grader_rss: Series) -> list[Goal]:
    table = []
    for jobs, sides in classes.items():
        table.append(ratio_goal(f"batch / naive pytest loop, --jobs {jobs}",
                                sides["batch"], sides["naive"], 0.5))
        table.append(ratio_goal(f"batch / minimal test-client loop, --jobs {jobs}",
                                sides["batch"], sides["minimal"], 0.8))
    table.append(ratio_goal("submit, to the verdict / one naive docker run",
                            single["verdict"], single["naive"], 1.1))
    exit_ratio = single["exit"].best / single["naive"].best
    table.append(Goal("submit, to the exit / one naive docker run",
                      f"best {exit_ratio:.2f} ({single['exit'].best:.2f} s), median "
                      f"{single['exit'].median / single['naive'].median:.2f}", "-", None))
    if warm_numbers is None:
        table.append(Goal("warm p50 / naive docker run", "not available "
                          "(no bench/warm_driver.py)", "<= 0.6", None))
    else:
        naive_ms = float(warm_numbers.get("naive_ms") or single["naive"].median * 1000)
        p50, p95 = float(warm_numbers["p50_ms"]), float(warm_numbers["p95_ms"])
        table.append(Goal("warm p50 / naive docker run", f"{p50 / naive_ms:.2f} (p50 {p50:.0f} "
                          f"ms, p95 {p95:.0f} ms, naive {naive_ms:.0f} ms)", "<= 0.6",
                          p50 / naive_ms <= 0.6))
    table.append(Goal("grader peak RSS (largest process, batches)",
                      f"{grader_rss.best / 1024:.0f}-{max(grader_rss.values) / 1024:.0f} MiB",
                      "-", None))
    table += rss_goals(rss, warm_numbers)
    return table


def rss_goals(rss: dict[str, Any] | None, warm_numbers: dict[str, Any] | None) -> list[Goal]:
    table = []
    if rss is None or rss["submissions"] < 1000:
        table.append(Goal("1,000 submissions (grade batch)", "not measured (--rss 1000)",
                          "< 240 s", None))
    else:
        table.append(Goal(f"1,000 submissions (grade batch --jobs {rss['jobs']})",
                          f"{rss['seconds']} s", "< 240 s", rss["seconds"] < 240))
    if rss:
        marks = ", ".join(f"{a['main_kib'] / 1024:.0f} MiB and its largest worker "
                          f"{a['largest_worker_kib'] / 1024:.0f} MiB at the {a['graded']}th"
                          for a in rss["grader_rss_at"].values() if a)
        table.append(Goal(f"--rss pass: grade batch of {rss['submissions']}",
                          f"{rss['seconds']} s; the main process {marks}", "-", None))
    first, last = (rss["grader_rss_at"].get(str(m)) for m in (100, rss["submissions"])) \
        if rss and rss["submissions"] >= 1000 else (None, None)
    if first and last:
        grew = max(last["main_kib"] - first["main_kib"],
                   last["largest_worker_kib"] - first["largest_worker_kib"]) / 1024
        table.append(Goal(f"grader RSS, the {first['graded']}th vs the {last['graded']}th "
                          "(main, worker)", f"{grew:+.1f} MiB at most", "within 5 MiB",
                          abs(grew) <= 5))
    warm_at = {int(k): int(v) for k, v in (warm_numbers or {}).get("rss_kib_at", {}).items()}
    if 100 in warm_at and 1000 in warm_at:
        grew = (warm_at[1000] - warm_at[100]) / 1024
        table.append(Goal("warm grader RSS, 100th vs 1,000th", f"{grew:+.1f} MiB",
                          "within 5 MiB", abs(grew) <= 5))
    elif not (first and last):
        table.append(Goal("grader RSS, 100th vs 1,000th", "not measured (--rss 1000)",
                          "within 5 MiB", None))
    if rss and rss["sandbox_peak_kib"]["max"] is not None:
        peak = rss["sandbox_peak_kib"]
        table.append(Goal("sandbox peak memory (cgroup), per container",
                          f"max {peak['max'] / 1024:.0f} MiB, median "
                          f"{peak['median'] / 1024:.0f} MiB ({peak['read']} read)", "-", None))
    if warm_numbers and warm_numbers.get("sandbox_peak_rss_kib"):
        table.append(Goal("warm sandbox peak RSS",
                          f"{float(warm_numbers['sandbox_peak_rss_kib']) / 1024:.0f} MiB",
                          "-", None))
    return table


def print_table(table: list[Goal]) -> None:
    width = max(len(g.measure) for g in table)
    print()
    for g in table:
        print(f"{g.measure:{width}}  {g.value:52}  {g.goal:13}  {g.verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--jobs", default="1,2,4", help="comma-separated jobs values")
    parser.add_argument("--singles", type=int, default=10, help="pairs of single runs")
    parser.add_argument("--warm", type=int, default=50, help="submissions for warm_driver.py")
    parser.add_argument("--rss", type=int, default=0,
                        help="grade a batch of this many to read memory (1000 for the goals)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    jobs_values = [int(j) for j in args.jobs.split(",") if j.strip()]

    client = docker_connection.connect()
    try:
        sandbox = image.ensure_image(client, progress=print).tag
        baseline = build_baseline(client, sandbox)
        with tempfile.TemporaryDirectory(prefix="grade-bench-") as tmp:
            work = Path(tmp)
            make_class(work / "class", args.students)
            files = sorted((work / "class").glob("*.py"))
            print(f"{len(files)} ex02 submissions, {args.rounds} rounds, jobs {jobs_values}, "
                  f"sandbox {sandbox}, baseline {baseline}, {os.cpu_count()} CPUs", flush=True)
            grader_rss = Series()
            classes = {j: class_sides(work, files, sandbox, baseline, j, args.rounds, grader_rss)
                       for j in jobs_values}
            single = singles(baseline, work, args.singles)
            warm_numbers = warm(args.warm, args.rss, work)
            rss = (rss_pass(client, work, args.rss, os.cpu_count() or 2)
                   if args.rss else None)
    finally:
        client.close()
    table = goals(classes, single, warm_numbers, rss, grader_rss)
    print_table(table)
    if args.json:
        args.json.write_text(json.dumps({
            "students": args.students, "rounds": args.rounds, "cpus": os.cpu_count(),
            "classes": {str(j): {k: s.as_json() for k, s in sides.items()}
                        for j, sides in classes.items()},
            "submit": {k: s.as_json() for k, s in single.items()},
            "grader_peak_rss_kib": grader_rss.as_json(),
            "warm": warm_numbers, "rss": rss,
            "goals": [{"measure": g.measure, "value": g.value, "goal": g.goal,
                       "verdict": g.verdict} for g in table],
        }, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
