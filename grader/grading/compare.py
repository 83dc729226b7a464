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
from grader.grading.explain import trailing_slash_redirect
from grader.grading.html_find import Wanted
from grader.grading.http_client import Response
from grader.spec.http import Expect, Extract, HeaderExpect

SHOW = 400  # characters of a value shown in a message
KEPT = 4096  # characters of an expected or actual value an assertion keeps for the report
NOTE_LIMIT = 1000  # characters of an assertion's note


@dataclass(frozen=True)
class Assertion:
    """One comparison inside a check."""

    label: str
    passed: bool
    expected: str | None = None
    actual: str | None = None
    scored: bool = True  # False: a set-up step's, which partial credit does not count
    note: str | None = None  # why it failed, in the grader's words, when the grader can tell
    # A pytest check's test: its weight (``@pytest.mark.points``) and, when its code set
    # one (the ``score`` fixture), the fraction of that weight it earned.
    weight: float = 1.0
    credit: float | None = None

    def __post_init__(self) -> None:
        # The one place an assertion's values are bounded and made writable: the
        # actual side is whatever the app sent (megabytes, lone surrogates).
        object.__setattr__(self, "label", safe_text(self.label, 500))
        object.__setattr__(self, "expected", safe_optional(self.expected, KEPT))
        object.__setattr__(self, "actual", safe_optional(self.actual, KEPT))
        object.__setattr__(self, "note", safe_optional(self.note, NOTE_LIMIT))

    @property
    def share(self) -> float:
        """The fraction of its weight this assertion earns (scoring.earned)."""
        if self.credit is not None:
            return self.credit
        return 1.0 if self.passed else 0.0


class Matcher(Protocol):
    """Runs the spec's regular expressions on the app's text (``re`` syntax)."""

    def found(self, pattern: str, text: str) -> bool:
        """Whether *pattern* matches anywhere in *text*."""
        ...

    def value(self, pattern: str, text: str) -> str | None:
        """The first match's group 1, or the whole match when it has no group."""
        ...

    def elements(self, wanted: list[Wanted], text: str) -> list[int]:
        """How many elements of the HTML *text* match each of *wanted*."""
        ...


def check_response(expect: Expect, resp: Response, matcher: Matcher, path: str = ""
                   ) -> list[Assertion]:
    """Every assertion the spec makes about one response to a request for *path*."""
    out: list[Assertion] = []
    text = resp.text
    if expect.status is not None:
        wanted = " or ".join(str(s) for s in expect.status)
        ok = resp.status in expect.status
        note = None if ok else trailing_slash_redirect(path, resp.status,
                                                        resp.header("Location"))
        out.append(Assertion("status", ok, wanted, str(resp.status), note=note))
    if expect.body is not None:
        # A body longer than an assertion keeps is kept around its first difference.
        out.append(Assertion("body", text == expect.body,
                             *around_mismatch(expect.body, text, KEPT)))
    for needle in expect.contains:
        out.append(Assertion(f"body contains {short(needle, 60)!r}", needle in text,
                             needle, text))
    if expect.regex is not None:
        out.append(Assertion(f"body matches /{short(expect.regex, 60)}/",
                             matcher.found(expect.regex, text), expect.regex, text))
    if expect.has_json:
        out.append(_json_assertion(expect.json, resp))
    if expect.json_includes:
        out.extend(_json_includes(expect.json_includes, resp))
    for header in expect.headers:
        out.append(_header_assertion(header, resp, matcher))
    if expect.elements or expect.not_elements:
        out.extend(_element_assertions(expect, resp, matcher))
    out.extend(_negatives(expect, resp))
    return out


def meant_page(expect: Expect, status: int) -> bool:
    """Whether a response is the page the check inspects: its status, else a 2xx.

    A negative assertion ("does not contain <script>") says nothing about an
    error page, so on any other page it fails instead of paying for absence.
    """
    return status in expect.status if expect.status is not None else 200 <= status < 300


