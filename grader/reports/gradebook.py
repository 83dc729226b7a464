"""A class's results on disk: one small row per student, and the files made from them.

A :class:`Row` is what a batch keeps of a GradeResult: the fields of
``grade submit --json`` plus who was graded and the key (submission, spec and
image) that says whether the result still holds. Each student's folder holds
``report.html``, ``results.json`` (Gradescope's format) and ``grade.json`` (the
row, written last: it marks the student as done). The gradebook (CSV and JSON)
is rebuilt from the rows by streaming, so a batch never holds a class's
results in memory.

    OUT/gradebook.csv   student, score, max, status, then one column per check
    OUT/gradebook.json  the rows, in the same order
    OUT/class.html      the class summary (see class_summary.py)
    OUT/students/<slug>/{report.html, results.json, grade.json}
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import jinja2

from grader.common.atomic import AtomicFile, atomic_write
from grader.grading.scoring import GradeResult, Problem, Timings
from grader.grading.status import STATUSES, Status
from grader.reports.html import render_html
from grader.reports.visibility import for_student, gradescope_visibility

STUDENTS = "students"
ROW_FILE = "grade.json"
GRADESCOPE_FILE = "results.json"
REPORT_FILE = "report.html"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A student's folder name (batch/names.py makes them): one path component, never
# "." or "..", at most 120 bytes.
SLUG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._~-]{0,119}")
# Shown escaped in a CSV cell: a line break would start a new record in many importers.
_BREAKS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class CheckRow:
    name: str
    status: str
    points: float
    max_points: float
    message: str
    requests: tuple[str, ...] = ()  # what a visible HTTP check sent (scoring.requests_of)


@dataclass(frozen=True)
class Previous:
    """The stored result a regrade replaced, for "whose score changed"."""

    score: float
    status: str
    spec_sha256: str
    image_id: str
    graded_at: str


@dataclass(frozen=True)
class Row:
    student: str
    slug: str
    exercise: str
    status: Status
    score: float
    max_score: float
    checks: tuple[CheckRow, ...]
    report: str | None
    problem: Problem | None
    spec_sha256: str
    image: str
    timings: Timings
    submission: str
    submission_sha256: str  # "" when the upload was refused: such rows are never reused
    image_id: str
    graded_at: str
    previous: Previous | None = None
    app: str = ""  # what was graded, "app.py:create_app()" (GradeResult.app)
    due_date: str = ""  # the due date its reports were written with (GradeResult.due_date)

    @property
    def key(self) -> str | None:
        """What the result depends on; equal keys mean the stored result still holds."""
        if not self.submission_sha256:
            return None
        return result_key(self.submission_sha256, self.spec_sha256, self.image_id)

    def to_json(self) -> dict[str, Any]:
        """The ``grade submit --json`` fields, then the batch's own."""
        return {
            "student": self.student,
            "exercise": self.exercise,
            "status": self.status,
            "score": self.score,
            "max_score": self.max_score,
            "checks": [asdict(c) | {"requests": list(c.requests)} for c in self.checks],
            "report": self.report,
            "app": self.app or None,
            "problem": asdict(self.problem) if self.problem else None,
            "spec_sha256": self.spec_sha256,
            "image": self.image,
            "timings": asdict(self.timings),
            "slug": self.slug,
            "submission": self.submission,
            "submission_sha256": self.submission_sha256,
            "image_id": self.image_id,
            "graded_at": self.graded_at,
            "previous": asdict(self.previous) if self.previous else None,
            "due_date": self.due_date or None,
        }

    @classmethod
    def from_json(cls, data: Any) -> Row:
        """Parse a stored row; ValueError if it is not one (the student is then regraded)."""
        d = _obj(data)
        status = _str(d, "status")
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        problem = d.get("problem")
        previous = d.get("previous")
        t = _obj(d.get("timings"))
        return cls(
            student=_str(d, "student"), slug=_str(d, "slug"), exercise=_str(d, "exercise"),
            status=status, score=_num(d, "score"),
            max_score=_num(d, "max_score"),
            checks=tuple(CheckRow(_str(c, "name"), _str(c, "status"), _num(c, "points"),
                                  _num(c, "max_points"), _str(c, "message"), _strs(c))
                         for c in map(_obj, _list(d, "checks"))),
            report=d["report"] if isinstance(d.get("report"), str) else None,
            problem=None if problem is None else _problem(_obj(problem)),
            spec_sha256=_str(d, "spec_sha256"), image=_str(d, "image"),
            timings=Timings(_num(t, "total"), _num(t, "startup"), _num(t, "checks")),
            submission=_str(d, "submission"), submission_sha256=_str(d, "submission_sha256"),
            image_id=_str(d, "image_id"), graded_at=_str(d, "graded_at"),
            previous=None if previous is None else _previous(_obj(previous)),
            app=d["app"] if isinstance(d.get("app"), str) else "",
            due_date=d["due_date"] if isinstance(d.get("due_date"), str) else "",
        )


