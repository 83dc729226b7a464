"""Benchmark: `grade batch` against a naive `xargs -P N docker run ... pytest` loop.

Not a test: run it by hand on a quiet machine with the Docker engine up.

    python bench/batch_vs_naive.py [--students 100] [--jobs N] [--rounds 2]

In one run it
1. generates a class of ex02 submissions (correct, partial and broken ones);
2. builds the baseline image: FROM the sandbox image, plus pytest unpacked from
   wheels downloaded on the host (the build has no network: no pip, no index);
3. times `grade batch ex02 CLASS --jobs N` (a fresh --out each round) against
   `xargs -P N` running `docker run --rm --network none IMAGE python3 -m pytest`
   with bench/naive_test_ex02.py per submission, alternating, best of --rounds;
4. times one `grade submit` against one naive `docker run` (alternately, median of
   --singles runs each);
5. prints the ratios (and writes them as JSON with --json PATH).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from shared import NAIVE_TEST, build_baseline, make_class, naive_command, time_batch, time_naive

from grader.batch.run import default_jobs
from grader.sandbox import docker_connection, image
from grader.spec import catalog


def time_pairs(first: list[str], second: list[str], repeat: int) -> tuple[float, float]:
    """Median wall times of two commands, run alternately so both see the same load."""
    runs: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for cmd, times in ((first, runs[0]), (second, runs[1])):
            started = time.monotonic()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=False)
            times.append(time.monotonic() - started)
    return statistics.median(runs[0]), statistics.median(runs[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--singles", type=int, default=10, help="single runs of each")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()

    client = docker_connection.connect()
    info = image.ensure_image(client, progress=print)
    baseline = build_baseline(client, info.tag)
    client.close()
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as tmp:
        work = Path(tmp)
        kinds = make_class(work / "class", args.students)
        files = sorted((work / "class").glob("*.py"))
        print(f"{len(files)} submissions ({sum(k == 'correct' for k in kinds.values())} "
              f"correct), jobs {args.jobs}, sandbox {info.tag}, baseline {baseline}")
        batch_runs, naive_runs = [], []
        for r in range(args.rounds):
            seconds, passed = time_batch(work / "class", work / f"out{r}", args.jobs)
            batch_runs.append(seconds)
            print(f"round {r + 1}: grade batch {seconds:.1f} s ({passed} passed)")
            seconds, passed = time_naive(files, baseline, NAIVE_TEST, args.jobs)
            naive_runs.append(seconds)
            print(f"round {r + 1}: naive loop  {seconds:.1f} s ({passed} passed)")
        solution = catalog.find("ex02").directory / "solution.py"
        one = [a.replace("{}", str(solution)) for a in naive_command(baseline, NAIVE_TEST)]
        submit, naive_one = time_pairs(
            [sys.executable, "-m", "grader.cli", "submit", "ex02", str(solution),
             "--report-dir", str(work / "single")], one, args.singles)
    numbers = {
        "students": args.students, "jobs": args.jobs,
        "batch_s": round(min(batch_runs), 2), "naive_s": round(min(naive_runs), 2),
        "batch_over_naive": round(min(batch_runs) / min(naive_runs), 2),
        "submit_s": round(submit, 3), "naive_run_s": round(naive_one, 3),
        "submit_over_naive_run": round(submit / naive_one, 2),
    }
    print(f"grade batch / naive loop  = {numbers['batch_over_naive']:.2f} "
          f"({numbers['batch_s']} s vs {numbers['naive_s']} s; goal <= 1.00)")
    print(f"grade submit / docker run = {numbers['submit_over_naive_run']:.2f} "
          f"({numbers['submit_s']} s vs {numbers['naive_run_s']} s; goal < 1.50)")
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
