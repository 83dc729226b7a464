"""Compare what the app answered with what the spec expects. No I/O here.

Everything compared arrives as bytes or parsed JSON on the trusted side, so a
student object whose ``__eq__`` lies never takes part in a comparison.

Regular expressions are the one comparison whose time the body can blow up
(backtracking), so they go through a :class:`Matcher` the caller supplies:
the grader's runs them in the evaluator, under the check's deadline
(checks.py). Everything else here is linear in the capped body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from grader.common import untrusted_json
from grader.common.text import safe_optional, safe_text
from grader.grading.http_client import Response
from grader.spec.exercise import Expect, Extract

SHOW = 400  # characters of a value shown in a message
KEPT = 4096  # characters of an expected or actual value an assertion keeps for the report


@dataclass(frozen=True)
class Assertion:
    """One comparison inside a check."""

    label: str
    passed: bool
    expected: str | None = None
    actual: str | None = None

    def __post_init__(self) -> None:
        # The one place an assertion's values are bounded and made writable: the
        # actual side is whatever the app sent (megabytes, lone surrogates).
        object.__setattr__(self, "label", safe_text(self.label, 500))
        object.__setattr__(self, "expected", safe_optional(self.expected, KEPT))
        object.__setattr__(self, "actual", safe_optional(self.actual, KEPT))


class Matcher(Protocol):
    """Runs the spec's regular expressions on the app's text (``re`` syntax)."""

    def found(self, pattern: str, text: str) -> bool:
        """Whether *pattern* matches anywhere in *text*."""
        ...

    def value(self, pattern: str, text: str) -> str | None:
        """The first match's group 1, or the whole match when it has no group."""
        ...


def check_response(expect: Expect, resp: Response, matcher: Matcher) -> list[Assertion]:
    """Every assertion the spec makes about one response."""
    out: list[Assertion] = []
    text = resp.text
    if expect.status is not None:
        out.append(Assertion("status", resp.status == expect.status,
                             str(expect.status), str(resp.status)))
    if expect.body is not None:
        out.append(Assertion("body", text == expect.body, expect.body, text))
    for needle in expect.contains:
        out.append(Assertion(f"body contains {short(needle, 60)!r}", needle in text,
                             needle, text))
    for needle in expect.not_contains:
        out.append(Assertion(f"body does not contain {short(needle, 60)!r}",
                             needle not in text, f"no {needle!r}", text))
    if expect.regex is not None:
        out.append(Assertion(f"body matches /{short(expect.regex, 60)}/",
                             matcher.found(expect.regex, text), expect.regex, text))
    if expect.has_json:
        out.append(_json_assertion(expect.json, resp))
    for name, value in expect.headers:
        got = resp.header(name)
        out.append(Assertion(f"header {name}", got is not None and got.strip() == value,
                             value, got if got is not None else "(missing)"))
    return out


def _json_assertion(expected: Any, resp: Response) -> Assertion:
    try:
        actual = untrusted_json.loads(resp.body)
    except untrusted_json.NotJSON:
        return Assertion("JSON body", False, _dump(expected), "(not JSON) " + short(resp.text))
    return Assertion("JSON body", json_subset(expected, actual), _dump(expected), _dump(actual))


def json_subset(expected: Any, actual: Any) -> bool:
    """True when *actual* has everything *expected* has (objects may carry extra keys).

    Lists must match item by item; booleans are not numbers here, unlike in Python.
    """
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and json_subset(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(actual) == len(expected)
                and all(json_subset(e, a) for e, a in zip(expected, actual, strict=True)))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int) and isinstance(actual, int):
        return expected == actual  # exact, however large
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return float(expected) == float(actual)
    return type(expected) is type(actual) and bool(expected == actual)


def extract(spec: Extract, resp: Response, cookies: dict[str, str], matcher: Matcher
            ) -> str | None:
    """The value a step extracts, or None when the response does not have it."""
    if spec.source == "regex":
        return matcher.value(spec.pattern, resp.text)
    if spec.source == "header":
        return resp.header(spec.pattern)
    if spec.source == "cookie":
        return cookies.get(spec.pattern)
    try:
        value: Any = untrusted_json.loads(resp.body)
    except untrusted_json.NotJSON:
        return None
    for part in spec.pattern.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value if isinstance(value, str) else json.dumps(value)


def short(text: str, limit: int = SHOW) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
