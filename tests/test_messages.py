"""Messages a beginner can act on: carets, redirects, databases, body windows, report names."""

from __future__ import annotations

from pathlib import Path

from grader.common.text import pointed
from grader.grading.compare import around_mismatch, check_response
from grader.grading.explain import (
    missing_templates,
    template_not_found,
    trailing_slash_redirect,
    with_database_note,
)
from grader.grading.http_client import Response
from grader.grading.scoring import Problem
from grader.reports.html import render_html, report_stem, write_submission_report
from grader.reports.terminal import summary
from grader.spec.exercise import Expect

from .helpers import InProcessMatcher
from .test_report import make_result


def test_a_syntax_error_shows_a_caret_under_its_column() -> None:
    assert pointed("    app = Flask(__name__\n", 16) == ("app = Flask(__name__", "           ^")
    assert pointed("x = 1", 99) == ("x = 1",)  # a column off the line: no caret
    wide = pointed("a" * 5000 + "(", 5001)
    assert len(wide[0]) < 200 and wide[1].endswith("^") and wide[0][len(wide[1]) - 1] == "("
    problem = Problem("SyntaxError", "'(' was never closed", "app.py", 2,
                      text="app = Flask(__name__\x1b[2J", offset=12)
    text = summary(make_result(problem=problem, report="/r.html"))
    assert "      app = Flask(__name__\\x1b[2J\n                 ^" in text
    assert "\x1b" not in text
    assert "           ^</pre>" in render_html(make_result(problem=problem))


def test_a_trailing_slash_redirect_is_explained() -> None:
    resp = Response(308, (("Location", "/greet/"),), b"", 0.01)
    (a,) = check_response(Expect(status=(200,)), resp, InProcessMatcher(), "/greet")
    assert not a.passed and a.note is not None
    assert "trailing slash" in a.note and "@app.route('/greet')" in a.note
    assert trailing_slash_redirect("/greet", 308, "http://localhost/greet/?x=1") is not None
    assert trailing_slash_redirect("/greet", 302, "/greet/") is None
    assert trailing_slash_redirect("/greet", 308, "/login") is None


def test_unable_to_open_the_database_names_the_setting_and_its_value() -> None:
    message = with_database_note("(sqlite3.OperationalError) unable to open database file",
                                 "sqlite:////home/ann/\x1b[2Japp.db")
    assert "SQLALCHEMY_DATABASE_URI is 'sqlite:////home/ann/" in message
    assert "/tmp" in message and "Fix:" in message and "\x1b" not in message
    assert "SQLALCHEMY_DATABASE_URI" in with_database_note("unable to open database file")
    assert with_database_note("no such table: user") == "no such table: user"


def test_a_body_excerpt_shows_the_part_around_the_first_difference() -> None:
    expected = "x" * 500 + "Hello, Ann!" + "y" * 500
    actual = "x" * 500 + "Hello Ann!" + "y" * 500
    exp, act = around_mismatch(expected, actual, 80)
    assert "Hello, Ann" in exp and "Hello Ann" in act
    assert exp.startswith("…") and exp.endswith("…") and len(exp) <= 82


def test_two_app_py_in_one_report_dir_keep_their_own_reports(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    first, second = tmp_path / "ann" / "app.py", tmp_path / "bob" / "app.py"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text("")
    a = write_submission_report(make_result(), out, "ex01", first)
    b = write_submission_report(make_result(), out, "ex01", second)
    assert Path(a.report or "").name == "ex01-app.html"
    assert Path(b.report or "").name == "ex01-bob-app.html"
    # The same submission gets the same name again.
    assert report_stem(out, "ex01", first) == "ex01-app"
    assert report_stem(out, "ex01", second) == "ex01-bob-app"


def test_missing_templates_are_read_from_the_apps_log() -> None:
    log = ("[2026] ERROR in app: Exception on / [GET]\nTraceback (most recent call last):\n"
           "  ...\njinja2.exceptions.TemplateNotFound: bootstrap/base.html\n"
           "jinja2.exceptions.TemplateNotFound: bootstrap/base.html\n"
           "jinja2.exceptions.TemplateNotFound: index.html\n")
    assert missing_templates(log) == ("bootstrap/base.html", "index.html")
    assert missing_templates("no template problem here") == ()
    assert "Bootstrap-Flask" in template_not_found("bootstrap/base.html")
    assert "templates/ folder" in template_not_found("index.html")


def test_a_hostile_log_gives_few_short_names_quickly() -> None:
    # Megabytes of markers, names without line ends, control characters: bounded output.
    log = ("TemplateNotFound: " + "x" * 5000 + "\x1b[2J") * 2000 + "TemplateNotFound: "
    names = missing_templates(log)
    assert 1 <= len(names) <= 3
    assert all(len(n) <= 120 and "\x1b" not in n for n in names)
    many = "".join(f"TemplateNotFound: t{i}.html\n" for i in range(100_000))
    assert missing_templates(many) == ("t0.html", "t1.html", "t2.html")
