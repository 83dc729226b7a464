"""The scoring rules of the spec language, as tables of cases with the points each gives.

See docs/spec-language.md, "Scoring rules". The Docker-free half: the
arithmetic (scoring.earned, scoring.apply_guards), the database verdict
(db_verdict.judge) and the parser's side of the rules. The sandboxed half is
`grade selftest`'s mutants (tests/test_selftest*.py run it on the catalogue).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from grader.errors import SpecError
from grader.grading import db_verdict
from grader.grading.compare import Assertion, check_response
from grader.grading.http_client import Response
from grader.grading.outcome import CheckOutcome, CheckStop
from grader.grading.scoring import apply_guards, earned, score_check
from grader.spec.exercise import (
    Check,
    CodeCheck,
    DatabaseCheck,
    ElementSpec,
    Expect,
    HttpCheck,
    load_exercise,
)

from .helpers import InProcessMatcher


def check(name: str = "c", points: float = 3, *, partial: bool = False,
          requires: tuple[str, ...] = ()) -> Check:
    return Check(id=name, name=name, points=points, body=CodeCheck("def test_x(): pass"),
                 line=1, partial=partial, requires=requires)


def outcome(*marks: str, status: str = "", finished: bool = True) -> CheckOutcome:
    """Assertions from marks: P/F scored pass/fail, p/f a set-up step's pass/fail."""
    made = tuple(Assertion(f"a{i}", m in "Pp", scored=m.isupper()) for i, m in enumerate(marks))
    if not status:
        status = "passed" if all(a.passed for a in made) and made else "failed"
    return CheckOutcome(status, made, "", 0.1, finished=finished)  # type: ignore[arg-type]


@pytest.mark.parametrize(("the_check", "the_outcome", "points"), [
    # all or nothing without partial
    (check(points=3), outcome("P", "P"), 3),
    (check(points=3), outcome("P", "F"), 0),
    # partial: the share of scored assertions
    (check(points=3, partial=True), outcome("P", "F"), 1.5),
    (check(points=3, partial=True), outcome("P", "P", "F"), 2),
    # set-up assertions pay nothing and dilute nothing
    (check(points=3, partial=True), outcome("p", "p", "P", "F"), 1.5),
    (check(points=3, partial=True), outcome("p", "F"), 0),
    # "Hi" instead of "Hello": only the set-up steps passed
    (check(points=3, partial=True), outcome("p", "p", "F", "F"), 0),
    # a check that stopped early (a set-up step failed, a crash) earns no share
    (check(points=3, partial=True), outcome("P", "F", finished=False), 0),
    (check(points=3, partial=True), outcome(status="failed", finished=False), 0),
    # a missing column: every fact asked of it fails
    (check(points=4, partial=True), outcome("F", "F", "F", "F"), 0),
    # rounding to 0.01
    (check(points=1, partial=True), outcome("P", "F", "F"), 0.33),
    # an informational check
    (check(points=0, partial=True), outcome("P"), 0),
])
def test_points_for_one_check(the_check: Check, the_outcome: CheckOutcome,
                              points: float) -> None:
    assert earned(the_check, the_outcome) == points
    assert score_check(the_check, the_outcome).points == points


def guarded(*specs: tuple[str, tuple[str, ...], str, float]) -> list[tuple[str, float]]:
    """(name, requires, outcome marks, points) → each check's (status, points) after guards."""
    checks = tuple(check(name, points, partial=True, requires=req)
                   for name, req, _, points in specs)
    results = tuple(score_check(c, outcome(*marks)) for c, (_, _, marks, _) in
                    zip(checks, specs, strict=True))
    return [(r.status, r.points) for r in apply_guards(checks, results)]


@pytest.mark.parametrize(("specs", "after"), [
    # the guarded behaviour exists: the negative check pays
    ([("greets", (), "P", 3), ("no greeting without a token", ("greets",), "P", 1)],
     [("passed", 3), ("passed", 1)]),
    # an app that never greets: the negative check passes by itself but scores nothing
    ([("greets", (), "F", 3), ("no greeting without a token", ("greets",), "P", 1)],
     [("failed", 0), ("failed", 0)]),
    # a partial share of the guarded check is not "passed"
    ([("greets", (), "PF", 3), ("guarded", ("greets",), "PP", 2)],
     [("failed", 1.5), ("failed", 0)]),
    # a guarded check's own partial share is withdrawn too
    ([("greets", (), "F", 3), ("guarded", ("greets",), "PF", 2)],
     [("failed", 0), ("failed", 0)]),
    # chains: a check guarded out does not count as passed for the next
    ([("a", (), "F", 1), ("b", ("a",), "P", 1), ("c", ("b",), "P", 1)],
     [("failed", 0), ("failed", 0), ("failed", 0)]),
    # several requirements: all must pass
    ([("a", (), "P", 1), ("b", (), "F", 1), ("c", ("a", "b"), "P", 1)],
     [("passed", 1), ("failed", 0), ("failed", 0)]),
])
def test_guards(specs: list[tuple[str, tuple[str, ...], str, float]],
                after: list[tuple[str, float]]) -> None:
    assert guarded(*specs) == after


