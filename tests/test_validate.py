"""grade validate: every problem of a spec, the JSON Schema, and the two kept in sync."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from grader.authoring.validate import find_specs, validate_spec
from grader.cli import main
from grader.errors import ExerciseNotFound, SpecError
from grader.spec import exercise as spec_module
from grader.spec import flows as flows_spec
from grader.spec import http as http_spec
from grader.spec.exercise import load_exercise

from .helpers import EXERCISES, ROOT

SHIPPED = sorted(EXERCISES.glob("*/exercise.yaml"))
SCHEMA_PATH = EXERCISES / "exercise.schema.json"
MARK = re.compile(r"# <-- (.+?)\s*$")  # marks a line where a problem must be reported


def write(folder: Path, text: str, files: tuple[str, ...] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in files:
        (folder / name).write_text("from flask import Flask\napp = Flask(__name__)\n")
    path = folder / "exercise.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def expected(text: str) -> set[tuple[int, str]]:
    """(line, field) of every line marked `# <-- field`."""
    lines = textwrap.dedent(text).splitlines()
    return {(n, m.group(1)) for n, line in enumerate(lines, start=1)
            if (m := MARK.search(line))}


def reported(spec: Path) -> set[tuple[int, str]]:
    return {(p.line or 0, p.field) for p in validate_spec(spec).problems}


# -- the shipped catalogue ------------------------------------------------------


@pytest.mark.parametrize("spec", SHIPPED, ids=lambda p: p.parent.name)
def test_every_shipped_spec_validates(spec: Path) -> None:
    result = validate_spec(spec)
    assert result.problems == (), [str(p) for p in result.problems]
    assert result.exercise is not None and result.exercise.id == spec.parent.name


def test_the_catalogue_has_the_lesson_extensions() -> None:
    assert {p.parent.name for p in SHIPPED} >= {f"ex0{i}" for i in range(1, 9)}


# -- every problem, not only the first ----------------------------------------------

MANY = [
    # problems at the top, in limits and in several checks, all in one run
    pytest.param("""\
        id: demo  # <-- (top level)
        titel: Demo  # <-- titel
        limits:
          memory_mb: 8  # <-- limits.memory_mb
          bogus: 1  # <-- limits.bogus
        checks:
          - name: a
            points: ten  # <-- checks[0].points
            request: {path: /}
          - name: b
            request: {path: x}  # <-- checks[1].request.path
          - name: c
            request: {path: /, methd: GET}  # <-- checks[2].request.methd
          - name: d
            request: {path: /}
        """, id="top-limits-and-checks"),
    # a check set aside keeps its name, so a later repeat is still found
    pytest.param("""\
        id: demo
        title: Demo
        checks:
          - name: a
            points: -1  # <-- checks[0].points
            request: {path: /}
          - name: a  # <-- checks[1]
            request: {path: /}
        """, id="repeat-of-a-broken-check"),
    # the only check is broken: no made-up "needs a check" or "0 points" after it
    pytest.param("""\
        id: demo
        title: Demo
        checks:
          - name: only
            model: {name: User}  # <-- checks[0].model
        """, id="only-check-broken"),
    # a missing id and a bad setup are both reported; the checks are still read
    pytest.param("""\
        title: Demo  # <-- (top level)
        setup: {create_tables: true, migrate: true}  # <-- setup
        checks:
          - name: a
            request: {path: /}
            hint: [not, text]  # <-- checks[0].hint
        """, id="missing-id-and-setup"),
    # an unknown key in every kind of check
    pytest.param("""\
        id: demo
        title: Demo
        checks:
          - name: s
            steps:
              - request: {path: /}
                extrct: {}  # <-- checks[0].steps[0].extrct
          - name: m
            model:
              name: User
              columns:
                id: {type: integer, primary: true}  # <-- checks[1].model.columns.id.primary
          - name: d
            database:
              table: user
              insert: [{a: 1}]
              expect: ok
              rows: 2  # <-- checks[2].database.rows
          - name: p
            pytest: "x = 1"  # <-- checks[3].pytest
        """, id="every-kind"),
]


@pytest.mark.parametrize("text", MANY)
def test_validate_reports_every_problem_at_its_line(tmp_path: Path, text: str) -> None:
    spec = write(tmp_path / "demo", text)
    assert reported(spec) == expected(text)


@pytest.mark.parametrize("text", MANY)
def test_the_parsers_own_first_error_is_among_them(tmp_path: Path, text: str) -> None:
    spec = write(tmp_path / "demo", text)
    with pytest.raises(SpecError) as info:
        load_exercise(spec)
    first = info.value
    assert (first.line, first.field, first.problem) in {
        (p.line, p.field, p.problem) for p in validate_spec(spec).problems}


@pytest.mark.parametrize(("content", "problem"), [
    (b"id: demo\n  bad: [indent\n", "YAML does not parse"),  # nothing to walk
    (b"\xff\xfe not utf-8", "is not UTF-8 text"),
    (b"", "the file is empty"),
])
def test_a_spec_that_cannot_be_walked_has_one_problem(tmp_path: Path, content: bytes,
                                                       problem: str) -> None:
    (tmp_path / "demo").mkdir()
    spec = tmp_path / "demo" / "exercise.yaml"
    spec.write_bytes(content)
    problems = validate_spec(spec).problems
    assert len(problems) == 1 and problem in problems[0].problem


# -- what the parser does not check ---------------------------------------------------

SEMANTIC = [
    # the id must name the folder, or `grade submit ID` cannot find it
    pytest.param("id: other  # <-- id\ntitle: T\n", (), id="id-not-folder"),
    # scores are rounded to 0.01
    pytest.param("id: demo\ntitle: T\nchecks:\n  - name: x\n    points: 0.333  # <-- "
                 "checks[0].points\n    request: {path: /}\n", (), id="points-decimals"),
    # a check cannot outlast the whole submission
    pytest.param("id: demo\ntitle: T\nlimits: {time: 10}\nchecks:\n  - name: x\n"
                 "    timeout: 20  # <-- checks[0].timeout\n    request: {path: /}\n", (),
                 id="timeout-above-time"),
    # a solution must be a submission: a .py file or a folder
    pytest.param("id: demo\ntitle: T\nsolution: notes.txt  # <-- solution\n", ("notes.txt",),
                 id="solution-not-python"),
]
CHECK = "checks:\n  - name: home\n    request: {path: /}\n"


@pytest.mark.parametrize(("text", "files"), SEMANTIC)
def test_semantic_problems(tmp_path: Path, text: str, files: tuple[str, ...]) -> None:
    if "checks:" not in text:
        text += CHECK
    spec = write(tmp_path / "demo", text, files)
    assert reported(spec) == expected(text)


def test_a_readme_must_be_a_file(tmp_path: Path) -> None:
    (tmp_path / "demo" / "docs").mkdir(parents=True)
    spec = write(tmp_path / "demo", "id: demo\ntitle: T\nreadme: docs\n" + CHECK)
    assert reported(spec) == {(3, "readme")}


# -- the mutants manifest -------------------------------------------------------------

GOOD = "id: demo\ntitle: T\nsolution: solution.py\nchecks:\n  - name: home\n    request: " \
       "{path: /}\n  - name: other\n    request: {path: /x}\n"

MANIFESTS = [
    # a check name that is not in the spec (a typo, or a comma split a name)
    pytest.param("mutants:\n  - path: m.py\n    why: w\n    fails: [hme]  # <-- "
                 "mutants[0].fails\n", ("m.py",), id="unknown-check"),
    # a mutant file that is not there
    pytest.param("mutants:\n  - path: gone.py  # <-- mutants[0].path\n    why: w\n"
                 "    fails: [home]\n", (), id="missing-file"),
    # outside mutants/
    pytest.param("mutants:\n  - path: ../solution.py  # <-- mutants[0].path\n    why: w\n"
                 "    fails: [home]\n", (), id="outside"),
    # a mutant must be a submission
    pytest.param("mutants:\n  - path: m.txt  # <-- mutants[0].path\n    why: w\n"
                 "    fails: [home]\n", ("m.txt",), id="not-python"),
    # nothing to fail
    pytest.param("mutants:\n  - path: m.py  # <-- mutants[0]\n    why: w\n", ("m.py",),
                 id="no-fails"),
    # listed twice
    pytest.param("mutants:\n  - {path: m.py, why: w, fails: home}\n"
                 "  - {path: m.py, why: v, fails: other}  # <-- mutants[1]\n", ("m.py",),
                 id="twice"),
    # a file in mutants/ nobody listed
    pytest.param("mutants:\n  - {path: m.py, why: w, fails: home}  # <-- mutants\n",
                 ("m.py", "stray.py"), id="unlisted"),
    # an unknown key and a bad status
    pytest.param("mutants:\n  - path: m.py\n    why: w\n    status: broken  # <-- "
                 "mutants[0].status\n  - path: n.py\n    why: w\n    fail: [home]  # <-- "
                 "mutants[1].fail\n", ("m.py", "n.py"), id="status-and-key"),
]


@pytest.mark.parametrize(("manifest", "files"), MANIFESTS)
def test_manifest_problems(tmp_path: Path, manifest: str, files: tuple[str, ...]) -> None:
    spec = write(tmp_path / "demo", GOOD, ("solution.py",))
    write(tmp_path / "demo" / "mutants", "", files).unlink()
    (tmp_path / "demo" / "mutants" / "mutants.yaml").write_text(manifest)
    problems = validate_spec(spec).problems
    assert {(p.line, p.field) for p in problems} == expected(manifest)
    assert all(p.path.endswith("mutants.yaml") for p in problems)


def test_a_mutants_folder_needs_a_manifest(tmp_path: Path) -> None:
    spec = write(tmp_path / "demo", GOOD, ("solution.py",))
    (tmp_path / "demo" / "mutants").mkdir()
    (problem,) = validate_spec(spec).problems
    assert "has no mutants.yaml" in problem.problem


def test_a_mutant_that_must_not_load_needs_no_fails(tmp_path: Path) -> None:
    spec = write(tmp_path / "demo", GOOD, ("solution.py",))
    write(tmp_path / "demo" / "mutants", "", ("m.py",)).unlink()
    (tmp_path / "demo" / "mutants" / "mutants.yaml").write_text(
        "mutants:\n  - {path: m.py, why: it exits at import, status: error}\n")
    assert validate_spec(spec).problems == ()


# -- finding specs ----------------------------------------------------------------------


def test_find_specs_by_id_file_folder_and_catalogue(tmp_path: Path) -> None:
    one = write(tmp_path / "cat" / "one", "id: one\n")
    two = write(tmp_path / "cat" / "two", "id: two\n")
    root = tmp_path / "cat"
    assert find_specs(None, root) == [one, two]
    assert find_specs("two", root) == [two]
    assert find_specs(str(one), root) == [one]
    assert find_specs(str(one.parent), root) == [one]
    assert find_specs(str(root), tmp_path) == [one, two]
    with pytest.raises(ExerciseNotFound, match="available: one, two"):
        find_specs("three", root)
    with pytest.raises(ExerciseNotFound, match="no exercises in"):
        find_specs(None, tmp_path / "empty")


# -- the command ------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run `grade ARGS` in this process: (exit code, stdout, stderr)."""
    code = 0
    try:
        main(list(args))
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_valid_catalogue_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate", str(EXERCISES))
    assert code == 0
    assert f"ok: {len(SHIPPED)} spec(s) valid" in out