def result_key(submission_sha256: str, spec_sha256: str, image_id: str) -> str:
    return hashlib.sha256(f"{submission_sha256}\0{spec_sha256}\0{image_id}".encode()).hexdigest()


def make_row(result: GradeResult, student: str, slug: str, submission_sha256: str,
             image_id: str, previous: Previous | None = None) -> Row:
    """The row a batch keeps of *result* (which must already carry its report path)."""
    data = result.to_json()
    return Row(
        student=student, slug=slug, exercise=result.exercise, status=result.status,
        score=result.score, max_score=result.max_score,
        checks=tuple(CheckRow(c["name"], c["status"], c["points"], c["max_points"],
                              c["message"], tuple(c["requests"])) for c in data["checks"]),
        report=result.report, problem=result.problem, spec_sha256=result.spec_sha256,
        image=result.image, timings=result.timings, submission=result.submission,
        submission_sha256=submission_sha256, image_id=image_id, graded_at=result.graded_at,
        previous=previous, app=result.app, due_date=result.due_date,
    )


def previous_of(row: Row) -> Previous:
    return Previous(row.score, row.status, row.spec_sha256, row.image_id, row.graded_at)


# -- Gradescope ----------------------------------------------------------------


def gradescope(result: GradeResult) -> dict[str, Any]:
    """*result* in Gradescope's autograder format (``/autograder/results/results.json``).

    Every text is plain (``*_format: text``): student output must not become HTML.
    Checks appear as a student may see them (visibility.py), hidden ones too.
    """
    result = for_student(result)
    tests = []
    for number, c in enumerate(result.checks, start=1):
        output = "" if c.status == "passed" else c.message
        if c.hint and c.status != "passed":
            output += f"\nHint: {c.hint}"
        tests.append({
            "name": c.name,
            "name_format": "text",
            "number": str(number),
            "score": c.points,
            "max_score": c.max_points,
            "status": "passed" if c.status == "passed" else "failed",
            "output": output,
            "output_format": "text",
            "tags": [c.kind, "hidden"] if c.hidden else [c.kind],
            "visibility": gradescope_visibility(c),
        })
    lines = [f"{result.exercise} · {result.title}: {result.score:g}/{result.max_score:g} "
             f"points ({result.status})"]
    if result.problem is not None:
        lines.append(result.problem.headline())
        lines += result.problem.excerpt()
    return {
        "score": result.score,
        "execution_time": round(result.timings.total),
        "output": "\n".join(lines),
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"status": result.status, "exercise": result.exercise,
                       "spec_sha256": result.spec_sha256, "image": result.image},
        "tests": tests,
    }


# -- one student's files -------------------------------------------------------


def student_dir(out: Path, slug: str) -> Path:
    """The student's folder; *slug* is checked again here, so no name can leave *out*."""
    if not SLUG.fullmatch(slug):
        raise ValueError(f"{slug!r} is not a student folder name (see batch/names.py)")
    return out / STUDENTS / slug


