"""Judge a ``database`` check from what the evaluator's inserts met. No I/O here.

The evaluator (evaluator_ops.insert_rows) inserts the spec's rows into a copy
of the app's database, filling every other required column with made-up
values, and reports each row's outcome with the columns SQLite's message
names. A constraint check pays only for the column it is about:

- ``unique_violation``: the violation names only columns whose value the last
  row repeats from an earlier one, and a full (not partial) unique index or
  constraint covers exactly those columns;
- ``not_null_violation``: it names only columns the last row sets to null;
- ``rejected``: any refusal, but one naming columns must name the row's own;
- a CHECK constraint that refuses a row the grader filled may be refusing the
  made-up values, so the check cannot tell and scores nothing, saying so.
"""

from __future__ import annotations

from typing import Any

from grader.grading.compare import Assertion
from grader.grading.outcome import CheckStop
from grader.spec.exercise import DatabaseCheck


def judge(body: DatabaseCheck, table: str, result: dict[str, Any]) -> Assertion:
    """The assertion about the last row, or CheckStop when the check cannot run."""
    if result.get("cannot_fill"):
        raise CheckStop("failed", f"this check cannot run on table {table!r}: "
                        f"{result['cannot_fill']}; it scores nothing")
    tried: list[dict[str, Any]] = result["rows"]
    for number, row in enumerate(tried, start=1):
        _check_filled_refusal(body, number, row)
    if len(tried) < len(body.rows):  # an earlier row was refused: the last never ran
        number, row = len(tried), tried[-1]
        raise CheckStop("failed", f"row {number} {dict(body.rows[number - 1])} was rejected: "
                        f"{row['detail']}")
    last = tried[-1]
    ok, why = _verdict(body, last, [set(u) for u in result.get("full_unique", [])])
    actual = f"{last['outcome']}: {last['detail']}" if last["detail"] else last["outcome"]
    if why:
        actual = f"{actual} ({why})"
    return Assertion(f"inserting {dict(body.rows[-1])}", ok, _expected(body), actual)


def _check_filled_refusal(body: DatabaseCheck, number: int, row: dict[str, Any]) -> None:
    if row.get("check_constraint") and row.get("filled"):
        filled = ", ".join(row["filled"])
        raise CheckStop("failed", f"a CHECK constraint refused row {number} "
                        f"{dict(body.rows[number - 1])} ({row['detail']}), and the grader had "
                        f"filled {filled} with made-up values, so the check cannot tell what "
                        "it refused; it scores nothing")


def under_test(body: DatabaseCheck) -> set[str]:
    """The columns the last row is about: repeated values (unique) or nulls (not null)."""
    last = dict(body.rows[-1])
    if body.expect == "unique_violation":
        earlier = [dict(row) for row in body.rows[:-1]]
        return {k for k, v in last.items()
                if any(k in row and row[k] == v and v is not None for row in earlier)}
    if body.expect == "not_null_violation":
        return {k for k, v in last.items() if v is None}
    return set(last)


def _verdict(body: DatabaseCheck, last: dict[str, Any], full_unique: list[set[str]]
             ) -> tuple[bool, str]:
    outcome, named = last["outcome"], set(last.get("columns") or ())
    if body.expect == "ok":
        return outcome == "ok", ""
    if outcome == "ok":
        return False, "the database accepted it"
    wanted = under_test(body)
    about = ", ".join(sorted(wanted)) or "(none)"
    if body.expect == "rejected":
        if named and not named <= set(dict(body.rows[-1])):
            return False, f"refused because of {', '.join(sorted(named))}, a column the " \
                          "grader filled, not one the check gives"
        return True, ""
    if outcome != body.expect:
        return False, ""
    if not named or not named <= wanted:
        return False, f"the constraint that fired is not on {about}"
    if body.expect == "unique_violation" and named not in full_unique:
        return False, (f"only a partial unique index covers {', '.join(sorted(named))}; "
                       "it does not make the column unique")
    return True, ""


def _expected(body: DatabaseCheck) -> str:
    if body.expect in ("ok", "rejected"):
        return body.expect
    return f"{body.expect} on {', '.join(sorted(under_test(body))) or '(no column)'}"
