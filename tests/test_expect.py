"""Comparing a response with a spec's expectations, and extracting values from it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from grader.grading import compare
from grader.grading.compare import Assertion, json_subset, short
from grader.grading.http_client import Response
from grader.spec.exercise import Expect, Extract, HeaderExpect

from .helpers import InProcessMatcher


def check_response(expect: Expect, response: Response) -> list[Assertion]:
    return compare.check_response(expect, response, InProcessMatcher())


def extract(spec: Extract, response: Response, cookies: dict[str, str]) -> str | None:
    return compare.extract(spec, response, cookies, InProcessMatcher())


def resp(body: bytes | str = b"", status: int = 200,
         headers: tuple[tuple[str, str], ...] = ()) -> Response:
    raw = body.encode() if isinstance(body, str) else body
    return Response(status, headers, raw, 0.01)


def results(expect: Expect, response: Response) -> list[tuple[str, bool]]:
    return [(a.label, a.passed) for a in check_response(expect, response)]


# -- check_response ------------------------------------------------------------------

PAGE = resp("<p>Hello, Ada!</p>", 200, (("Content-Type", "text/html; charset=utf-8"),
                                         ("X-Thing", "  yes ")))


@pytest.mark.parametrize(("expect", "labels"), [
    # status right and wrong
    (Expect(status=(200,)), [("status", True)]),
    (Expect(status=(404,)), [("status", False)]),
    # the whole body, exactly
    (Expect(body="<p>Hello, Ada!</p>"), [("body", True)]),
    (Expect(body="Hello, Ada!"), [("body", False)]),
    # each needle of contains is its own assertion
    (Expect(contains=("Hello", "Ada", "Bob")),
     [("body contains 'Hello'", True), ("body contains 'Ada'", True),
      ("body contains 'Bob'", False)]),
    # not_contains
    (Expect(not_contains=("Bob", "Ada")),
     [("body does not contain 'Bob'", True), ("body does not contain 'Ada'", False)]),
    # regex is a search, not a full match
    (Expect(regex=r"Hello, \w+!"), [(r"body matches /Hello, \w+!/", True)]),
    (Expect(regex=r"^Hello"), [("body matches /^Hello/", False)]),
    # headers: names are case-insensitive, values are stripped and exact
    (Expect(headers=(HeaderExpect("content-type", "text/html; charset=utf-8"),)),
     [("header content-type", True)]),
    (Expect(headers=(HeaderExpect("X-Thing", "yes"),)), [("header X-Thing", True)]),
    (Expect(headers=(HeaderExpect("Content-Type", "text/html"),)),
     [("header Content-Type", False)]),
    (Expect(headers=(HeaderExpect("X-Missing", "a"),)), [("header X-Missing", False)]),
    # no expectations: nothing asserted
    (Expect(), []),
    # several kinds in spec order
    (Expect(status=(200,), body="x", contains=("Ada",)),
     [("status", True), ("body", False), ("body contains 'Ada'", True)]),
    # a set of statuses: any one passes
    (Expect(status=(302, 200)), [("status", True)]),
    (Expect(status=(302, 303)), [("status", False)]),
    # header values by prefix and by regex
    (Expect(headers=(HeaderExpect("Content-Type", "text/html", "prefix"),)),
     [("header Content-Type (prefix)", True)]),
    (Expect(headers=(HeaderExpect("Content-Type", "html", "prefix"),)),
     [("header Content-Type (prefix)", False)]),
    (Expect(headers=(HeaderExpect("Content-Type", r"charset=utf-8$", "regex"),)),
     [("header Content-Type (regex)", True)]),
    (Expect(headers=(HeaderExpect("X-Missing", ".*", "regex"),)),
     [("header X-Missing (regex)", False)]),
])
def test_check_response(expect: Expect, labels: list[tuple[str, bool]]) -> None:
    assert results(expect, PAGE) == labels


def test_failed_assertions_carry_expected_and_actual() -> None:
    status, body, missing = check_response(
        Expect(status=(201,), body="hi", headers=(HeaderExpect("X-None", "v"),)), resp("ho", 500))
    assert (status.expected, status.actual) == ("201", "500")
    assert (body.expected, body.actual) == ("hi", "ho")
    assert (missing.expected, missing.actual) == ("v", "(missing)")


def test_not_contains_says_what_must_be_absent() -> None:
    (a,) = check_response(Expect(not_contains=("Hello",)), resp("Hello"))
    assert (a.passed, a.expected, a.actual) == (False, "no 'Hello'", "Hello")


def test_long_needles_are_shortened_in_labels() -> None:
    needle = "n" * 200
    (a,) = check_response(Expect(contains=(needle,)), resp(""))
    assert len(a.label) < 120 and a.expected == needle


def test_invalid_utf8_is_compared_with_replacement_characters() -> None:
    (a,) = check_response(Expect(body="a\ufffdb"), resp(b"a\xffb"))
    assert a.passed


@pytest.mark.parametrize(("expected", "body", "passed"), [
    ({"a": 1}, '{"a": 1, "b": 2}', True),  # extra keys are fine
    ({"a": 1}, '{"a": 2}', False),  # a different value
    ([1, 2], "[1, 2]", True),  # a list
    ({"a": 1}, "not json", False),  # not JSON at all
    (None, "null", True),  # a JSON null
    ({"a": 1}, b'{"a": 1}\xff', False),  # bytes that do not decode
])
def test_json_expectation(expected: Any, body: str | bytes, passed: bool) -> None:
    (a,) = check_response(Expect(json=expected, has_json=True), resp(body))
    assert (a.label, a.passed) == ("JSON body", passed)


def test_json_not_parsed_says_so() -> None:
    (a,) = check_response(Expect(json={"a": 1}, has_json=True), resp("<html>"))
    assert a.actual == "(not JSON) <html>" and a.expected == '{"a": 1}'


# -- json_subset ---------------------------------------------------------------------


@pytest.mark.parametrize(("expected", "actual", "ok"), [
    (True, 1, False),  # a bool is not the int 1
    (1, True, False),  # nor the other way round
    (False, 0, False),  # nor is False 0
    (True, True, True),  # bools equal themselves
    (1, 1.0, True),  # ints and floats compare as numbers
    (1.5, 1.5, True),  # floats
    ("1", 1, False),  # text is not a number
    (1, "1", False),  # and a number is not text
    (None, None, True),  # null
    (None, 0, False),  # null is not zero
    ("", None, False),  # nor is the empty string null
    ({"a": 1}, {"a": 1, "b": 2}, True),  # extra keys are allowed
    ({"a": 1, "c": 3}, {"a": 1}, False),  # a missing key is not
    ({}, {"anything": 1}, True),  # an empty object matches any object
    ({}, [], False),  # but not a list
    ([1, 2], [1, 2, 3], False),  # list lengths must match
    ([1, 2], [2, 1], False),  # and order matters
    ([], [], True),  # empty lists
    ({"a": [{"b": True}]}, {"a": [{"b": True, "c": 0}], "d": 1}, True),  # nested subsets
    ({"a": [{"b": True}]}, {"a": [{"b": 1}]}, False),  # nested bool-vs-int
    ({"a": {"b": {"c": "x"}}}, {"a": {"b": {"c": "y"}}}, False),  # deep difference
])
def test_json_subset(expected: Any, actual: Any, ok: bool) -> None:
    assert json_subset(expected, actual) is ok


def test_json_subset_compares_big_integers_exactly() -> None:
    assert not json_subset(2**53 + 1, 2**53)


class LyingStr(str):
    """What a student object might do: claim to equal anything."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = str.__hash__


