"""grade validate warns about flow-list items that look like one text split at its comma."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from grader.authoring.flow_lists import MAX_WARNINGS, SpecWarning, split_items
from grader.authoring.validate import validate_spec
from grader.cli import main
from grader.spec.yamlnodes import load_document


def warnings(text: str, names: frozenset[str] = frozenset()) -> list[SpecWarning]:
    text = textwrap.dedent(text)
    return split_items(load_document(text, "spec.yaml").node, text, "spec.yaml", names)


def pairs(text: str) -> list[str]:
    """The pieces each warning names, as 'A|B'."""
    found = []
    for w in warnings(text):
        first, second = w.message.split(" is read as separate items ")[1].split(";")[0] \
            .split(" and ")
        found.append(f"{yaml.safe_load(first)}|{yaml.safe_load(second)}")
    return found


# -- which flow lists are warned about ---------------------------------------------------

TABLE = [
    # ex08's mistake: a greeting split at its comma
    ("x: [Hello, Ada!, <header>, Made with Flask and Jinja]", ["Hello|Ada!"]),
    ("x: [Hello, Ada!]", ["Hello|Ada!"]),
    # the second piece goes on in lowercase
    ("x: [Hello, world]", ["Hello|world"]),
    # sentence ends (a plain '?' ends an item in a flow list, so it never gets here)
    ("x: [Oh, no!]", ["Oh|no!"]),
    ("x: [Well, It is over…]", ["Well|It is over…"]),
    ("x: [Sure, 2 apples.]", ["Sure|2 apples."]),
    # apostrophes and letters beyond ASCII still make one word
    ("x: [don't, stop.]", ["don't|stop."]),
    ("x: [Hola, señor]", ["Hola|señor"]),
    # inside a nested list and a flow mapping
    ("x: [[Hello, Ada!]]", ["Hello|Ada!"]),
    ("x: {contains: [Hello, Ada!]}", ["Hello|Ada!"]),
    # each split pair in one list
    ("x: [Hi, Bob!, Bye, Bob!]", ["Hi|Bob!", "Bye|Bob!"]),
    # a quoted piece is what its author wrote on purpose
    ('x: [Hello, "!"]', []),
    ('x: ["Hello", Ada!]', []),
    ("x: [Hello, 'Ada!']", []),
    ('x: ["Hello, Ada!", <header>]', []),
    # the first piece is more than one word: these are separate names
    ("x: [greets Alice, greets a name with a space]", []),
    # markup is not a word
    ("x: [<header>, Made with Flask and Jinja]", []),
    ("x: [<b>, hello.]", []),
    ("x: [snake_case, name.]", []),
    # numbers, booleans and null are not text
    ("x: [302, 303]", []),
    ("x: [1, 2.]", []),
    ("x: [Yes, sir.]", []),
    ("x: [null, value.]", []),
    # capitalised and no sentence end: a list of separate words
    ("x: [Hello, World]", []),
    # the second piece does not start with a letter or digit
    ("x: [Hello, -Ada!]", []),
    ("x: [Hello, <b>Ada</b>!]", []),
    # not exactly one comma and one space between them
    ("x: [Hello,  Ada!]", []),
    ("x: [Hello ,Ada!]", []),
    ("x: [Hello,Ada!]", []),
    ("x: [Hello,\n    Ada!]", []),
    # block lists and mappings
    ("x:\n  - Hello\n  - Ada!", []),
    ("x: {Hello: 1, ada: Ada!}", []),
]


@pytest.mark.parametrize(("text", "expected"), TABLE, ids=[t for t, _ in TABLE])
def test_which_flow_lists_are_warned_about(text: str, expected: list[str]) -> None:
    assert pairs(text) == expected


def test_pairs_of_check_names_are_not_split_pieces() -> None:
    text = "requires: [home, about]\n"
    assert len(warnings(text)) == 1
    assert warnings(text, frozenset({"home", "about"})) == []
    assert len(warnings(text, frozenset({"home"}))) == 1  # 'about' is no check of this spec
    # a name that is itself the pair joined: the pieces are a split name after all
    assert len(warnings(text, frozenset({"home", "about", "home, about"}))) == 1


# -- where and what --------------------------------------------------------------------------


def test_the_warning_names_the_field_the_line_and_the_fix() -> None:
    (w,) = warnings("""\
        id: demo
        checks:
          - name: first
            expect:
              contains: [a, Hello, Ada!, <header>]
        """)
    assert (w.path, w.line, w.field) == ("spec.yaml", 5, "checks[0].expect.contains")
    assert str(w) == (
        "spec.yaml:5: checks[0].expect.contains: warning: [..., Hello, Ada!, ...] is read as "
        "separate items 'Hello' and 'Ada!'; if you meant the text \"Hello, Ada!\", quote it: "
        "[..., \"Hello, Ada!\", ...]")


def test_the_line_is_that_of_the_pair_in_a_list_over_several_lines() -> None:
    (w,) = warnings("fails: [greets Alice,\n        Hello, world]\n")
    assert (w.line, w.field) == (2, "fails")


def test_the_suggested_quoting_reads_back_as_the_joined_text() -> None:
    (w,) = warnings('x: [Say, he said "hi\\o/".]\n')
    suggested = w.message.split("quote it: ")[1]
    assert yaml.safe_load(suggested) == ['Say, he said "hi\\o/".']


def test_a_list_shared_through_an_alias_is_warned_about_once() -> None:
    (w,) = warnings("a: &greeting [Hello, Ada!]\nb: *greeting\nc: [*greeting]\n")
    assert w.field == "a"


def test_the_warnings_of_one_file_are_bounded() -> None:
    text = "x: [" + ", ".join(["Hello, world"] * (MAX_WARNINGS * 3)) + "]\n"
    assert len(warnings(text)) == MAX_WARNINGS


# -- through grade validate --------------------------------------------------------------------

SPEC = """\
id: demo
title: Demo
checks:
  - name: home
    request: {path: /}
  - name: greets Ada
    request: {path: /hello, query: {name: Ada}}
    expect:
      contains: [Hello, Ada!, <header>]
