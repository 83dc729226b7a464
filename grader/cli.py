"""The ``grade`` command line. Thin: parse, call the library, print, exit.

This is the one place GraderError is caught and turned into an exit code:
0 full marks, 1 below full marks, 2 usage error, 3 infrastructure problem.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from grader import catalog, engine, image
from grader.errors import GraderError, SubmissionPathError
from grader.grading import ImageRef, grade
from grader.report import safe_name, write_report
from grader.results import GradeResult
from grader.sandbox import remove_orphans
from grader.terminal import printable

MARKS = {"passed": "✓", "failed": "✗", "error": "✗", "timeout": "⏱"}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="grade")
def cli() -> None:
    """Grade Flask exercises in a hardened Docker sandbox."""


@cli.command("list")
def list_cmd() -> None:
    """Show the available exercises."""
    for ex in catalog.load_all():
        click.echo(f"{ex.id}  {ex.title:<20} {ex.max_score:g} points  {ex.summary}")


@cli.command()
@click.argument("exercise")
def show(exercise: str) -> None:
    """Print an exercise's instructions."""
    ex = catalog.find(exercise)
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
def submit(exercise: str, path: Path, as_json: bool, report_dir: Path) -> None:
    """Grade PATH (a .py file or a folder) for EXERCISE."""
    ex = catalog.find(exercise)
    if not path.exists():
        raise SubmissionPathError(f"{path}: no such file or folder. Pass your app's .py file "
                                  "or the folder that holds it.")
    client = engine.connect()
    try:
        remove_orphans(client)
        info = image.ensure_image(client, progress=_progress)
        result = grade(ex, path, client, ImageRef(info.tag, info.id))
    finally:
        client.close()
    result = write_report(result, report_dir, f"{ex.id}-{safe_name(path.stem)}")
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        click.echo(summary(result))
    sys.exit(0 if result.status == "passed" else 1)


@cli.group("image")
def image_group() -> None:
    """Manage the sandbox image."""


@image_group.command("build")
@click.option("--rebuild", is_flag=True, help="Build even if the image exists.")
@click.option("--base", default=None, help="Base image (default: python:3.11-slim, or a "
              "local Debian bootstrap when no registry is reachable).")
def image_build(rebuild: bool, base: str | None) -> None:
    """Build the sandbox image (grade submit also does this on first use)."""
    client = engine.connect()
    try:
        info = image.ensure_image(client, progress=_progress, rebuild=rebuild, base=base)
    finally:
        client.close()
    click.echo(f"sandbox image ready: {info.tag} ({info.id[:19]}, base {info.base})")


def summary(result: GradeResult) -> str:
    lines = [f"{result.exercise} · {result.title}: {result.score:g}/{result.max_score:g} "
             f"points ({result.status})"]
    if result.problem is not None:
        p = result.problem
        lines.append(f"  {printable(p.headline())}")
        if p.text:
            lines.append(f"      {printable(p.text.strip())}")
    for c in result.checks:
        mark = "✓" if c.status == "passed" else MARKS.get(c.status, "✗")
        lines.append(f"  {mark} {c.name}  [{c.points:g}/{c.max_points:g}]")
        if c.status != "passed" and result.problem is None:
            lines.append(f"      {printable(c.message[:300])}")
            if c.hint:
                lines.append(f"      hint: {c.hint}")
    lines.append(f"report: {result.report}")
    return "\n".join(lines)


def _progress(message: str) -> None:
    click.echo(message, err=True)


def _terminate(signum: int, frame: Any) -> NoReturn:
    raise KeyboardInterrupt  # so `finally` blocks remove containers


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, _terminate)
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
        click.echo(f"grade: error: {e}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted; sandbox containers were removed", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
