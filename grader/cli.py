"""The ``grade`` command line. Thin: parse, call the library, print, exit.

The authoring and CI commands import their modules when they run: a one-shot
``grade submit`` starts without them (bench/README.md, start-up).

This is the one place GraderError is caught and turned into an exit code:
0 full marks, 1 below full marks, 2 usage error, 3 infrastructure problem.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

import click

from grader.ci import config as ci_config
from grader.common.data_files import data_path
from grader.common.text import printable, safe_text
from grader.errors import GraderError, SpecError, SubmissionPathError
from grader.grading.run import grade
from grader.reports import github
from grader.reports.html import write_submission_report
from grader.reports.terminal import summary
from grader.sandbox import (
    SandboxFactory,
    SandboxKind,
    docker_connection,
    image,
    open_sandbox,
    packages,
)
from grader.spec import catalog, pinned
from grader.spec.exercise import Exercise

_dir_option = click.option(
    "--dir", "dirs", multiple=True, type=click.Path(path_type=Path, file_okay=False),
    help="An instructor's catalogue folder, searched before $GRADE_EXERCISES and the "
         "shipped one (repeatable; the first that has an id wins).")

_sandbox_option = click.option(
    "--sandbox", type=click.Choice(["docker", "process"]), default="docker",
    envvar="GRADE_SANDBOX", show_default=True, show_envvar=True,
    help="docker, or process: no Docker needed, but isolates less (docs/ci.md).")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="grade")
def cli() -> None:
    """Grade Flask exercises in a hardened Docker sandbox."""


@cli.command("list")
@_dir_option
def list_cmd(dirs: tuple[Path, ...]) -> None:
    """Show the available exercises."""
    for ex in catalog.load_all(_catalogues(dirs)):
        click.echo(f"{ex.id}  {ex.title:<20} {ex.max_score:g} points  {ex.summary}")


@cli.command("docs")
def docs_cmd() -> None:
    """Print the folder of grade's documentation (the tutorial, the spec language)."""
    click.echo(data_path("docs"))


@cli.command()
@click.argument("exercise")
@_dir_option
def show(exercise: str, dirs: tuple[Path, ...]) -> None:
    """Print an exercise's instructions."""
    ex = catalog.find(exercise, _catalogues(dirs, exercise))
    if ex.readme is None:
        click.echo(f"{ex.id}: {ex.title}\n\n{ex.summary}")
        return
    click.echo(ex.readme.read_text(encoding="utf-8"))


@cli.command()
@click.argument("exercise")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--report-dir", type=click.Path(path_type=Path), default=Path("grade-reports"),
              show_default=True, help="Where the HTML and JSON reports go.")
@_sandbox_option
@_dir_option
def submit(exercise: str, path: Path, as_json: bool, report_dir: Path,
           sandbox: SandboxKind, dirs: tuple[Path, ...]) -> None:
    """Grade PATH (a .py file or a folder) for EXERCISE."""
    try:
        ex = catalog.find(exercise, _catalogues(dirs, exercise))
        if not path.exists():
            raise SubmissionPathError(f"{path}: no such file or folder. Pass your app's .py "
                                      "file or the folder that holds it.")
        with _sandboxes(sandbox, [ex]) as sandboxes:
            result = grade(ex, path, sandboxes)
            result = write_submission_report(result, report_dir, ex.id, path)
            # The verdict first; leaving the block waits for the container's removal.
            if as_json:
                click.echo(json.dumps(result.to_json(), ensure_ascii=False))
            else:
                click.echo(summary(result))
            sys.stdout.flush()
    except GraderError as e:
        # The --json contract: exactly one object, also when nothing was graded (a bad
        # input, or no engine to grade with); the message goes to stderr as ever.
        if as_json:
            click.echo(json.dumps(error_json(exercise, e), ensure_ascii=False))
        raise
    sys.exit(0 if result.status == "passed" else 1)


