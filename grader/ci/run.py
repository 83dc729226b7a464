"""``grade check``: grade every exercise a student repository declares, for CI.

The repository holds a small config file (``grade.yaml``) that says which
exercise lives at which path and, optionally, the score each one needs::

    exercises:
      ex01: hello.py            # short form: just the path
      ex02:
        path: greet/
        min_score: 80%          # points, or a percentage of the maximum
    min_score: 5                # optional default for every exercise

The file only picks paths and thresholds: the checks come from the
instructor's catalogue (see grader/specsource.py). Configuration is layered:
defaults (full marks) < the file < ``--min-score``.
Exit codes: 0 every exercise reached its score, 1 one did not, 2 usage, 3 infra.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import click
import docker

from grader.errors import DockerUnavailable, SubmissionPathError
from grader.grading.run import ImageRef, SandboxFactory, grade
from grader.grading.scoring import GradeResult
from grader.reports import github, junit
from grader.reports.html import safe_name, write_report
from grader.sandbox import engine, image
from grader.sandbox import process as procsandbox
from grader.sandbox import process_probe as procprobe
from grader.sandbox.container import remove_orphans
from grader.spec import pinned as specsource
from grader.spec.exercise import Exercise
from grader.spec.yamlnodes import Field, load_document

SandboxKind = Literal["docker", "process"]
Progress = Callable[[str], None]
CONFIG_NAMES = ("grade.yaml", "grade.yml")
_CONFIG_TOP = frozenset({"exercises", "min_score"})
_ENTRY = frozenset({"path", "min_score"})
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MARKS = {"passed": "✓", "failed": "✗", "error": "✗", "timeout": "⏱"}
EXAMPLE = "exercises:\n  ex01: hello.py\n  ex02: {path: greet/, min_score: 5}"


# -- minimum scores -------------------------------------------------------------------------


@dataclass(frozen=True)
class MinScore:
    """Points an exercise needs: absolute, or a percentage of its maximum."""

    value: float
    percent: bool = False

    def points(self, max_score: float) -> float:
        return round(max_score * self.value / 100, 2) if self.percent else self.value

    def __str__(self) -> str:
        return f"{self.value:g}%" if self.percent else f"{self.value:g}"


def parse_min_score(text: str) -> MinScore:
    """``5``, ``4.5`` or ``80%``; ValueError says what is wrong."""
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw[:-1] if percent else raw)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of points or a percentage "
                         "(e.g. 5 or 80%)") from None
    if not value >= 0 or (percent and value > 100):
        raise ValueError(f"{text!r} must be between 0 and {'100%' if percent else 'the maximum'}")
    return MinScore(value, percent)


def min_score_option(ctx: click.Context, param: click.Parameter, value: str | None
                     ) -> MinScore | None:
    """Click callback for ``--min-score``: reject bad input with a clear message."""
    if value is None:
        return None
    try:
        return parse_min_score(value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from e


# -- the config file -------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    """One exercise of the repository: which one, where, and what it needs."""

    exercise: str
    path: Path  # absolute
    min_score: MinScore | None
    line: int  # of the path, in the config file
    given: str = ""  # the path as written there


@dataclass(frozen=True)
class CheckConfig:
    path: Path
    assignments: tuple[Assignment, ...]

    @property
    def folder(self) -> Path:
        return self.path.parent


def find_config(given: Path | None) -> Path:
    """The config file: *given*, else grade.yaml (or grade.yml) in the current folder."""
    if given is not None:
        if not given.is_file():
            raise SubmissionPathError(f"{given}: no such config file. {_config_help()}")
        return given
    for name in CONFIG_NAMES:
        if Path(name).is_file():
            return Path(name)
    raise SubmissionPathError(f"no {CONFIG_NAMES[0]} in {Path.cwd()}. {_config_help()}")


def _config_help() -> str:
    return ("`grade check` reads a config file in your repository that says which exercise "
            f"lives where, for example:\n\n{EXAMPLE}\n\nCreate grade.yaml at the top of the "
            "repository, or pass --config PATH.")


def load_config(path: Path) -> CheckConfig:
    """Parse the config file; every problem is reported as ``file:line: field: problem``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SubmissionPathError(f"{path}: cannot be read ({e}).") from e
    top = load_document(text, str(path)).mapping(_CONFIG_TOP)
    default = _min_score(top.get("min_score"))
    entries = top.require("exercises").mapping()
    if not entries.items:
        raise entries.field.fail(f"lists no exercise; for example:\n{EXAMPLE}")
    assignments = []
    for ex_id, entry in entries:
        if not _ID.match(ex_id):
            raise entry.fail("exercise ids are lowercase letters, digits, - and _ (e.g. ex01)")
        if isinstance(entry.node.value, str):
            where, needs = entry, default
        else:
            m = entry.mapping(_ENTRY)
            where = m.require("path")
            needs = _min_score(m.get("min_score")) or default
        given = where.string()
        assignments.append(Assignment(ex_id, (path.parent / given).resolve(), needs,
                                      where.line, given))
    return CheckConfig(path, tuple(assignments))


