"""The exercise spec language: YAML in, frozen dataclasses out.

Parsing happens once, here. Every later stage works on :class:`Exercise`
and its checks, never on raw YAML. See docs/spec-language.md for the language.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from grader.errors import SpecError
from grader.spec.flows import Flows, expand_steps, parse_flows
from grader.spec.http import (
    EXTRACT_SOURCES,
    METHODS,
    ElementSpec,
    Expect,
    Extract,
    ExtractSource,
    HeaderExpect,
    HttpCheck,
    Request,
    Step,
    parse_request_check,
    parse_steps,
    substitute,
)
from grader.spec.yamlnodes import Field, Mapping, load_document

__all__ = ["EXTRACT_SOURCES", "METHODS", "ElementSpec", "Expect", "Extract", "ExtractSource",
           "HeaderExpect", "HttpCheck", "Request", "Step", "substitute"]

SPEC_FILENAME = "exercise.yaml"
DB_OUTCOMES = ("ok", "unique_violation", "not_null_violation", "rejected")
# An exercise id: a folder name, a config key and part of file names alike.
EXERCISE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")

DbOutcome = Literal["ok", "unique_violation", "not_null_violation", "rejected"]


@dataclass(frozen=True)
class Limits:
    """Wall-clock and resource limits; every one has a safe default."""

    time: float = 60.0  # whole submission, seconds
    startup: float = 15.0  # importing the app, seconds
    check: float = 5.0  # default per check, seconds
    memory_mb: int = 256
    pids: int = 64
    cpus: float = 1.0
    tmpfs_mb: int = 64
    output_kb: int = 64


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str | None = None
    length: int | None = None
    primary_key: bool | None = None
    unique: bool | None = None
    nullable: bool | None = None


@dataclass(frozen=True)
class ReprSpec:
    fields: tuple[tuple[str, Any], ...]
    equals: str


@dataclass(frozen=True)
class ModelCheck:
    model: str
    table: str | None = None
    columns: tuple[ColumnSpec, ...] = ()
    repr: ReprSpec | None = None


@dataclass(frozen=True)
class DatabaseCheck:
    """Insert rows into the app's real database; the last row's outcome is checked."""

    rows: tuple[tuple[tuple[str, Any], ...], ...]
    expect: DbOutcome
    model: str | None = None
    table: str | None = None
    file: str | None = None  # the SQLite file in the app's folder (``database_file``)


@dataclass(frozen=True)
class CodeCheck:
    """Instructor-written pytest code, run on the trusted side against the sandbox."""

    source: str


CheckBody = HttpCheck | ModelCheck | DatabaseCheck | CodeCheck


@dataclass(frozen=True)
class Check:
    id: str
    name: str
    points: float
    body: CheckBody
    line: int
    hidden: bool = False
    hint: str | None = None
    timeout: float = 5.0
    partial: bool = False
    # Names of earlier checks this one guards: it scores only when they all passed.
    requires: tuple[str, ...] = ()
    # `visibility: after_due_date`: hidden from students until the due date of the
    # assignment that uses the exercise, then shown (reports/visibility.py).
    after_due_date: bool = False

    @property
    def withheld(self) -> bool:
        """Hidden from students now or until a due date: it runs after the visible ones."""
        return self.hidden or self.after_due_date

    @property
    def kind(self) -> str:
        return {HttpCheck: "http", ModelCheck: "model", DatabaseCheck: "database",
                CodeCheck: "pytest"}[type(self.body)]


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    directory: Path
    spec_path: Path
    spec_sha256: str
    checks: tuple[Check, ...]
    limits: Limits = field(default_factory=Limits)
    summary: str = ""
    create_tables: bool = False
    migrate: bool = False  # run the submission's Flask-Migrate migrations after loading
    entry: tuple[str, ...] = ()
    solution: Path | None = None
    starter: Path | None = None
    readme: Path | None = None
    # The app's SQLite file, relative to its folder, for apps that use sqlite3 directly.
    database_file: str | None = None

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)


# -- parsing -----------------------------------------------------------------

_TOP = frozenset({"id", "title", "summary", "limits", "setup", "checks",
                  "solution", "starter", "readme", "entry", "flows", "database_file"})
_LIMITS = frozenset({"time", "startup", "check", "memory_mb", "pids", "cpus",
                     "tmpfs_mb", "output_kb"})
_SETUP = frozenset({"create_tables", "migrate"})
_CHECK_COMMON = frozenset({"name", "points", "hidden", "hint", "timeout", "partial",
                           "requires", "visibility"})
VISIBILITIES = ("visible", "hidden", "after_due_date")
_KIND_KEYS = ("request", "steps", "model", "database", "pytest")
_MODEL = frozenset({"name", "table", "columns", "repr"})
_COLUMN = frozenset({"type", "length", "primary_key", "unique", "nullable"})
_DATABASE = frozenset({"model", "table", "insert", "expect", "database_file"})
COLUMN_TYPES = ("integer", "string", "text", "boolean", "float", "numeric", "datetime",
                "date", "time", "json", "blob")


def load_exercise(spec_path: Path) -> Exercise:
    """Read and validate one spec file."""
    display = str(spec_path)
    try:
        raw = spec_path.read_bytes()
    except OSError as e:
        raise SpecError(display, None, "", f"cannot be read: {e.strerror}") from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(display, None, "", "is not UTF-8 text") from e
    root = load_document(text, display).mapping(_TOP)
    return _exercise(root, spec_path, hashlib.sha256(raw).hexdigest())


def parse_document(root: Field, spec_path: Path, digest: str) -> Exercise:
    """Parse an already composed spec; ``grade validate`` re-parses edited trees with it."""
    return _exercise(root.mapping(_TOP), spec_path, digest)


def _exercise(top: Mapping, spec_path: Path, digest: str) -> Exercise:
    ex_id = top.require("id")
    if not EXERCISE_ID.match(ex_id.string()):
        raise ex_id.fail("must be lowercase letters, digits, '-' or '_' (e.g. ex02)")
    directory = spec_path.parent
    limits = _limits(top.get("limits"))
    create_tables = migrate = False
    if (setup := top.get("setup")) is not None:
        m = setup.mapping(_SETUP)
        if (ct := m.get("create_tables")) is not None:
            create_tables = ct.boolean()
        if (mg := m.get("migrate")) is not None:
            migrate = mg.boolean()
        if create_tables and migrate:
            raise setup.fail("give create_tables or migrate, not both: with migrate, the "
                             "submission's migrations must create the tables themselves")
    checks = _checks(top.require("checks"), limits, parse_flows(top.get("flows")))
    files = {k: _file(top.get(k), directory) for k in ("solution", "starter", "readme")}
    entry: tuple[str, ...] = ()
    if (e := top.get("entry")) is not None:
        entry = e.str_or_list()
    return Exercise(
        id=ex_id.string(),
        title=top.require("title").string(),
        summary=f.string(allow_empty=True) if (f := top.get("summary")) else "",
        directory=directory,
        spec_path=spec_path,
        spec_sha256=digest,
        checks=checks,
        limits=limits,
        create_tables=create_tables,
        migrate=migrate,
        entry=entry,
        solution=files["solution"],
        starter=files["starter"],
        readme=files["readme"],
        database_file=database_file(d) if (d := top.get("database_file")) else None,
    )


def _file(f: Field | None, directory: Path) -> Path | None:
    if f is None:
        return None
    name = f.string()
    target = (directory / name).resolve()
    if not target.is_relative_to(directory.resolve()):
        raise f.fail(f"must name a file inside the exercise folder, got {name!r}")
    if not target.exists():
        raise f.fail(f"names {name!r}, which does not exist in {directory}")
    return target


def _limits(f: Field | None) -> Limits:
    if f is None:
        return Limits()
    m = f.mapping(_LIMITS)
    d = Limits()
    num = {k: v.number(minimum=0.1, maximum=600) for k, v in m if k in ("time", "startup",
                                                                         "check", "cpus")}
    ints = {k: v.integer(minimum=1, maximum=4096) for k, v in m
            if k in ("memory_mb", "pids", "tmpfs_mb", "output_kb")}
    if "memory_mb" in ints and ints["memory_mb"] < 32:
        raise m.require("memory_mb").fail("must be at least 32 (Python needs room to start)")
    return Limits(
        time=num.get("time", d.time),
        startup=num.get("startup", d.startup),
        check=num.get("check", d.check),
        cpus=num.get("cpus", d.cpus),
        memory_mb=ints.get("memory_mb", d.memory_mb),
        pids=ints.get("pids", d.pids),
        tmpfs_mb=ints.get("tmpfs_mb", d.tmpfs_mb),
        output_kb=ints.get("output_kb", d.output_kb),
    )


def database_file(f: Field) -> str:
    """A SQLite file's path inside the app's folder: relative, with no ``..`` in it."""
    path = f.string()
    parts = path.split("/")
    if path.startswith("/") or "\\" in path or re.match(r"^[A-Za-z]:", path):
        raise f.fail(f"must be a path relative to the app's folder, such as todo.db or "
                     f"instance/todo.db, got {path!r}")
    if any(p in ("", ".", "..") for p in parts):
        raise f.fail(f"must stay inside the app's folder (no '..', '.' or empty parts), "
                     f"got {path!r}")
    return path


def _checks(f: Field, limits: Limits, flows: Flows) -> tuple[Check, ...]:
    items = f.sequence()
    if not items:
        raise f.fail("needs at least one check")
    seen: dict[str, int] = {}
    checks: list[Check] = []
    for item in items:
        check = _check(item, limits, flows)
        if check.id in seen:
            raise item.fail(f"check name {check.name!r} repeats the one on line {seen[check.id]}")
        _check_requires(item, check, checks)
        seen[check.id] = check.line
        checks.append(check)
    if sum(c.points for c in checks) <= 0:
        raise f.fail("the checks are worth 0 points in total; give at least one check points")
    return tuple(checks)


def _check_requires(item: Field, check: Check, earlier: list[Check]) -> None:
    """A guard names earlier checks, so guards never form a cycle."""
    names = {c.name for c in earlier}
    for name in check.requires:
        if name == check.name:
            raise item.fail(f"check {name!r} requires itself; name the check whose "
                            "behaviour it guards")
        if name not in names:
            later = "" if not names else f"; earlier checks: {', '.join(sorted(names))}"
            raise item.fail(f"requires: {name!r} is not the name of an earlier check{later}")


def _check(f: Field, limits: Limits, flows: Flows) -> Check:
    m = f.mapping(_CHECK_COMMON | frozenset(_KIND_KEYS) | frozenset({"expect"}))
    name = m.require("name").string()
    kinds = [k for k in _KIND_KEYS if k in m]
    if not kinds:
        raise f.fail(f"check {name!r} needs one of: {', '.join(_KIND_KEYS)}")
    if len(kinds) > 1:
        raise f.fail(f"check {name!r} mixes {' and '.join(kinds)}; a check has exactly one kind")
    kind = kinds[0]
    if "expect" in m and kind != "request":
        raise m.require("expect").fail(f"'expect' belongs with 'request'; in '{kind}' checks "
                                       "put expectations inside it")
    body = _body(kind, m, flows)
    points_f = m.get("points")
    hidden = h.boolean() if (h := m.get("hidden")) else False
    visibility = v.choice(VISIBILITIES) if (v := m.get("visibility")) else None
    if visibility is not None and h is not None and hidden != (visibility == "hidden"):
        raise m.require("visibility").fail(f"says {visibility} but hidden is "
                                           f"{str(hidden).lower()}; give one of the two")
    return Check(
        id=_slug(name),
        name=name,
        points=points_f.number(minimum=0, maximum=1000) if points_f else 1.0,
        body=body,
        line=f.line,
        hidden=hidden or visibility == "hidden",
        after_due_date=visibility == "after_due_date",
        hint=h.string() if (h := m.get("hint")) else None,
        timeout=t.number(minimum=0.1, maximum=600) if (t := m.get("timeout")) else limits.check,
        partial=p.boolean() if (p := m.get("partial")) else False,
        requires=tuple(dict.fromkeys(r.str_or_list())) if (r := m.get("requires")) else (),
    )


def _body(kind: str, m: Mapping, flows: Flows) -> CheckBody:
    if kind == "request":
        return parse_request_check(m.require("request"), m.get("expect"))
    if kind == "steps":
        steps = m.require("steps")
        return parse_steps(steps, expand_steps(steps, flows))
    if kind == "model":
        return _model(m.require("model"))
    if kind == "database":
        return _database(m.require("database"))
    code = m.require("pytest")
    source = code.string()
    try:
        compile(source, f"{code.path}:{code.name}", "exec")
    except SyntaxError as e:
        raise code.fail(f"Python does not parse (line {e.lineno} of the code): {e.msg}") from e
    if not re.search(r"^(async\s+def|def)\s+test_\w*\s*\(|^class\s+Test\w*", source,
                     re.MULTILINE):
        raise code.fail("must define at least one function named test_... (or a class "
                        "named Test... holding them)")
    return CodeCheck(source)







def _model(f: Field) -> ModelCheck:
    m = f.mapping(_MODEL)
    columns = []
    if (cols := m.get("columns")) is not None:
        for name, spec in cols.mapping():
            cm = spec.mapping(_COLUMN)
            columns.append(ColumnSpec(
                name=name,
                type=t.choice(COLUMN_TYPES) if (t := cm.get("type")) else None,
                length=n.integer(minimum=1) if (n := cm.get("length")) else None,
                primary_key=p.boolean() if (p := cm.get("primary_key")) else None,
                unique=u.boolean() if (u := cm.get("unique")) else None,
                nullable=v.boolean() if (v := cm.get("nullable")) else None,
            ))
    rep = None
    if (r := m.get("repr")) is not None:
        rm = r.mapping(frozenset({"with", "equals"}))
        fields = rm.require("with").mapping()
        rep = ReprSpec(tuple((k, v.value()) for k, v in fields), rm.require("equals").string())
    if not columns and rep is None and "table" not in m:
        raise f.fail("says nothing to check; give columns, table or repr")
    return ModelCheck(
        model=m.require("name").string(),
        table=t.string() if (t := m.get("table")) else None,
        columns=tuple(columns),
        repr=rep,
    )


def _database(f: Field) -> DatabaseCheck:
    m = f.mapping(_DATABASE)
    if ("model" in m) == ("table" in m):
        raise f.fail("give exactly one of 'model' (a class name) or 'table'")
    rows_f = m.require("insert")
    rows = []
    for row in rows_f.sequence():
        rm = row.mapping()
        if not rm.items:
            raise row.fail("a row needs at least one column")
        rows.append(tuple((k, v.value()) for k, v in rm))
    if not rows:
        raise rows_f.fail("needs at least one row")
    return DatabaseCheck(
        rows=tuple(rows),
        expect=m.require("expect").choice(DB_OUTCOMES),  # type: ignore[arg-type]
        model=mo.string() if (mo := m.get("model")) else None,
        table=t.string() if (t := m.get("table")) else None,
        file=database_file(df) if (df := m.get("database_file")) else None,
    )


def _slug(name: str) -> str:
    # \w is Unicode-aware, so names in any script keep distinct ids.
    return re.sub(r"[\W_]+", "-", name.lower()).strip("-") or "check"