@cli.command()
@click.argument("exercise")
@click.argument("submissions", type=click.Path(path_type=Path))
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None,
              help="Submissions graded at once [default: the number of CPUs].")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Where the gradebook and reports go [default: grade-reports/EX].")
@click.option("--force", is_flag=True, help="Grade again even what is already graded.")
@click.option("--due-date", "due_date", metavar="ISO", default=None,
              help="The assignment's due date (2026-12-01T23:59+01:00; no zone: UTC): "
                   "checks with visibility: after_due_date are shown after it.")
@click.option("--pool", type=click.IntRange(0, 16), default=1, show_default=True,
              help="Ready Docker sandboxes each worker keeps started ahead of time "
                   "(0: start each one when its submission comes).")
@_sandbox_option
@_dir_option
def batch(exercise: str, submissions: Path, jobs: int | None, out: Path | None,
          force: bool, due_date: str | None, pool: int, sandbox: SandboxKind,
          dirs: tuple[Path, ...]) -> None:
    """Grade a class: SUBMISSIONS holds one folder, .py or .zip per student."""
    from grader.batch import run as batching  # multiprocessing: only when batch grading

    ex = catalog.find(exercise, _catalogues(dirs, exercise))
    if not submissions.is_dir():
        raise SubmissionPathError(f"{submissions}: no such folder. Pass the folder that holds "
                                  "one subfolder, .py file or .zip file per student.")
    options = batching.BatchOptions(out or Path("grade-reports") / ex.id,
                                    jobs or batching.default_jobs(), force,
                                    _due_date(due_date), pool=pool)
    students = batching.find_students(submissions, options.out)
    with _sandboxes(sandbox, [ex]) as sandboxes:
        done = batching.run_batch(ex, students, sandboxes, options)
    click.echo("\n".join(printable(line) for line in batching.summary_lines(ex, done)))


@cli.command()
@click.option("--config", "config", type=click.Path(path_type=Path, dir_okay=False),
              default=None, show_envvar=True, envvar="GRADE_CONFIG",
              help="The repository's config file [default: ./grade.yaml].")
@click.option("--min-score", callback=ci_config.min_score_option, metavar="POINTS|N%",
              show_envvar=True, envvar="GRADE_MIN_SCORE",
              help="Score every exercise needs [default: grade.yaml's, else full marks].")
@click.option("--exercises", "source", metavar="PATH|URL", default=None,
              help="The instructor's exercise catalogue [default: $GRADE_EXERCISES, else the "
                   "installed package]. Anything but the package needs pinned hashes.")
@click.option("--spec-sha256", "pins", multiple=True, metavar="EX=SHA256",
              show_envvar=True, envvar="GRADE_SPEC_SHA256",
              help="The published sha256 of EX's exercise.yaml (repeatable).")
@click.option("--hashes", metavar="FILE|URL", default=None, show_envvar=True, envvar="GRADE_HASHES",
              help="Published hashes (sha256sum */exercise.yaml); not in the student's repo.")
@_sandbox_option
@click.option("--report-dir", type=click.Path(path_type=Path), default=Path("grade-reports"),
              show_envvar=True, envvar="GRADE_REPORT_DIR", show_default=True,
              help="Where the HTML/JSON reports and junit.xml go.")
@click.option("--junit", type=click.Path(path_type=Path, dir_okay=False), default=None,
              show_envvar=True, envvar="GRADE_JUNIT",
              help="JUnit XML file [default: REPORT_DIR/junit.xml].")
def check(config: Path | None, min_score: ci_config.MinScore | None, source: str | None,
          pins: tuple[str, ...], hashes: str | None, sandbox: SandboxKind,
          report_dir: Path, junit: Path | None) -> None:
    """Grade every exercise the repository's grade.yaml names (for CI).

    Each option can also be set by the environment variable it shows, which
    is how the GitHub Action and the GitLab template pass them.
    """
    try:
        parsed = dict(pinned.parse_pin(p) for p in pins)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--spec-sha256") from e
    from grader.ci import run as ci

    options = ci.CheckOptions(config, min_score, pinned.SpecSource(source, parsed), hashes,
                              report_dir, junit)
    sys.exit(ci.run(options, lambda found: _sandboxes(sandbox, found), click.echo, _progress,
                    _workflow_command))


