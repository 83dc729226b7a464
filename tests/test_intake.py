"""Finding students in an LMS export, unpacking them, and refusing unsafe uploads."""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Mapping
from pathlib import Path

import pytest

from grader.batch import intake
from grader.batch.intake import Entry, Rejected, discover, unpack
from grader.errors import SubmissionPathError

APP = "from flask import Flask\napp = Flask(__name__)\n"
Member = str | bytes | tuple[str, int]  # content, or (symlink target, S_IFLNK)


def tree(root: Path, files: Mapping[str, str]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root


def make_zip(path: Path, members: Mapping[str, Member],
             compression: int = zipfile.ZIP_DEFLATED) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, content in members.items():
            if isinstance(content, tuple):  # a symlink: its target is the member's data
                info = zipfile.ZipInfo(name)
                info.create_system = 3
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, content[0])
            else:
                zf.writestr(name, content)
    return path


def entry_for(path: Path) -> Entry:
    (found,) = discover(path.parent).entries
    return found


# -- layouts -------------------------------------------------------------------


def test_each_layout_is_found_and_unpacked(tmp_path: Path) -> None:
    root = tmp_path / "class"
    tree(root, {
        "alice/app.py": APP,                                   # one folder per student
        "bob/bob-final/app.py": APP,                           # nested one level deeper
        "bob/bob-final/templates/x.html": "<p>",
        "carol.py": APP,                                       # one .py per student
        "__MACOSX/._carol.py": "junk", ".DS_Store": "junk",   # operating-system junk
        "notes.txt": "not a submission",
    })
    make_zip(root / "dave.zip", {"app.py": APP, "__MACOSX/._app.py": "junk"})
    make_zip(root / "erin.zip", {"erin/app.py": APP, "erin/.DS_Store": "x"})  # nested zip
    make_zip(root / "fay" / "upload.zip", {"app.py": APP})   # LMS: the upload in a folder
    listing = discover(root)
    assert [e.student for e in listing.entries] == ["alice", "bob", "carol", "dave", "erin",
                                                    "fay"]
    assert listing.skipped == ("notes.txt",)
    work = tmp_path / "work"
    got = {e.student: unpack(e, work / e.slug) for e in listing.entries}
    assert got["alice"] == root / "alice"
    assert got["bob"] == root / "bob" / "bob-final"
    assert got["carol"] == root / "carol.py"
    assert sorted(p.name for p in got["dave"].iterdir()) == ["app.py"]  # no junk unpacked
    assert got["erin"].name == "erin" and (got["erin"] / "app.py").read_text() == APP
    assert not (got["erin"] / ".DS_Store").exists()
    assert (got["fay"] / "app.py").is_file()


def test_names_stay_unique_and_safe(tmp_path: Path) -> None:
    root = tree(tmp_path / "class", {"alice.py": APP, "alice/app.py": APP, "a b.py": APP,
                                     "a_b.py": APP, "=cmd|x.py": APP})
    entries = discover(root).entries
    assert sorted(e.student for e in entries) == ["=cmd|x", "a b", "a_b", "alice", "alice.py"]
    slugs = [e.slug for e in entries]
    assert len(set(slugs)) == len(slugs)
    assert all("/" not in s and " " not in s and "|" not in s for s in slugs)


def test_the_output_folder_is_not_a_student_and_a_marked_folder_is_refused(tmp_path: Path) -> None:
    root = tree(tmp_path / "class", {"alice.py": APP, "grades/students/x.json": "{}",
                                     "old/.grade-batch.json": "{}", "old/gradebook.csv": ""})
    entries = discover(root, skip=[root / "grades"]).entries
    assert [(e.student, e.kind) for e in entries] == [("alice", "file"), ("old", "marked")]
    # A folder with the marker is never graded, but it gets its row, saying why.
    with pytest.raises(Rejected, match=r"old: holds \.grade-batch\.json"):
        unpack(entries[1], tmp_path / "work")


def test_not_a_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SubmissionPathError, match="not a folder"):
        discover(tmp_path / "missing")


def test_symlink_inside_the_submission_is_fine(tmp_path: Path) -> None:
    root = tree(tmp_path / "class", {"alice/app.py": APP})
    os.symlink("app.py", root / "alice" / "link.py")
    entry = entry_for(root / "alice")
    assert unpack(entry, tmp_path / "work") == root / "alice"


def test_symlink_in_zip_pointing_inside_is_skipped(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "class" / "alice.zip", {"app.py": APP, "alias.py": ("app.py", 0)})
    folder = unpack(entry_for(z), tmp_path / "work")
    assert sorted(p.name for p in folder.iterdir()) == ["app.py"]


# -- refused uploads -----------------------------------------------------------

ZIPS: list[tuple[str, dict[str, Member], str]] = [
    # zip-slip: a relative path climbing out of the target folder
    ("slip-dotdot", {"app.py": APP, "../../evil.py": "x"}, "zip-slip"),
    # zip-slip: an absolute path
    ("slip-absolute", {"/tmp/evil.py": "x"}, "zip-slip"),
    # zip-slip with Windows separators
    ("slip-backslash", {"..\\evil.py": "x"}, "zip-slip"),
    # zip-slip through a drive letter
    ("slip-drive", {"C:/evil.py": "x"}, "zip-slip"),
    # a symlink entry whose target leaves the submission
    ("link-out", {"app.py": APP, "secret": ("../../etc/passwd", 0)}, "outside the submission"),
    # a symlink entry with an absolute target
    ("link-abs", {"app.py": APP, "secret": ("/etc/passwd", 0)}, "outside the submission"),
    # a zip bomb: one member expanding a thousandfold
    ("bomb-ratio", {"app.py": APP, "big.txt": b"\0" * (2 << 20)}, "zip bomb"),
    # nothing to grade
    ("no-python", {"README.md": "hi"}, "no .py file"),
    # the same name twice
    ("duplicate", {"app.py": APP, "./app.py": APP}, "appears twice"),
]


