"""grade validate's static pass over pytest checks (authoring/code_lint.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from grader.authoring.validate import validate_spec


def validate(tmp_path: Path, source: str, partial: bool = False) -> list[str]:
    folder = tmp_path / "ex"
    folder.mkdir(exist_ok=True)
    body = textwrap.indent(textwrap.dedent(source), "      ")
    (folder / "exercise.yaml").write_text(
        f"id: ex\ntitle: T\nchecks:\n  - name: code\n    partial: "
        f"{'true' if partial else 'false'}\n    pytest: |\n{body}", encoding="utf-8")
    return [p.problem for p in validate_spec(folder / "exercise.yaml").problems]


def test_a_sound_check_has_no_problems(tmp_path: Path) -> None:
    assert validate(tmp_path, """\
        import json
        import pytest

        LIMIT = 3

        @pytest.fixture(name="home")
        def _home(client):
            return client.get("/")

        @pytest.mark.parametrize("n, m", [(1, 2)])
        def test_x(home, n, m, score, request, flag=True):
            assert json.loads("[1]") and n < LIMIT and len(str(m))

        @pytest.mark.parametrize("k", [1])
        class TestY:
            @pytest.mark.points(2)
            def test_y(self, client, k):
                for i in range(k):
                    assert i >= 0
        """, partial=True) == []


def test_every_problem_is_found_with_its_line(tmp_path: Path) -> None:
    problems = validate(tmp_path, """\
        import pytest

        @pytest.mark.parametrise("n", [1])
        def test_x(clinet, n):
            assert undefined_thing(n)

        @pytest.mark.points(2)
        def test_y(data, score):
            pass
        """)
    assert problems == [
        "line 3: pytest.mark.parametrise is not a mark grade knows (parametrize, skip, "
        "skipif, xfail, usefixtures, points); did you mean 'parametrize'?",
        "line 4: asks for fixture 'clinet', which no one provides (grade's: client, app, "
        "database, data, source, score; or define it with @pytest.fixture); did you mean "
        "'client'?",
        "line 4: asks for fixture 'n', which no one provides (grade's: client, app, "
        "database, data, source, score; or define it with @pytest.fixture)",
        "line 5: name 'undefined_thing' is not defined anywhere in the code",
        "line 7: a points mark weighs a test only with partial: true; without it the check "
        "is all or nothing",
        f"line 8: asks for the data fixture, but {tmp_path / 'ex'} has no data/ folder",
        "the score fixture gives partial credit only with partial: true",
    ]