def _off_page(label: str, expect: Expect, status: int) -> Assertion:
    wanted = ("status " + " or ".join(map(str, expect.status)) if expect.status is not None
              else "a 2xx page")
    return Assertion(label, False, wanted, f"not checked: the response is a {status}, not "
                     "the page this check inspects")


def _negatives(expect: Expect, resp: Response) -> list[Assertion]:
    out = []
    on_page = meant_page(expect, resp.status)
    for needle in expect.not_contains:
        label = f"body does not contain {short(needle, 60)!r}"
        out.append(Assertion(label, needle not in resp.text, f"no {needle!r}", resp.text)
                   if on_page else _off_page(label, expect, resp.status))
    return out


def _element_assertions(expect: Expect, resp: Response, matcher: Matcher) -> list[Assertion]:
    specs = [*expect.elements, *expect.not_elements]
    counts = matcher.elements([(e.tag, list(e.attrs), e.contains) for e in specs], resp.text)
    out = []
    for spec, count in zip(expect.elements, counts, strict=False):
        out.append(Assertion(f"an element {short(spec.describe(), 80)}", count > 0,
                             spec.describe(), "none in the page" if not count else
                             f"{count} found"))
    on_page = meant_page(expect, resp.status)
    for spec, count in zip(expect.not_elements, counts[len(expect.elements):], strict=False):
        label = f"no element {short(spec.describe(), 80)}"
        out.append(Assertion(label, count == 0, f"no {spec.describe()}",
                             f"{count} found" if count else "none")
                   if on_page else _off_page(label, expect, resp.status))
    return out


def _header_assertion(header: HeaderExpect, resp: Response, matcher: Matcher) -> Assertion:
    got = resp.header(header.name)
    label = f"header {header.name}" + ("" if header.match == "exact" else f" ({header.match})")
    if got is None:
        return Assertion(label, False, header.value, "(missing)")
    value = got.strip()
    if header.match == "prefix":
        ok = value.startswith(header.value)
    elif header.match == "regex":
        ok = matcher.found(header.value, value)
    else:
        ok = value == header.value
    return Assertion(label, ok, header.value, got)


def _json_includes(items: tuple[Any, ...], resp: Response) -> list[Assertion]:
    try:
        actual = untrusted_json.loads(resp.body)
    except untrusted_json.NotJSON:
        return [Assertion(f"JSON list includes {short(_dump(item), 60)}", False, _dump(item),
                          "(not JSON) " + short(resp.text)) for item in items]
    out = []
    for item in items:
        label = f"JSON list includes {short(_dump(item), 60)}"
        if not isinstance(actual, list):
            out.append(Assertion(label, False, _dump(item), "(not a JSON list) " +
                                 short(_dump(actual))))
            continue
        out.append(Assertion(label, any(json_subset(item, a) for a in actual), _dump(item),
                             _dump(actual)))
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


def first_difference(a: str, b: str) -> int:
    """The index of the first character where *a* and *b* differ (the shorter's
    length when one starts the other); -1 when they are equal."""
    if a == b:
        return -1
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                min(len(a), len(b)))


def around_mismatch(expected: str, actual: str, width: int = 80) -> tuple[str, str]:
    """*expected* and *actual*, each at most about *width* characters: the same window
    of both, from a little before their first difference, with … where text is cut.

    Equal or short enough values come back whole.
    """
    if len(expected) <= width and len(actual) <= width:
        return expected, actual
    at = max(0, first_difference(expected, actual))
    start = max(0, at - width // 3)

    def window(text: str) -> str:
        part = text[start:start + width]
        return ("…" if start else "") + part + ("…" if start + width < len(text) else "")

    return window(expected), window(actual)


def is_exact_body(label: str) -> bool:
    """Whether an assertion's label names an exact ``body`` expectation (any step's)."""
    return label == "body" or label.endswith(": body")


def short(text: str, limit: int = SHOW) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