@pytest.mark.parametrize(("name", "members", "reason"), ZIPS, ids=[z[0] for z in ZIPS])
def test_unsafe_zip_is_refused(tmp_path: Path, name: str, members: dict[str, Member],
                               reason: str) -> None:
    z = make_zip(tmp_path / "class" / f"{name}.zip", members)
    with pytest.raises(Rejected, match=reason):
        unpack(entry_for(z), tmp_path / "work")
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "class" / "evil.py").exists()


def test_zip_bomb_by_total_size_is_refused(tmp_path: Path) -> None:
    # Incompressible data, so only the total-size cap can catch it.
    members: dict[str, Member] = {f"part{i}.bin": os.urandom(1 << 20) for i in range(11)}
    z = make_zip(tmp_path / "class" / "big.zip", members | {"app.py": APP}, zipfile.ZIP_STORED)
    with pytest.raises(Rejected, match=r"unpacks to more than 10\.0 MiB"):
        unpack(entry_for(z), tmp_path / "work")


def test_zip_bomb_by_entry_count_is_refused(tmp_path: Path) -> None:
    members: dict[str, Member] = {f"f{i}.py": "" for i in range(intake.MAX_ENTRIES + 1)}
    z = make_zip(tmp_path / "class" / "many.zip", members)
    with pytest.raises(Rejected, match=f"{intake.MAX_ENTRIES + 1} entries"):
        unpack(entry_for(z), tmp_path / "work")


def test_zip_whose_headers_lie_is_refused(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "class" / "liar.zip", {"app.py": APP + "#" * 200},
                 zipfile.ZIP_STORED)
    data = bytearray(z.read_bytes())
    size = (len(APP) + 200).to_bytes(4, "little")
    for offset in (22, data.rindex(b"PK\x01\x02") + 24):  # local and central file_size
        assert data[offset:offset + 4] == size
        data[offset:offset + 4] = (10).to_bytes(4, "little")
    z.write_bytes(bytes(data))
    with pytest.raises(Rejected, match="holds more than the 10 bytes its header declares"):
        unpack(entry_for(z), tmp_path / "work")


def test_encrypted_zip_is_refused(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "class" / "locked.zip", {"app.py": APP}, zipfile.ZIP_STORED)
    data = bytearray(z.read_bytes())
    for offset in (6, data.rindex(b"PK\x01\x02") + 8):  # local and central flag bits
        data[offset] |= 0x1  # "encrypted"
    z.write_bytes(bytes(data))
    with pytest.raises(Rejected, match="password-protected"):
        unpack(entry_for(z), tmp_path / "work")


@pytest.mark.parametrize("name", ["huge.py", "huge.zip"])
def test_oversized_upload_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / "class" / name
    path.parent.mkdir()
    with open(path, "wb") as fh:
        fh.truncate(intake.MAX_UPLOAD + 1)  # sparse: no 20 MiB written
    with pytest.raises(Rejected, match=r"the upload is 20\.0 MiB, more than the 20\.0 MiB"):
        unpack(entry_for(path), tmp_path / "work")


def test_symlink_out_of_a_folder_is_refused(tmp_path: Path) -> None:
    root = tree(tmp_path / "class", {"alice/app.py": APP})
    os.symlink("/etc/passwd", root / "alice" / "data.txt")
    with pytest.raises(Rejected, match=r"data\.txt is a symbolic link to /etc/passwd"):
        unpack(entry_for(root / "alice"), tmp_path / "work")


@pytest.mark.parametrize(("files", "name", "reason"), [
    ({"alice.py": ""}, "alice.py", "the file is empty"),           # empty file
    ({"alice/README.md": "hi"}, "alice", "no .py file"),            # nothing to grade
    ({"alice/.DS_Store": "x"}, "alice", "no .py file"),             # only junk
    ({"alice.zip": "not a zip"}, "alice.zip", "not a readable .zip"),  # damaged upload
    ({"alice.rar": "Rar!"}, "alice.rar", "rar archive"),            # another archive type
])
def test_empty_or_unreadable_upload_is_refused(tmp_path: Path, files: dict[str, str],
                                               name: str, reason: str) -> None:
    root = tree(tmp_path / "class", files)
    with pytest.raises(Rejected, match=reason):
        unpack(entry_for(root / name), tmp_path / "work")


def test_empty_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "class" / "alice").mkdir(parents=True)
    with pytest.raises(Rejected, match="no .py file"):
        unpack(entry_for(tmp_path / "class" / "alice"), tmp_path / "work")


def test_top_level_symlink_is_refused(tmp_path: Path) -> None:
    tree(tmp_path / "elsewhere", {"app.py": APP})
    (tmp_path / "class").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "class" / "alice")
    with pytest.raises(Rejected, match="a symbolic link"):
        unpack(entry_for(tmp_path / "class" / "alice"), tmp_path / "work")


@pytest.mark.parametrize(("name", "expected"), [
    ("app.py", "app.py"),
    ("pkg/./views.py", "pkg/views.py"),
    ("proj/__MACOSX/x.py", None),        # junk anywhere in the path
    ("proj/._app.py", None),             # AppleDouble file
    ("proj/", "proj"),                   # a folder entry
])
def test_member_paths(name: str, expected: str | None) -> None:
    got = intake.member_path(name, "x.zip")
    assert (got.as_posix() if got else None) == expected
