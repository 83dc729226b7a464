"""Validate reports every problem of a check, with the fix it probably needs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from grader.authoring.validate import validate_spec
from grader.errors import SpecError
from grader.spec.hints import did_you_mean
from grader.spec.yamlnodes import load_document


def problems(tmp_path: Path, text: str) -> list[tuple[int, str, str]]:
    folder = tmp_path / "demo"
    folder.mkdir(exist_ok=True)
    spec = folder / "exercise.yaml"
    spec.write_text(textwrap.dedent(text), encoding="utf-8")
    return [(p.line or 0, p.field, p.problem) for p in validate_spec(spec).problems]


def test_every_problem_inside_one_check_is_reported(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
        id: demo
        title: Demo
        checks:
          - name: a
            points: "3"
            hiden: true
            timeout: -1
            request: {path: /, methd: GET}
            expect: {status: 200, bdy: x}
        """)
    assert [(line, where) for line, where, _ in found] == [
        (5, "checks[0].points"), (6, "checks[0].hiden"), (7, "checks[0].timeout"),
        (8, "checks[0].request.methd"), (9, "checks[0].expect.bdy")]


def test_a_broken_body_still_has_its_other_keys_read(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
        id: demo
        title: Demo
        checks:
          - name: a
            request: {path: x}
            hint: [not, text]
          - name: d
            database: {table: t, insert: [{a: 1}], expect: okk}
            points: "2"
          - name: s
            steps:
              - request: {path: /}
                expect: {status: abc}
        """)
    assert [(line, where) for line, where, _ in found] == [
        (5, "checks[0].request.path"), (6, "checks[0].hint"), (8, "checks[1].database.expect"),
        (9, "checks[1].points"), (13, "checks[2].steps[0].expect.status")]


@pytest.mark.parametrize(("text", "message"), [
    # a typo of a check key, a request key, an expect key
    ("hiden: true", "unknown key; did you mean 'hidden'?"),
    ("request: {path: /, methd: GET}", "did you mean 'method'?"),
    ("Points: 2", "did you mean 'points'?"),  # only the case differs
])
def test_unknown_keys_suggest_the_closest(tmp_path: Path, text: str, message: str) -> None:
    body = "" if text.startswith("request") else "    request: {path: /}\n"
    found = problems(tmp_path, f"id: demo\ntitle: D\nchecks:\n  - name: a\n{body}    {text}\n")
    assert any(message in p for _, _, p in found), found


def test_nothing_close_suggests_nothing() -> None:
    assert did_you_mean("colour", {"points", "hidden"}) == ""


@pytest.mark.parametrize(("value", "message"), [
    ('points: "3"', "got the quoted string '3': the quotes make it text. Remove them: write 3"),
    ("timeout: '2.5'", "write 2.5, not '2.5'"),
    ('hidden: "true"', "the quotes make it text. Write true"),
    ("points: ten", "must be a number, got 'ten'"),  # not a quoting slip: as before
])
def test_quoted_numbers_and_booleans_say_to_remove_the_quotes(tmp_path: Path, value: str,
                                                              message: str) -> None:
    found = problems(tmp_path, f"id: demo\ntitle: D\nchecks:\n  - name: a\n    {value}\n"
                               "    request: {path: /}\n")
    assert len(found) == 1 and message in found[0][2], found


@pytest.mark.parametrize(("text", "line", "hint"), [
    # a tab where the check's keys are indented
    ("checks:\n  - name: a\n\trequest: {path: /}\n", 3, "indented with a tab"),
    # a key one space short of its mapping's column
    ("checks:\n  - name: a\n    request: {path: /}\n   points: 2\n", 4,
     "check the indentation: this line starts at column 4 and the one above at column 5"),
])
def test_yaml_that_does_not_parse_says_why(text: str, line: int, hint: str) -> None:
    with pytest.raises(SpecError) as info:
        load_document(text, "exercise.yaml")
    assert info.value.line == line
    assert "YAML does not parse" in info.value.problem and hint in info.value.problem
