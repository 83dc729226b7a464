"""What several test modules share: paths, sample results, the hostile cases, test servers.

Test modules import these from here, never from one another, and conftest.py
holds fixtures only.
"""

from __future__ import annotations

import os
import socket
import socketserver
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

import grader
from grader.ci import run as ci
from grader.common.filelock import exclusive
from grader.grading import evaluator_ops, html_find
from grader.grading.compare import Assertion
from grader.grading.run import HOST_MARGIN
from grader.grading.scoring import CheckResult, GradeResult, Problem, Timings
from grader.grading.status import Status
from grader.reports import github, gradebook, junit
from grader.reports import html as report
from grader.reports.html import render_html, write_report
from grader.reports.terminal import summary
from grader.reports.verdict import ExerciseVerdict
from grader.spec.pinned import SpecSource

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"
SUBMISSIONS = Path(__file__).resolve().parent / "submissions"
HOSTILE = Path(__file__).resolve().parent / "hostile"
GRADER_FILES = str(Path(grader.__file__).resolve().parent)

GradePath = Callable[[str, Path], GradeResult]  # the grade_path fixtures: exercise id, path


# -- a graded submission, as the gradebook and the class report store it -----------------------

RESULT_CHECK_NAMES = ("greets Alice", "greets anyone (hidden)", "404 without a name")


def result_check(name: str, status: str, points: float, max_points: float,
                 **kw: Any) -> CheckResult:
    return CheckResult(id=name, name=name, kind="http", status=status,  # type: ignore[arg-type]
                       points=points, max_points=max_points,
                       message="ok" if status == "passed" else "status: expected '200', "
                       "got '404'", **kw)


def make_result(**kw: Any) -> GradeResult:
    fields: dict[str, Any] = dict(
        exercise="ex02", title="Greet route", status="failed", score=3.0, max_score=5.0,
        checks=(result_check(RESULT_CHECK_NAMES[0], "passed", 2, 2),
                result_check(RESULT_CHECK_NAMES[1], "failed", 0, 2, hidden=True,
                             hint="No hard-coding."),
                result_check(RESULT_CHECK_NAMES[2], "passed", 1, 1)),
        submission="/class/alice.py", spec_sha256="ab" * 32, image="grade-sandbox:1 (sha:1)",
        output="<script>alert(1)</script>", timings=Timings(1.25, 0.75, 0.5),
        graded_at="2024-05-01T10:00:00+00:00")
    fields.update(kw)
    return GradeResult(**fields)


# -- verdicts of `grade check`, as the JUnit and GitHub outputs render them --------------------

SECRET = "the secret expected body"
VISIBLE = "a visible expected body"
HIDDEN_HINT = "Return f'Hello, {name}!' for any name"  # the author chose to say this much


def make_check(name: str, status: str, points: float, max_points: float, message: str = "ok",
               hidden: bool = False, hint: str | None = None) -> CheckResult:
    expected = SECRET if hidden else VISIBLE
    assertions = (Assertion("body", status == "passed", expected, "Hello"),)
    return CheckResult(id=name, name=name, kind="http", status=status,  # type: ignore[arg-type]
                       points=points, max_points=max_points, message=message, hidden=hidden,
                       hint=hint, assertions=assertions, duration=0.25)


def make_verdict(checks: tuple[CheckResult, ...], status: Status = "failed",
                 problem: Problem | None = None, required: float | None = None
                 ) -> ExerciseVerdict:
    score = sum(c.points for c in checks)
    top = sum(c.max_points for c in checks)
    result = GradeResult(exercise="ex02", title="Greet route", status=status, score=score,
                         max_score=top, checks=checks, submission="/repo/greet",
                         spec_sha256="ab" * 32, image="process sandbox", problem=problem,
                         timings=Timings(1.5, 0.5, 1.0), graded_at="2026-01-01T00:00:00+00:00")
    return ExerciseVerdict(result, "greet/", False, top if required is None else required)


