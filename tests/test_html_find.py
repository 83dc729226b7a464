"""The spec's HTML element matcher (grader/grading/html_find.py), and its bounds."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.grading.evaluator import Evaluator
from grader.grading.host_work import HostWork
from grader.grading.html_find import Wanted, count_elements, read_elements
from grader.grading.outcome import CheckStop

BOOTSTRAP = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Hello · Jinja site</title>
<link rel="Stylesheet" href="b.css"></head>
<body class="d-flex h-100">
  <header class="site-header sticky-top"><nav class="navbar">Jinja site</nav></header>
  <main role="main" class="container">
    <div class="row"><h1 class="display-4">Hello,
       Ada &amp; <em>Grace</em>!</h1></div>
  </main>
  <FORM Method="POST" action="">
    <input type="hidden" name="csrf_token" value="IjA1ZDk">
    <input id="name" name="name" required>
    <input type=SUBMIT value=Go>
  </FORM>
  <footer class="footer"><span>Made with <strong>Flask</strong> and Jinja</span></footer>
  <script src="app.js"></script>
  <script>var s = "<main>not an element</main>";</script>
</body></html>"""


def one(page: str, tag: str, attrs: list[tuple[str, str | bool]] | None = None,
        contains: str | None = None) -> int:
    return count_elements(page, [(tag, attrs or [], contains)])[0]


@pytest.mark.parametrize(("tag", "attrs", "contains", "count"), [
    ("header", [], None, 1),
    ("header", [("class", "site-header")], None, 1),
    ("header", [("class", "sticky-top site-header")], None, 1),  # classes in any order
    ("header", [("class", "site")], None, 0),  # a class is a whole word
    ("main", [("role", "main"), ("class", "container")], None, 1),
    ("main", [("role", "Main")], None, 0),  # other attributes compare exactly
    # text across child elements, entities decoded, white space made one space
    ("main", [], "Hello, Ada & Grace!", 1),
    ("h1", [], "Ada &amp; Grace", 0),
    ("footer", [], "Made with Flask and Jinja", 1),
    ("span", [], "Made with Flask", 1),
    ("strong", [], "Made with Flask", 0),
    # tag and attribute names in any case; method/type compare without case
    ("form", [("method", "post")], None, 1),
    ("form", [("method", "get")], None, 0),
    ("input", [("type", "submit")], None, 1),
    ("input", [("name", "csrf_token"), ("value", True)], None, 1),
    ("input", [("name", "csrf_token"), ("value", ("regex", r"^Ij\w+$"))], None, 1),
    ("input", [("name", "csrf_token"), ("value", ("regex", r"^\d+$"))], None, 0),
    ("input", [("required", ("regex", r"\S"))], None, 0),  # present, but empty
    ("input", [("required", True)], None, 1),  # present without a value
    ("input", [("autofocus", True)], None, 0),
    ("link", [("rel", "stylesheet")], None, 1),
    # void elements hold no text and do not swallow what follows
    ("input", [], "Go", 0),
    ("form", [], None, 1),
    # script content is text, never elements
    ("main", [], None, 1),
    ("script", [], "not an element", 1),
    ("nav", [], "Jinja site", 1),
    ("article", [], None, 0),
])
def test_bootstrap_page(tag: str, attrs: list[tuple[str, str | bool]], contains: str | None,
                        count: int) -> None:
    assert one(BOOTSTRAP, tag, attrs, contains) == count


@pytest.mark.parametrize(("page", "tag", "contains", "count"), [
    ("<main><p>a<p>b</main>c", "main", "a b", 0),  # no space between "a" and "b" in the text
    ("<main><p>a<p>b</main>c", "main", "ab", 1),
    ("<main><p>a<p>b</main>c", "main", "c", 0),  # closing main closed the open p's
    ("<div>a</span>b</div>", "div", "ab", 1),  # a stray end tag is ignored
    ("<div>unclosed <b>bold", "div", "unclosed bold", 1),  # open elements end with the page
    ("<div>x</div></div></div>", "div", "x", 1),
    ("<section/>after", "section", "after", 0),  # <x/> is empty
    ("<p>one</p><p>two</p><p>one</p>", "p", "one", 2),
    ("<!-- <main>x</main> -->", "main", None, 0),  # a comment holds no elements
    ("<main>a &lt;b&gt; c</main>", "main", "a <b> c", 1),
    ("no markup at all", "main", None, 0),
    ("", "main", None, 0),
])
def test_tree_rules(page: str, tag: str, contains: str | None, count: int) -> None:
    assert one(page, tag, contains=contains) == count


def naive(page: str, tag: str, contains: str) -> int:
    """The same count, squeezing each element's own text: the definition."""
    elements, text = read_elements(page)
    needle = re.sub(r"\s+", " ", contains).strip()
    return sum(1 for e in elements if e.tag == tag
               and needle in re.sub(r"\s+", " ", text[e.start:e.end]).strip())


PIECES = st.sampled_from(["<div>", "</div>", "<p>", "</p>", " ", "  \n", "a", "b", "a b",
                          "&amp;", "<br>", "<div class='x'>", "\t"])


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=40), st.sampled_from(["a", "a b", "b a", "ab", "&", "a a"]))
def test_text_search_agrees_with_its_definition(pieces: list[str], needle: str) -> None:
    page = "".join(pieces)
    for tag in ("div", "p"):
        assert one(page, tag, contains=needle) == naive(page, tag, needle)


HOSTILE = {
    "unclosed tags": "<form" * 100_000,
    "unclosed comments": "<!--" * 100_000,
    "lone angles": "<" * 500_000,
    "a 2 MiB attribute": "<input value='" + "x" * (2 << 20) + "'>",
    "open quotes": "<a b='" * 100_000 + ">",
    "deep nesting": "<div>" * 100_000 + "x" * 100_000,
    "many closers": "</div>" * 100_000,
    "stray end tags under open ones": "<div>" * 10_000 + "</span>" * 300_000,
    "lone angles before a tag": "<" * (2 << 20) + ">",
}


@pytest.mark.parametrize("page", HOSTILE.values(), ids=list(HOSTILE))
def test_hostile_pages_are_read_in_bounded_time(page: str) -> None:
    wanted: list[Wanted] = [("div", [], "x x"), ("input", [("value", True)], None),
                            ("form", [("method", "post")], None)]
    started = time.monotonic()
    count_elements(page, wanted)
    assert time.monotonic() - started < 20  # linear work: well under a second unloaded


def test_the_evaluator_stops_slow_matching_at_the_deadline() -> None:
    evaluator = Evaluator()
    try:
        work = HostWork(evaluator, time.monotonic() + 0.5, 0.5)
        # far more than half a second of parsing, whatever the machine
        page = "<p class='a'>x</p>" * 110_000
        with pytest.raises(CheckStop) as stop:
            for _ in range(200):
                work.elements([("p", [("class", "a")], "x")], page)
        assert stop.value.status == "timeout"
        assert "finding HTML elements" in stop.value.message and "class" not in \
            stop.value.message
        # the next check gets a working evaluator
        fresh = HostWork(evaluator, time.monotonic() + 30, 30)
        assert fresh.elements([("p", [], None)], "<p>a</p><p>b</p>") == [2]
    finally:
        evaluator.close()
