"""html_find: the elements a spec expects, counted on the student's HTML.

The rules run in-process here (they are plain functions); the hostile bodies go
through a real HostWork and the real evaluator, whose deadline is the only clock
that stops html.parser's slow corners. Time bounds are generous: what is
asserted is that the work ends, never how fast.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from grader.grading.evaluator import Evaluator
from grader.grading.host_work import HostWork
from grader.grading.html_find import MAX_OPEN, Wanted, count_elements
from grader.grading.http_client import MAX_BODY
from grader.grading.outcome import CheckStop

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<link rel="Stylesheet" href="/static/site.css"></head>
<body>
<header class="site-header"><nav class="navbar navbar-expand-lg">
  <a class="navbar-brand" href="/">Shop</a></nav></header>
<main role="main" class="container">
  <div class="row"><h1>Hello,
     <em>Alice</em> &amp; friends</h1>
  <p>Caf&eacute; &lt;open&gt;</p></div>
  <FORM Method="POST" action="/login" enctype="multipart/form-data">
    <input type="Text" name="username" required>
    <input type="password" name="password">
    <button type="submit" class="btn btn-primary">Log in</button>
  </FORM>
</main>
<script>var s = "<main>not an element</main>";</script>
</body></html>"""


@pytest.mark.parametrize(("wanted", "count"), [
    # Bootstrap-style landmarks
    (("header", [], None), 1),
    (("header", [("class", "site-header")], None), 1),
    (("main", [("role", "main"), ("class", "container")], None), 1),
    # text split over child elements, entities decoded, whitespace collapsed
    (("main", [("class", "container")], "Hello, Alice & friends"), 1),
    (("h1", [], "Hello, Alice & friends"), 1),
    (("h1", [], "Hello Alice"), 0),
    (("main", [], "Café <open>"), 1),
    (("main", [], "Log in"), 1),
    # tag and attribute names in any case; values exact unless a keyword attribute
    (("MAIN", [("ROLE", "main")], None), 1),
    (("form", [], "Log in"), 1),
    (("main", [("role", "Main")], None), 0),
    (("form", [("method", "post")], None), 1),
    (("form", [("method", "get")], None), 0),
    (("form", [("enctype", "Multipart/Form-Data")], None), 1),
    (("input", [("type", "text")], None), 1),
    (("link", [("rel", "stylesheet")], None), 1),
    (("a", [("href", "/")], "Shop"), 1),
    (("a", [("href", "/index")], None), 0),
    # True: present (an attribute without a value is ""); False: absent
    (("input", [("required", True)], None), 1),
    (("input", [("required", "")], None), 1),
    (("input", [("required", False)], None), 1),
    (("input", [("autofocus", True)], None), 0),
    # class: every listed class, in any order, among the element's
    (("button", [("class", "btn-primary btn")], None), 1),
    (("button", [("class", "btn btn-lg")], None), 0),
    (("nav", [("class", "navbar")], None), 1),
    (("nav", [("class", "navbar-expand")], None), 0),
    # void elements never open: the button's text is in no input
    (("input", [], None), 2),
    (("input", [], "Log in"), 0),
    (("meta", [("charset", "utf-8")], None), 1),
    # a script's text is text, never elements; it counts in its ancestors' text
    (("main", [], None), 1),
    (("script", [], '<main>not an element</main>'), 1),
    (("body", [], "not an element"), 1),
    (("main", [], "not an element"), 0),
    # a blank contains is no condition
    (("title", [], " "), 1),
])
def test_a_page(wanted: Wanted, count: int) -> None:
    assert count_elements(PAGE, [wanted]) == [count]


@pytest.mark.parametrize(("text", "wanted", "count"), [
    # an element left open ends where the input ends
    ("<main><h1>Hi", ("main", [], "Hi"), 1),
    # no implied end tags: the first <p> holds the second
    ("<div><p>one<p>two</div>", ("p", [], "onetwo"), 1),
    ("<div><p>one<p>two</div>", ("p", [], "two"), 2),
    # a stray end tag is ignored
    ("<div>a</span>b</div>", ("div", [], "ab"), 1),
    ("</div><div>x", ("div", [], "x"), 1),
    # an end tag closes what was opened inside its element
    ("<div><span>a</div>b</span>", ("span", [], "a"), 1),
    ("<div><span>a</div>b</span>", ("span", [], "ab"), 0),
    ("<div><div>a</div>b</div>", ("div", [], "ab"), 1),
    # <x/> is an empty element; </br> closes nothing
    ("<div/>x", ("div", [], None), 1),
    ("<div/>x", ("div", [], "x"), 0),
    ("<br>text</br>", ("br", [], "text"), 0),
    # the first of two same-named attributes counts; values are entity-decoded
    ('<a id="one" id="two">', ("a", [("id", "two")], None), 0),
    ('<a title="Tom &amp; Jerry">', ("a", [("title", "Tom & Jerry")], None), 1),
    # names in any case; class names themselves are case-sensitive
    ('<DIV CLASS="A b">', ("div", [("class", "A")], None), 1),
    ('<DIV CLASS="A b">', ("div", [("class", "a")], None), 0),
    ('<div class="\ta\n b ">', ("div", [("class", " b  a ")], None), 1),
    ('<div>', ("div", [("class", "")], None), 0),
    # keyword attributes compare in ASCII case only
    ('<form method="PoSt">', ("form", [("method", "POST")], None), 1),
    ('<form method="poſt">', ("form", [("method", "post")], None), 0),
    # whitespace collapsed on both sides; &nbsp; is whitespace too
    ("<p>a<br>\n  b</p>", ("p", [], "  a \n b "), 1),
    ("<p>a&nbsp;b</p>", ("p", [], "a b"), 1),
    ("<p>a</p><p>b</p>", ("p", [], "a b"), 0),
    # comments are not text
    ("<p>a<!-- b -->c</p>", ("p", [], "ac"), 1),
    # a marked section html.parser does not know is a bogus comment, not a crash
    ("<![foo[ x ]]><div>y</div>", ("div", [], "y"), 1),
    # overlapping occurrences: one of them must lie inside the element
    ("aaa<p>aa</p>aa", ("p", [], "aaa"), 0),
    ("aaa<p>aaa</p>aa", ("p", [], "aaa"), 1),
])
def test_tree_rules(text: str, wanted: Wanted, count: int) -> None:
    assert count_elements(text, [wanted]) == [count]


