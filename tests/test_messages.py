"""Messages a beginner can act on: carets, redirects, databases, body windows, report names."""

from __future__ import annotations

from pathlib import Path

from grader.common.text import pointed
from grader.grading.compare import Assertion, around_mismatch, check_response
from grader.grading.explain import (
    database_uri_unset,
    missing_variable,
    template_not_found,
    trailing_slash_redirect,
    with_database_note,
)
from grader.grading.http_client import Response
from grader.grading.scoring import Problem
from grader.grading.server_errors import (
    ServerError,
    explain_server_errors,
    logged_errors,
    note_for,
)
from grader.reports.html import render_html, report_stem, write_submission_report
from grader.reports.terminal import summary
from grader.spec.exercise import Expect

from .helpers import InProcessMatcher
from .test_report import check, make_result


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


LOGGED = """[2026-12-05 17:15:09,896] ERROR in app: Exception on /greet [POST]
Traceback (most recent call last):
  File "/tmp/app/app.py", line 6, in greet
    {}["x"]
KeyError: 'x'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/usr/lib/python3/dist-packages/flask/app.py", line 1511, in wsgi_app
    response = self.full_dispatch_request()
  File "/tmp/app/views/greet.py", line 8, in greet
    raise ValueError("bad thing")
ValueError: bad thing
127.0.0.1 - - "POST /greet HTTP/1.1" 500 -
[2026-12-05 17:15:10,000] ERROR in app: Exception on / [GET]
Traceback (most recent call last):
  File "/usr/local/lib/python3.11/site-packages/jinja2/loaders.py", line 204, in get_source
    raise TemplateNotFound(template)
jinja2.exceptions.TemplateNotFound: bootstrap/base.html
"""


def test_the_apps_logged_errors_are_read_with_the_apps_own_frame() -> None:
    errors = logged_errors(LOGGED)
    assert errors == (
        ServerError("POST", "/greet", "ValueError: bad thing", "views/greet.py, line 8, in greet"),
        ServerError("GET", "/", "jinja2.exceptions.TemplateNotFound: bootstrap/base.html"))
    assert errors[1].template == "bootstrap/base.html"
    assert logged_errors("no errors here\n") == ()


def test_a_500_is_explained_by_the_error_logged_for_its_request() -> None:
    errors = logged_errors(LOGGED)
    explained: set[str] = set()
    note = note_for(errors, ("step 1: GET /", "step 2: POST /greet · form: name='Ann'"),
                    explained)
    assert note is not None
    assert "POST /greet raised ValueError: bad thing at views/greet.py, line 8" in note
    assert "Bootstrap-Flask" in note and explained == {"bootstrap/base.html"}
    again = note_for(errors, ("GET /?page=2",), explained)
    assert again is not None and "Bootstrap-Flask" not in again  # explained once
    assert note_for(errors, ("GET /other",), set()) is None  # two errors, neither its own
    assert note_for(errors[:1], ("GET /other",), set()) is not None  # the only one logged
    assert "templates/ folder" in template_not_found("index.html")
    spaced = logged_errors("Exception on /greet/Ada Lovelace [GET]\nTraceback (most recent "
                           "call last):\nTypeError: no return.\n" + LOGGED)
    # Flask logs the decoded path; a check lists it as sent.
    assert note_for(spaced, ("GET /greet/Ada%20Lovelace",), set()) == (
        "GET /greet/Ada Lovelace raised TypeError: no return")


def test_a_hostile_log_gives_few_short_errors_quickly() -> None:
    # Megabytes of markers, lines without ends, control characters: bounded, linear.
    log = ("Exception on /" + "x" * 500 + " [GET]\nTraceback (most recent call last):\n"
           "\x1b[2JBoom: " + "y" * 9000 + "\n") * 2000
    errors = logged_errors(log)
    assert 1 <= len(errors) <= 5
    assert all(len(e.path) <= 201 and len(e.exception) <= 201 and "\x1b" not in e.exception
               for e in errors)
    many = "".join(f"Exception on /p{i} [GET]\nTraceback (most recent call last):\nE{i}: x\n"
                   for i in range(200_000))
    assert [e.path for e in logged_errors(many)] == ["/p0", "/p1", "/p2", "/p3", "/p4"]
    assert logged_errors("Exception on " * 100_000) == ()


def test_only_visible_checks_that_got_a_500_are_told() -> None:
    got_500 = (Assertion("step 1 (GET /): status", False, "200", "500"),)
    visible = check("form", "failed", 0.0, 1.0, assertions=got_500, requests=("step 1: GET /",))
    hidden = check("secret", "failed", 0.0, 1.0, hidden=True, assertions=got_500)
    fine = check("other", "failed", 0.0, 1.0, requests=("GET /",),
                 assertions=(Assertion("status", False, "200", "404"),))
    told = explain_server_errors((visible, hidden, fine), LOGGED)
    assert told[0].message.startswith("The app answered 500 (a server error): GET / raised "
                                      "jinja2.exceptions.TemplateNotFound: bootstrap/base.html")
    assert told[1:] == (hidden, fine)
    assert explain_server_errors((visible,), "nothing logged") == (visible,)


def test_an_unset_environment_variable_or_database_url_is_explained() -> None:
    note = missing_variable("KeyError", "'SECRET_KEY'", "SECRET_KEY = os.environ['SECRET_KEY']")
    assert note is not None and "SECRET_KEY" in note and ".env" in note
    assert missing_variable("KeyError", "'x'", "d = {}['x']") is None  # not the environment
    assert missing_variable("ValueError", "'SECRET_KEY'", "os.environ['SECRET_KEY']") is None
    unset = database_uri_unset("Either 'SQLALCHEMY_DATABASE_URI' or 'SQLALCHEMY_BINDS' must "
                               "be set.")
    assert unset is not None and "sqlite:///app.db" in unset
    assert database_uri_unset("some other error") is None


def test_what_was_tried_is_shown_when_it_says_more_than_the_headline() -> None:
    one = Problem("KeyError", "'SECRET_KEY'", tried=("app.py: KeyError: 'SECRET_KEY'",))
    assert one.tried_shown() == ()
    assert Problem("NoApp", "no Flask app found", tried=("app.py: no app",)).tried_shown()
    two = ("app.py: KeyError: 'X'", "wsgi.py: no app")
    assert Problem("KeyError", "'X'", tried=two).tried_shown() == two
