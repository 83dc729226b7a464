"""Explanations a beginner can act on, added on the host from what an error says.

No I/O here. The text explained is the app's (an exception's message, a URL
the agent read from the app's engine): a claim, quoted only bounded and as data;
the explanation itself is the grader's own words.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from grader.common.text import one_line

# Where the sandbox copies a submission, and runs it from (sandbox/agent.py's WORKDIR).
APP_FOLDER = "/tmp/app"
URL_SHOWN = 200  # characters of a database URL quoted in a message
MESSAGE_HEAD = 800  # characters of the app's own message kept before an explanation


def database_unopenable(message: str, url: str | None = None) -> str | None:
    """What to do about SQLite's "unable to open database file", or None for other errors.

    *url* is the database URL the app was opening, when the agent could read it.
    """
    if "unable to open database file" not in message:
        return None
    setting = (f"the app's SQLALCHEMY_DATABASE_URI is {one_line(url, URL_SHOWN)!r}" if url else
               "the database path the app opens (its SQLALCHEMY_DATABASE_URI, or the path "
               "it gives sqlite3.connect)")
    return (f"{setting}, and the sandbox cannot open that path: the app runs from a copy of your "
            f"submission in {APP_FOLDER}, /tmp is the only writable place, and a path from "
            "your computer (C:\\..., /home/..., /Users/...) or into a folder the submission "
            "does not include does not exist there. A relative path resolves in the app's "
            "folder (Flask-SQLAlchemy 3 puts sqlite:///app.db in the instance/ folder). "
            "Fix: use a relative path such as "
            "SQLALCHEMY_DATABASE_URI = 'sqlite:///app.db', not an absolute one")


def with_database_note(message: str, url: str | None = None) -> str:
    """*message*, followed by :func:`database_unopenable`'s explanation when it applies."""
    note = database_unopenable(message, url)
    if note is None:
        return message
    # The app's part is cut first, so the explanation always fits in a message.
    head = message if len(message) <= MESSAGE_HEAD else message[:MESSAGE_HEAD] + "…"
    return with_sentence(head, note)


def with_sentence(message: str, note: str) -> str:
    """*message*, then *note* as a sentence of its own."""
    return f"{message.rstrip('.')}. {note[0].upper()}{note[1:]}."


def load_failure(kind: str, message: str, text: str | None, url: str | None) -> str:
    """The message of an app that did not load, with what to do when the grader can tell:
    a database it cannot open, an environment variable nobody set, no database URL."""
    message = with_database_note(message, url)
    note = missing_variable(kind, message, text) or database_uri_unset(message)
    return message if note is None else with_sentence(message, note)


def trailing_slash_redirect(path: str, status: int, location: str | None) -> str | None:
    """Why a request for *path* was redirected to *path* + "/", or None if it was not.

    Werkzeug answers a route declared with a trailing slash (``@app.route("/greet/")``)
    requested without it with a 308 (301 before Werkzeug 2.2) to the slashed URL.
    """
    if status not in (301, 308) or not location or not path:
        return None
    target = urlsplit(location.strip()).path
    bare = urlsplit(path).path
    if target != bare + "/" or bare.endswith("/"):
        return None
    shown = one_line(bare, URL_SHOWN)
    return (f"the app redirects {shown} to {shown}/: its route is declared with a trailing "
            f"slash, @app.route({shown + '/'!r}), so Flask sends a {status} to the slashed URL "
            f"instead of the page. Declare it as @app.route({shown!r})")


def template_not_found(name: str) -> str:
    """What to do when a view asked Jinja for the template *name* and it was missing."""
    if name.startswith("bootstrap/"):
        return (f"{name} is Flask-Bootstrap's template (older tutorials such as Flasky use "
                "it); the sandbox has Bootstrap-Flask, which has no bootstrap/base.html or "
                "bootstrap/wtf.html. Fix: extend your own base.html, call Bootstrap5(app), "
                "and render forms with {% from 'bootstrap5/form.html' import render_form %}")
    return (f"Flask looks for {name} in the templates/ folder beside the app's module or "
            "package: check that the submission includes it and that the folder and file "
            "names match, case included")


def missing_variable(kind: str, message: str, text: str | None) -> str | None:
    """What to do when the app read an environment variable the sandbox does not set
    (``os.environ["SECRET_KEY"]`` raising KeyError at import), or None."""
    if kind != "KeyError" or not text or "environ" not in text:
        return None
    name = one_line(message.strip().strip("'\""), 80)
    return (f"the app reads the environment variable {name} (the line shown), which is not "
            "set in the sandbox. Hand in the .env or .flaskenv file that sets it (a "
            ".gitignore often leaves it out; the grader loads both as flask run does), or "
            f"give a default: os.environ.get({name!r}, 'dev')")


def database_uri_unset(message: str) -> str | None:
    """What to do when Flask-SQLAlchemy found no database URL in the config, or None."""
    if "'SQLALCHEMY_DATABASE_URI' or 'SQLALCHEMY_BINDS' must be set" not in message:
        return None
    return ("the app's config has no SQLALCHEMY_DATABASE_URI when SQLAlchemy(app) or "
            "db.init_app(app) runs. Set it before that line; if it comes from an environment "
            "variable (os.environ.get('DATABASE_URL')), that variable is not set in the "
            "sandbox: hand in the .env that sets it, or give a default such as "
            "'sqlite:///app.db'")