def test_a_lying_str_does_not_pass_json_subset() -> None:
    assert LyingStr("wrong") == "right"  # the lie works in plain Python
    assert not json_subset("right", LyingStr("wrong"))
    assert not json_subset({"k": "right"}, {"k": LyingStr("wrong")})


def test_a_lying_str_in_a_response_is_compared_as_plain_json() -> None:
    # whatever the app serialises, the grader parses the bytes itself
    body = json.dumps({"name": LyingStr("wrong"), "tags": [LyingStr("x")]}).encode()
    expect = Expect(json={"name": "right", "tags": ["y"]}, has_json=True)
    (a,) = check_response(expect, resp(body))
    assert not a.passed
    assert a.actual == '{"name": "wrong", "tags": ["x"]}'


def test_a_lying_body_text_does_not_pass() -> None:
    # bytes are decoded by the grader, so the body is always a plain str
    (a,) = check_response(Expect(body="right"), resp(LyingStr("wrong").encode()))
    assert not a.passed


# -- extract ---------------------------------------------------------------------------

JSON_BODY = json.dumps({"user": {"name": "ada", "id": 7, "tags": ["a", {"k": "v"}]},
                        "ok": True, "none": None})


@pytest.mark.parametrize(("source", "pattern", "body", "value"), [
    ("regex", r'value="([^"]+)"', '<input value="tok123">', "tok123"),  # group 1
    ("regex", r"tok\d+", '<input value="tok123">', "tok123"),  # no group: whole match
    ("regex", r"(a)(b)", "ab", "a"),  # the first group of several
    ("regex", r"nothing", "ab", None),  # no match
    ("json", "user.name", JSON_BODY, "ada"),  # nested key
    ("json", "user.id", JSON_BODY, "7"),  # a number comes back as JSON text
    ("json", "ok", JSON_BODY, "true"),  # and so does a bool
    ("json", "none", JSON_BODY, "null"),  # and null
    ("json", "user.tags.0", JSON_BODY, "a"),  # list index
    ("json", "user.tags.1.k", JSON_BODY, "v"),  # into an object in a list
    ("json", "user.tags.1", JSON_BODY, '{"k": "v"}'),  # an object as JSON text
    ("json", "user.tags.2", JSON_BODY, None),  # index past the end
    ("json", "user.tags.-1", JSON_BODY, None),  # no negative indexes
    ("json", "user.missing", JSON_BODY, None),  # missing key
    ("json", "user.name.first", JSON_BODY, None),  # into a string
    ("json", "a", "not json", None),  # not JSON
])
def test_extract_from_body(source: str, pattern: str, body: str, value: str | None) -> None:
    spec = Extract("v", source, pattern)  # type: ignore[arg-type]
    assert extract(spec, resp(body), {}) == value


@pytest.mark.parametrize(("pattern", "value"), [
    ("Location", "/next"),  # exact name
    ("location", "/next"),  # any case
    ("X-Missing", None),  # absent
])
def test_extract_header(pattern: str, value: str | None) -> None:
    response = resp("", 302, (("Location", "/next"),))
    assert extract(Extract("v", "header", pattern), response, {}) == value


@pytest.mark.parametrize(("pattern", "value"), [
    ("session", "abc"),  # a kept cookie
    ("other", None),  # not set
])
def test_extract_cookie(pattern: str, value: str | None) -> None:
    assert extract(Extract("v", "cookie", pattern), resp(""), {"session": "abc"}) == value


@pytest.mark.parametrize(("text", "limit", "out"), [
    ("abc", 3, "abc"),  # at the limit: unchanged
    ("abcd", 3, "abc… (4 chars)"),  # over: cut and counted
])
def test_short(text: str, limit: int, out: str) -> None:
    assert short(text, limit) == out
