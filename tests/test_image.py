"""Tests for grader.image: the pure helpers, plus one real build-and-run check."""

from __future__ import annotations

import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import pytest

from grader.common.data_files import data_path
from grader.errors import ImageBuildError
from grader.sandbox import image as image_module
from grader.sandbox.image import (
    DEFAULT_MIRROR,
    SANDBOX_FILES,
    ImageInfo,
    PythonTarget,
    cache_root,
    debian_mirror,
    ensure_image,
    image_tag,
    parse_mirror,
    parse_probe,
    wheel_cache_key,
)

X86 = PythonTarget(version="3.11", machine="x86_64", glibc="2.36")


@pytest.fixture
def sandbox_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "sandbox"
    shutil.copytree(data_path("sandbox"), folder)
    return folder


# --- image_tag ------------------------------------------------------------


def test_image_tag_format_and_default_folder() -> None:
    tag = image_tag()
    assert re.fullmatch(r"grade-sandbox:[0-9a-f]{12}", tag)
    assert image_tag(data_path("sandbox")) == tag


def test_image_tag_is_stable_for_a_copy(sandbox_copy: Path) -> None:
    assert image_tag(sandbox_copy) == image_tag()


@pytest.mark.parametrize("name", SANDBOX_FILES)
def test_image_tag_changes_when_a_sandbox_file_changes(sandbox_copy: Path, name: str) -> None:
    before = image_tag(sandbox_copy)
    with (sandbox_copy / name).open("a", encoding="utf-8") as f:
        f.write("\n# edited\n")
    assert image_tag(sandbox_copy) != before


def test_image_tag_ignores_files_that_are_not_in_the_image(sandbox_copy: Path) -> None:
    before = image_tag(sandbox_copy)
    (sandbox_copy / "NOTES.md").write_text("not copied into the image\n", encoding="utf-8")
    assert image_tag(sandbox_copy) == before


def test_image_tag_notices_a_missing_file(sandbox_copy: Path) -> None:
    before = image_tag(sandbox_copy)
    (sandbox_copy / "agent.py").unlink()
    assert image_tag(sandbox_copy) != before


# --- apt mirror -----------------------------------------------------------

DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example.org/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://security.example.org/debian-security
Suites: bookworm-security
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # deb822: the first URIs line wins, comments skipped
        (DEB822, "http://mirror.example.org/debian"),
        # one-line format
        ("deb http://ftp.de.debian.org/debian bookworm main\n", "http://ftp.de.debian.org/debian"),
        # one-line format with [options]
        (
            "deb [arch=amd64 signed-by=/k.gpg] http://m.example/d bookworm main",
            "http://m.example/d",
        ),
        # commented-out and deb-src lines are not archives for debootstrap
        ("# deb http://old.example/debian bookworm main\ndeb-src http://s.example/d x\n", None),
        # nothing at all
        ("", None),
    ],
)
def test_parse_mirror(text: str, expected: str | None) -> None:
    assert parse_mirror(text) == expected


def test_debian_mirror_prefers_env_then_sources_then_default(tmp_path: Path) -> None:
    sources = tmp_path / "debian.sources"
    sources.write_text(DEB822, encoding="utf-8")
    missing = tmp_path / "sources.list"
    env = {"GRADE_DEBIAN_MIRROR": "http://env.example/debian"}
    assert debian_mirror(env, [missing, sources]) == "http://env.example/debian"
    assert debian_mirror({}, [missing, sources]) == "http://mirror.example.org/debian"
    assert debian_mirror({}, [missing]) == DEFAULT_MIRROR


# --- wheel cache ----------------------------------------------------------


def test_wheel_cache_key_is_stable_and_tracks_every_input() -> None:
    key = wheel_cache_key(b"flask==3.1.3\n", X86)
    assert key == wheel_cache_key(b"flask==3.1.3\n", X86)
    assert key.startswith("cp311-x86_64-")
    others = {
        wheel_cache_key(b"flask==3.1.2\n", X86),
        wheel_cache_key(b"flask==3.1.3\n", PythonTarget("3.12", "x86_64", "2.36")),
        wheel_cache_key(b"flask==3.1.3\n", PythonTarget("3.11", "aarch64", "2.36")),
        wheel_cache_key(b"flask==3.1.3\n", PythonTarget("3.11", "x86_64", "2.28")),
    }
    assert key not in others and len(others) == 4


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"GRADE_CACHE_DIR": "/c/grade", "XDG_CACHE_HOME": "/x"}, "/c/grade"),  # explicit wins
        ({"XDG_CACHE_HOME": "/x"}, "/x/grade"),  # XDG next
        ({}, "/home/u/.cache/grade"),  # then ~/.cache
    ],
)
def test_cache_root(env: dict[str, str], expected: str) -> None:
    assert cache_root(env, Path("/home/u")) == Path(expected)


def test_platforms_cover_manylinux_up_to_the_images_glibc() -> None:
    tags = X86.platforms()
    assert tags[0] == "manylinux2014_x86_64"
    assert {"manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "manylinux_2_36_x86_64"} <= set(tags)
    assert "manylinux_2_37_x86_64" not in tags


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("3.11 x86_64 2.36\n", X86),  # Debian bookworm / python:3.11-slim
        ("3.11 aarch64 2.36", PythonTarget("3.11", "aarch64", "2.36")),  # arm64 hosts
    ],
)
def test_parse_probe(output: str, expected: PythonTarget) -> None:
    assert parse_probe(output, "base") == expected


