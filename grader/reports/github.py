"""GitHub Actions output: the job summary, ``::error`` annotations, step outputs, ``Points x/y``.

Everything the student's code produced is untrusted here: workflow-command
data is %-escaped (so it cannot start a command of its own), Markdown is
escaped and kept to one line. Checks are rendered as a student may see them
(visibility.py): a hidden check keeps its name, points, status and hint.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from grader.common.text import CONTROL, one_line
from grader.grading.scoring import CheckResult
from grader.grading.status import Status
from grader.reports.verdict import ExerciseVerdict
from grader.reports.visibility import for_student

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")
# Markdown's marks; the terminal's plain ones are terminal.MARKS.
EMOJI: dict[Status, str] = {"passed": "✅", "failed": "❌", "error": "❌", "timeout": "⏱️"}


def points_line(verdicts: Sequence[ExerciseVerdict]) -> str:
    """``Points x/y`` over every exercise, for people and for tools that parse logs."""
    score = round(sum(v.result.score for v in verdicts), 2)
    top = round(sum(v.result.max_score for v in verdicts), 2)
    return f"Points {score:g}/{top:g}"


# -- workflow commands ----------------------------------------------------------------------

# A runner reads a line as a command when it starts, after blanks, with "::" (or the
# older "##["). A zero-width space in front keeps the line as it reads, and inert.
_COMMAND_START = re.compile(r"^([ \t]*)(::|##\[)", re.MULTILINE)


def inert(text: str) -> str:
    """*text* with no line that a CI runner would take as a workflow command."""
    return _COMMAND_START.sub("\\1\u200b\\2", text)


class InertStream:
    """A text stream whose every line is made inert; :meth:`command` writes one of ours.

    ``grade`` wraps stdout and stderr in it on GitHub Actions, so no text from a
    submission (a path, a folder name, an error message) can become a command,
    wherever it is printed.
    """

    def __init__(self, raw: TextIO) -> None:
        self.raw = raw
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        done, newline, self._pending = self._pending.rpartition("\n")
        if newline:
            self.raw.write(inert(done + newline))
        return len(text)

    def command(self, line: str) -> None:
        """Write a workflow command of grade's own, as is."""
        self.flush()
        self.raw.write(line + "\n")
        self.raw.flush()

    def flush(self) -> None:
        if self._pending:
            self.raw.write(inert(self._pending))
            self._pending = ""
        self.raw.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def error_annotations(verdicts: Sequence[ExerciseVerdict]) -> list[str]:
    """``::error`` lines: at file:line for a submission that did not load, else per exercise."""
    lines = []
    for v in verdicts:
        r = for_student(v.result)
        title = f"{r.exercise}: {r.score:g}/{r.max_score:g} points"
        if r.problem is not None:
            p = r.problem
            props = {"title": f"{title} ({p.kind})"}
            where = _repo_file(v, p.file)
            if where is not None and p.line is not None:
                props |= {"file": where, "line": str(p.line)}
                if p.offset is not None:
                    props["col"] = str(p.offset)
            message = one_line(f"{p.kind}: {p.message}", 1000)
            # The line, and the caret under the column; each its own line, like a traceback.
            message += "".join(f"\n    {one_line(line, 300)}" for line in p.excerpt())
            lines.append(_command("error", props, message))
        elif not v.ok:
            failed = [c.name for c in r.checks if c.status != "passed"]
            props = {"title": title} | ({"file": v.path} if v.is_file else {})
            lines.append(_command("error", props, f"below the required {v.required:g} points; "
                                  "not passed: " + one_line(", ".join(failed), 1000)))
    return lines


def _command(kind: str, props: dict[str, str], message: str) -> str:
    shown = ",".join(f"{k}={escape_property(v)}" for k, v in props.items())
    return f"::{kind} {shown}::{escape_data(message)}"


def _repo_file(v: ExerciseVerdict, file: str | None) -> str | None:
    """The repository path of a file the agent named (relative to the submission), if sane."""
    if not file or file.startswith("/") or "\\" in file or CONTROL.search(file):
        return None
    parts = Path(file).parts
    if ".." in parts:
        return None
    base = v.path.rstrip("/")
    if v.is_file:
        base = str(Path(base).parent)
        return (Path(base) / file).as_posix() if base != "." else Path(file).as_posix()
    return f"{base}/{Path(file).as_posix()}"


# -- the job summary --------------------------------------------------------------------------


def md(text: str, limit: int = 300) -> str:
    """Untrusted text as inert one-line Markdown."""
    escaped = _MARKDOWN.sub(r"\\\1", one_line(text, limit))
    return html.escape(escaped, quote=False)


def job_summary(verdicts: Sequence[ExerciseVerdict], source: str, note: str = "") -> str:
    """Markdown for ``$GITHUB_STEP_SUMMARY``: a table, then each exercise's checks."""
    ok = all(v.ok for v in verdicts)
    lines = [f"## grade: {points_line(verdicts)} {'✅' if ok else '❌'}", "",
             "| exercise | submission | points | needed | status |",
             "|---|---|---|---|---|"]
    for v in verdicts:
        r = v.result
        lines.append(f"| {md(r.exercise)} · {md(r.title)} | `{_code(v.path)}` | "
                     f"{r.score:g}/{r.max_score:g} | {v.required:g} | "
                     f"{EMOJI[r.status]} {r.status} |")
    for v in verdicts:
        r = for_student(v.result)
        lines += ["", f"### {md(r.exercise)} · {md(r.title)}: {r.score:g}/{r.max_score:g}", ""]
        if r.problem is not None:
            lines.append(f"**{md(r.problem.headline(), 500)}**")
            lines.append("")
        lines += [_check_line(c, r.problem is None) for c in r.checks]
    lines += ["", f"Checks from {md(source)}; spec sha256: "
              + ", ".join(f"{md(v.result.exercise)} `{v.result.spec_sha256[:16]}`"
                          for v in verdicts) + "."]
    if note:
        lines.append(f"Sandbox: {md(note, 400)}")
    return "\n".join(lines) + "\n"


def _check_line(c: CheckResult, loaded: bool) -> str:
    line = f"- {EMOJI[c.status]} {md(c.name)} ({c.points:g}/{c.max_points:g})"
    if c.status == "passed" or not loaded:
        return line
    line += f": {md(c.message)}"
    if c.hint:
        line += f" *Hint: {md(c.hint)}*"
    return line


def _code(text: str) -> str:
    # In a table a | ends the cell even inside backticks; GitHub's Markdown takes \| there.
    return one_line(text, 200).replace("`", "'").replace("|", "\\|")


def step_outputs(verdicts: Sequence[ExerciseVerdict]) -> str:
    """``$GITHUB_OUTPUT`` lines: points, max-points, passed."""
    score = round(sum(v.result.score for v in verdicts), 2)
    top = round(sum(v.result.max_score for v in verdicts), 2)
    passed = "true" if all(v.ok for v in verdicts) else "false"
    return f"points={score:g}\nmax-points={top:g}\npassed={passed}\n"


def append(path: Path, text: str) -> None:
    """Append to a file GitHub gave us (the summary and outputs files are shared by steps)."""
    # errors="replace": results are made safe when built; this keeps a stray surrogate
    # from losing the step's summary.
    with path.open("a", encoding="utf-8", errors="replace") as fh:
        fh.write(text)