"""


def exercise(tmp_path: Path, spec: str = SPEC) -> Path:
    folder = tmp_path / "demo"
    folder.mkdir()
    path = folder / "exercise.yaml"
    path.write_text(spec, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `grade ARGS` in this process: (exit code, stdout, stderr)."""
    code = 0
    try:
        main(list(args))
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_spec_with_only_warnings_is_valid(tmp_path: Path) -> None:
    spec = exercise(tmp_path)
    result = validate_spec(spec)
    assert result.ok and result.exercise is not None
    (w,) = result.warnings
    assert (w.line, w.field) == (9, "checks[1].expect.contains")


def test_cli_prints_the_warning_and_exits_0(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    spec = exercise(tmp_path)
    code, out, err = run(capsys, "validate", str(spec.parent))
    assert code == 0, out + err
    warning, ok = out.splitlines()
    assert warning.startswith(f"{spec}:9: checks[1].expect.contains: warning: [Hello, Ada!, ...]")
    assert "quote it: [\"Hello, Ada!\", ...]" in warning
    assert ok == "ok: 1 spec(s) valid"


def test_cli_prints_warnings_among_the_problems_in_line_order(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = exercise(tmp_path, SPEC.replace("title: Demo", "titel: Demo").replace(
        "  - name: home\n", "  - name: home\n    points: ten\n"))
    code, out, _ = run(capsys, "validate", str(spec))
    assert code == 2
    shown = [line.split(": ")[0].removeprefix(f"{spec}:") for line in out.splitlines()]
    assert shown == ["1", "2", "5", "10"]  # top level, titel, points, then the warning
    assert "warning:" in out.splitlines()[-1]


def test_the_mutants_manifest_is_warned_about_too(tmp_path: Path) -> None:
    spec = exercise(tmp_path, SPEC.replace("greets Ada", "hello, world"))
    (spec.parent / "mutants").mkdir()
    for name in ("m.py", "n.py"):
        (spec.parent / "mutants" / name).write_text("x = 1\n")
    (spec.parent / "mutants" / "mutants.yaml").write_text(
        "mutants:\n  - path: m.py\n    why: w\n    fails: [home, \"hello, world\"]\n"
        "  - path: n.py\n    why: w\n    fails: [hello, world]\n")
    result = validate_spec(spec)
    (w,) = [w for w in result.warnings if w.path.endswith("mutants.yaml")]
    assert (Path(w.path).name, w.line, w.field) == ("mutants.yaml", 7, "mutants[1].fails")
    assert "'hello' and 'world'" in w.message
    # the split also names checks that do not exist: a problem, reported as before
    assert {p.field for p in result.problems} == {"mutants[1].fails"}
