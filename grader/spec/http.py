"""The HTTP part of the spec language: requests, steps, expectations and matchers.

Parsed once into frozen dataclasses; grader/grading/checks.py runs them and
grader/grading/compare.py judges the answers. See docs/spec-language.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from grader.spec.yamlnodes import Field

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
EXTRACT_SOURCES = ("regex", "header", "cookie", "json")
HEADER_MATCHES = ("prefix", "regex")
DEFAULT_SESSION = "main"
_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TAG_RE = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTR_RE = re.compile(r"[^\s\"'>/=]+")

ExtractSource = Literal["regex", "header", "cookie", "json"]
HeaderMatch = Literal["exact", "prefix", "regex"]


@dataclass(frozen=True)
class Request:
    path: str
    method: str = "GET"
    query: tuple[tuple[str, str], ...] = ()
    form: tuple[tuple[str, str], ...] | None = None
    json: Any = None
    has_json: bool = False
    data: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    # None: follow, unless the expectation is about the redirect itself (see follows()).
    follow_redirects: bool | None = None

    def describe(self, limit: int = 400) -> str:
        """The request as a report shows it: method, path with its query, and the
        form, JSON or raw body it sends, with ``${vars}`` as the spec writes them.

        Each value is cut at 80 characters, the whole at about *limit*.
        """
        def cut(text: str, size: int = 80) -> str:
            return text if len(text) <= size else text[:size] + "…"

        query = "&".join(f"{cut(k)}={cut(v)}" for k, v in self.query)
        parts = [f"{self.method} {cut(self.path, 200)}" + (f"?{query}" if query else "")]
        if self.form is not None:
            fields = ", ".join(f"{cut(k)}={cut(v)!r}" for k, v in self.form)
            parts.append(f"form: {fields or '(no fields)'}")
        if self.has_json:
            parts.append(f"JSON: {cut(json.dumps(self.json, ensure_ascii=False), 300)}")
        if self.data is not None:
            parts.append(f"body: {cut(self.data)!r}")
        text = " · ".join(parts)
        return text if len(text) <= limit else text[:limit] + "…"


@dataclass(frozen=True)
class HeaderExpect:
    """A response header's value: exactly, by prefix or by regular expression."""

    name: str
    value: str
    match: HeaderMatch = "exact"


# An attribute's expected value: True (present), its text, or ("regex", pattern).
AttrWant = str | bool | tuple[str, str]


@dataclass(frozen=True)
class ElementSpec:
    """An HTML element: its tag, attributes and text it contains."""

    tag: str
    attrs: tuple[tuple[str, AttrWant], ...] = ()
    contains: str | None = None

    def describe(self) -> str:
        attrs = "".join(f" {k}" if v is True else f" {k}=/{v[1]}/" if isinstance(v, tuple)
                        else f' {k}="{v}"' for k, v in self.attrs)
        text = f" containing {self.contains!r}" if self.contains is not None else ""
        return f"<{self.tag}{attrs}>{text}"


@dataclass(frozen=True)
class Expect:
    status: tuple[int, ...] | None = None  # any one of these
    body: str | None = None
    contains: tuple[str, ...] = ()
    not_contains: tuple[str, ...] = ()
    regex: str | None = None
    json: Any = None
    has_json: bool = False
    json_includes: tuple[Any, ...] = ()
    headers: tuple[HeaderExpect, ...] = ()
    elements: tuple[ElementSpec, ...] = ()
    not_elements: tuple[ElementSpec, ...] = ()

    @property
    def about_redirect(self) -> bool:
        """Whether this expectation inspects a redirect itself (so it must not be followed)."""
        return (any(300 <= s < 400 for s in self.status or ())
                or any(h.name.lower() == "location" for h in self.headers))


@dataclass(frozen=True)
class Extract:
    """Take a value from a response for later steps, as ``${name}``."""

    name: str
    source: ExtractSource
    pattern: str  # regex, header name, cookie name or dotted JSON path


@dataclass(frozen=True)
class Step:
    request: Request
    expect: Expect
    extracts: tuple[Extract, ...] = ()
    setup: bool = False  # scores nothing; if it fails, the check fails
    session: str = DEFAULT_SESSION  # whose cookies: each session has its own jar
    restart: bool = False  # not a request: the app is started again, its files kept
    flow: str | None = None  # the named flow (``use:``) the step comes from, if any

    def describe(self, limit: int = 400) -> str:
        """What the step does, as reports show it (see :meth:`Request.describe`)."""
        text = "restart the app" if self.restart else self.request.describe(limit)
        return f"{text} (from {self.flow})" if self.flow else text

    def label(self) -> str:
        """The step in a few words: ``POST /login``, or ``restart``."""
        return "restart" if self.restart else f"{self.request.method} {self.request.path}"

    def follows(self) -> bool:
        """Whether the client follows redirects for this step's request."""
        if self.request.follow_redirects is not None:
            return self.request.follow_redirects
        takes_location = any(e.source == "header" and e.pattern.lower() == "location"
                             for e in self.extracts)
        return not (self.expect.about_redirect or takes_location)