def test_a_guard_says_why_the_check_scored_nothing() -> None:
    checks = (check("greets"), check("negative", 1, requires=("greets",)))
    results = (score_check(checks[0], outcome("F")), score_check(checks[1], outcome("P")))
    message = apply_guards(checks, results)[1].message
    assert "scores nothing" in message and "'greets'" in message


# -- database checks: the column under test ----------------------------------------------


def db(rows: list[dict[str, Any]], expect: str) -> DatabaseCheck:
    return DatabaseCheck(tuple(tuple(r.items()) for r in rows), expect,  # type: ignore[arg-type]
                         table="user")


def tried(*rows: tuple[str, str, list[str], list[str]], check_constraint: bool = False
          ) -> list[dict[str, Any]]:
    return [{"outcome": o, "detail": d, "columns": c, "filled": f,
             "check_constraint": check_constraint} for o, d, c, f in rows]


OK = ("ok", "", [], ["email"])
DUP = ("unique_violation", "UNIQUE constraint failed: user.username", ["username"], ["email"])
DUP_EMAIL = ("unique_violation", "UNIQUE constraint failed: user.email", ["email"], [])
NULL_NAME = ("not_null_violation", "NOT NULL constraint failed: user.username", ["username"],
             ["email"])
NULL_EMAIL = ("not_null_violation", "NOT NULL constraint failed: user.email", ["email"], [])
ALICE = {"username": "alice"}


@pytest.mark.parametrize(("body", "rows", "full_unique", "passed"), [
    (db([ALICE], "ok"), tried(OK), [], True),
    (db([ALICE, ALICE], "unique_violation"), tried(OK, DUP), [["username"], ["id"]], True),
    # only a partial unique index: the violation happened, but the column is not unique
    (db([ALICE, ALICE], "unique_violation"), tried(OK, DUP), [["id"]], False),
    # the wrong column's constraint fired
    (db([ALICE, ALICE], "unique_violation"), tried(OK, DUP_EMAIL), [["email"]], False),
    (db([{"username": "a", "email": "x"}, {"username": "b", "email": "x"}],
        "unique_violation"), tried(OK, DUP_EMAIL), [["email"]], True),
    (db([{"username": "a", "email": "x"}, {"username": "a", "email": "y"}],
        "unique_violation"), tried(OK, DUP_EMAIL), [["email"]], False),
    (db([{"username": None}], "not_null_violation"), tried(NULL_NAME), [], True),
    # the email's NOT NULL must not stand in for the username's
    (db([{"username": None}], "not_null_violation"), tried(NULL_EMAIL), [], False),
    # a nullable username: the row is accepted
    (db([{"username": None}], "not_null_violation"), tried(OK), [], False),
    (db([{"username": None}], "rejected"), tried(NULL_NAME), [], True),
    (db([{"username": None}], "rejected"), tried(OK), [], False),
])
def test_database_verdicts(body: DatabaseCheck, rows: list[dict[str, Any]],
                           full_unique: list[list[str]], passed: bool) -> None:
    result = {"rows": rows, "cannot_fill": None, "full_unique": full_unique}
    assert db_verdict.judge(body, "user", result).passed is passed


def test_a_column_that_cannot_be_filled_stops_the_check_saying_so() -> None:
    result = {"rows": [], "cannot_fill": "column author_id references author(id)",
              "full_unique": []}
    with pytest.raises(CheckStop, match="author_id.*scores nothing"):
        db_verdict.judge(db([ALICE], "ok"), "book", result)


def test_a_check_constraint_on_made_up_values_stops_the_check() -> None:
    refused = tried(("rejected", "CHECK constraint failed: length(email) > 20", [], ["email"]),
                    check_constraint=True)
    with pytest.raises(CheckStop, match="CHECK constraint.*made-up values"):
        db_verdict.judge(db([ALICE], "ok"), "user",
                         {"rows": refused, "cannot_fill": None, "full_unique": []})


def test_a_refused_earlier_row_fails_the_check() -> None:
    with pytest.raises(CheckStop, match="row 1"):
        db_verdict.judge(db([ALICE, ALICE], "unique_violation"), "user",
                         {"rows": tried(NULL_EMAIL), "cannot_fill": None, "full_unique": []})


# -- negative assertions pay only on the page the check meant ---------------------------------


def page(status: int, body: str) -> Response:
    return Response(status=status, headers=(), body=body.encode(), elapsed=0.0)


