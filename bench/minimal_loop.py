"""The minimal baseline: `xargs -P N docker run --rm --network none SANDBOX python3 check.py`.

Not a test: run it by hand with the Docker engine up.

    python bench/minimal_loop.py [--students 40] [--jobs 2] [--rounds 1]

Each submission gets one plain container of the sandbox image (no hardening
beyond `--network none`), with the app and bench/minimal_check_ex02.py mounted:
it imports the app in-process, calls it with Flask's test client (no pytest, no
reports) and prints pass or fail. This is the loop `grade batch` is compared
with in bench/speed.py, next to the naive pytest loop.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from shared import MINIMAL_CHECK, Measured, make_class, minimal_command, xargs_loop

from grader.sandbox import docker_connection, image


def run_minimal(files: list[Path], sandbox: str, jobs: int,
                extra: tuple[str, ...] = ()) -> tuple[Measured, int]:
    """The loop over FILES at JOBS; the run, and how many passed every check."""
    return xargs_loop(minimal_command(sandbox, MINIMAL_CHECK, extra), files, jobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    client = docker_connection.connect()
    try:
        sandbox = image.ensure_image(client, progress=print).tag
    finally:
        client.close()
    with tempfile.TemporaryDirectory(prefix="grade-bench-") as tmp:
        kinds = make_class(Path(tmp) / "class", args.students)
        files = sorted((Path(tmp) / "class").glob("*.py"))
        for r in range(args.rounds):
            done, passed = run_minimal(files, sandbox, args.jobs)
            print(f"round {r + 1}: minimal loop {done.seconds:.1f} s, {passed} passed "
                  f"({sum(k == 'correct' for k in kinds.values())} correct), "
                  f"client CPU {done.cpu_s:.2f} s")


if __name__ == "__main__":
    main()
