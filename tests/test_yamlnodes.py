"""Line-aware YAML access: every value read knows its file, line and dotted name."""

from __future__ import annotations

from typing import Any

import pytest

from grader.errors import SpecError
from grader.spec.yamlnodes import Field, load_document


def root(text: str) -> Field:
    return load_document(text, "s.yaml")


def field(text: str, *path: str | int) -> Field:
    """The field at *path* (mapping keys and list indexes) of a document."""
    f = root(text)
    for key in path:
        f = f.sequence()[key] if isinstance(key, int) else f.mapping().require(key)
    return f


def test_names_and_lines_follow_the_path() -> None:
    text = "a:\n  b:\n    - x\n    - {c: 1}\n"
    f = field(text, "a", "b", 1, "c")
    assert (f.name, f.line, f.path) == ("a.b[1].c", 4, "s.yaml")
    assert f.fail("bad").field == "a.b[1].c"
    assert str(f.fail("bad")) == "s.yaml:4: a.b[1].c: bad"


def test_the_root_is_called_top_level() -> None:
    assert str(root("[1]").fail("x")) == "s.yaml:1: (top level): x"


@pytest.mark.parametrize(("text", "line", "problem"), [
    ("a: [1\n", 2, "YAML does not parse"),  # unclosed flow list, found at the end
    ("a: 1\nb: 2\n  c: 3\n", 3, "mapping values are not allowed"),  # bad indent
    ("a: 1\n---\nb: 2\n", 2, "YAML does not parse"),  # two documents
    ("", 1, "the file is empty"),  # nothing
    ("\n\n# hi\n", 1, "the file is empty"),  # only blank lines and comments
])
def test_load_document_errors(text: str, line: int, problem: str) -> None:
    with pytest.raises(SpecError) as info:
        root(text)
    assert (info.value.line, info.value.field) == (line, "")
    assert problem in str(info.value)


@pytest.mark.parametrize(("text", "allowed", "name", "line", "problem"), [
    ("a: 1\nb: 2\na: 3\n", None, "a", 3, "is given twice"),  # second one is reported
    ("a: 1\nzz: 2\n", {"a"}, "zz", 2, "unknown key; expected one of: a"),  # not allowed
    ("- 1\n", None, "(top level)", 1, "must be a mapping (key: value), got a list"),  # list
    ("just text\n", None, "(top level)", 1, "got 'just text'"),  # scalar
    ("? [a]\n: 1\n", None, "(top level)", 1, "keys must be plain names"),  # complex key
])
def test_mapping_errors(text: str, allowed: set[str] | None, name: str, line: int,
                        problem: str) -> None:
    with pytest.raises(SpecError) as info:
        root(text).mapping(frozenset(allowed) if allowed is not None else None)
    assert (info.value.field, info.value.line) == (name, line)
    assert problem in info.value.problem


def test_mapping_access() -> None:
    m = root("a: 1\nb: two\n").mapping(frozenset({"a", "b", "c"}))
    assert "a" in m and "c" not in m
    assert m.get("c") is None
    assert [k for k, _ in m] == ["a", "b"]
    assert m.string_pairs() == (("a", "1"), ("b", "two"))
    with pytest.raises(SpecError, match=r"s.yaml:1: \(top level\): missing required key 'c'"):
        m.require("c")


@pytest.mark.parametrize(("text", "kwargs", "value"), [
    ("v: hello", {}, "hello"),  # plain text
    ("v: 12", {}, "12"),  # a number read as text keeps its spelling
    ("v: 1.50", {}, "1.50"),  # including trailing zeros
    ("v: 2024-01-02", {}, "2024-01-02"),  # a date too
    ("v: ''", {"allow_empty": True}, ""),  # empty only when allowed
])
def test_string(text: str, kwargs: dict[str, Any], value: str) -> None:
    assert field(text, "v").string(**kwargs) == value


@pytest.mark.parametrize(("text", "problem"), [
    ("v: ''", "must not be empty"),  # empty by default is an error
    ("v: true", "must be text, got 'true'; quote it"),  # yes/no is a bool in YAML
    ("v: null", "must be text, got 'null'; quote it"),  # null is not text
    ("v: ", "must be text, got nothing; quote it"),  # nothing is not text
    ("v: [a]", "must be a single value, got a list"),  # a list
    ("v: {a: 1}", "must be a single value, got a mapping"),  # a mapping
])
def test_string_errors(text: str, problem: str) -> None:
    with pytest.raises(SpecError) as info:
        field(text, "v").string()
    assert info.value.field == "v" and problem in info.value.problem