@pytest.mark.parametrize(("expect", "status", "passed"), [
    (Expect(not_contains=("<script>",)), 200, True),
    (Expect(not_contains=("<script>",)), 201, True),
    (Expect(not_contains=("<script>",)), 500, False),  # an error page proves nothing
    (Expect(not_contains=("<script>",)), 404, False),
    (Expect(not_contains=("<script>",)), 302, False),
    (Expect(status=(200, 400), not_contains=("<script>",)), 400, True),  # it says otherwise
    (Expect(status=(200, 400), not_contains=("<script>",)), 500, False),
    (Expect(not_elements=(ElementSpec("script"),)), 500, False),
    (Expect(not_elements=(ElementSpec("script"),)), 200, True),
])
def test_negative_assertions(expect: Expect, status: int, passed: bool) -> None:
    made = check_response(expect, page(status, "<p>fine</p>"), InProcessMatcher())
    negatives = [a for a in made if a.label != "status"]
    assert [a.passed for a in negatives] == [passed]
    if not passed:
        assert "not the page this check inspects" in (negatives[0].actual or "")


# -- the parser's side -------------------------------------------------------------------------


def spec(tmp_path: Path, checks: str) -> Path:
    folder = tmp_path / "demo"
    folder.mkdir(exist_ok=True)
    path = folder / "exercise.yaml"
    path.write_text("id: demo\ntitle: Demo\nchecks:\n" + textwrap.indent(
        textwrap.dedent(checks), "  "), encoding="utf-8")
    return path


@pytest.mark.parametrize(("checks", "problem"), [
    ("""\
     - name: a
       requires: b
       request: {path: /}
     - name: b
       request: {path: /}
     """, "requires: 'b' is not the name of an earlier check"),
    ("""\
     - name: a
       requires: a
       request: {path: /}
     """, "requires itself"),
    ("""\
     - name: a
       steps:
         - request: {path: /}
           setup: true
     """, "every step is a set-up step"),
    ("""\
     - name: a
       request: {path: /}
       expect: {status: []}
     """, "is empty"),
    ("""\
     - name: a
       request: {path: /}
       expect: {status: [200, 99]}
     """, "at least 100"),
    ("""\
     - name: a
       request: {path: /}
       expect: {headers: {Location: {prefix: /a, regex: b}}}
     """, "exactly one of: prefix, regex"),
    ("""\
     - name: a
       request: {path: /}
       expect: {headers: {Location: {regex: '('}}}
     """, "not a valid regular expression"),
    ("""\
     - name: a
       request: {path: /}
       expect: {elements: ['<header>']}
     """, "must be an HTML tag name"),
    ("""\
     - name: a
       request: {path: /}
       expect: {elements: [{tag: input, attrs: {required: false}}]}
     """, "use not_elements"),
    ("""\
     - name: a
       request: {path: /}
       expect: {elements: [{tag: input, attrs: {value: {regex: '['}}}]}
     """, "not a valid regular expression"),
    ("""\
     - name: a
       request: {path: /}
       expect: {elements: [{tag: main, bogus: 1}]}
     """, "unknown key"),
    ("""\
     - name: a
       steps:
         - request: {path: /}
           session: two words
     """, "session name"),
    ("""\
     - name: a
       request: {path: /}
       expect: {json_includes: []}
     """, "is empty"),
])
def test_spec_errors_of_the_rules(tmp_path: Path, checks: str, problem: str) -> None:
    with pytest.raises(SpecError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        load_exercise(spec(tmp_path, checks))


def test_the_rules_parse(tmp_path: Path) -> None:
    ex = load_exercise(spec(tmp_path, """\
        - name: greets
          request: {path: /}
        - name: guarded
          requires: [greets, greets]
          steps:
            - request: {path: /}
              setup: true
              session: alice
              extract: {tok: {header: Location}}
            - request: {path: /next, follow_redirects: true}
              expect:
                status: [302, 303, 302]
                headers: {Location: {prefix: /login}, X-A: exact}
                elements: [header, {tag: INPUT, attrs: {Name: csrf, value: true, class: a b,
                                                        id: {regex: '^c'}}}]
                json_includes: [{id: 1}, 2]
        """))
    guarded_check = ex.checks[1]
    assert guarded_check.requires == ("greets",)
    body = guarded_check.body
    assert isinstance(body, HttpCheck)
    first, second = body.steps
    assert first.setup and first.session == "alice" and second.session == "main"
    assert not first.follows()  # it extracts Location: the redirect is what it is about
    assert second.follows()  # said outright, although it expects a 3xx
    assert second.expect.status == (302, 303)
    assert [(h.name, h.match) for h in second.expect.headers] == [("Location", "prefix"),
                                                                  ("X-A", "exact")]
    assert second.expect.elements == (
        ElementSpec("header"),
        ElementSpec("input", (("name", "csrf"), ("value", True), ("class", "a b"),
                              ("id", ("regex", "^c")))))
    assert second.expect.json_includes == ({"id": 1}, 2)