def test_cli_prints_each_problem_and_exits_2(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    text = MANY[0].values[0]
    assert isinstance(text, str)
    spec = write(tmp_path / "demo", text)
    code, out, err = run(capsys, "validate", str(spec))
    assert code == 2
    lines = out.splitlines()
    assert len(lines) == len(expected(text))
    for (line, field), shown in zip(sorted(expected(text)), lines, strict=True):
        assert shown.startswith(f"{spec}:{line}: {field}: ")
    assert f"{len(lines)} problem(s) in 1 of 1 spec(s)" in err
    assert "Traceback" not in out + err


def test_cli_unknown_exercise_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "validate", "ex99-nope")
    assert code == 2 and "ex99-nope" in err


# -- the JSON Schema, in sync with the parser ----------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(loaded)
    return loaded


def schema_errors(schema: dict[str, Any], document: Any) -> list[str]:
    return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(document)]


def test_docs_publish_the_shipped_schema() -> None:
    assert (ROOT / "docs" / "exercise.schema.json").read_bytes() == SCHEMA_PATH.read_bytes()


@pytest.mark.parametrize("spec", SHIPPED, ids=lambda p: p.parent.name)
def test_every_shipped_spec_matches_the_schema(schema: dict[str, Any], spec: Path) -> None:
    assert schema_errors(schema, yaml.safe_load(spec.read_text(encoding="utf-8"))) == []