@pytest.mark.parametrize(("text", "kwargs", "problem"), [
    ("v: 1.5", {}, "must be a whole number, got '1.5'"),  # floats are not ints
    ("v: true", {}, "must be a whole number, got 'true'"),  # bools are not ints
    ("v: '3'", {}, "must be a whole number"),  # quoted numbers are text
    ("v: 0", {"minimum": 1}, "must be at least 1, got 0"),  # below range
    ("v: 9", {"maximum": 8}, "must be at most 8, got 9"),  # above range
])
def test_integer_errors(text: str, kwargs: dict[str, Any], problem: str) -> None:
    with pytest.raises(SpecError, match=problem):
        field(text, "v").integer(**kwargs)


@pytest.mark.parametrize(("text", "value"), [
    ("v: 3", 3.0),  # ints are numbers
    ("v: 0.25", 0.25),  # floats too
    ("v: 1.0e+2", 100.0),  # exponent with a dot and a sign
])
def test_number(text: str, value: float) -> None:
    assert field(text, "v").number() == value


@pytest.mark.parametrize(("text", "problem"), [
    ("v: yes please", "must be a number"),  # text
    ("v: false", "must be a number"),  # a bool is not a number here
    ("v: -0.5", "must be at least 0, got -0.5"),  # below the minimum given
    ("v: .inf", "must be a finite number"),  # infinity is not a usable number
    ("v: 1e2", "must be a number, got '1e2'"),  # YAML 1.1 needs a dot: this is text
])
def test_number_errors(text: str, problem: str) -> None:
    with pytest.raises(SpecError, match=problem):
        field(text, "v").number(minimum=0, maximum=10)


@pytest.mark.parametrize(("text", "value"), [
    ("v: true", True),
    ("v: false", False),
    ("v: yes", True),  # YAML 1.1 spelling
])
def test_boolean(text: str, value: bool) -> None:
    assert field(text, "v").boolean() is value


def test_boolean_rejects_text() -> None:
    with pytest.raises(SpecError, match="must be true or false, got 'maybe'"):
        field("v: maybe", "v").boolean()


def test_choice() -> None:
    assert field("v: b", "v").choice(("a", "b")) == "b"
    with pytest.raises(SpecError, match="must be one of a, b; got 'c'"):
        field("v: c", "v").choice(("a", "b"))


@pytest.mark.parametrize(("text", "value"), [
    ("v: one", ("one",)),  # a single string
    ("v: [one, two]", ("one", "two")),  # a list
    ("v: []", ()),  # an empty list
])
def test_str_or_list(text: str, value: tuple[str, ...]) -> None:
    assert field(text, "v").str_or_list() == value


def test_str_or_list_names_the_bad_item() -> None:
    with pytest.raises(SpecError) as info:
        field("v:\n  - a\n  - null\n", "v").str_or_list()
    assert (info.value.field, info.value.line) == ("v[1]", 3)


def test_sequence_rejects_a_mapping() -> None:
    with pytest.raises(SpecError, match="must be a list, got a mapping"):
        field("v: {a: 1}", "v").sequence()


@pytest.mark.parametrize(("text", "value"), [
    ("v: {a: [1, 2.5, true, null, x]}", {"a": [1, 2.5, True, None, "x"]}),  # plain JSON-ish
    ("b: &b {k: 1}\nv: {<<: *b, j: 2}", {"k": 1, "j": 2}),  # merge keys work
])
def test_value(text: str, value: Any) -> None:
    assert field(text, "v").value() == value


@pytest.mark.parametrize("tag", [
    "!!python/object/apply:os.system ['true']",  # code execution
    "!!python/name:os.system",  # a Python object
    "!custom 1",  # an unknown tag
])
def test_value_refuses_unsafe_tags(tag: str) -> None:
    with pytest.raises(SpecError, match="cannot be read"):
        field(f"v: {tag}", "v").value()