def _min_score(f: Field | None) -> MinScore | None:
    if f is None:
        return None
    try:
        return parse_min_score(str(f.node.value))
    except ValueError as e:
        raise f.fail(str(e)) from e


def check_paths(config: CheckConfig) -> None:
    """Every path must exist; all missing ones are named at once."""
    missing = [f"{config.path}:{a.line}: {a.exercise}: {a.given} does not exist ({a.path})"
               for a in config.assignments if not a.path.exists()]
    if missing:
        raise SubmissionPathError("\n".join(missing) + "\nFix the paths in the config file "
                                  "(they are relative to it), or add the missing files.")


# -- sandboxes --------------------------------------------------------------------------------


@dataclass
class Grader:
    """Grades one submission in the chosen sandbox."""

    kind: SandboxKind
    client: docker.DockerClient | None = None
    image: ImageRef = field(default_factory=lambda: ImageRef("process sandbox"))
    factory: SandboxFactory | None = None
    note: str = ""

    def grade(self, exercise: Exercise, path: Path) -> GradeResult:
        return grade(exercise, path, self.client, self.image, sandbox=self.factory)


@contextmanager
def open_grader(kind: SandboxKind, progress: Progress) -> Iterator[Grader]:
    """Docker (the default) or ``process``; either is closed at the end."""
    if kind == "process":
        with procsandbox.open_backend() as backend:
            note = backend.isolation.describe()
            progress(note)
            yield Grader("process", factory=backend.sandbox,
                         image=ImageRef(f"process sandbox ({procprobe.WEAKER})"),
                         note=note.splitlines()[0])
        return
    client = connect_docker()
    try:
        remove_orphans(client)
        info = image.ensure_image(client, progress=progress)
        yield Grader("docker", client=client, image=ImageRef(info.tag, info.id))
    finally:
        client.close()


def connect_docker() -> docker.DockerClient:
    """engine.connect(), whose message also offers the way without Docker."""
    try:
        return engine.connect()
    except DockerUnavailable as e:
        raise DockerUnavailable(
            f"{e}\nTwo ways on: set up Docker as above (the default, and the strongest "
            "isolation), or grade without it: add `--sandbox process` (or set "
            "GRADE_SANDBOX=process), which runs the submission as a separate, limited process "
            "and isolates less than Docker (docs/ci.md).") from e


# -- running ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """One exercise's result, and whether it reached the score it needs."""

    result: GradeResult
    path: str  # the submission as shown to the student (relative to the workspace)
    is_file: bool
    required: float

    @property
    def ok(self) -> bool:
        return self.result.score >= self.required - 1e-9


@dataclass(frozen=True)
class CheckOptions:
    config: Path | None = None
    min_score: MinScore | None = None
    source: specsource.SpecSource = field(default_factory=specsource.SpecSource)
    hashes: str | None = None
    sandbox: SandboxKind = "docker"
    report_dir: Path = Path("grade-reports")
    junit: Path | None = None


def resolve_source(options: CheckOptions, config: CheckConfig) -> specsource.SpecSource:
    """Flags over ``GRADE_EXERCISES`` over the package; published hashes folded in."""
    location = options.source.location or os.environ.get("GRADE_EXERCISES") or None
    pins: dict[str, str] = {}
    if options.hashes:
        pins.update(specsource.read_hashes(options.hashes, repositories(config)))
    pins.update(options.source.pins)
    return specsource.SpecSource(location, pins)


def repositories(config: CheckConfig) -> list[Path]:
    """Folders the student controls: the config's folder and the CI checkout."""
    found = [config.folder]
    for var in ("GITHUB_WORKSPACE", "CI_PROJECT_DIR"):
        if value := os.environ.get(var):
            found.append(Path(value))
    return found