def props(schema: dict[str, Any], name: str | None) -> set[str]:
    node = schema if name is None else schema["$defs"][name]
    assert node.get("additionalProperties") is False, f"{name} must reject unknown keys"
    return set(node["properties"])


@pytest.mark.parametrize(("where", "keys"), [
    (None, spec_module._TOP),
    ("limits", spec_module._LIMITS),
    ("setup", spec_module._SETUP),
    ("check", spec_module._CHECK_COMMON | set(spec_module._KIND_KEYS) | {"expect"}),
    ("request", http_spec.REQUEST_KEYS),
    ("expect", http_spec.EXPECT_KEYS),
    ("step", http_spec.STEP_KEYS),
    ("restartStep", http_spec.RESTART_STEP_KEYS),
    ("useStep", flows_spec.USE_STEP_KEYS),
    ("model", spec_module._MODEL),
    ("column", spec_module._COLUMN),
    ("database", spec_module._DATABASE),
    ("extract", set(spec_module.EXTRACT_SOURCES)),
])
def test_schema_keys_are_the_parsers_keys(schema: dict[str, Any], where: str | None,
                                          keys: frozenset[str]) -> None:
    assert props(schema, where) == set(keys)


def test_schema_choices_are_the_parsers_choices(schema: dict[str, Any]) -> None:
    defs = schema["$defs"]
    assert [b["required"][0] for b in defs["check"]["oneOf"]] == list(spec_module._KIND_KEYS)
    assert tuple(defs["request"]["properties"]["method"]["enum"]) == spec_module.METHODS
    assert tuple(defs["database"]["properties"]["expect"]["enum"]) == spec_module.DB_OUTCOMES
    assert tuple(defs["column"]["properties"]["type"]["enum"]) == spec_module.COLUMN_TYPES
    assert set(defs["element"]["oneOf"][1]["properties"]) == {"tag", "attrs", "contains"}
    assert set(defs["headerValue"]["oneOf"][1]["properties"]) == set(http_spec.HEADER_MATCHES)


