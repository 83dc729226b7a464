"""Benchmark: what the evaluator (grader/grading/evaluator.py) adds to a check.

Not a test: run it by hand on a quiet machine.

    python bench/evaluator_overhead.py [--calls 500]

For each kind of work a check sends to the evaluator (a regex on a small and on
a 2 MiB body, the database ops), it times the same op run in this process and
through the evaluator, and prints the median of each and the difference: the
cost of the pipe round trip and the pickling. It also times starting the
evaluator and replacing it after a missed deadline.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.grading import evaluator_ops
from grader.grading.evaluator import Evaluator, EvaluatorTimeout


def median_ms(fn: Callable[[], Any], calls: int) -> float:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "app.db"
        conn = sqlite3.connect(db)
        conn.executescript("CREATE TABLE user (id INTEGER PRIMARY KEY, "
                           "username VARCHAR(80) NOT NULL UNIQUE);")
        conn.close()
        small = '<form method="post"><input name="csrf_token" value="abc"></form>'
        large = "<p>Hello</p>\n" * (2 * 1024 * 1024 // 13)  # the HTTP client's cap
        pattern = 'name="csrf_token"[^>]*value="([^"]+)"'
        cases: list[tuple[str, str, tuple[Any, ...]]] = [
            ("regex, 64 B body", "regex_value", (pattern, small)),
            ("regex, 2 MiB body", "regex_found", (pattern, large)),
            ("table_facts", "table_facts", (str(db), "user")),
            ("query", "query", (str(db), "SELECT count(*) FROM user", ())),
            ("set_cookies", "set_cookies", (["session=eyJhIjoxfQ.abc; HttpOnly; Path=/"],)),
        ]
        started = time.perf_counter()
        ev = Evaluator()
        ev.call("ping", deadline=time.monotonic() + 10)
        print(f"start the evaluator (first call): {(time.perf_counter() - started) * 1000:.1f} ms")
        print(f"{'work':<20} {'in process':>11} {'evaluator':>10} {'added':>8}  (median ms)")
        for label, op, op_args in cases:
            local = median_ms(lambda op=op, op_args=op_args: evaluator_ops.OPS[op](*op_args),
                              args.calls)
            remote = median_ms(lambda op=op, op_args=op_args: ev.call(
                op, *op_args, deadline=time.monotonic() + 10), args.calls)
            print(f"{label:<20} {local:>11.3f} {remote:>10.3f} {remote - local:>8.3f}")
        started = time.perf_counter()
        try:
            ev.call("regex_found", r'(?i)<form[^>]*method=["\']?post', "<form" * 100_000,
                    deadline=time.monotonic() + 0.2)
        except EvaluatorTimeout:
            pass
        ev.call("ping", deadline=time.monotonic() + 10)
        print(f"a missed 0.2 s deadline, kill and first call of the new child: "
              f"{(time.perf_counter() - started) * 1000:.1f} ms")
        ev.close()


if __name__ == "__main__":
    main()
