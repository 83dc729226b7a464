"""``grade check``: grade every exercise a student repository declares, for CI.

The config file (``grade.yaml``, parsed in config.py) names each exercise's
path and the score it needs; the checks come from the instructor's catalogue.
Exit codes: 0 every exercise reached its score, 1 one did not, 2 usage, 3 infra.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from grader.ci.config import CheckConfig, MinScore, check_paths, find_config, load_config
from grader.common.text import one_line
from grader.errors import UsageError
from grader.grading.run import grade
from grader.reports import github, junit
from grader.reports.html import write_submission_report
from grader.reports.terminal import check_lines
from grader.reports.verdict import ExerciseVerdict
from grader.sandbox import SandboxFactory
from grader.spec import pinned
from grader.spec.exercise import Exercise

Progress = Callable[[str], None]


@dataclass(frozen=True)
class CheckOptions:
    config: Path | None = None
    min_score: MinScore | None = None
    source: pinned.SpecSource = field(default_factory=pinned.SpecSource)
    hashes: str | None = None
    report_dir: Path = Path("grade-reports")
    junit: Path | None = None


def resolve_source(options: CheckOptions, config: CheckConfig) -> pinned.SpecSource:
    """Flags over ``GRADE_EXERCISES`` over the package; published hashes folded in."""
    location = options.source.location or _one_catalogue(os.environ.get("GRADE_EXERCISES"))
    pins: dict[str, str] = {}
    if options.hashes:
        pins.update(pinned.read_hashes(options.hashes, repositories(config)))
    pins.update(options.source.pins)
    return pinned.SpecSource(location, pins)


def _one_catalogue(listed: str | None) -> str | None:
    """GRADE_EXERCISES as ``grade check``'s one catalogue, which its hashes pin.

    Other commands search several (``a:b``); a check grades against exactly one,
    so a list is refused rather than read as one strange path.
    """
    if not listed:
        return None
    if "://" in listed or os.pathsep not in listed or Path(listed).is_dir():
        return listed
    raise UsageError(f"GRADE_EXERCISES={listed!r} names several catalogues; `grade check` "
                     "grades against one, pinned by its hashes. Pass the one this course uses "
                     "with --exercises PATH|URL (or set GRADE_EXERCISES to it alone).")


def repositories(config: CheckConfig) -> list[Path]:
    """Folders the student controls: the config's folder and the CI checkout."""
    found = [config.folder]
    for var in ("GITHUB_WORKSPACE", "CI_PROJECT_DIR"):
        if value := os.environ.get(var):
            found.append(Path(value))
    return found


def run(options: CheckOptions,
        open_sandboxes: Callable[[Sequence[Exercise]], AbstractContextManager[SandboxFactory]],
        echo: Callable[[str], None], progress: Progress,
        command: Callable[[str], None] | None = None) -> int:
    """The whole ``grade check``: load, verify, grade, publish; return the exit code.

    *open_sandboxes* is called once the config and the specs are known to be
    good, so a mistake in them is reported without waiting for a sandbox; it
    gets the exercises, whose catalogue may add packages to the image.
    """
    config = load_config(find_config(options.config))
    check_paths(config)
    source = resolve_source(options, config)
    exercises = pinned.load(source, [a.exercise for a in config.assignments],
                                pinned.cache_dir())
    verdicts = []
    with open_sandboxes(list(exercises.values())) as sandboxes:
        for a in config.assignments:
            ex = exercises[a.exercise]
            progress(f"grading {a.exercise} ({_shown(a.path)}) ...")
            result = grade(ex, a.path, sandboxes)
            result = write_submission_report(result, options.report_dir, ex.id, a.path)
            needs = options.min_score or a.min_score
            required = needs.points(ex.max_score) if needs else ex.max_score
            verdicts.append(ExerciseVerdict(result, _shown(a.path), a.path.is_file(),
                                            min(required, ex.max_score)))
    publish(verdicts, options, source, sandboxes.plan.note, echo, command)
    return 0 if all(v.ok for v in verdicts) else 1


def publish(verdicts: Sequence[ExerciseVerdict], options: CheckOptions,
            source: pinned.SpecSource, note: str, echo: Callable[[str], None],
            command: Callable[[str], None] | None = None) -> None:
    """JUnit XML, the console summary and, on GitHub Actions, its summary and annotations.

    *command* writes grade's own workflow commands (*echo* makes its text inert there).
    """
    command = command or echo
    junit_path = options.junit or options.report_dir / "junit.xml"
    junit.write(junit_path, verdicts)
    text = summary(verdicts, source) + f"\njunit: {junit_path}"
    on_github = os.environ.get("GITHUB_ACTIONS") == "true"
    token = secrets.token_hex(16)
    if on_github:
        # Student text must never become a workflow command: stop parsing them meanwhile.
        command(f"::stop-commands::{token}")
    echo(text)
    if on_github:
        command(f"::{token}::")
        for line in github.error_annotations(verdicts):
            command(line)
    if step_summary := os.environ.get("GITHUB_STEP_SUMMARY"):
        github.append(Path(step_summary), github.job_summary(verdicts, source.describe(), note))
    if outputs := os.environ.get("GITHUB_OUTPUT"):
        github.append(Path(outputs), github.step_outputs(verdicts))


def summary(verdicts: Sequence[ExerciseVerdict], source: pinned.SpecSource) -> str:
    """The console summary: one block per exercise, then the ``Points x/y`` line.

    Everything is kept to one line each, so student text cannot start a line
    that a CI system would read as a command.
    """
    lines = []
    for v in verdicts:
        r = v.result
        verdict = "ok" if v.ok else f"needs {v.required:g}"
        lines.append(f"{r.exercise} · {r.title} ({v.path}): {r.score:g}/{r.max_score:g} "
                     f"points ({r.status}; {verdict})")
        if r.problem is not None:
            lines.append(f"  {one_line(r.problem.headline(), 300)}")
            if r.problem.text:
                lines.append(f"      {one_line(r.problem.text.strip(), 200)}")
        lines += check_lines(r, one_line)
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
