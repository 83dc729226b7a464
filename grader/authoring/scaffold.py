"""``grade new``: a new exercise folder that validates and self-tests green at once.

The files are a small but complete exercise (a spec with two checks, a
solution, a starter, a student README and a mutant per check) for the author
to rewrite. They are written to a temporary folder and validated there first, so
a bad id or title never leaves a half-made exercise behind.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import tempfile
from pathlib import Path

from grader.authoring.selftest import MUTANTS_DIR, MUTANTS_MANIFEST
from grader.authoring.validate import README_MARKER, validate_spec
from grader.common.data_files import data_path
from grader.errors import UsageError
from grader.spec.exercise import SPEC_FILENAME

SCHEMA_FILENAME = "exercise.schema.json"


def default_directory() -> Path:
    """Where new exercises go: the first folder of $GRADE_EXERCISES, else ./exercises."""
    listed = [p for p in os.environ.get("GRADE_EXERCISES", "").split(os.pathsep) if p]
    return Path(listed[0]) if listed else Path("exercises")


def new_exercise(exercise_id: str, title: str, directory: Path) -> Path:
    """Create ``directory/exercise_id`` and return it."""
    if not exercise_id or Path(exercise_id).name != exercise_id or exercise_id[0] == ".":
        raise UsageError(f"{exercise_id!r} is not an exercise id; use lowercase letters, "
                         "digits, '-' and '_', e.g. ex09")
    title = title.strip()
    if not title or any(ch in title for ch in "\r\n\t") or not title.isprintable():
        raise UsageError(f"--title {title!r}: give a one-line title, e.g. --title 'Hello route'")
    target = directory / exercise_id
    if target.exists() or target.is_symlink():
        raise UsageError(f"{target} already exists; choose another id, or remove the folder "
                         "to start again")
    files = render(exercise_id, title)
    with tempfile.TemporaryDirectory(prefix="grade-new-") as tmp:
        draft = Path(tmp) / exercise_id
        _write(draft, files)
        _copy_schema(Path(tmp))
        problems = validate_spec(draft / SPEC_FILENAME).problems
        if problems:
            details = "; ".join(f"{p.field or 'spec'}: {p.problem}" for p in problems)
            raise UsageError(f"cannot create exercise {exercise_id!r}: {details}")
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copytree(draft, target)
    _copy_schema(directory)
    return target


def _write(folder: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _copy_schema(directory: Path) -> None:
    """Put the JSON Schema next to the exercises, where their modeline points."""
    dest = directory / SCHEMA_FILENAME
    source = data_path("exercises") / SCHEMA_FILENAME
    if not dest.exists() and source.is_file():
        shutil.copyfile(source, dest)


def render(exercise_id: str, title: str) -> dict[str, str]:
    """The files of a new exercise, by path relative to its folder.

    The mutants are patches against the solution (authoring/patches.py), so
    they stay a few lines each and follow the solution when it is rewritten.
    """
    greeting = f"Hello from {exercise_id}!"
    values = {"id": exercise_id, "title": title, "greeting": greeting,
              "title_yaml": json.dumps(title, ensure_ascii=False),
              "greeting_yaml": json.dumps(greeting), "greeting_py": repr(greeting),
              "wrong_py": repr(greeting.rstrip("!"))}
    files = {name: text.format(**values) for name, text in _TEMPLATES.items()}
    solution = files["solution.py"]
    files[f"{MUTANTS_DIR}/no_bang.diff"] = _diff(solution, solution.replace(
        values["greeting_py"], values["wrong_py"]))
    files[f"{MUTANTS_DIR}/wrong_route.diff"] = _diff(solution, solution.replace(
        '@app.route("/")', '@app.route("/hello")'))
    return files


def _diff(solution: str, mutant: str) -> str:
    return "".join(difflib.unified_diff(solution.splitlines(keepends=True),
                                        mutant.splitlines(keepends=True),
                                        "solution.py", "solution.py", n=1))


_SPEC = """\
# yaml-language-server: $schema=../exercise.schema.json
# {id}: {title}. The spec language: spec-language.md in the folder `grade docs` prints.
id: {id}
title: {title_yaml}
summary: "GET / answers {greeting}"
solution: solution.py
starter: starter.py
readme: README.md
limits:
  time: 30
checks:
  - name: home page answers 200
    points: 1
    hint: Define a view function for "/" with @app.route("/").
    request: {{path: /}}
    expect: {{status: 200}}

  - name: home page says hello
    points: 2
    hint: Return exactly the text {greeting}
    request: {{path: /}}
    expect:
      status: 200
      body: {greeting_yaml}
"""

_SOLUTION = """\
from flask import Flask

app = Flask(__name__)


@app.route("/")
def home():
    return {greeting_py}


if __name__ == "__main__":
    app.run(debug=True)
"""

_STARTER = """\
from flask import Flask

app = Flask(__name__)


@app.route("/")
def home():
    # TODO: return the text {greeting_py}.
    return "TODO"


if __name__ == "__main__":
    app.run(debug=True)
"""

_README = README_MARKER + """
# {id}: {title}

## Task

Write a Flask app whose home page (`/`) answers `{greeting}`.
Start from `starter.py`: copy it to `app.py` and fix the `TODO`.

## What is checked

- `GET /` answers with status 200.
- The body is exactly `{greeting}`.
- Your file imports without errors and defines a Flask app
  (a module-level `app`, or a `create_app()` factory).

## Run it locally

```bash
pip install flask
python app.py          # or: flask --app app run --debug
```

## Grade it

```bash
grade submit {id} app.py
```
"""

_MANIFEST = """\
# Known-wrong variants of solution.py. `grade selftest {id}` grades each one and
# fails if it passes a check listed under `fails`.
# Each is a patch against solution.py (a unified diff: `diff -u solution.py
# mine.py > mutants/mine.diff`); a full copy (mine.py) or a folder works too.
mutants:
  - path: no_bang.diff
    why: the greeting misses its "!"
    fails: [home page says hello]

  - path: wrong_route.diff
    why: the view answers /hello, so / is a 404
    fails: [home page answers 200, home page says hello]
"""

_TEMPLATES = {
    SPEC_FILENAME: _SPEC,
    "solution.py": _SOLUTION,
    "starter.py": _STARTER,
    "README.md": _README,
    f"{MUTANTS_DIR}/{MUTANTS_MANIFEST}": _MANIFEST,
}