FULL = """\
id: demo
title: Demo
summary: s
entry: [app]
setup: {create_tables: true}
limits: {time: 30}
checks:
  - name: r
    request: {path: /, method: GET, headers: {A: b}}
    expect: {status: 200}
  - name: s
    requires: r
    steps:
      - request: {path: /}
        setup: true
        session: other
        extract: {tok: {header: X-T}}
        expect: {status: [200, 201], elements: [{tag: main, attrs: {role: main}}]}
      - request: {path: /, follow_redirects: false}
        expect: {headers: {Location: {prefix: /login}}, json_includes: [{id: 1}]}
  - name: m
    model:
      name: User
      columns: {id: {type: integer}}
      repr: {with: {username: a}, equals: <User a>}
  - name: d
    database: {table: user, insert: [{a: 1}], expect: ok}
"""
# Where an unknown key can go; each location is a path into FULL's parsed YAML.
LOCATIONS = [
    (), ("setup",), ("limits",), ("checks", 0), ("checks", 0, "request"),
    ("checks", 0, "expect"), ("checks", 1, "steps", 0), ("checks", 1, "steps", 0, "extract",
                                                           "tok"),
    ("checks", 2, "model"), ("checks", 2, "model", "columns", "id"), ("checks", 2, "model",
                                                                        "repr"),
    ("checks", 3, "database"), ("checks", 1, "steps", 0, "expect", "elements", 0),
]


@pytest.mark.parametrize("where", LOCATIONS, ids=lambda w: ".".join(map(str, w)) or "top")
def test_parser_and_schema_reject_the_same_unknown_keys(tmp_path: Path, schema: dict[str, Any],
                                                        where: tuple[str | int, ...]) -> None:
    document = yaml.safe_load(FULL)
    assert schema_errors(schema, document) == []
    load_exercise(write(tmp_path / "demo", FULL))  # the unchanged spec is valid
    node = document
    for step in where:
        node = node[step]
    node["bogus_key"] = 1
    assert schema_errors(schema, document), "the schema accepts an unknown key"
    with pytest.raises(SpecError, match="unknown key"):
        load_exercise(write(tmp_path / "demo", yaml.safe_dump(document)))


def doc_checks() -> list[str]:
    """The YAML examples of single checks in docs/spec-language.md."""
    text = (ROOT / "docs" / "spec-language.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    kinds = "|".join(spec_module._KIND_KEYS)
    return [b for b in blocks if b.startswith("- name:")
            and re.search(rf"^  ({kinds}):", b, flags=re.MULTILINE)]


@pytest.mark.parametrize("example", doc_checks(), ids=lambda b: b.split("\n")[0][8:40])
def test_every_documented_check_is_valid(tmp_path: Path, schema: dict[str, Any],
                                         example: str) -> None:
    text = "id: demo\ntitle: Demo\nchecks:\n" + textwrap.indent(example, "  ")
    load_exercise(write(tmp_path / "demo", text))
    assert schema_errors(schema, yaml.safe_load(text)) == []


def test_the_docs_show_every_kind_of_check() -> None:
    kinds = {k for block in doc_checks() for k in spec_module._KIND_KEYS
             if re.search(rf"^  {k}:", block, flags=re.MULTILINE)}
    assert kinds == set(spec_module._KIND_KEYS)
