"""Find HTML elements in a page the app sent: the spec's ``elements`` matcher.

Runs in the evaluator process (evaluator_ops.py), under the check's clock:
the page is the submission's data, and Python's HTML parser is not promised
to be linear on every input. Stdlib only, as the evaluator imports it.

The page is read into a flat list of elements, each with its attributes and
the span of text it encloses in one shared text buffer, so an element's text
is a slice: no text is copied into every ancestor, however deep the nesting.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser

# An attribute's expected value: True (present), its text, or ("regex", pattern).
AttrWant = str | bool | tuple[str, str]
Wanted = tuple[str, list[tuple[str, AttrWant]], str | None]  # tag, attributes, text

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "source", "track", "wbr"})
# Attributes whose values HTML compares without regard to ASCII case.
CASELESS = frozenset({"method", "type", "enctype", "rel"})
MAX_OPEN = 10_000  # open elements; deeper start tags open nothing (their text still counts)
MAX_ELEMENTS = 200_000  # elements kept; a page with more is cut there
_SPACE = re.compile(r"\s+")
_LONE_LT = re.compile(r"<(?![A-Za-z/!?])")


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    start: int  # offset of its text in the shared buffer
    end: int = -1  # -1 while open


class _Tree(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.open: list[Element] = []
        self.opened: dict[str, int] = {}  # open elements by tag
        self.chunks: list[str] = []
        self.size = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if len(self.elements) >= MAX_ELEMENTS:
            return
        values: dict[str, str] = {}
        for name, value in attrs:
            values.setdefault(name, value or "")  # the first of a repeated attribute wins
        element = Element(tag, values, self.size)
        self.elements.append(element)
        if tag in VOID or len(self.open) >= MAX_OPEN:
            element.end = self.size
        else:
            self.open.append(element)
            self.opened[tag] = self.opened.get(tag, 0) + 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if self.open and self.open[-1].tag == tag and self.open[-1].end < 0:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.opened.get(tag):
            return  # an end tag that closes nothing open is ignored, as browsers do
        # Every element scanned here is closed, so the scans cost one step per element.
        while self.open:
            element = self.open.pop()
            element.end = self.size
            self.opened[element.tag] -= 1
            if element.tag == tag:
                return

    def parse_marked_section(self, i: int, report: bool = True) -> int:
        # Python's parser raises AssertionError on "<![foo[" (any keyword but a few); a
        # browser reads it as a bogus comment, up to the next ">".
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            end = self.rawdata.find(">", i + 3)
            return -1 if end < 0 else end + 1

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)
        self.size += len(data)


def read_elements(page: str) -> tuple[list[Element], str]:
    """The page's elements and the text buffer their offsets point into."""
    tree = _Tree()
    # No tag can end after the page's last ">": Python's parser would rescan from each
    # "<" there to the end (quadratic on "<form<form..."), so that tail is text.
    last = page.rfind(">")
    page = page[:last + 1] + page[last + 1:].replace("<", "&lt;")
    # A "<" that no tag name, "/", "!" or "?" follows is text in HTML; the parser
    # would read it one character at a time (seconds for a page of "<<<<"). Both
    # rewrites keep the page's text, except inside <script> and <style>, whose
    # "<" then reads "&lt;" (no spec matches a script's text by its "<").
    page = _LONE_LT.sub("&lt;", page)
    try:
        tree.feed(page)
        tree.close()
    finally:
        for element in tree.open:  # left open: they end where the page ends
            element.end = tree.size
    return tree.elements, "".join(tree.chunks)


def count_elements(page: str, wanted: list[Wanted]) -> list[int]:
    """How many elements of *page* match each (tag, attributes, text) of *wanted*."""
    elements, text = read_elements(page)
    flat = _Squeezed(text)
    counts = []
    for tag, attrs, contains in wanted:
        tag, attrs = tag.lower(), [(k.lower(), v) for k, v in attrs]  # as the parser reads
        inside = flat.finder(_squeeze(contains)) if contains else None
        counts.append(sum(1 for e in elements
                          if e.tag == tag and all(_attr(e, k, v) for k, v in attrs)
                          and (inside is None or inside(e.start, e.end))))
    return counts


class _Squeezed:
    """The page's text with each run of white space made one space, and a way to ask
    whether a text occurs inside an element's span, in time independent of its size
    (nested elements would otherwise each rescan the text they share)."""

    def __init__(self, text: str) -> None:
        self.runs: list[int] = []  # where each run of white space starts (raw offsets)
        self.ends: list[int] = []  # and ends
        self.removed: list[int] = [0]  # characters dropped before the end of each run
        for m in _SPACE.finditer(text):
            self.runs.append(m.start())
            self.ends.append(m.end())
            self.removed.append(self.removed[-1] + m.end() - m.start() - 1)
        self.text = _SPACE.sub(" ", text)

    def at(self, raw: int) -> int:
        """The squeezed offset of raw offset *raw*."""
        i = bisect.bisect_right(self.runs, raw) - 1  # the last run starting at or before it
        if i < 0:
            return raw
        before = self.removed[i]
        within = min(raw, self.ends[i]) - self.runs[i] - 1  # dropped inside this run
        return raw - before - max(0, within)

    def finder(self, needle: str) -> Callable[[int, int], bool]:
        starts, size = [], len(needle)
        found = self.text.find(needle)
        while found >= 0:
            starts.append(found)
            found = self.text.find(needle, found + 1)

        def inside(start: int, end: int) -> bool:
            lo, hi = self.at(start), self.at(end)
            i = bisect.bisect_left(starts, lo)
            return i < len(starts) and starts[i] + size <= hi

        return inside


def _attr(element: Element, name: str, want: AttrWant) -> bool:
    got = element.attrs.get(name)
    if isinstance(want, bool):  # True: present; False: absent
        return (got is not None) is want
    if got is None:
        return False
    if isinstance(want, tuple | list):  # ("regex", pattern): searched in the value
        return re.search(want[1], got) is not None
    assert isinstance(want, str)
    if name == "class":
        return set(want.split()) <= set(got.split())
    if name in CASELESS:
        return got.strip().lower() == want.strip().lower()
    return got == want


def _squeeze(text: str) -> str:
    return _SPACE.sub(" ", text).strip()
