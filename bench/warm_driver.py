"""Time-to-verdict of a grader that is already running with a warm pool (issue 15).

Stands in for the service that comes later: one process imports the grader,
opens a factory whose pool is kept warm, and hands it ex02 submissions one at
a time, each after the pool has refilled (as between a service's arrivals).
Prints p50 and p95 of the time from handing a submission over to its verdict
(the container's removal follows in the background), one naive ``docker run
--rm --network none IMAGE python3 -c ...`` timed alternately for the ratio, the
peak memory of each sandbox (its cgroup's, read before removal), and with
``--rss N`` the grader's RSS at the 100th and the Nth submission.

    python bench/warm_driver.py --json PATH [--n 50] [--rss N] [--pool 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import docker  # noqa: E402
from cpu_accounting import vm_rss  # noqa: E402

from grader.grading.run import grade, sandbox_labels  # noqa: E402
from grader.sandbox import (  # noqa: E402
    Sandbox,
    SandboxFactory,
    SandboxRun,
    docker_connection,
    open_sandbox,
)
from grader.sandbox.container import DockerSandbox  # noqa: E402
from grader.spec import catalog  # noqa: E402
from grader.spec.exercise import Limits  # noqa: E402

# The same work as ex02's checks, in the plainest container: an app, a request.
NAIVE = ("import flask\n"
         "app = flask.Flask('app')\n"
         "app.add_url_rule('/greet/<name>', 'greet', lambda name: 'Hello, ' + name + '!')\n"
         "assert app.test_client().get('/greet/Alice').data == b'Hello, Alice!'\n")
WARM_TIMEOUT = 300.0


class PeakMemory:
    """Reads each sandbox's peak memory use before it is removed (cgroup v1 or stats)."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.peaks: list[int] = []

    def wrap(self, box: Sandbox) -> None:
        """Read *box*'s peak just before it is stopped (its cgroup goes with the kill)."""
        if not isinstance(box, DockerSandbox):
            return
        stop = box._stop

        def measured() -> SandboxRun:
            self.peaks.append(self.peak(box.name))
            return stop()

        box._stop = measured  # type: ignore[method-assign]

    def peak(self, name: str) -> int:
        full = str(self.client.api.inspect_container(name)["Id"])
        for path in (Path("/sys/fs/cgroup/memory/docker", full, "memory.max_usage_in_bytes"),
                     Path(f"/sys/fs/cgroup/system.slice/docker-{full}.scope/memory.peak"),
                     Path("/sys/fs/cgroup/docker", full, "memory.peak")):
            try:
                return int(path.read_text())
            except (OSError, ValueError):
                continue
        stats = self.client.api.stats(name, stream=False)
        memory = stats.get("memory_stats") or {}
        return int(memory.get("max_usage") or memory.get("usage") or 0)


class Measured(SandboxFactory):
    """The factory, with each sandbox's peak memory read before its removal."""

    def __init__(self, inner: SandboxFactory, peaks: PeakMemory) -> None:
        self.__dict__.update(inner.__dict__)
        self._peaks = peaks

    def __call__(self, submission: Path, limits: Limits,
                 labels: Mapping[str, str] | None = None) -> Sandbox:
        box = super().__call__(submission, limits, labels)
        self._peaks.wrap(box)
        return box


def rss_kib() -> tuple[int, int]:
    """(VmRSS now, ru_maxrss), KiB."""
    now = vm_rss(os.getpid()) or 0
    return now, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def naive_run(image: str) -> float:
    started = time.monotonic()
    subprocess.run(["docker", "run", "--rm", "--network", "none", image, "python3", "-c", NAIVE],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def run(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, object]:
    exercise = catalog.find("ex02", (HERE.parent / "exercises",))
    solution = exercise.directory / "solution.py"
    client = docker_connection.connect()
    peaks = PeakMemory(client)
    verdicts: list[float] = []
    naive: list[float] = []
    rss: dict[str, dict[str, int]] = {}
    total = max(args.n, args.rss)
    with open_sandbox("docker", client=client, pool=args.pool) as opened:
        factory = Measured(opened, peaks)
        factory.warm(exercise.limits, sandbox_labels(exercise))
        for i in range(1, total + 1):
            if not factory.wait_warm(WARM_TIMEOUT):
                raise SystemExit("the pool did not fill in time")
            started = time.monotonic()
            result = grade(exercise, solution, factory)
            took = time.monotonic() - started
            if result.status != "passed":
                raise SystemExit(f"submission {i}: {result.status} ({result.problem})")
            if i <= args.n:
                verdicts.append(took)
                naive.append(naive_run(opened.image.tag))  # alternately, the same load
            if i in (100, total) and args.rss:
                now, peak = rss_kib()
                rss[str(i)] = {"vm_rss_kib": now, "ru_maxrss_kib": peak}
            if i % 50 == 0:
                log(f"{i}/{total} graded")
    p50, p95 = percentile(verdicts, 50), percentile(verdicts, 95)
    naive_p50 = statistics.median(naive)
    numbers: dict[str, object] = {
        "submissions": args.n, "pool": args.pool,
        "verdict_p50_s": round(p50, 3), "verdict_p95_s": round(p95, 3),
        "naive_docker_run_p50_s": round(naive_p50, 3),
        "warm_p50_over_naive": round(p50 / naive_p50, 3),
        "sandbox_peak_mib_max": round(max(peaks.peaks, default=0) / 2**20, 1),
        "sandbox_peak_mib_p50": round(statistics.median(peaks.peaks or [0]) / 2**20, 1),
        "grader_rss_kib": rss,
    }
    if "100" in rss and str(total) in rss and total != 100:
        numbers["grader_rss_growth_mib"] = round(
            (rss[str(total)]["vm_rss_kib"] - rss["100"]["vm_rss_kib"]) / 1024, 2)
    return numbers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="submissions timed")
    parser.add_argument("--rss", type=int, default=0,
                        help="grade this many in all and report RSS at the 100th and the last")
    parser.add_argument("--pool", type=int, default=1, help="ready sandboxes kept")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()
    numbers = run(args, lambda line: print(line, file=sys.stderr, flush=True))
    print(f"warm time-to-verdict over {args.n}: p50 {numbers['verdict_p50_s']} s, "
          f"p95 {numbers['verdict_p95_s']} s; one naive docker run "
          f"{numbers['naive_docker_run_p50_s']} s; ratio {numbers['warm_p50_over_naive']} "
          "(goal <= 0.6)")
    print(f"sandbox peak memory: max {numbers['sandbox_peak_mib_max']} MiB, "
          f"p50 {numbers['sandbox_peak_mib_p50']} MiB")
    if numbers["grader_rss_kib"]:
        print(f"grader RSS: {numbers['grader_rss_kib']}; growth "
              f"{numbers.get('grader_rss_growth_mib')} MiB (goal within 5)")
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