@dataclass(frozen=True)
class HttpCheck:
    steps: tuple[Step, ...]


# -- parsing -------------------------------------------------------------------

REQUEST_KEYS = frozenset({"method", "path", "query", "form", "json", "data", "headers",
                          "follow_redirects"})
EXPECT_KEYS = frozenset({"status", "body", "contains", "not_contains", "regex", "json",
                         "json_includes", "headers", "elements", "not_elements"})
STEP_KEYS = frozenset({"request", "expect", "extract", "setup", "session"})
RESTART_STEP_KEYS = frozenset({"restart"})
# What a restart step carries in place of a request; no HTTP is sent for it.
RESTART_REQUEST = Request(path="/", method="RESTART")


@dataclass(frozen=True)
class StepSource:
    """A step's YAML, and what a named flow's ``use:`` adds to it (grader/spec/flows.py)."""

    field: Field
    flow: str | None = None  # the flow it comes from: "sign_in", or "outer > inner"
    setup: bool = False  # the ``use:`` made every step of the flow a set-up step
    session: str | None = None  # the ``use:`` ran the flow in this session
_ELEMENT_KEYS = frozenset({"tag", "attrs", "contains"})


def parse_request_check(request: Field, expect: Field | None) -> HttpCheck:
    return HttpCheck((Step(_request(request), _expect(expect)),))


def parse_steps(steps: Field, sources: list[StepSource] | None = None) -> HttpCheck:
    """The check's steps; *sources*: the items with named flows expanded (flows.py)."""
    if sources is None:
        sources = [StepSource(f) for f in steps.sequence()]
    parsed = tuple(parse_step(s) for s in sources)
    if not parsed:
        raise steps.fail("needs at least one step")
    if all(s.setup for s in parsed):
        raise steps.fail("every step is a set-up step, so the check would score nothing; "
                         "leave `setup: true` off the steps the check is about")
    _check_variables(parsed, [s.field for s in sources])
    return HttpCheck(parsed)


def parse_step(source: StepSource) -> Step:
    """One step: a request, or ``restart: true``; a flow's ``use:`` options applied."""
    f = source.field
    if "restart" in f.mapping():
        r = f.mapping(RESTART_STEP_KEYS).require("restart")
        if not r.boolean():
            raise r.fail("a restart step says `restart: true`; leave the step out otherwise")
        return Step(RESTART_REQUEST, Expect(), setup=True, restart=True, flow=source.flow)
    step = _step(f)
    return Step(step.request, step.expect, step.extracts, setup=step.setup or source.setup,
                session=source.session or step.session, flow=source.flow)


def _step(f: Field) -> Step:
    m = f.mapping(STEP_KEYS)
    extracts: list[Extract] = []
    if (ex := m.get("extract")) is not None:
        for name, spec in ex.mapping():
            if not _NAME_RE.fullmatch(name):
                raise spec.fail("a variable name must be letters, digits and '_'")
            sm = spec.mapping(frozenset(EXTRACT_SOURCES))
            if len(sm.items) != 1:
                raise spec.fail(f"give exactly one of: {', '.join(EXTRACT_SOURCES)}")
            (source, pattern), = sm
            text = pattern.string()
            if source == "regex":
                compile_regex(pattern, text)
            extracts.append(Extract(name, source, text))  # type: ignore[arg-type]
    session = DEFAULT_SESSION
    if (s := m.get("session")) is not None:
        session = s.string()
        if not _NAME_RE.fullmatch(session):
            raise s.fail(f"a session name must be letters, digits and '_', got {session!r}")
    return Step(_request(m.require("request")), _expect(m.get("expect")), tuple(extracts),
                setup=st.boolean() if (st := m.get("setup")) else False, session=session)


def _check_variables(parsed: tuple[Step, ...], fields: list[Field]) -> None:
    known: set[str] = set()
    for index, (step, f) in enumerate(zip(parsed, fields, strict=True)):
        for var in _VAR_RE.findall(repr(step.request)):
            if var not in known:
                where = f" (from {step.flow})" if step.flow else ""
                raise f.fail(f"step {index + 1}{where} uses ${{{var}}}, which no earlier step "
                             "extracts")
        known.update(e.name for e in step.extracts)