@pytest.mark.parametrize("output", ["3.11 x86_64 -", "", "Traceback ..."])  # musl, silence, junk
def test_parse_probe_rejects_non_glibc_output(output: str) -> None:
    with pytest.raises(ImageBuildError, match="GRADE_BASE_IMAGE"):
        parse_probe(output, "alpine:3")


# --- ensure_image with a fake engine ----------------------------------------


@dataclass
class FakeImage:
    id: str
    labels: dict[str, str]


@dataclass
class FakeImages:
    present: dict[str, FakeImage]
    asked: list[str] = field(default_factory=list)

    def get(self, ref: str) -> FakeImage:
        self.asked.append(ref)
        if ref not in self.present:
            raise docker.errors.ImageNotFound(ref)
        return self.present[ref]

    def pull(self, repository: str, tag: str | None = None) -> FakeImage:
        self.asked.append(f"pull {repository}:{tag}")
        raise docker.errors.APIError("no such host: registry-1.docker.io")


@dataclass
class FakeClient:
    images: FakeImages


def test_ensure_image_returns_an_existing_image_without_building(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GRADE_BASE_IMAGE", raising=False)
    tag = image_tag()
    image = FakeImage("sha256:abc", {"grade.sandbox.base": "grade-base:bookworm"})
    client: Any = FakeClient(FakeImages({tag: image}))
    messages: list[str] = []
    info = ensure_image(client, messages.append)
    assert info == ImageInfo(tag=tag, id="sha256:abc", base="grade-base:bookworm")
    assert client.images.asked == [tag] and messages == []


def test_no_registry_and_no_debootstrap_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRADE_BASE_IMAGE", raising=False)
    monkeypatch.delenv("GRADE_DEBIAN_SUITE", raising=False)
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    client: Any = FakeClient(FakeImages({}))
    messages: list[str] = []
    with pytest.raises(ImageBuildError) as caught:
        ensure_image(client, messages.append)
    for advice in ("apt-get install debootstrap", "sudo grade image build", "GRADE_BASE_IMAGE"):
        assert advice in str(caught.value)
    assert "pull python:3.11-slim" in client.images.asked
    assert any("grade-base:bookworm" in message for message in messages)


def test_graders_started_together_build_the_image_once(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    """Two ensure_image at once on a machine without the image: one builds, one waits."""
    monkeypatch.delenv("GRADE_BASE_IMAGE", raising=False)
    monkeypatch.setenv("GRADE_CACHE_DIR", str(tmp_path / "cache"))
    tag = image_tag()
    client: Any = FakeClient(FakeImages({}))
    builds: list[str] = []
    building, release = threading.Event(), threading.Event()

    def fake_build(client: Any, folder: Path, wheels: list[Path], tag: str, base: str,
                   progress: Any, *, fresh: bool, extra: bytes) -> ImageInfo:
        builds.append(tag)
        building.set()
        assert release.wait(30)
        client.images.present[tag] = FakeImage(f"sha256:{len(builds)}", {
            "grade.sandbox.base": base})
        return ImageInfo(tag, f"sha256:{len(builds)}", base)

    monkeypatch.setattr(image_module, "_default_base", lambda *a: "python:3.11-slim")
    monkeypatch.setattr(image_module, "_ensure_present", lambda *a: None)
    monkeypatch.setattr(image_module, "_probe_python", lambda *a: X86)
    monkeypatch.setattr(image_module, "_wheel_cache", lambda *a: tmp_path)
    monkeypatch.setattr(image_module, "_build", fake_build)
    got: list[ImageInfo] = []
    waiting: list[str] = []
    first = threading.Thread(target=lambda: got.append(ensure_image(client, print)))
    first.start()
    assert building.wait(30)  # the first grader is building now
    second = threading.Thread(target=lambda: got.append(ensure_image(client, waiting.append)))
    second.start()
    end = time.monotonic() + 30
    while not waiting and len(builds) < 2 and time.monotonic() < end:
        time.sleep(0.01)  # until the second waits (it says so first) or builds too
    release.set()
    first.join(30)
    second.join(30)
    assert builds == [tag]
    assert got == [ImageInfo(tag, "sha256:1", "python:3.11-slim")] * 2
    assert waiting == [f"waiting for another grader building {tag}"]


# --- the real thing ---------------------------------------------------------


@pytest.mark.docker
def test_built_image_imports_the_flask_stack_as_an_unprivileged_user(
    docker_client: docker.DockerClient, no_leftover_containers: None
) -> None:
    client = docker_client
    info = ensure_image(client, print)
    assert info.tag == image_tag() and info.id.startswith("sha256:")
    modules = ("flask, flask_sqlalchemy, flask_wtf, flask_login, flask_migrate, sqlite3, "
               "flask_bootstrap, flask_cors, flask_moment, dotenv, email_validator")
    script = f"import os, {modules}; print('ok', os.getuid(), os.access('/opt/grade', os.W_OK))"
    container = client.containers.run(
        info.tag,
        ["python3", "-c", script],
        user="10001:10001",
        network_mode="none",
        read_only=True,
        detach=True,
        labels={"grade.managed": "1", "grade.test": "test_image"},
    )
    try:
        status = container.wait(timeout=120)
        output = container.logs().decode()
    finally:
        container.remove(force=True)
    assert status["StatusCode"] == 0, output
    assert output.split() == ["ok", "10001", "False"]