def test_several_wanted_at_once() -> None:
    assert count_elements(PAGE, [("input", [], None), ("p", [], "Café"), ("table", [], None)]
                          ) == [2, 1, 0]


# -- through the evaluator ----------------------------------------------------------------


@pytest.fixture
def ev() -> Iterator[Evaluator]:
    evaluator = Evaluator()
    yield evaluator
    evaluator.close()


def work(ev: Evaluator, seconds: float) -> HostWork:
    return HostWork(ev, time.monotonic() + seconds, seconds)


def test_host_work_counts_in_the_evaluator(ev: Evaluator) -> None:
    wanted: list[Wanted] = [("main", [("role", "main"), ("class", "container")], "Alice"),
                            ("input", [("required", True)], None)]
    assert work(ev, 30).elements(wanted, PAGE) == [1, 1]
    assert ev.call("elements", PAGE, wanted, deadline=time.monotonic() + 30) == [1, 1]


def test_a_failure_in_the_evaluator_ends_the_check(ev: Evaluator) -> None:
    wanted = [("div", [("id", 3)], None)]  # a number: the spec's parser lets none through
    with pytest.raises(CheckStop) as stop:
        work(ev, 30).elements(wanted, "<div id=3>")  # type: ignore[arg-type]
    assert stop.value.status == "failed"
    assert "finding HTML elements" in stop.value.message
    assert "id" not in stop.value.message.split("failed:")[1]


NESTED = 100_000
HOSTILE = [
    # 100,000 nested divs: past MAX_OPEN they open nothing, and so hold no text
    ("<div>" * NESTED + "x" + "</div>" * NESTED,
     [("div", [], None), ("div", [], "x")], [NESTED, MAX_OPEN]),
    # a 2 MiB attribute, closed and unclosed
    ('<div title="' + "a" * MAX_BODY + '">x</div>', [("div", [("title", True)], "x")], [1]),
    ('<div title="' + "a" * MAX_BODY, [("div", [], None)], None),
    # 2 MiB of "<"
    ("<" * MAX_BODY, [("div", [], None)], [0]),
    # an unclosed comment
    ("<div><!--" + "a" * MAX_BODY, [("div", [], None)], [1]),
    # overlapping occurrences of the wanted text everywhere
    ("<p>" + "a" * MAX_BODY, [("p", [], "aa")], [1]),
    # html.parser's own quadratic corners (Python 3.11): its end-of-input scans restart
    ("</" * (MAX_BODY // 2), [("div", [], None)], None),
    ("<a" * (MAX_BODY // 2), [("a", [], None)], None),
    ("<!" * (MAX_BODY // 2), [("div", [], None)], None),
]


@pytest.mark.parametrize(("text", "wanted", "counts"), HOSTILE,
                         ids=["nested", "attribute", "open-attribute", "lt", "comment",
                              "overlaps", "end-tags", "start-tags", "declarations"])
def test_hostile_bodies_end(ev: Evaluator, text: str, wanted: list[Wanted],
                            counts: list[int] | None) -> None:
    """Each body is counted, or the check stops as a timeout or failure: never another
    exception, never a hang. *counts*: the answer when it finishes (None: any)."""
    seconds = 5.0
    started = time.monotonic()
    try:
        found = work(ev, seconds).elements(wanted, text)
    except CheckStop as stop:
        assert stop.status in ("timeout", "failed"), stop.message
        assert "finding HTML elements in the response" in stop.message
    else:
        assert len(found) == len(wanted)
        if counts is not None:
            assert found == counts
    assert time.monotonic() - started < seconds + 30
    # the evaluator (a fresh one after a timeout) still answers
    assert work(ev, 30).elements([("p", [], "x")], "<p>x</p>") == [1]


def test_a_timeout_names_the_work_not_the_expectation(ev: Evaluator) -> None:
    secret: Wanted = ("section", [("data-secret", "s3cret-value")], "hidden words")
    try:
        # minutes in html.parser on Python 3.11.7; later releases may fix it
        work(ev, 1.0).elements([secret], "</" * (MAX_BODY // 2))
    except CheckStop as e:
        stop = e
    else:
        pytest.skip("this Python's html.parser reads the body in time: no timeout to see")
    assert stop.status == "timeout"
    assert "finding HTML elements in the response" in stop.message
    assert not any(word in stop.message
                   for word in ("section", "data-secret", "s3cret", "hidden"))
