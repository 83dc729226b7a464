"""Rows, the gradebook CSV and JSON, and Gradescope's results.json."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from grader.grading.scoring import HIDDEN_MESSAGE, GradeResult, Problem
from grader.reports import gradebook
from grader.reports import html as report
from grader.reports.gradebook import (
    GradebookWriter,
    Previous,
    Row,
    gradescope,
    load_row,
    make_row,
    save,
)

from .helpers import RESULT_CHECK_NAMES, make_result, result_check


def row_of(result: GradeResult, student: str = "alice", **kw: Any) -> Row:
    return make_row(replace(result, report="/out/students/alice/report.html"), student,
                    report.safe_name(student), "cd" * 32, "sha256:img", **kw)


# -- rows ----------------------------------------------------------------------


def test_row_json_has_the_submit_json_fields_and_values() -> None:
    result = replace(make_result(), report="/out/students/alice/report.html")
    data = row_of(result).to_json()
    submit = result.to_json()
    assert set(submit) <= set(data)
    for key, value in submit.items():
        assert data[key] == value, key
    assert data["student"] == "alice" and data["submission_sha256"] == "cd" * 32


def test_row_round_trips_through_json() -> None:
    row = row_of(make_result(status="error", problem=Problem("SyntaxError", "bad", "app.py",
                                                             3, "def x(")),
                 previous=Previous(1.0, "failed", "00" * 32, "sha256:old", "2024-04-01"))
    assert Row.from_json(json.loads(json.dumps(row.to_json()))) == row


@pytest.mark.parametrize("damage", [
    lambda d: d.pop("student"),                        # a field missing
    lambda d: d.update(score="7"),                     # a number that is a string
    lambda d: d.update(status="perfect"),              # an unknown status
    lambda d: d.update(checks={"name": "x"}),          # checks not a list
    lambda d: d["checks"][0].pop("points"),            # a check without points
])
def test_damaged_rows_are_refused(damage: Any) -> None:
    data = row_of(make_result()).to_json()
    damage(data)
    with pytest.raises((ValueError, KeyError)):
        Row.from_json(data)


def test_a_damaged_row_file_means_grade_again(tmp_path: Path) -> None:
    folder = gradebook.student_dir(tmp_path, "alice")
    folder.mkdir(parents=True)
    (folder / gradebook.ROW_FILE).write_text('{"student": "alice", "sco')  # cut short
    assert load_row(tmp_path, "alice") is None
    assert load_row(tmp_path, "nobody") is None


def test_the_key_covers_submission_spec_and_image() -> None:
    row = row_of(make_result())
    keys = {row.key, replace(row, submission_sha256="ee" * 32).key,
            replace(row, spec_sha256="ee" * 32).key, replace(row, image_id="sha256:new").key}
    assert len(keys) == 4 and None not in keys
    assert replace(row, submission_sha256="").key is None  # a refused upload: never reused


def test_save_writes_report_gradescope_and_row(tmp_path: Path) -> None:
    row = save(tmp_path, make_result(), "alice", "alice", "cd" * 32, "sha256:img", None,
               report.environment())
    folder = tmp_path / "students" / "alice"
    assert sorted(p.name for p in folder.iterdir()) == ["grade.json", "report.html",
                                                        "results.json"]
    assert row.report == str((folder / "report.html").resolve())
    assert load_row(tmp_path, "alice") == row
    html = (folder / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert json.loads((folder / "results.json").read_text())["score"] == 3.0


# -- the gradebook ---------------------------------------------------------------


def test_csv_and_json_gradebook(tmp_path: Path) -> None:
    rows = [row_of(make_result()),
            row_of(make_result(status="passed", score=5.0,
                               checks=tuple(replace(c, status="passed", points=c.max_points)
                                            for c in make_result().checks)), "bob"),
            row_of(make_result(checks=make_result().checks[:1], score=2.0), "=HYPERLINK()")]
    writer = GradebookWriter(tmp_path, RESULT_CHECK_NAMES)
    for row in rows:
        writer.add(row)
    writer.close()
    with open(tmp_path / "gradebook.csv", newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    assert table == [
        ["student", "score", "max", "status", *RESULT_CHECK_NAMES],
        ["alice", "3", "5", "failed", "2", "0", "1"],
        ["bob", "5", "5", "passed", "2", "2", "1"],
        ["'=HYPERLINK()", "2", "5", "failed", "2", "", ""],  # no formula; missing checks empty
    ]
    data = json.loads((tmp_path / "gradebook.json").read_text(encoding="utf-8"))
    assert [d["student"] for d in data] == ["alice", "bob", "=HYPERLINK()"]
    assert [Row.from_json(d) for d in data] == rows
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradebook.csv", "gradebook.json"]


def test_empty_gradebook_and_abort(tmp_path: Path) -> None:
    writer = GradebookWriter(tmp_path, RESULT_CHECK_NAMES)
    writer.close()
    assert json.loads((tmp_path / "gradebook.json").read_text()) == []
    writer = GradebookWriter(tmp_path, RESULT_CHECK_NAMES)
    writer.add(row_of(make_result()))
    writer.abort()
    assert json.loads((tmp_path / "gradebook.json").read_text()) == []  # the old one stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gradebook.csv", "gradebook.json"]


# -- Gradescope ------------------------------------------------------------------


def test_gradescope_results_format() -> None:
    data = gradescope(make_result())
    assert data["score"] == 3.0
    assert data["execution_time"] == 1 and isinstance(data["execution_time"], int)
    assert data["output_format"] == data["test_output_format"] == "text"
    assert data["test_name_format"] == "text"
    assert data["visibility"] == "visible" and data["stdout_visibility"] == "hidden"
    tests = data["tests"]
    assert [t["name"] for t in tests] == list(RESULT_CHECK_NAMES)
    assert [t["number"] for t in tests] == ["1", "2", "3"]
    assert [(t["score"], t["max_score"], t["status"]) for t in tests] == [
        (2, 2, "passed"), (0, 2, "failed"), (1, 1, "passed")]
    assert tests[0]["output"] == ""
    assert tests[1]["tags"] == ["http", "hidden"]
    assert "No hard-coding." in tests[1]["output"]
    allowed = {"score", "execution_time", "output", "output_format", "test_output_format",
               "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests"}
    assert set(data) <= allowed
    assert all(set(t) <= {"score", "max_score", "status", "name", "name_format", "number",
                          "output", "output_format", "tags", "visibility", "extra_data"}
               for t in tests)
    json.dumps(data)  # serialisable as is


def test_gradescope_hides_hidden_expectations_and_shows_the_problem() -> None:
    hidden = result_check("secret", "failed", 0, 1, hidden=True)
    result = make_result(status="error", score=0.0,
                         checks=(replace(hidden, message=HIDDEN_MESSAGE),),
                         problem=Problem("SyntaxError", "expected ':'", "app.py", 4,
                                         "def g(name)"))
    data = gradescope(result)
    assert data["tests"][0]["output"].startswith(HIDDEN_MESSAGE)
    assert "app.py:4: SyntaxError: expected ':'" in data["output"]
    assert "def g(name)" in data["output"]
    assert data["tests"][0]["status"] == "failed"
