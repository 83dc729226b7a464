"""What the app's own log says about a request it answered with a 500.

Flask logs an exception raised in a view to stderr, as
``[time] ERROR in app: Exception on /path [GET]`` followed by the traceback.
The grader reads that from the part of the app's output a student may see (the
output before the first hidden check), so a note built from it tells the student
nothing they could not read in "What your app printed", only sooner and closer
to the check.

The output is the app's: any line may be forged or absurd. It is read as data
with ``str.find`` and ``str.partition`` only (linear, no regular expression),
over at most :data:`SCANNED` characters, for at most :data:`MAX_ERRORS` errors;
every field kept is one bounded line. A forged line can only mislead the
student's own note about their own visible check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from urllib.parse import unquote

from grader.common.text import one_line
from grader.grading.explain import APP_FOLDER, template_not_found
from grader.grading.scoring import CheckResult

MARKER = "Exception on "
SCANNED = 1 << 20  # characters of the output read
MAX_ERRORS = 5  # logged errors kept
BLOCK = 32_768  # characters of one error's traceback read
SHOWN = 200  # characters of one field quoted
TEMPLATE = "TemplateNotFound: "
# Frames in installed code, not the app's: the image's packages, a venv's, Python's own.
LIBRARY = ("/opt/grade/", "site-packages/", "dist-packages/", "/lib/python3", "<frozen ")


@dataclass(frozen=True)
class ServerError:
    """One exception the app logged while answering a request."""

    method: str
    path: str
    exception: str  # the traceback's last line: "ValueError: bad thing"
    where: str | None = None  # the app's own innermost frame: "app.py, line 8, in index"

    def describe(self) -> str:
        at = f" at {self.where}" if self.where else ""
        return f"{self.method} {self.path} raised {self.exception}{at}"

    @property
    def template(self) -> str | None:
        """The template Jinja did not find, if that is the error."""
        _, found, name = self.exception.partition(TEMPLATE)
        return name.strip() or None if found else None


def logged_errors(output: str) -> tuple[ServerError, ...]:
    """The distinct errors the app logged, first seen first."""
    text = output[:SCANNED]
    errors: list[ServerError] = []
    at = text.find(MARKER)
    while at >= 0 and len(errors) < MAX_ERRORS:
        start = at + len(MARKER)
        end = text.find("\n", start, start + 4 * SHOWN)
        header = text[start:end] if end >= 0 else text[start:start + SHOWN]
        following = text.find(MARKER, start)
        stop = min(following if following >= 0 else len(text), start + BLOCK)
        error = _error(header, text[start + len(header):stop])
        if error is not None and error not in errors:
            errors.append(error)
        at = following
    return tuple(errors)


def _error(header: str, block: str) -> ServerError | None:
    path, _, method = header.rstrip().rpartition(" [")
    if not path or not method.endswith("]"):
        return None
    exception: str | None = None
    where: str | None = None
    in_traceback = False
    for line in block.splitlines()[:400]:
        if line.startswith("Traceback "):
            in_traceback = True  # the first, or one chained to it: its last line wins
        elif in_traceback and line.startswith('  File "'):
            where = _frame(line) or where
        elif in_traceback and line and not line[0].isspace():
            exception, in_traceback = line, False  # what follows is other output
    if exception is None:
        return None
    return ServerError(one_line(method[:-1], 20), one_line(path, SHOWN),
                       one_line(exception, SHOWN), where)


def _frame(line: str) -> str | None:
    """``app.py, line 8, in index`` for a frame in the app's own files, else None."""
    path, sep, rest = line[len('  File "'):].partition('", line ')
    if not sep or any(marker in path for marker in LIBRARY):
        return None
    number, _, function = rest.partition(", in ")
    inside = APP_FOLDER + "/"
    shown = path[path.index(inside) + len(inside):] if inside in path else path.rsplit("/", 1)[-1]
    return one_line(f"{shown}, line {number.strip()}, in {function.strip()}", SHOWN)


def request_lines(requests: Sequence[str]) -> set[str]:
    """``METHOD /path`` of each request a check lists (CheckResult.requests)."""
    lines = set()
    for r in requests:
        _, step, rest = r.partition(": ") if r.startswith("step ") else ("", "", r)
        method_path = (rest if step else r).partition(" · ")[0]
        method, _, path = method_path.partition(" ")
        # Flask logs request.path: decoded, without the query string.
        lines.add(f"{method} {unquote(path.partition('?')[0])}")
    return lines


def note_for(errors: Sequence[ServerError], requests: Sequence[str], explained: set[str]
             ) -> str | None:
    """What to add to a visible check that got a 500: the errors logged for its requests
    (or the only error logged), with advice for a missing template the first time.

    *explained* holds the templates already explained to earlier checks; it is updated.
    """
    asked = request_lines(requests)
    mine = [e for e in errors if f"{e.method} {unquote(e.path)}" in asked]
    if not mine and len(errors) == 1:
        mine = list(errors)
    if not mine:
        return None
    parts = []
    for error in mine[:2]:
        part = error.describe()
        name = error.template
        if name is not None and name not in explained:
            explained.add(name)
            part += ". " + template_not_found(name)
        parts.append(part.rstrip("."))
    return "; ".join(parts)


def explain_server_errors(results: tuple[CheckResult, ...], output: str
                           ) -> tuple[CheckResult, ...]:
    """Tell each visible check that got a 500 what the app logged for it.

    Only the output a student may see is read (before the first hidden check), and
    only visible checks are told, so a hidden check's request stays hidden.
    """
    errors = logged_errors(output) if results else ()
    if not errors:
        return results
    explained: set[str] = set()
    out: list[CheckResult] = []
    for r in results:
        if not r.hidden and r.status == "failed" and any(
                not a.passed and a.actual == "500"
                and (a.label == "status" or a.label.endswith(": status")) for a in r.assertions):
            note = note_for(errors, r.requests, explained)
            if note:
                r = replace(r, message=f"The app answered 500 (a server error): {note}. "
                                       f"{r.message}")
        out.append(r)
    return tuple(out)
