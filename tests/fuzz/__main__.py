"""The long fuzz run, for local use: grade many generated hostile apps in real Docker.

    python -m tests.fuzz [--apps 200] [--seed 1000]

Each app is graded as `grade submit` would grade it; a failure prints the seed
and its recipe, and `python -m tests.fuzz --apps 1 --seed SEED` replays it.
CI runs a few fixed seeds (tests/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from grader.grading.run import grade
from grader.sandbox import ImageRef, SandboxFactory, SandboxPlan, docker_connection, image
from grader.spec import catalog

from .apps import assert_graded_honestly, hostile_app

EXERCISES = Path(__file__).resolve().parent.parent.parent / "exercises"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("--apps", type=int, default=200, help="how many apps to grade")
    parser.add_argument("--seed", type=int, default=1000, help="the first app's seed")
    args = parser.parse_args()
    client = docker_connection.connect()
    info = image.ensure_image(client, progress=print)
    sandboxes = SandboxFactory(SandboxPlan("docker", ImageRef(info.tag, info.id)), client)
    exercise = catalog.find("ex01", EXERCISES)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="grade-fuzz-") as tmp:
        for seed in range(args.seed, args.seed + args.apps):
            app = hostile_app(seed)
            start = time.monotonic()
            try:
                result = grade(exercise, app.write(Path(tmp)), sandboxes)
                assert_graded_honestly(app, result, Path(tmp) / "reports")
            except Exception as e:  # noqa: BLE001 - report every seed, then go on
                failures += 1
                print(f"FAIL seed {seed} ({', '.join(app.recipe)}): {type(e).__name__}: "
                      f"{str(e)[:500]}", flush=True)
                continue
            print(f"ok   seed {seed}: {result.score:g}/{result.max_score:g} {result.status} "
                  f"in {time.monotonic() - start:.1f} s ({', '.join(app.recipe)})", flush=True)
    print(f"{args.apps - failures} passed, {failures} failed")
    client.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
