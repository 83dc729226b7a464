"""What the speed benchmarks share: the ex02 class, the baseline images, their commands.

bench/batch_vs_naive.py, bench/minimal_loop.py, bench/speed.py and
bench/breakdown.py all grade the same generated class of ex02 submissions
(40 % correct, 40 % partial, 20 % broken) and compare `grade` with loops of
plain `docker run` containers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import docker

HERE = Path(__file__).resolve().parent
NAIVE_TEST = HERE / "naive_test_ex02.py"
MINIMAL_CHECK = HERE / "minimal_check_ex02.py"
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


def naive_command(baseline: str, tests: Path = NAIVE_TEST,
                  extra: tuple[str, ...] = ()) -> list[str]:
    """One naive run: pytest in the baseline image; "{}" stands for the submission."""
    return ["docker", "run", "--rm", "--network", "none", *extra,
            "-v", "{}:/submission/app.py:ro", "-v", f"{tests}:/tests/test_ex02.py:ro",
            baseline, "python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "/tests/test_ex02.py"]


def minimal_command(sandbox: str, check: Path = MINIMAL_CHECK,
                    extra: tuple[str, ...] = ()) -> list[str]:
    """One minimal run: the sandbox image, the app imported and driven by Flask's test client."""
    return ["docker", "run", "--rm", "--network", "none", *extra,
            "-v", "{}:/submission/app.py:ro", "-v", f"{check}:/bench/check.py:ro",
            sandbox, "python3", "/bench/check.py"]


@dataclass(frozen=True)
class Measured:
    """One command's wall time and its process tree's own rusage (os.wait4)."""

    seconds: float
    cpu_s: float  # user + system of the command and every descendant it waited for
    maxrss_kib: int  # the largest resident set among them
    returncode: int
    stdout: str


def run_measured(cmd: list[str], stdin: str | None = None) -> Measured:
    """Run CMD and account for exactly its process tree, not for other children of ours."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin is not None else None,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        out, _ = _feed(proc, stdin)
    finally:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(time.monotonic() - started, usage.ru_utime + usage.ru_stime,
                    usage.ru_maxrss, proc.returncode, out)


def _feed(proc: subprocess.Popen[str], stdin: str | None) -> tuple[str, str]:
    # communicate() would reap the child itself; read and write by hand, then wait4.
    if stdin is not None and proc.stdin is not None:
        proc.stdin.write(stdin)
        proc.stdin.close()
    out = proc.stdout.read() if proc.stdout is not None else ""
    return out, ""


def xargs_loop(command: list[str], files: list[Path], jobs: int) -> tuple[Measured, int]:
    """`xargs -P JOBS` over FILES running COMMAND; the run, and how many exited 0."""
    inner = " ".join(command).replace("{}", '"$1"')
    script = f'{inner} >/dev/null 2>&1; echo "$?"'
    done = run_measured(["xargs", "-P", str(jobs), "-n", "1", "sh", "-c", script, "sh"],
                        stdin="\n".join(str(f) for f in files))
    codes = done.stdout.split()
    if len(codes) != len(files):
        raise SystemExit(f"the loop ran {len(codes)} of {len(files)} submissions; "
                         f"try the command by hand: {inner}")
    return done, codes.count("0")


def time_naive(files: list[Path], baseline: str, tests: Path, jobs: int) -> tuple[float, int]:
    """Wall time of the naive pytest loop, and how many submissions passed every test."""
    done, passed = xargs_loop(naive_command(baseline, tests), files, jobs)
    return done.seconds, passed


def batch_command(cls: Path, out: Path, jobs: int) -> list[str]:
    return [sys.executable, "-m", "grader.cli", "batch", "ex02", str(cls),
            "--out", str(out), "--jobs", str(jobs)]


def measure_batch(cls: Path, out: Path, jobs: int) -> tuple[Measured, int]:
    """One `grade batch` into a fresh OUT; the run, and how many passed."""
    done = run_measured(batch_command(cls, out, jobs))
    if done.returncode != 0:
        raise SystemExit(f"grade batch exited {done.returncode}: run it by hand: "
                         + " ".join(batch_command(cls, out, jobs)))
    rows = json.loads((out / "gradebook.json").read_text(encoding="utf-8"))
    return done, sum(1 for r in rows if r["status"] == "passed")


def time_batch(cls: Path, out: Path, jobs: int) -> tuple[float, int]:
    done, passed = measure_batch(cls, out, jobs)
    return done.seconds, passed