def run(options: CheckOptions, echo: Callable[[str], None], progress: Progress) -> int:
    """The whole ``grade check``: load, verify, grade, publish; return the exit code."""
    config = load_config(find_config(options.config))
    check_paths(config)
    source = resolve_source(options, config)
    exercises = specsource.load(source, [a.exercise for a in config.assignments],
                                specsource.cache_dir())
    verdicts = []
    with open_grader(options.sandbox, progress) as grader:
        for a in config.assignments:
            ex = exercises[a.exercise]
            progress(f"grading {a.exercise} ({_shown(a.path)}) ...")
            result = grader.grade(ex, a.path)
            result = write_report(result, options.report_dir,
                                  f"{ex.id}-{safe_name(a.path.stem or a.path.name)}")
            needs = options.min_score or a.min_score
            required = needs.points(ex.max_score) if needs else ex.max_score
            verdicts.append(Verdict(result, _shown(a.path), a.path.is_file(),
                                    min(required, ex.max_score)))
    publish(verdicts, options, source, grader.note, echo)
    return 0 if all(v.ok for v in verdicts) else 1


def publish(verdicts: Sequence[Verdict], options: CheckOptions, source: specsource.SpecSource,
            note: str, echo: Callable[[str], None]) -> None:
    """JUnit XML, the console summary and, on GitHub Actions, its summary and annotations."""
    junit_path = options.junit or options.report_dir / "junit.xml"
    junit.write(junit_path, verdicts)
    text = summary(verdicts, source) + f"\njunit: {junit_path}"
    on_github = os.environ.get("GITHUB_ACTIONS") == "true"
    if on_github:
        # Student text must never become a workflow command: stop parsing them meanwhile.
        token = secrets.token_hex(16)
        text = f"::stop-commands::{token}\n{text}\n::{token}::"
    echo(text)
    if on_github:
        for line in github.error_annotations(verdicts):
            echo(line)
    if step_summary := os.environ.get("GITHUB_STEP_SUMMARY"):
        github.append(Path(step_summary), github.job_summary(verdicts, source.describe(), note))
    if outputs := os.environ.get("GITHUB_OUTPUT"):
        github.append(Path(outputs), github.step_outputs(verdicts))


def summary(verdicts: Sequence[Verdict], source: specsource.SpecSource) -> str:
    """The console summary: one block per exercise, then the ``Points x/y`` line."""
    lines = []
    for v in verdicts:
        r = v.result
        verdict = "ok" if v.ok else f"needs {v.required:g}"
        lines.append(f"{r.exercise} · {r.title} ({v.path}): {r.score:g}/{r.max_score:g} "
                     f"points ({r.status}; {verdict})")
        if r.problem is not None:
            lines.append(f"  {github.plain(r.problem.headline(), 300)}")
            if r.problem.text:
                lines.append(f"      {github.plain(r.problem.text.strip(), 200)}")
        for c in r.checks:
            lines.append(f"  {MARKS.get(c.status, '✗') if c.status != 'passed' else '✓'} "
                         f"{github.plain(c.name, 200)}  [{c.points:g}/{c.max_points:g}]")
            if c.status != "passed" and r.problem is None:
                lines.append(f"      {github.plain(c.message, 300)}")
                if c.hint and not c.hidden:
                    lines.append(f"      hint: {github.plain(c.hint, 300)}")
        lines.append(f"  report: {r.report}  spec: {r.spec_sha256[:16]}… ({source.describe()})")
    lines.append(github.points_line(verdicts))
    below = [v for v in verdicts if not v.ok]
    if below:
        names = ", ".join(f"{v.result.exercise} ({v.result.score:g}/{v.required:g})"
                          for v in below)
        lines.append(f"{len(below)} of {len(verdicts)} exercises below the required score: "
                     f"{names}")
    else:
        lines.append(f"all {len(verdicts)} exercises reached their required score")
    return "\n".join(lines)


def _shown(path: Path) -> str:
    """*path* relative to the workspace (GitHub's annotations need that), else as is."""
    base = Path(os.environ.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()
    try:
        shown = path.resolve().relative_to(base).as_posix()
    except ValueError:
        return str(path)
    return shown + ("/" if path.is_dir() and shown != "." else "")
