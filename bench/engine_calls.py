"""Count the Docker engine API calls one grading makes (ex02's solution).

Wraps the injected client's HTTP session and counts each request by method
and path (ids and names folded), for N gradings, from the first call the
factory makes for a submission to its removal. Run it against an older
checkout with ``PYTHONPATH=OLD python bench/engine_calls.py`` to compare.

    python bench/engine_calls.py [--n 5] [--pool 0] [--json PATH]
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import docker  # noqa: E402

from grader.grading.run import grade  # noqa: E402
from grader.sandbox import docker_connection, open_sandbox  # noqa: E402
from grader.spec import catalog  # noqa: E402

_ID = re.compile(r"/(containers|exec)/[^/]+")


def count_requests(client: docker.DockerClient) -> collections.Counter[str]:
    """A counter the client's every request adds to, as 'METHOD /path'."""
    counts: collections.Counter[str] = collections.Counter()
    api = client.api
    send = api.send

    def counted(request: Any, **kwargs: Any) -> Any:
        path = request.path_url.split("?")[0]
        path = _ID.sub(r"/\1/ID", re.sub(r"^/v[0-9.]+", "", path))
        counts[f"{request.method} {path}"] += 1
        return send(request, **kwargs)

    api.send = counted  # type: ignore[method-assign]
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5, help="gradings to count")
    parser.add_argument("--pool", type=int, default=0, help="ready sandboxes (0: none)")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()
    exercise = catalog.find("ex02", (HERE.parent / "exercises",))
    client = docker_connection.connect()
    counts = count_requests(client)
    kwargs = {"pool": args.pool} if args.pool else {}
    with open_sandbox("docker", client=client, **kwargs) as sandboxes:
        grade(exercise, exercise.directory / "solution.py", sandboxes)  # warm-up
        counts.clear()
        for _ in range(args.n):
            result = grade(exercise, exercise.directory / "solution.py", sandboxes)
            assert result.status == "passed", result.status
    # The pool's refills and the removals are counted too: every call a grading costs.
    per = {k: v / args.n for k, v in sorted(counts.items())}
    numbers = {"gradings": args.n, "pool": args.pool,
               "calls_per_grading": round(sum(counts.values()) / args.n, 2), "by_call": per}
    for call, n in per.items():
        print(f"{n:6.2f}  {call}")
    print(f"engine API calls per grading: {numbers['calls_per_grading']}")
    if args.json:
        args.json.write_text(json.dumps(numbers, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