@cli.group("image")
def image_group() -> None:
    """Manage the sandbox image."""


@image_group.command("build")
@click.option("--rebuild", is_flag=True, help="Build even if the image exists.")
@click.option("--base", default=None, help="Base image (default: python:3.11-slim, or a "
              "local Debian bootstrap when no registry is reachable).")
@click.option("--requirements", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help=f"Extra packages, pinned with hashes [default: the catalogue's "
                   f"{packages.EXTRA_FILENAME}, if it has one].")
def image_build(rebuild: bool, base: str | None, requirements: Path | None) -> None:
    """Build the sandbox image (grade submit also does this on first use)."""
    if requirements is None:
        candidate = catalog.exercises_root() / packages.EXTRA_FILENAME
        requirements = candidate if candidate.is_file() else None
    extra = None
    if requirements is not None:
        extra = packages.read_extra(requirements, packages.sandbox_pins())
        _progress(f"extra packages from {requirements}: "
                  + (", ".join(p.requirement for p in extra.pins) or "none beyond the sandbox's"))
    client = docker_connection.connect()
    try:
        info = image.ensure_image(client, progress=_progress, rebuild=rebuild, base=base,
                                  extra=extra)
    finally:
        client.close()
    click.echo(f"sandbox image ready: {info.tag} ({info.id[:19]}, base {info.base})")


@cli.command("validate")
@click.argument("target", required=False, metavar="[EX|PATH]")
@_dir_option
def validate_cmd(target: str | None, dirs: tuple[Path, ...]) -> None:
    """Check every spec (or one exercise, spec or folder); print each problem and warning."""
    from grader.authoring import validate

    _catalogues(dirs, target)
    results = validate.validate_all(validate.find_specs(target, dirs=dirs))
    problems = [p for v in results for p in v.problems]
    for v in results:  # warnings never change the exit code
        for line in v.lines():
            click.echo(line)
    if problems:
        bad = sum(1 for v in results if not v.ok)
        click.echo(f"{len(problems)} problem(s) in {bad} of {len(results)} spec(s)", err=True)
        sys.exit(2)
    click.echo(f"ok: {len(results)} spec(s) valid")


@cli.command("new")
@click.argument("exercise_id", metavar="EX")
@click.option("--title", required=True, help="The exercise's title, e.g. 'Hello route'.")
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False),
              default=None, help="The catalogue folder [default: $GRADE_EXERCISES, else "
              "./exercises].")
def new_cmd(exercise_id: str, title: str, directory: Path | None) -> None:
    """Create exercise EX: spec, solution, starter, README and a first mutant."""
    from grader.authoring import scaffold

    directory = directory or scaffold.default_directory()
    folder = scaffold.new_exercise(exercise_id, title, directory)
    click.echo(f"created {folder}/ (exercise.yaml, solution.py, starter.py, README.md, "
               "mutants/)")
    listed = [p for p in os.environ.get("GRADE_EXERCISES", "").split(os.pathsep) if p]
    found = "" if listed and Path(listed[0]) == directory else f" --dir {directory}"
    click.echo(f"next: edit them, then `grade validate{found} {exercise_id}` and "
               f"`grade selftest{found} {exercise_id}`")


@cli.command("selftest")
@click.argument("target", required=False, metavar="[EX|PATH]")
@click.option("-v", "--verbose", is_flag=True, help="Also list the checks each mutant fails "
              "beyond those it must.")
