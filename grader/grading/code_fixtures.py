"""What a pytest check's code holds: the objects behind its fixtures (code_check.py).

Each reaches the submission only through the host's own parts: HTTP through
the check's client, and any parse of the app's data (its session cookie, its
source) in the evaluator under the check's clock (HostWork). A misuse of these
objects by the instructor's code raises :class:`SpecMistake`, which
code_check.py reports as an error of the spec; an answer of the app that
cannot be read raises :class:`Unreadable`, an AssertionError, so it fails
the test as the submission's.
"""

from __future__ import annotations

import fnmatch
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.grading.evaluator import EvaluatorFailed
from grader.grading.host_work import HostWork
from grader.grading.http_client import AppClient, Response

DATA_FOLDER = "data"  # the exercise's files for its pytest checks


class SpecMistake(Exception):
    """The instructor's code used a fixture wrongly: an error of the spec."""


class Unreadable(AssertionError):
    """What the app returned cannot be read (a session cookie that is no Flask session,
    source that does not parse): the submission fails the test."""


class CheckClient:
    """The ``client`` fixture: one browser-like session with the app (its own cookies)."""

    def __init__(self, client: AppClient, work: HostWork) -> None:
        self._client = client
        self._work = work

    def request(self, method: str, path: str, **kwargs: Any) -> Response:
        """``query=``, ``form=``, ``json_body=``, ``data=``, ``headers=``,
        ``follow_redirects=``; bounded by the check's time."""
        return self._client.request(method, path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Response:
        return self.request("DELETE", path, **kwargs)

    @property
    def cookies(self) -> dict[str, str]:
        """The cookies this client holds now, name to value (a copy)."""
        return dict(self._client.cookies)

    def cookie(self, name: str) -> str | None:
        return self._client.cookies.get(name)

    def set_cookie(self, name: str, value: str | None) -> None:
        """Hold *value* for cookie *name* from now on (None: forget it), as a browser
        that replays an old cookie would."""
        self._client.cookies.pop(name, None)
        self._client._wire.pop(name, None)  # noqa: SLF001 - the client's own jar
        if value is not None:
            self._client.cookies[name] = value

    def session(self, cookie: str = "session") -> dict[str, Any] | None:
        """The Flask session this client holds, read without the app's key (None: no
        such cookie). A value that is no readable session raises Unreadable."""
        value = self._client.cookies.get(cookie)
        return None if value is None else decode_session(value, self._work)

    def session_values(self, cookie: str = "session") -> list[str]:
        """Every value in the session as text, those nested in lists and dicts too
        (``[]`` without the cookie): where a user's name or a password may be kept,
        whatever the key and however deep."""
        return list(_leaves(self.session(cookie)))


def _leaves(value: Any) -> Iterator[str]:
    # The decoded session is bounded (32 levels, 64 KiB), so recursion is too.
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)
    elif value is not None:
        yield str(value)


def decode_session(value: str, work: HostWork) -> dict[str, Any]:
    """A Flask session cookie's content, decoded in the evaluator (flask_session.py)."""
    if not isinstance(value, str):
        raise SpecMistake(f"a session cookie is text, got {type(value).__name__}")
    try:
        decoded: dict[str, Any] = work.run("reading the app's session cookie",
                                           "flask_session", value)
    except EvaluatorFailed as e:
        raise Unreadable(f"the session cookie cannot be read: {e.message}") from e
    return decoded


class Score:
    """The ``score`` fixture: partial credit from code, a fraction of the test's points.

    ``score.set(0.5)``; the last value set counts, whether the test then passes or
    fails; a test that sets none earns all its points when it passes, none when not.
    """

    def __init__(self) -> None:
        self.fraction: float | None = None

    def set(self, fraction: float) -> None:
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) \
                or not 0 <= fraction <= 1:
            raise SpecMistake(f"score.set() takes a fraction from 0 to 1, got {fraction!r}")
        self.fraction = float(fraction)