def _request(f: Field) -> Request:
    m = f.mapping(REQUEST_KEYS)
    path = m.require("path")
    if not path.string().startswith("/"):
        raise path.fail(f"must start with '/', got {path.string()!r}")
    method = m.get("method")
    bodies = [k for k in ("form", "json", "data") if k in m]
    if len(bodies) > 1:
        raise f.fail(f"give only one request body, not {' and '.join(bodies)}")
    return Request(
        path=path.string(),
        method=method.choice(METHODS) if method else ("POST" if bodies else "GET"),
        query=q.mapping().string_pairs() if (q := m.get("query")) else (),
        form=fm.mapping().string_pairs() if (fm := m.get("form")) else None,
        json=j.value() if (j := m.get("json")) else None,
        has_json="json" in m,
        data=d.string(allow_empty=True) if (d := m.get("data")) else None,
        headers=h.mapping().string_pairs() if (h := m.get("headers")) else (),
        follow_redirects=r.boolean() if (r := m.get("follow_redirects")) else None,
    )


def _expect(f: Field | None) -> Expect:
    if f is None:
        return Expect(status=(200,))
    m = f.mapping(EXPECT_KEYS)
    if not m.items:
        raise f.fail("is empty; say what to expect, e.g. status: 200")
    regex = None
    if (r := m.get("regex")) is not None:
        regex = compile_regex(r, r.string())
    includes: tuple[Any, ...] = ()
    if (ji := m.get("json_includes")) is not None:
        includes = tuple(item.value() for item in ji.sequence())
        if not includes:
            raise ji.fail("is empty; list the items the JSON list must hold")
    return Expect(
        status=_statuses(s) if (s := m.get("status")) else None,
        body=b.string(allow_empty=True) if (b := m.get("body")) else None,
        contains=c.str_or_list() if (c := m.get("contains")) else (),
        not_contains=c.str_or_list() if (c := m.get("not_contains")) else (),
        regex=regex,
        json=j.value() if (j := m.get("json")) else None,
        has_json="json" in m,
        json_includes=includes,
        headers=_headers(h) if (h := m.get("headers")) else (),
        elements=_elements(e) if (e := m.get("elements")) else (),
        not_elements=_elements(e) if (e := m.get("not_elements")) else (),
    )


def _statuses(f: Field) -> tuple[int, ...]:
    items = f.sequence() if isinstance(f.node, yaml.SequenceNode) else [f]
    if not items:
        raise f.fail("is empty; give a status such as 200, or a list such as [302, 303]")
    found = tuple(item.integer(minimum=100, maximum=599) for item in items)
    return tuple(dict.fromkeys(found))


def _headers(f: Field) -> tuple[HeaderExpect, ...]:
    out = []
    for name, value in f.mapping():
        if not isinstance(value.node, yaml.MappingNode):
            out.append(HeaderExpect(name, value.string(allow_empty=True)))
            continue
        vm = value.mapping(frozenset(HEADER_MATCHES))
        if len(vm.items) != 1:
            raise value.fail("give exactly one of: prefix, regex (or the exact value as text)")
        (match, pattern), = vm
        text = pattern.string()
        if match == "regex":
            compile_regex(pattern, text)
        out.append(HeaderExpect(name, text, match))  # type: ignore[arg-type]
    return tuple(out)


def _elements(f: Field) -> tuple[ElementSpec, ...]:
    items = f.sequence() if isinstance(f.node, yaml.SequenceNode) else [f]
    if not items:
        raise f.fail("is empty; give an element such as header or {tag: main}")
    return tuple(_element(item) for item in items)


def _element(f: Field) -> ElementSpec:
    if isinstance(f.node, yaml.ScalarNode):
        return ElementSpec(_tag(f))
    m = f.mapping(_ELEMENT_KEYS)
    attrs: list[tuple[str, AttrWant]] = []
    if (a := m.get("attrs")) is not None:
        for name, value in a.mapping():
            if not _ATTR_RE.fullmatch(name):
                raise value.fail(f"{name!r} is not an HTML attribute name")
            attrs.append((name.lower(), _attr_value(value)))
    text = c.string() if (c := m.get("contains")) else None
    return ElementSpec(_tag(m.require("tag")), tuple(attrs), text)


def _attr_value(f: Field) -> AttrWant:
    if isinstance(f.node, yaml.MappingNode):
        pattern = f.mapping(frozenset({"regex"})).require("regex")
        return ("regex", compile_regex(pattern, pattern.string()))
    if isinstance(f.node, yaml.ScalarNode) and isinstance(f.value(), bool):
        if not f.boolean():
            raise f.fail("give true (the attribute is present), its value or {regex: ...}; "
                         "to say an element lacks it, use not_elements")
        return True
    return f.string(allow_empty=True)


def _tag(f: Field) -> str:
    tag = f.string()
    if not _TAG_RE.fullmatch(tag):
        raise f.fail(f"must be an HTML tag name such as header or main, got {tag!r}")
    return tag.lower()


def compile_regex(f: Field, text: str) -> str:
    try:
        re.compile(text)
    except re.error as e:
        raise f.fail(f"is not a valid regular expression: {e}") from e
    return text


def substitute(text: str, variables: dict[str, str]) -> str:
    """Replace ``${name}`` with values extracted by earlier steps."""
    return _VAR_RE.sub(lambda mt: variables.get(mt.group(1), mt.group(0)), text)