def load_row(out: Path, slug: str) -> Row | None:
    """The stored row, or None when there is none or it is damaged (then: grade again)."""
    path = student_dir(out, slug) / ROW_FILE
    try:
        return Row.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def save(out: Path, result: GradeResult, student: str, slug: str, submission_sha256: str,
         image_id: str, previous: Previous | None, env: jinja2.Environment) -> Row:
    """Write the student's report, Gradescope file and row, each atomically; row last."""
    folder = student_dir(out, slug)
    folder.mkdir(parents=True, exist_ok=True)
    html = (folder / REPORT_FILE).resolve()
    result = replace(result, report=str(html))
    atomic_write(html, render_html(result, env))
    atomic_write(folder / GRADESCOPE_FILE, _dumps(gradescope(result)))
    row = make_row(result, student, slug, submission_sha256, image_id, previous)
    atomic_write(folder / ROW_FILE, _dumps(row.to_json()))
    return row


# -- the gradebook -------------------------------------------------------------


def csv_header(check_names: tuple[str, ...]) -> list[str]:
    return ["student", "score", "max", "status", *(cell(n) for n in check_names)]


def csv_row(row: Row, check_names: tuple[str, ...]) -> list[str]:
    points = {c.name: c.points for c in row.checks}
    return [cell(row.student), f"{row.score:g}", f"{row.max_score:g}", row.status,
            *(f"{points[n]:g}" if n in points else "" for n in check_names)]


def cell(text: str) -> str:
    """A spreadsheet must not run a student's file name as a formula (CSV injection).

    Control characters are shown escaped, so a carriage return cannot start a
    record of its own, and a formula start after leading blanks counts too.
    """
    text = _BREAKS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return f"'{text}" if text.lstrip(" ").startswith(FORMULA_START) else text


class GradebookWriter:
    """Streams rows into gradebook.csv and gradebook.json; both appear at close."""

    def __init__(self, out: Path, check_names: tuple[str, ...]) -> None:
        self._checks = check_names
        self._csv_path = out / "gradebook.csv"
        self._json_path = out / "gradebook.json"
        self._csv = AtomicFile(self._csv_path)
        self._json = AtomicFile(self._json_path)
        self._writer = csv.writer(self._csv.fh, lineterminator="\n")
        self._writer.writerow(csv_header(check_names))
        self._json.fh.write("[")
        self._count = 0

    def add(self, row: Row) -> None:
        self._writer.writerow(csv_row(row, self._checks))
        sep = ",\n  " if self._count else "\n  "
        self._json.fh.write(sep + json.dumps(row.to_json(), ensure_ascii=False))
        self._count += 1

    def close(self) -> None:
        self._json.fh.write("\n]\n" if self._count else "]\n")
        self._csv.commit()
        self._json.commit()

    def abort(self) -> None:
        self._csv.abort()
        self._json.abort()


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# -- strict parsing of stored rows ---------------------------------------------


def _obj(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("expected an object")
    return value


def _list(d: dict[str, Any], key: str) -> list[Any]:
    value = d[key]
    if not isinstance(value, list):
        raise ValueError(f"{key}: expected a list")
    return value


def _str(d: dict[str, Any], key: str) -> str:
    value = d[key]
    if not isinstance(value, str):
        raise ValueError(f"{key}: expected a string")
    return value


def _num(d: dict[str, Any], key: str) -> float:
    value = d[key]
    if type(value) not in (int, float):
        raise ValueError(f"{key}: expected a number")
    return float(value)


def _strs(d: dict[str, Any]) -> tuple[str, ...]:
    """A check's stored requests; rows from before they were kept have none."""
    value = d.get("requests", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("requests: expected a list of strings")
    return tuple(value)


def _opt_str(d: dict[str, Any], key: str) -> str | None:
    value = d.get(key)
    return value if isinstance(value, str) else None


def _problem(d: dict[str, Any]) -> Problem:
    line, offset, tried = d.get("line"), d.get("offset"), d.get("tried")
    return Problem(_str(d, "kind"), _str(d, "message"), _opt_str(d, "file"),
                   line if type(line) is int else None, _opt_str(d, "text"),
                   _opt_str(d, "traceback"), offset if type(offset) is int else None,
                   tuple(t for t in tried if isinstance(t, str))
                   if isinstance(tried, list) else ())


def _previous(d: dict[str, Any]) -> Previous:
    return Previous(_num(d, "score"), _str(d, "status"), _str(d, "spec_sha256"),
                    _str(d, "image_id"), _str(d, "graded_at"))