def student_outputs(result: GradeResult, folder: Path) -> dict[str, str]:
    """*result* as every output a student reads renders it (files written under *folder*)."""
    report.write_report(result, folder / "submit", "report")
    verdict = ExerciseVerdict(result, "repo/", False, result.max_score)
    gradebook.save(folder / "batch", result, "alice", "alice", "cd" * 32, "sha256:img", None,
                   report.environment())
    student = gradebook.student_dir(folder / "batch", "alice")
    return {
        "terminal summary": summary(result),
        "ci summary": ci.summary([verdict], SpecSource()),
        "junit": junit.to_xml([verdict]),
        "github job summary": github.job_summary([verdict], "the installed grade package"),
        "html report": (folder / "submit" / "report.html").read_text(encoding="utf-8"),
        "report json": (folder / "submit" / "report.json").read_text(encoding="utf-8"),
        "batch html report": (student / gradebook.REPORT_FILE).read_text(encoding="utf-8"),
        "gradescope results.json": (student / gradebook.GRADESCOPE_FILE).read_text(
            encoding="utf-8"),
    }


SAMPLE_CHECKS = (
    make_check("greets Alice", "failed", 0, 2, f"body: expected {VISIBLE!r}, got 'Hi'",
               hint="Use a variable part"),
    make_check("greets any name", "failed", 0, 2, f"body: expected {SECRET!r}", hidden=True,
               hint=HIDDEN_HINT),
    make_check("404 without a name", "passed", 1, 1),
    make_check("answers in time", "timeout", 0, 1, "timed out after 5 s"),
    make_check("partial", "failed", 1.5, 3, "2 of 4 assertions"),
)


# -- hostile submissions (tests/hostile/): each case and its honest grade ---------------------
# Graded in Docker by test_hostile.py and with `--sandbox process` by test_procsandbox.py.

MARGIN = 10.0  # seconds for container start and removal on a busy 2-core machine
QUICK = 15.0  # bound for cases that load and answer at once (they take 1-2 s)
DAEMON_MARKER = "grade-hostile-daemon-5f1c2a"  # in the daemon's command line
FORGED_NAMES = ("results.json", "grade-result.json", "report.html", "junit.xml")
FORGED_MARKER = "forged-by-hostile-ex01"  # in every file ex01_forged_results.py plants

Verify = Callable[[GradeResult, Path], None]
BugAt = Literal["score", "verify", "durations"]
ANY = "*"


# Case-specific checks, run after the common ones. They ask what the app did, so they
# read all it printed: the part a student sees and the part printed while hidden
# checks ran (where the cut falls depends on when Docker's log copier caught up).


def printed(result: GradeResult) -> str:
    """Everything the app printed, as an instructor sees it."""
    return result.output + result.hidden_output



def _bomb_hit_the_pids_limit(result: GradeResult, tmp_path: Path) -> None:
    forks = int(printed(result).split("the first process forked ", 1)[1].split()[0])
    assert 0 < forks < 64


def _bounded_output(result: GradeResult, tmp_path: Path) -> None:
    assert result.output_truncated
    assert 0 < len(result.output) <= 64 * 1024 + 1024


def _network_was_unreachable(result: GradeResult, tmp_path: Path) -> None:
    assert "TCP to 1.1.1.1:53 failed" in printed(result)
    assert "DNS lookup of pypi.org failed" in printed(result)
    assert "worked" not in printed(result)


def _forged_files_stayed_inside(result: GradeResult, tmp_path: Path) -> None:
    # The sandbox's own tmpfs takes the files; nothing that reaches the host does.
    for shared in ("/grade", "/submission", "/opt/grade", "/results.json"):
        assert f"WROTE:{shared}" not in printed(result)
    assert "CHMOD-OK" not in printed(result)
    assert "CHMOD-DENIED:/grade" in printed(result)
    host_places = [Path.cwd(), Path(tempfile.gettempdir()), Path.home(), tmp_path]
    planted = [p / n for p in host_places for n in FORGED_NAMES
               if (p / n).is_file() and FORGED_MARKER.encode() in (p / n).read_bytes()]
    assert not planted, f"result files appeared on the host: {planted}"


