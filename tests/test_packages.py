"""The sandbox's packages: the pinned list, a catalogue's extras, and a missing module."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import docker
import docker.errors
import pytest

from grader.cli import main
from grader.errors import ImageBuildError, UsageError
from grader.grading import missing_module
from grader.grading.run import grade
from grader.grading.scoring import Problem
from grader.sandbox import open_sandbox
from grader.sandbox.image import image_tag
from grader.sandbox.packages import (
    EXTRA_FILENAME,
    catalogue_requirements,
    flask_extensions,
    read_extra,
    sandbox_pins,
)
from grader.sandbox.wheels import extra_failure, missing_dependencies
from grader.spec import catalog

from .helpers import EXERCISES, GradePath

# six 1.17.0's only wheel, as PyPI publishes it: small, pure Python, no dependencies.
SIX = "six==1.17.0 --hash=sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274"
HEX = "0" * 64


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / EXTRA_FILENAME
    path.write_text(text, encoding="utf-8")
    return path


# --- the pinned list ----------------------------------------------------------


def test_the_sandbox_pins_name_each_module_an_app_imports() -> None:
    modules = {p.name: p.module for p in sandbox_pins()}
    assert modules["bootstrap-flask"] == "flask_bootstrap"
    assert modules["python-dotenv"] == "dotenv"
    assert modules["email-validator"] == "email_validator"
    assert "flask-bootstrap" not in modules  # it and Bootstrap-Flask both own flask_bootstrap


def test_the_flask_extensions_come_from_the_pinned_list() -> None:
    listed = flask_extensions(sandbox_pins())
    for module in ("flask_bootstrap", "flask_cors", "flask_moment", "flask_sqlalchemy",
                   "flask_wtf", "flask_login", "flask_migrate"):
        assert any(item.startswith(f"{module} (") for item in listed), listed
    assert not any(item.startswith("flask (") for item in listed)
    assert listed == sorted(listed)


# --- a catalogue's extra requirements ------------------------------------------


def test_a_hashed_pin_is_read_with_its_line(tmp_path: Path) -> None:
    text = f"# extras\n\nFlask_Caching==2.3.1 \\\n    --hash=sha256:{HEX}\n{SIX}\n"
    path = _write(tmp_path, text)
    extra = read_extra(path, sandbox_pins())
    assert [(p.name, p.version, p.line, p.module) for p in extra.pins] == [
        ("flask-caching", "2.3.1", 3, "flask_caching"), ("six", "1.17.0", 5, "six")]
    assert extra.plain() == b"flask-caching==2.3.1\nsix==1.17.0\n"
    assert extra.content == path.read_bytes()


def test_a_pin_of_the_sandbox_s_own_version_is_dropped(tmp_path: Path) -> None:
    extra = read_extra(_write(tmp_path, f"flask==3.1.3 --hash=sha256:{HEX}\n{SIX}\n"),
                       sandbox_pins())
    assert [p.name for p in extra.pins] == ["six"]


@pytest.mark.parametrize(("text", "words"), [
    # no hash: the fix is how to make one
    ("six==1.17.0\n", [":1:", "has no --hash", "pip-compile --generate-hashes", "pip hash"]),
    # a range instead of one version
    (f"six>=1.0 --hash=sha256:{HEX}\n", [":1:", "does not pin one version", "name==version"]),
    # an option that would fetch from elsewhere
    (f"{SIX}\n--index-url https://example.org/simple\n", [":2:", "--index-url", "not allowed"]),
    # a URL
    ("https://example.org/six.whl\n", [":1:", "does not pin one version"]),
    # a hash that is not a sha256
    ("six==1.17.0 --hash=md5:abc\n", [":1:", "--hash=md5:abc", "64 lower-case hex"]),
    # another version of a package the sandbox pins
    (f"flask==2.3.0 --hash=sha256:{HEX}\n", [":1:", "conflicts", "flask==3.1.3"]),
])
def test_a_bad_requirement_names_the_file_line_and_fix(tmp_path: Path, text: str,
                                                       words: list[str]) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(UsageError) as caught:
        read_extra(path, sandbox_pins())
    message = str(caught.value)
    assert message.startswith(str(path))
    for word in words:
        assert word in message, message


def test_the_image_tag_folds_in_the_extra_requirements(tmp_path: Path) -> None:
    plain = image_tag()
    with_six = image_tag(extra=f"{SIX}\n".encode())
    assert with_six != plain and with_six.startswith("grade-sandbox:")
    assert image_tag(extra=f"{SIX}\n".encode()) == with_six  # stable
    assert image_tag(extra=f"{SIX}\n# a comment\n".encode()) != with_six  # any byte counts
    assert image_tag(extra=b"") != plain  # an empty file is still a different catalogue


def test_the_catalogue_file_is_found_beside_the_exercise_folders(tmp_path: Path) -> None:
    one, two = tmp_path / "cat" / "ex01", tmp_path / "cat" / "ex02"
    one.mkdir(parents=True)
    two.mkdir()
    assert catalogue_requirements([one, two]) is None
    path = _write(tmp_path / "cat", f"{SIX}\n")
    assert catalogue_requirements([one, two]) == path
    other = tmp_path / "other" / "ex03"
    other.mkdir(parents=True)
    with pytest.raises(UsageError, match="different extra packages"):
        catalogue_requirements([one, other])
    assert catalogue_requirements([EXERCISES / "ex01"]) is None  # the shipped catalogue


def test_a_package_with_no_wheel_names_its_line(tmp_path: Path) -> None:
    extra = read_extra(_write(tmp_path, f"{SIX}\nnowheel==1.0 --hash=sha256:{HEX}\n"),
                       sandbox_pins())
    output = ("ERROR: Could not find a version that satisfies the requirement nowheel==1.0\n"
              "ERROR: No matching distribution found for nowheel==1.0")
    error = extra_failure(output, extra, "CPython 3.11 on x86_64")
    assert isinstance(error, UsageError)
    assert f"{extra.path}:2: nowheel==1.0 has no wheel" in str(error)
    assert "--only-binary" in str(error)
    unknown = extra_failure("ERROR: something else", extra, "here")
    assert isinstance(unknown, ImageBuildError) and "something else" in str(unknown)


def test_a_wheel_hash_mismatch_says_to_regenerate(tmp_path: Path) -> None:
    extra = read_extra(_write(tmp_path, f"{SIX}\n"), sandbox_pins())
    output = "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE."
    assert "pip-compile --generate-hashes" in str(extra_failure(output, extra, "here"))


def _wheel(folder: Path, name: str, requires: list[str]) -> None:
    with zipfile.ZipFile(folder / f"{name}-1.0-py3-none-any.whl", "w") as archive:
        lines = ["Metadata-Version: 2.1", f"Name: {name}", "Version: 1.0",
                 *(f"Requires-Dist: {r}" for r in requires), "", "the long description"]
        archive.writestr(f"{name}-1.0.dist-info/METADATA", "\n".join(lines))


def test_a_dependency_nobody_pins_is_found(tmp_path: Path) -> None:
    _wheel(tmp_path, "flask_caching", ["cachelib>=0.9", "Flask", 'pytest; extra == "test"'])
    _wheel(tmp_path, "six", ['typing; python_version < "3.5"'])
    known = [p.name for p in sandbox_pins()] + ["flask-caching", "six"]
    assert missing_dependencies(tmp_path, known) == [("flask_caching", "cachelib")]


def test_image_build_refuses_a_bad_file_before_touching_docker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")  # never reached
    path = _write(tmp_path, "six==1.17.0\n")
    with pytest.raises(SystemExit) as exited:
        main(["image", "build", "--requirements", str(path)])
    assert exited.value.code == 2
    assert f"{path}:1: six==1.17.0 has no --hash" in capsys.readouterr().err


# --- a missing module ---------------------------------------------------------


def test_a_missing_module_says_what_the_sandbox_has_and_what_to_do() -> None:
    problem = Problem("ModuleNotFoundError", "No module named 'flask_mail'", "app.py", 3)
    explained = missing_module.explain(problem, sandbox_pins())
    message = explained.message
    assert "'flask_mail'" in message and "sandbox does not have it" in message
    for item in flask_extensions(sandbox_pins()):
        assert item in message
    assert EXTRA_FILENAME in message and "instructor" in message
    assert (explained.file, explained.line, explained.kind) == ("app.py", 3, problem.kind)


def test_a_missing_submodule_of_a_package_the_sandbox_has() -> None:
    problem = Problem("ModuleNotFoundError", "No module named 'flask_bootstrap.forms'")
    message = missing_module.explain(problem, sandbox_pins()).message
    assert "bootstrap-flask 2.6.0" in message and "flask_bootstrap.forms" in message


def test_other_problems_are_left_alone() -> None:
    problem = Problem("ImportError", "cannot import name 'x' from 'flask'")
    assert missing_module.explain(problem, sandbox_pins()) is problem


def test_the_catalogue_s_extras_are_offered_too(tmp_path: Path) -> None:
    (tmp_path / "ex01").mkdir()
    _write(tmp_path, f"flask-caching==2.3.1 --hash=sha256:{HEX}\n")
    pins = missing_module.image_pins(tmp_path / "ex01")
    assert "flask_caching (flask-caching 2.3.1)" in flask_extensions(pins)


# --- for real -------------------------------------------------------------------

_EXTENSIONS_APP = '''\
import os

from dotenv import load_dotenv
from email_validator import validate_email
from flask import Flask
from flask_bootstrap import {bootstrap}
from flask_cors import CORS
from flask_moment import Moment

load_dotenv()
app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "dev")
CORS(app)
Moment(app)
{bootstrap}(app)
validate_email("ada@example.org", check_deliverability=False)


@app.route("/")
def hello():
    return "Hello, Flask World!"
'''


@pytest.mark.docker
@pytest.mark.parametrize("bootstrap", ["Bootstrap5", "Bootstrap"])  # Bootstrap: Flasky's name
def test_an_app_using_the_common_extensions_gets_full_marks(
        grade_path: GradePath, tmp_path: Path, bootstrap: str) -> None:
    app = tmp_path / "app.py"
    app.write_text(_EXTENSIONS_APP.format(bootstrap=bootstrap), encoding="utf-8")
    result = grade_path("ex01", app)
    assert result.problem is None and result.score == result.max_score, result


@pytest.mark.docker
def test_a_missing_extension_is_explained(grade_path: GradePath, tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text("from flask import Flask\nfrom flask_mail import Mail\n\n"
                   "app = Flask(__name__)\nmail = Mail(app)\n", encoding="utf-8")
    result = grade_path("ex01", app)
    assert result.problem is not None and result.problem.kind == "ModuleNotFoundError"
    assert "flask_mail" in result.problem.message
    assert "flask_cors (flask-cors" in result.problem.message
    assert result.score == 0


@pytest.mark.docker
def test_a_catalogue_s_extra_package_is_in_its_own_image(
        docker_client: docker.DockerClient, no_leftover_containers: None,
        tmp_path: Path) -> None:
    """six, downloaded by hash like any extra, and an app that imports it."""
    catalogue = tmp_path / "catalogue"
    shutil.copytree(EXERCISES / "ex01", catalogue / "ex01")
    requirements = _write(catalogue, f"# the catalogue's extra packages\n{SIX}\n")
    exercise = catalog.find("ex01", catalogue)
    assert catalogue_requirements([exercise.directory]) == requirements
    app = tmp_path / "app.py"
    app.write_text("import six\nfrom flask import Flask\n\napp = Flask(__name__)\n\n\n"
                   "@app.route('/')\ndef hello():\n"
                   "    return six.ensure_str(b'Hello, Flask World!')\n", encoding="utf-8")
    tag = image_tag(extra=requirements.read_bytes())
    try:
        with open_sandbox("docker", client=docker_client, progress=print,
                          requirements=requirements) as sandboxes:
            assert sandboxes.image.tag == tag
            result = grade(exercise, app, sandboxes)
        assert result.problem is None and result.score == result.max_score, result
        assert result.image == sandboxes.image.id or tag in result.image
    finally:
        try:
            docker_client.images.remove(tag)
        except docker.errors.APIError as e:
            print(f"could not remove {tag}: {e}")