def data_copy(exercise: Path, into: Path) -> Path:
    """A read-only copy of the exercise's ``data/`` folder for one check (``data``)."""
    source = exercise / DATA_FOLDER
    if not source.is_dir():
        raise SpecMistake(f"the data fixture needs a {DATA_FOLDER}/ folder in {exercise}; "
                          "put the check's files there")
    dest = Path(tempfile.mkdtemp(prefix="data-", dir=into)) / DATA_FOLDER
    shutil.copytree(source, dest, symlinks=False)
    for path in [dest, *dest.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(stat.S_IMODE(mode) & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return dest


def release_copy(dest: Path) -> None:
    """Remove a data copy made read-only (its folders need write access back first)."""
    for path in [dest, *dest.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(stat.S_IRWXU)
    shutil.rmtree(dest.parent, ignore_errors=True)


@dataclass(frozen=True)
class Line:
    """A line of the submission's source that a ``source.grep`` pattern matched."""

    file: str
    number: int
    text: str


@dataclass(frozen=True)
class Call:
    """A call in the submission's Python: ``flask.url_for`` at a line, with its literal
    arguments (``"?"`` where an argument is not a literal)."""

    name: str
    file: str
    line: int
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


class Source:
    """The ``source`` fixture: the submission's staged files, parsed (never run) on the
    host, in the evaluator; every question is bounded by the check's time."""

    def __init__(self, folder: Path, files: tuple[str, ...], work: HostWork) -> None:
        self._folder = folder
        self._all = files
        self._work = work
        self._read: dict[str, Any] | None = None

    def _data(self) -> dict[str, Any]:
        if self._read is None:
            self._read = self._run("reading the submission's source", "source_read")
        return self._read

    def _run(self, what: str, op: str, *args: Any) -> Any:
        try:
            return self._work.run(what, op, str(self._folder), list(self._all), *args)
        except EvaluatorFailed as e:
            if e.kind == "error":  # re.error: the pattern is the instructor's
                raise SpecMistake(f"{what}: the pattern is no regular expression: "
                                  f"{e.message}") from e
            raise Unreadable(f"{what} failed: {e.kind}: {e.message}") from e

    @property
    def files(self) -> tuple[str, ...]:
        """The staged text files, by path (``app.py``, ``templates/base.html``)."""
        return tuple(self._data())

    def text(self, path: str) -> str:
        """One file's text (cut at 256 KiB); a missing file fails the test."""
        entry = self._data().get(path)
        if entry is None:
            raise Unreadable(f"the submission has no file {path!r} (files: "
                             f"{', '.join(self.files)[:300]})")
        return str(entry["text"])

    def grep(self, pattern: str, files: str = "*") -> list[Line]:
        """Every line matching *pattern* (``re.search``) in the files matching the glob
        *files* (``templates/*.html``)."""
        if not isinstance(pattern, str) or not isinstance(files, str):
            raise SpecMistake("source.grep(pattern, files='*') takes two strings")
        found = self._run(f"searching the submission's source for /{pattern[:60]}/",
                          "source_grep", pattern, files)
        return [Line(str(f), int(n), str(t)) for f, n, t in found]

    def python(self, path: str) -> dict[str, Any] | None:
        """What one .py file declares: ``imports``, ``calls``, ``functions`` (with their
        decorators), ``names``; None if it does not parse (see ``errors``)."""
        entry = self._data().get(path)
        if entry is None:
            raise Unreadable(f"the submission has no file {path!r}")
        summary: dict[str, Any] | None = entry["python"]
        return summary

    @property
    def errors(self) -> dict[str, str]:
        """The .py files that do not parse, with why."""
        return {name: str(e["error"]) for name, e in self._data().items() if e["error"]}

    def calls(self, name: str, files: str = "*.py") -> list[Call]:
        """The calls of *name* (``url_for``, or dotted: ``session.clear``): a dotted
        call matches when it ends with *name*, so ``flask.url_for`` is one of url_for."""
        out = []
        for path, summary in self._summaries(files):
            for called, line, args, kwargs in summary["calls"]:
                if called == name or called.endswith("." + name):
                    out.append(Call(called, path, line, tuple(args), dict(kwargs)))
        return out

    def imports(self, files: str = "*.py") -> list[str]:
        """Every imported module and name: ``flask``, ``flask.url_for``."""
        found: list[str] = []
        for _, summary in self._summaries(files):
            found += [module if name is None else f"{module}.{name}"
                      for module, name, _ in summary["imports"]]
        return sorted(set(found))

    def tree(self, path: str) -> Any:
        """One .py file's syntax tree as nested dicts (``{"_type": "Module", ...}``)."""
        return self._run(f"parsing {path}", "source_tree", path)

    def _summaries(self, files: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for path, entry in self._data().items():
            if entry["python"] is not None and fnmatch.fnmatch(path, files):
                yield path, entry["python"]
