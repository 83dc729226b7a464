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

import docker

from grader.batch.run import default_jobs
from grader.sandbox import docker_connection, image
from grader.spec import catalog

HERE = Path(__file__).resolve().parent
NAIVE_TEST = HERE / "naive_test_ex02.py"
WHEELS = Path.home() / ".cache" / "grade" / "bench-wheels"

CORRECT = [
    'from flask import Flask\napp = Flask(__name__)\n\n@app.route("/greet/<name>")\n'
    'def greet(name):\n    return f"Hello, {name}!"\n',
    'from flask import Flask\n\ndef create_app():\n    app = Flask(__name__)\n\n'
    '    @app.get("/greet/<name>")\n    def hello(name):\n        return "Hello, " + name + "!"\n'
    '    return app\n',
    'from flask import Flask\napplication = Flask(__name__)\napp = application\n\n'
    '@application.route("/greet/<string:who>")\ndef g(who):\n    return "Hello, %s!" % who\n',
]
PARTIAL = [
    # the starter: no variable part
    'from flask import Flask\napp = Flask(__name__)\n\n@app.route("/greet")\n'
    'def greet():\n    return "Hello, stranger!"\n',
    # hard-codes the example
    'from flask import Flask\napp = Flask(__name__)\n\n@app.route("/greet/<name>")\n'
    'def greet(name):\n    return "Hello, Alice!"\n',
    # forgets the "!"
    'from flask import Flask\napp = Flask(__name__)\n\n@app.route("/greet/<name>")\n'
    'def greet(name):\n    return f"Hello, {name}"\n',
    # adds a default route, so /greet/ is not a 404
    'from flask import Flask\napp = Flask(__name__)\n\n@app.route("/greet/")\n'
    '@app.route("/greet/<name>")\ndef greet(name="World"):\n    return f"Hello, {name}!"\n',
]
BROKEN = [
    'from flask import Flask\napp = Flask(__name__)\n\n@app.route("/greet/<name>")\n'
    'def greet(name)\n    return f"Hello, {name}!"\n',
    'from flask import Flask\nimport flask_nonexistent\napp = Flask(__name__)\n',
    'print("I forgot Flask")\n',
    'from flask import Flask\napp = Flask(__name__)\nraise RuntimeError("boom at import")\n',
]


def make_class(folder: Path, students: int) -> dict[str, str]:
    """40 % correct, 40 % partial, 20 % broken; each file unique. Returns name -> kind."""
    folder.mkdir(parents=True)
    kinds: dict[str, str] = {}
    for i in range(students):
        share = i % 10
        kind, pool = (("correct", CORRECT) if share < 4 else ("partial", PARTIAL)
                      if share < 8 else ("broken", BROKEN))
        name = f"student{i:03d}"
        source = pool[i % len(pool)]
        (folder / f"{name}.py").write_text(f"# {name}\n{source}", encoding="utf-8")
        kinds[name] = kind
    return kinds


def ensure_wheels() -> list[Path]:
    """pytest and its dependencies as wheels, downloaded on the host (cached)."""
    import pytest  # the same version the grader uses on the host

    WHEELS.mkdir(parents=True, exist_ok=True)
    if not list(WHEELS.glob(f"pytest-{pytest.__version__}-*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet",
                        "--only-binary=:all:", "--dest", str(WHEELS),
                        f"pytest=={pytest.__version__}"], check=True)
    return sorted(WHEELS.glob("*.whl"))


def build_baseline(client: docker.DockerClient, sandbox_tag: str) -> str:
    """The sandbox image plus pytest, built with no network."""
    tag = f"grade-bench-naive:{sandbox_tag.rpartition(':')[2]}"
    with tempfile.TemporaryDirectory(prefix="grade-bench-ctx-") as tmp:
        ctx = Path(tmp)
        (ctx / "wheels").mkdir()
        for wheel in ensure_wheels():
            (ctx / "wheels" / wheel.name).write_bytes(wheel.read_bytes())
        # Wheels are zip files; pure-Python ones are installed by unpacking them.
        (ctx / "Dockerfile").write_text(
            f"FROM {sandbox_tag}\n"
            "COPY wheels/ /tmp/wheels/\n"
            'RUN for w in /tmp/wheels/*.whl; do python3 -m zipfile -e "$w" /opt/bench/site; '
            "done && rm -rf /tmp/wheels && python3 -m compileall -q /opt/bench/site\n"
            "ENV PYTHONPATH=/opt/grade/site:/opt/bench/site\n", encoding="utf-8")
        client.images.build(path=str(ctx), tag=tag, network_mode="none", pull=False,
                            rm=True, forcerm=True)
    return tag


def naive_command(baseline: str, tests: Path) -> list[str]:
    return ["docker", "run", "--rm", "--network", "none",
            "-v", "{}:/submission/app.py:ro", "-v", f"{tests}:/tests/test_ex02.py:ro",
            baseline, "python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "/tests/test_ex02.py"]


def time_naive(files: list[Path], baseline: str, tests: Path, jobs: int) -> tuple[float, int]:
    """Wall time of the xargs loop, and how many submissions passed every test."""
    inner = " ".join(naive_command(baseline, tests)).replace("{}", '"$1"')
    script = f'{inner} >/dev/null 2>&1; echo "$?"'
    started = time.monotonic()
    done = subprocess.run(["xargs", "-P", str(jobs), "-n", "1", "sh", "-c", script, "sh"],
                          input="\n".join(str(f) for f in files), capture_output=True,
                          text=True, check=False)
    seconds = time.monotonic() - started
    codes = done.stdout.split()
    if len(codes) != len(files):
        raise SystemExit(f"the naive loop ran {len(codes)} of {len(files)}: {done.stderr}")
    return seconds, codes.count("0")


def time_batch(cls: Path, out: Path, jobs: int) -> tuple[float, int]:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "grader.cli", "batch", "ex02", str(cls),
                    "--out", str(out), "--jobs", str(jobs)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    rows = json.loads((out / "gradebook.json").read_text(encoding="utf-8"))
    return seconds, sum(1 for r in rows if r["status"] == "passed")


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