def _relay_held(result: GradeResult, tmp_path: Path) -> None:
    out = printed(result)
    assert "RELAYS:" in out, out
    for attack in ("FD-OK", "KILL-OK", "SOCK-OK"):
        assert attack not in out, out


def _pytest_was_not_reachable(result: GradeResult, tmp_path: Path) -> None:
    assert "pytest is not importable here" in printed(result)


def _daemon_died_with_the_container(result: GradeResult, tmp_path: Path) -> None:
    assert "DAEMON-STARTED" in printed(result)  # it really ran
    assert "DAEMON-BIND-DENIED /grade/evil.sock" in printed(result)
    deadline = time.monotonic() + 3.0
    while (alive := processes_with(DAEMON_MARKER)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive, f"the daemon outlived its sandbox: pids {alive}"


def _specs_were_not_found(result: GradeResult, tmp_path: Path) -> None:
    assert "FOUND:" not in printed(result)
    assert "NOTHING-FOUND" in printed(result)
    scanned = int(printed(result).split("SCANNED: ", 1)[1].split()[0])
    assert scanned > 1000, "the search did not really walk the file system"


def _report_escapes_script(result: GradeResult, tmp_path: Path) -> None:
    assert '<script>alert("xss")</script>' in printed(result)  # the raw text reached us
    html = render_html(result)
    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert(" in html


def _no_privileges_gained(result: GradeResult, tmp_path: Path) -> None:
    out = printed(result)
    assert "SETUID-DENIED" in out and "SETUID-OK" not in out
    assert "PASSWD-DENIED" in out and "PASSWD-WRITTEN" not in out
    assert "SECRET-FILE:" not in out
    assert "IDS: uid=10001 euid=10001" in out
    canary = os.environ["GRADE_HOSTILE_CANARY"]
    assert "ENVIRON:1:" in out and canary not in out  # the host's environment stays out


def _points_at_the_line(result: GradeResult, tmp_path: Path) -> None:
    assert result.problem is not None
    assert (result.problem.file, result.problem.line) == ("ex01_syntax_error.py", 9)
    assert result.problem.text == "def hello(:"


def _forgery_ran(marker: str) -> Verify:
    """The forgery really ran (so its honest score proves the defence, not a dud)."""
    def verify(result: GradeResult, tmp_path: Path) -> None:
        assert f"FORGE: {marker}" in result.output, result.output[-2000:]
    return verify


def _summary_is_plain_text(result: GradeResult, tmp_path: Path) -> None:
    text = summary(result)
    controls = sorted({repr(ch) for ch in text if ch != "\n" and (ord(ch) < 32 or ch == "\x7f")})
    assert not controls, f"`grade submit` would print control characters {controls}"


def _hidden_inputs_stay_hidden(secrets: tuple[str, ...], first_hidden: str, last_visible: str
                               ) -> Verify:
    """The app printed every request: no student output shows a hidden check's request."""

    def verify(result: GradeResult, tmp_path: Path) -> None:
        for name, text in student_outputs(result, tmp_path / "outputs").items():
            leaked = [s for s in secrets if s in text]
            assert not leaked, f"the {name} shows hidden inputs {leaked}"
        # What it printed before them is shown: this line, printed at import, had the
        # load and every visible check (4 or more requests) to reach the host.
        assert "LOG-STARTED" in result.output
        assert first_hidden in result.hidden_output  # instructors keep the rest
        assert first_hidden not in result.output
        # Hidden checks ran last: the spec's last visible request came before the first
        # hidden one (the cut may fall before a visible line still on its way, never after).
        everything = printed(result)
        assert everything.index(last_visible) < everything.index(first_hidden)

    return verify


def _writes_small_clean_reports(result: GradeResult, tmp_path: Path) -> None:
    """Issue 9: reports written, under 1 MB together, UTF-8, no grader traceback or blame."""
    shown = write_report(result, tmp_path / "reports", "r")
    files = list((tmp_path / "reports").iterdir())
    assert sum(f.stat().st_size for f in files) < 1_000_000
    texts = [f.read_bytes().decode("utf-8") for f in files] + [summary(shown)]
    for text in texts:
        assert GRADER_FILES not in text  # a traceback through the grader's own files
        assert "the grader failed" not in text
    assert all(len(c.message) <= 2100 for c in result.checks)
    if result.problem is None:  # a check the grader could not run would be "error"
        assert all(c.status != "error" for c in result.checks)


def _no_huge_names(result: GradeResult, tmp_path: Path) -> None:
    _writes_small_clean_reports(result, tmp_path)
    assert all("no model class named User" in c.message or c.hidden for c in result.checks)


def _corruption_named(result: GradeResult, tmp_path: Path) -> None:
    _writes_small_clean_reports(result, tmp_path)
    assert sum("database disk image is malformed" in c.message for c in result.checks) == 5


def _surrogates_replaced(result: GradeResult, tmp_path: Path) -> None:
    _writes_small_clean_reports(result, tmp_path)
    assert result.problem is not None and "\ufffd" in result.problem.message
# issue 9, the host's work is bounded: checks for those cases.

HOSTILE_EXERCISES = HOSTILE / "exercises"  # specs only hostile cases use, named by folder


def _timeouts_name_the_regex(result: GradeResult, tmp_path: Path) -> None:
    late = [c for c in result.checks if c.status == "timeout"]
    assert late and all(c.message.startswith("matching the spec's regular expression") and
                        "took longer than the check's" in c.message for c in late), \
        [c.message for c in late]


def _cut_at_the_grading_deadline(result: GradeResult, tmp_path: Path) -> None:
    _timeouts_name_the_regex(result, tmp_path)
    # 12 s for everything: two checks take 5 s each, the last one gets what is left
    assert result.timings.total < 12 + HOST_MARGIN
    assert sum(c.duration for c in result.checks) < 12


def _timeouts_name_the_database(result: GradeResult, tmp_path: Path) -> None:
    late = {c.name: c.message for c in result.checks if c.status == "timeout"}
    assert set(late) == {"the database accepts a user",
                         "the database rejects a duplicate username"}
    assert all(m.startswith("working on the app's database (a CHECK constraint")
               for m in late.values()), late


def _refused_as_too_big(result: GradeResult, tmp_path: Path) -> None:
    accepts = next(c for c in result.checks if c.name == "the database accepts a user")
    assert accepts.assertions[-1].actual == "rejected: string or blob too big"


def _json_check_failed_honestly(result: GradeResult, tmp_path: Path) -> None:
    first = result.checks[0]
    assert (first.status, first.message.startswith("JSON body")) == ("failed", True), \
        first.message[:300]


def _report_stays_small_and_quick(result: GradeResult, tmp_path: Path) -> None:
    body = next(a for c in result.checks for a in c.assertions if a.label == "body")
    assert body.actual is not None and len(body.actual) <= 2 << 20  # the client's cap
    started = time.monotonic()
    html = render_html(result)
    assert time.monotonic() - started < 3.0  # the line diff sees clipped text only
    assert html.count('class="add"') + html.count('class="del"') < 4100


@dataclass(frozen=True)
class Case:
    exercise: str
    file: str
    score: float
    status: Status
    seconds: float  # wall-clock bound for the whole grading
    problem: str | None = None  # expected result.problem.kind; ANY: some problem
    verify: Verify | None = None
    submit_as: str | None = None  # the file name the student would have used
    bug: str | None = None  # a known grader bug ...
    bug_at: BugAt = "score"  # ... and the assertion it breaks
    # plants files in the host's shared folders (where a mode lets it), which its verify
    # looks for: one such grading at a time on this machine (see shared_folders)
    plants_shared: bool = False


CASES: dict[str, Case] = {
    # endless loop at import: the 15 s startup limit stops it
    "loop_at_import": Case("ex01", "ex01_loop_at_import.py", 0, "timeout", 15 + MARGIN,
                           problem="Timeout"),
    # endless loop in / only: both / checks time out (5 s each); the 404 check passes but
    # requires / to answer, so it scores nothing
    "loop_in_view": Case("ex01", "ex01_loop_in_view.py", 0, "timeout", 2 * 5 + MARGIN),
    # fork bomb whose children hold every pid: the app has no pid left for its server
    # thread, so it cannot be graded (0, error); the bomb stays inside the pids limit
    "fork_bomb": Case("ex01", "ex01_fork_bomb.py", 0, "error", QUICK, problem=ANY,
                      verify=_bomb_hit_the_pids_limit),
    # allocates until the 256 MiB limit: killed, reported as out of memory
    "memory_bomb": Case("ex01", "ex01_memory_bomb.py", 0, "error", QUICK,
                        problem="OutOfMemory"),
    # correct answer only if the internet is reachable; it must not be (200 + 404 = 2)
    "network": Case("ex01", "ex01_network.py", 2, "failed", QUICK,
                    verify=_network_was_unreachable),
    # plants "all passed" result files everywhere, serves a wrong body
    "forged_results": Case("ex01", "ex01_forged_results.py", 2, "failed", QUICK, plants_shared=True,
                           verify=_forged_files_stayed_inside),
    # kills the relay, forges frames into its pipes, swaps the app's socket; serves a wrong body
    "attack_relay": Case("ex01", "ex01_attack_relay.py", 2, "failed", QUICK,
                         verify=_relay_held),
    # patches pytest/unittest/__import__ in the sandbox; the checks run on the host
    "patch_pytest": Case("ex01", "ex01_patch_pytest.py", 2, "failed", QUICK,
                         verify=_pytest_was_not_reachable),
    # os._exit(0) at import
    "exit_at_import": Case("ex01", "ex01_exit_at_import.py", 0, "error", QUICK,
                           problem="Exited"),
    # ~200 MB printed at import, then a correct app: full marks, output capped at 64 KiB
    "huge_output": Case("ex01", "ex01_huge_output.py", 5, "passed", 15 + MARGIN,
                        verify=_bounded_output),
    # a double-forked, setsid daemon with its own sockets; a correct app
    "daemon": Case("ex01", "ex01_daemon.py", 5, "passed", QUICK,
                   verify=_daemon_died_with_the_container),
    # walks the whole file system for the specs; serves them if found, else a wrong body
    "find_specs": Case("ex01", "ex01_find_specs.py", 2, "failed", QUICK,
                       verify=_specs_were_not_found),
    # <script> printed and served: the HTML report must escape it
    "script_output": Case("ex01", "ex01_script_output.py", 2, "failed", QUICK,
                          verify=_report_escapes_script),
    # __repr__ returns a str subclass equal to everything, wrapping "<Nobody>":
    # both repr checks fail (11 - 2 = 9)
    "repr_str_subclass": Case("ex03", "ex03_repr_str_subclass.py", 9, "failed", QUICK),
    # reads /proc/1/environ and secrets, tries setuid(0) and /etc/passwd; wrong body
    "privileges": Case("ex01", "ex01_privileges.py", 2, "failed", QUICK,
                       verify=_no_privileges_gained),
    # does not parse: the problem points at the line, in the file the student named
    "syntax_error": Case("ex01", "ex01_syntax_error.py.txt", 0, "error", QUICK,
                         problem="SyntaxError", submit_as="ex01_syntax_error.py",
                         verify=_points_at_the_line),
    # drips a correct answer's headers over 12 s, each byte within a socket timeout:
    # both / checks must still stop at their 5 s limit; the 404 check is guarded (0)
    "slow_headers": Case("ex01", "ex01_slow_headers.py", 0, "timeout", 2 * 5 + MARGIN),
    # rewrites the agent's column description to claim String(80)/unique/not null; the
    # column facts come from the real database, so none of that check's facts count: 3 of 11
    "forged_models": Case("ex03", "ex03_forged_models.py", 3, "failed", QUICK),
    # an import error whose message is terminal control sequences faking "5/5 passed"
    "terminal_escapes": Case("ex01", "ex01_terminal_escapes.py", 0, "error", QUICK,
                             problem="RuntimeError", verify=_summary_is_plain_text),
    # -- issue 9: facts the host establishes --
    # replaces the agent's dump_db (found with gc) by a hand-made database that has the
    # constraints; the source declares plain Text, so they stay unearned: 3 of 11
    "forged_dump": Case("ex03", "ex03_forged_dump.py", 3, "failed", QUICK,
                        verify=_forgery_ran("replaced dump_db in 1")),
    # no migrations; tables and an alembic_version row made at import, `migrate` a no-op:
    # no staged migration creates the table, so only the model's table name counts (1 of 12)
    "forged_migrate": Case("ex07", "ex07_forged_migrate.py", 1, "failed", QUICK,
                           submit_as="app.py", verify=_forgery_ran("replaced migrate in 1")),
    # writes forged answers claiming a perfect model onto the control connection: they do
    # not carry the request's id, so the agent's real answers count: 3 of 11, as honest
    "control_spray": Case("ex03", "ex03_control_spray.py", 3, "failed", QUICK,
                          verify=_forgery_ran("sprayed 1 connection")),
    # a decoy User under `if False:` declares the constraints, and the dump is forged:
    # only classes that run at a module's top level declare anything (3 of 11)
    "decoy_model": Case("ex03", "ex03_decoy_model.py", 3, "failed", QUICK,
                        verify=_forgery_ran("replaced dump_db in 1")),
    # the agent's repr answers "<User NAME>" for a class with no __repr__ (3 of 11)
    "forged_repr": Case("ex03", "ex03_forged_repr.py", 3, "failed", QUICK,
                        verify=_forgery_ran("replaced repr in 1")),
    # the agent's models answer renames class Account to User: no class User exists (0)
    "forged_table": Case("ex03", "ex03_forged_table.py", 0, "failed", QUICK,
                         verify=_forgery_ran("replaced models in 1")),
    # a forged dump whose column and table names and DEFAULT are SQL aimed at the host's
    # copy: names are quoted and statements run one at a time; the facts follow the source
    "forged_names": Case("ex03", "ex03_forged_names.py", 3, "failed", QUICK,
                         verify=_forgery_ran("replaced dump_db in 1")),
    # a correct model whose dump answer is 24 MB: over the channel's cap, so the database
    # checks fail, and the next questions (repr) are still answered: 3 of 11
    "huge_dump": Case("ex03", "ex03_huge_dump.py", 3, "failed", 15 + MARGIN,
                      verify=_forgery_ran("replaced dump_db in 1")),
    # -- issue 9: no byte sequence crashes the grader; bounded output --
    # an import error whose message holds lone surrogates: shown with U+FFFD
    "surrogate_exception": Case("ex01", "ex01_surrogate_exception.py", 0, "error", QUICK,
                                problem="RuntimeError", verify=_surrogates_replaced),
    # every answer is JSON nested 100,000 deep: JSON checks fail, partial status and
    # Content-Type points stay (1.33 + 1.33)
    "deep_json": Case("ex05", "ex05_deep_json.py", 2.66, "failed", QUICK,
                      verify=_writes_small_clean_reports),
    # every answer is a 50 MB JSON document: the host keeps 2 MiB, which is not JSON
    "huge_json": Case("ex05", "ex05_huge_json.py", 2.66, "failed", 15 + MARGIN,
                      verify=_writes_small_clean_reports),
    # JSON bodies of lone surrogates; the error check only asks for a string (2.66 + 1); the
    # POST flow stops where the next request cannot be made from the answer: no partial share
    "surrogate_json": Case("ex05", "ex05_surrogate_json.py", 3.66, "failed", QUICK,
                           verify=_writes_small_clean_reports),
    # no User, one model class whose name is 12 million characters (84 MB of reports once)
    "huge_class_name": Case("ex03", "ex03_huge_class_name.py", 0, "failed", 15 + MARGIN,
                            verify=_no_huge_names),
    # a correct app setting a cookie Werkzeug quotes as "a\012b": full marks
    "newline_cookie": Case("ex02", "ex02_newline_cookie.py", 7, "passed", QUICK,
                           verify=_writes_small_clean_reports),
    # a correct model over a database whose table page is garbage: the host cannot rebuild
    # the database to establish its facts, so every check that reads it fails with the
    # corruption named; the model, table name and repr checks pass (3)
    "corrupt_database": Case("ex03", "ex03_corrupt_database.py", 3, "failed", QUICK,
                             verify=_corruption_named),
    # 200 KB of random bytes on stdout and stderr, then a correct app: full marks
    "binary_output": Case("ex01", "ex01_binary_output.py", 5, "passed", QUICK,
                          verify=_writes_small_clean_reports),
    # / answers with 10,000 headers: both / checks fail, so the guarded 404 check scores 0
    "many_headers": Case("ex01", "ex01_many_headers.py", 0, "failed", QUICK,
                         verify=_writes_small_clean_reports),
    # / writes 1xx answers then garbage, or absurd chunk sizes, on the raw socket
    "raw_responses": Case("ex01", "ex01_raw_responses.py", 0, "failed", QUICK,
                          verify=_writes_small_clean_reports),
    # right bodies under status 299/999 and odd header bytes: the 404 check passes, but it
    # requires "greets Alice", so nothing scores
    "weird_status": Case("ex02", "ex02_weird_status.py", 0, "failed", QUICK,
                         verify=_writes_small_clean_reports),
    # -- issue 9: the host's work is bounded --
    # ex04 for real: 500 KB of "<form" once made a regex backtrack for minutes; the form is
    # now found by parsing the HTML, in linear time: no form, no token, nothing greeted, and
    # the checks that nothing is greeted are guarded: 0 of 11, quickly
    "forms_ex04": Case("ex04", "ex04_forms_body.py", 0, "failed", 5 + MARGIN,
                       verify=_writes_small_clean_reports),
    # three backtracking regex checks, 5 s each, and 12 s for the whole grading: the host's
    # matching is cut at each check's limit and the last at the deadline; the 404 scores
    "regex_deadline": Case(str(HOSTILE_EXERCISES / "regex-deadline"), "ex04_forms_body.py", 1,
                           "timeout", 12 + HOST_MARGIN, verify=_cut_at_the_grading_deadline),
    # a step extracts a token with a regex that backtracks: cut at 5 s, the step after it
    # counts as failed; the 404 scores
    "regex_extract": Case(str(HOSTILE_EXERCISES / "form-token"), "ex04_forms_body.py", 1,
                          "timeout", 5 + MARGIN, verify=_timeouts_name_the_regex),
    # a CHECK constraint whose one instr() call is quadratic (minutes): each insert is cut
    # at 5 s; schema facts and NOT NULL (checked first) are earned: 11 - 1 - 2
    "quadratic_check": Case("ex03", "ex03_quadratic_check.py", 8, "timeout", 2 * 5 + MARGIN,
                            verify=_timeouts_name_the_database),
    # a CHECK that builds a 2 GB string: SQLite's length limit refuses the row instead of
    # the host allocating it: "accepts" and "duplicate" fail, NOT NULL passes: 11 - 1 - 2
    "huge_check_string": Case("ex03", "ex03_huge_check_string.py", 8, "failed", QUICK,
                              verify=_refused_as_too_big),
    # an endless recursive CTE in a trigger and in a view: triggers are dropped before the
    # host inserts and views are never read: full marks, quickly
    "endless_cte": Case("ex03", "ex03_endless_cte.py", 11, "passed", QUICK),
    # 5 MB of one-character lines after the right first line: cut at 2 MiB, the exact body
    # fails, and the report's diff stays small: 2/5
    "huge_body": Case("ex01", "ex01_huge_body.py", 2, "failed", QUICK,
                      verify=_report_stays_small_and_quick),
    # JSON nested 1,000,000 deep for a JSON expectation: parsed quickly, fails honestly; the
    # 404 scores
    # the right answer with twenty 60 KB cookies that Python's parser takes 10 s each to
    # read: dropped unread, as a browser drops cookies over 4 KiB: full marks, quickly
    "slow_cookies": Case("ex01", "ex01_slow_cookies.py", 5, "passed", QUICK),
    "json_deep": Case(str(HOSTILE_EXERCISES / "json-deep"), "json_deep.py", 1, "failed", QUICK,
                      verify=_json_check_failed_honestly),
    # -- issue 9: one visibility rule for hidden checks --
    # a correct app that prints every request (stdout and stderr): full marks, and the
    # hidden names (/greet/Bob, ...) reach no student output; the spec's last check is
    # visible (/greet/) and ran before the hidden one
    "logs_requests": Case("ex02", "ex02_logs_requests.py", 7, "passed", QUICK,
                          verify=_hidden_inputs_stay_hidden(
                              ("/greet/Bob", "Grace", "ukasz", "/greet/x?"),
                              "LOG GET /greet/Bob?", "LOG GET /greet/?")),
    # logs every form it gets; knows only alice, so the hidden login of bob fails (12 - 1);
    # username=bob&password=builder reach no student output
    "logs_form": Case("ex06", "ex06_logs_form.py", 11, "failed", QUICK,
                      verify=_hidden_inputs_stay_hidden(
                          ("bob", "builder"), "'username': 'bob'", "LOG GET /logout?")),
}


@contextmanager
def known_bug(reason: str) -> Iterator[None]:
    """Expect the assertion inside to fail because of *reason*; fail once it passes."""
    try:
        yield
    except AssertionError as e:
        pytest.xfail(f"known grader bug: {reason}: {e}")
    pytest.fail(f"the known grader bug no longer reproduces ({reason}); drop `bug` from the case")


SHARED_FOLDERS_LOCK = Path(tempfile.gettempdir()) / "grade-test-shared-folders.lock"


@contextmanager
def shared_folders(case: Case | None = None) -> Iterator[None]:
    """Hold the machine-wide lock for gradings that plant files in /tmp and the like.

    Test runs side by side (other engineers', CI jobs on one runner) would see
    each other's planted files, or remove them in their clean-up.
    """
    if case is not None and not case.plants_shared:
        yield
        return
    with exclusive(SHARED_FOLDERS_LOCK, lambda: None):
        yield


def processes_with(marker: str) -> list[int]:
    """Pids (other than ours) whose command line contains *marker*."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path("/proc", entry, "cmdline").read_bytes()
        except OSError:
            continue  # gone, or not ours to read
        if marker.encode() in cmdline:
            found.append(int(entry))
    return found


# -- real servers on unix sockets in tmp_path, standing in for a sandboxed app -----------------


class QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        pass


@contextmanager
def _serving(server: Any, sock: Path) -> Iterator[str]:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield str(sock)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def serve_wsgi(app: Any, sock: Path) -> Iterator[str]:
    """Serve *app* on the unix socket *sock* in a thread (threaded, HTTP/1.1)."""
    server = make_server(f"unix://{sock}", 0, app, threaded=True, request_handler=QuietHandler)
    with _serving(server, sock) as path:
        yield path


@contextmanager
def serve_raw(handle: Callable[[socket.socket], None], sock: Path) -> Iterator[str]:
    """A unix-socket server that hands each connection to *handle*."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            handle(self.request)

    server = socketserver.ThreadingUnixStreamServer(str(sock), Handler)
    server.daemon_threads = True
    with _serving(server, sock) as path:
        yield path


class InProcessMatcher:
    """The evaluator's own regex ops, run in this process: for tests about what they answer."""

    def found(self, pattern: str, text: str) -> bool:
        return evaluator_ops.regex_found(pattern, text)

    def value(self, pattern: str, text: str) -> str | None:
        return evaluator_ops.regex_value(pattern, text)

    def elements(self, wanted: list[html_find.Wanted], text: str) -> list[int]:
        return html_find.count_elements(text, wanted)