@_sandbox_option
@_dir_option
def selftest_cmd(target: str | None, verbose: bool, sandbox: SandboxKind,
                 dirs: tuple[Path, ...]) -> None:
    """Grade each exercise's solution, starter and mutants; fail if a spec lets one through."""
    from grader.authoring import selftest, validate

    _catalogues(dirs, target)
    checked = validate.validate_all(validate.find_specs(target, dirs=dirs))
    for warning in (w for v in checked for w in v.warnings):
        click.echo(str(warning), err=True)
    problems = [p for v in checked for p in v.problems]
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo("grade: error: the specs above have problems; fix them first", err=True)
        sys.exit(2)
    exercises = [v.exercise for v in checked if v.exercise is not None]
    failed = []
    with _sandboxes(sandbox, exercises) as sandboxes:
        for ex in exercises:
            click.echo(f"{ex.id} · {ex.title}")
            result = selftest.run_selftest(
                ex, lambda e, p: grade(e, p, sandboxes), selftest.load_mutants(ex),
                on_verdict=lambda v: click.echo("\n".join(selftest.verdict_lines(
                    v, verbose=verbose))))
            click.echo("\n".join(selftest.result_lines(result)))
            if not result.ok:
                failed.append(ex.id)
    if failed:
        click.echo(f"selftest: {len(failed)} of {len(exercises)} exercise(s) failed: "
                   + ", ".join(failed))
        sys.exit(1)
    click.echo(f"selftest: all {len(exercises)} exercise(s) passed")


def _catalogues(dirs: Sequence[Path], exercise: str | None = None) -> tuple[Path, ...]:
    """The catalogues side by side; warns of each id one hides in another (only
    *exercise*'s, when given)."""
    roots = catalog.roots(dirs)
    for clash in catalog.shadowed(roots):
        if exercise is None or clash.id == exercise:
            _progress(f"grade: warning: {clash.warning()}")
    return roots


def _due_date(text: str | None) -> str:
    """--due-date as ISO 8601 with its zone (UTC when none is given); "" when absent."""
    if text is None:
        return ""
    try:
        due = datetime.fromisoformat(text)
    except ValueError as e:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 date and time; write e.g. "
                                 "2026-12-01T23:59+01:00", param_hint="--due-date") from e
    return (due if due.tzinfo else due.replace(tzinfo=timezone.utc)).isoformat()


def error_json(exercise: str, error: GraderError) -> dict[str, Any]:
    """``submit --json``'s one object when nothing could be graded: status error."""
    where = {"file": error.path, "line": error.line} if isinstance(error, SpecError) else {}
    return {"exercise": exercise, "status": "error", "score": 0.0, "max_score": 0.0,
            "checks": [], "report": None, "app": None,
            "problem": {"kind": type(error).__name__, "message": str(error), **where}}


@contextmanager
def _sandboxes(kind: SandboxKind, exercises: Sequence[Exercise]) -> Iterator[SandboxFactory]:
    """The one place a Docker client is made for grading; closed at the end.

    The image holds the extra packages of the exercises' catalogue, if it has any.
    """
    requirements = packages.catalogue_requirements(ex.directory for ex in exercises)
    client = docker_connection.connect(offer_process=True) if kind == "docker" else None
    try:
        with open_sandbox(kind, client=client, progress=_progress,
                          requirements=requirements) as sandboxes:
            yield sandboxes
    finally:
        if client is not None:
            client.close()


def _workflow_command(line: str) -> None:
    """One of grade's own CI workflow commands, past the filter that makes text inert."""
    if isinstance(sys.stdout, github.InertStream):
        sys.stdout.command(line)
    else:
        click.echo(line)


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _terminate(signum: int, frame: Any) -> NoReturn:
    raise KeyboardInterrupt  # so `finally` blocks remove containers


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, _terminate)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        # Nothing printed from here on (paths, names, messages from a submission)
        # can become a workflow command; grade's own go through _workflow_command.
        sys.stdout = github.InertStream(sys.stdout)
        sys.stderr = github.InertStream(sys.stderr)
    try:
        cli.main(args=argv, prog_name="grade", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.Abort:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except GraderError as e:
        # Messages may quote paths that are not UTF-8 (surrogate escapes).
        click.echo(f"grade: error: {printable(safe_text(str(e), 10_000))}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted; sandbox containers were removed", err=True)
        sys.exit(130)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


if __name__ == "__main__":
    main()
