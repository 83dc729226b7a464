"""Write a submission's result as one self-contained HTML file and as JSON.

One Jinja2 environment, autoescaping on; templates render dataclasses. Anything
the student's code produced is escaped by the template and truncated here.
Both files show the result as a student may see it (visibility.py).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import jinja2

from grader.common.atomic import atomic_write
from grader.common.data_files import data_path
from grader.grading.compare import Assertion
from grader.grading.scoring import GradeResult
from grader.reports.visibility import for_student

MAX_SHOWN = 4000  # characters of one expected/actual value in the report
# Bytes of one report page. With the JSON beside it (its values are capped at
# 2 KiB when results are built) one submission's reports stay under 1 MB.
HTML_BUDGET = 640 * 1024
REPORT_JSON_LIMIT = 4 * 1024 * 1024  # bytes of an existing report JSON read to see whose it is


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_path("reports"))),
        autoescape=True,  # every template, whatever its extension
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clip"] = _scaled_clip
    env.filters["points"] = points
    env.globals["diff"] = _scaled_diff
    env.globals["inline"] = inline
    return env


def clip(text: str | None, limit: int = MAX_SHOWN) -> str:
    if text is None:
        return ""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit} more characters)"


@jinja2.pass_context
def _scaled_clip(context: jinja2.runtime.Context, text: str | None,
                 limit: int = MAX_SHOWN) -> str:
    return clip(text, _scaled(context, limit))


@jinja2.pass_context
def _scaled_diff(context: jinja2.runtime.Context, a: Assertion) -> list[tuple[str, str]]:
    return diff(a, _scaled(context, MAX_SHOWN))


def _scaled(context: jinja2.runtime.Context, limit: int) -> int:
    """*limit* shrunk by the render's ``scale`` (see render_html), never below 40."""
    scale = context.get("scale", 1.0)
    return max(40, int(limit * scale)) if isinstance(scale, float) else limit


def points(value: float) -> str:
    return f"{value:g}"


def diff(a: Assertion, limit: int = MAX_SHOWN) -> list[tuple[str, str]]:
    """A line diff of expected against actual, as (kind, line) pairs; empty if not useful."""
    if a.passed or a.expected is None or a.actual is None:
        return []
    if not a.label.endswith("body"):  # exact bodies only; a regex is no text to diff
        return []
    lines = list(difflib.unified_diff(clip(a.expected, limit).splitlines(),
                                      clip(a.actual, limit).splitlines(),
                                      "expected", "actual", lineterm="", n=2))
    kinds = {"+": "add", "-": "del", "@": "hunk"}
    return [(kinds.get(line[:1], "same"), line) for line in lines[2:]]


def inline(a: Assertion) -> bool:
    """Short one-line values read best in a sentence."""
    return all(v is not None and len(v) <= 60 and "\n" not in v for v in (a.expected, a.actual))


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "submission"


def render_html(result: GradeResult, env: jinja2.Environment | None = None) -> str:
    """The report page, at most :data:`HTML_BUDGET` bytes whatever the submission did.

    Each value is clipped already, but a spec with many checks times a body full
    of ``<`` (four bytes once escaped) could still add up; then the page is made
    again with every clip shorter, until it fits.
    """
    template = (env or environment()).get_template("report.html.j2")
    view = for_student(result)
    page = ""
    for scale in (1.0, 0.25, 0.0625, 0.0):
        page = template.render(r=view, scale=scale)
        if len(page.encode("utf-8", "replace")) <= HTML_BUDGET:
            break
    return page


def report_json(result: GradeResult) -> dict[str, Any]:
    """The JSON beside the HTML: ``grade submit --json``'s object, with what the page adds."""
    view = for_student(result)
    data = view.to_json()
    # The page shows each check's hint; its JSON must not say less.
    data["checks"] = [entry | {"hidden": c.hidden, "hint": c.hint}
                      for entry, c in zip(data["checks"], view.checks, strict=True)]
    return data | {"title": view.title, "submission": view.submission,
                   "graded_at": view.graded_at}


def write_report(result: GradeResult, directory: Path, stem: str,
                 submission_id: str | None = None) -> GradeResult:
    """Write ``stem.html`` and ``stem.json`` into *directory*; return what they show.

    That is the result as a student may see it (visibility.py), with the
    report's path, so whatever the caller prints next agrees with the files.
    *submission_id* (see :func:`submission_key`) goes into the JSON, so that
    :func:`report_stem` knows whose report a file is.
    """
    directory.mkdir(parents=True, exist_ok=True)
    html_path = (directory / f"{stem}.html").resolve()
    result = replace(for_student(result), report=str(html_path))
    atomic_write(html_path, render_html(result))
    data = report_json(result) | ({"submission_id": submission_id} if submission_id else {})
    atomic_write(directory / f"{stem}.json", json.dumps(data, indent=2, ensure_ascii=False))
    return result


def write_submission_report(result: GradeResult, directory: Path, exercise: str,
                            submission: Path) -> GradeResult:
    """:func:`write_report` under the name :func:`report_stem` gives *submission*."""
    return write_report(result, directory, report_stem(directory, exercise, submission),
                        submission_key(submission))


def submission_key(submission: Path) -> str:
    """Who a report belongs to: a hash of the submission's absolute path."""
    absolute = str(submission.resolve()).encode("utf-8", "surrogateescape")
    return hashlib.sha256(absolute).hexdigest()


def report_stem(directory: Path, exercise: str, submission: Path) -> str:
    """The name (without .html/.json) of *submission*'s report for *exercise* in *directory*.

    The first of these that no other submission's report holds: ``EX-NAME``
    (NAME: the file's name without .py, or the folder's); ``EX-PARENT-NAME``
    (PARENT: the folder it is in); ``EX-NAME-HASH`` (12 hex digits of
    :func:`submission_key`). So two ``app.py`` graded into one folder keep
    separate reports, and a submission graded again gets the name it had.
    """
    absolute = submission.resolve()
    name = safe_name(submission.stem or absolute.stem or absolute.name)
    key = submission_key(submission)
    stems = (f"{exercise}-{name}", f"{exercise}-{safe_name(absolute.parent.name)}-{name}",
             f"{exercise}-{name}-{key[:12]}")
    return next((s for s in stems if _free_for(directory / f"{s}.json", key)), stems[-1])


def _free_for(json_path: Path, key: str) -> bool:
    """Whether the report at *json_path* is missing or *key*'s own."""
    html_path = json_path.with_suffix(".html")
    if not json_path.exists():
        return not html_path.exists()
    try:
        if json_path.stat().st_size > REPORT_JSON_LIMIT:
            return False
        data = json.loads(json_path.read_text("utf-8"))
    except (OSError, ValueError):
        return False  # not a report this grader wrote: leave it alone
    return isinstance(data, dict) and data.get("submission_id") == key
