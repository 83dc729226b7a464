"""Assignments: practice exercises from the catalogue, and a course's own, with spec versions.

An assignment's spec is a stored version (specs.py). A catalogue exercise whose
folder changed (an upgrade of grade, an edited instructor catalogue) gets a new
version on its next use; an instructor's upload is validated as `grade validate`
does before it is stored, and each upload is a new version.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.authoring.validate import validate_spec
from grader.errors import ExerciseNotFound, ServiceRefusal, SpecError
from grader.serve import access, specs
from grader.serve.models import Assignment, AssignmentVersion, Course, SpecVersion, User
from grader.spec import catalog
from grader.spec.exercise import SPEC_FILENAME


def spec_version(session: Session, specs_dir: Path, folder: Path, source: str) -> SpecVersion:
    """The stored version of the exercise *folder* (stored now if new); flushes."""
    sha, stored = specs.store(specs_dir, folder)
    found = session.scalars(select(SpecVersion).where(SpecVersion.sha256 == sha)).first()
    if found is not None:
        return found
    exercise = specs.load(specs_dir, sha)
    version = SpecVersion(sha256=sha, exercise_id=exercise.id, title=exercise.title,
                          max_score=exercise.max_score, source=source)
    session.add(version)
    session.flush()
    return version


def validated(folder: Path) -> None:
    """Refuse an uploaded exercise folder as `grade validate` would, with every problem."""
    spec = folder / SPEC_FILENAME
    if not spec.is_file():
        raise SpecError(folder.name, None, "", f"has no {SPEC_FILENAME} at its top: upload "
                        "the exercise's folder (as `grade new` makes it), zipped")
    result = validate_spec(spec)
    if not result.ok:
        raise SpecError(folder.name, None, "", "does not validate:\n" + "\n".join(
            result.lines()))


def set_version(session: Session, assignment: Assignment, version: SpecVersion) -> bool:
    """Make *version* the assignment's spec, keeping the history; True if it changed."""
    if assignment.spec_version_id == version.id:
        return False
    assignment.spec_version_id = version.id
    session.flush()
    session.add(AssignmentVersion(assignment_id=assignment.id, spec_version_id=version.id))
    return True


def practice(session: Session, specs_dir: Path, exercise_id: str,
             roots: Sequence[Path] = ()) -> Assignment:
    """The practice assignment of catalogue exercise *exercise_id* (made on first use)."""
    located = catalog.located(tuple(roots) or None)
    if exercise_id not in located:
        raise ExerciseNotFound(f"unknown exercise {exercise_id!r}")
    version = spec_version(session, specs_dir, located[exercise_id].parent, "catalogue")
    assignment = session.scalars(select(Assignment).where(
        Assignment.course_id.is_(None), Assignment.name == exercise_id)).first()
    if assignment is None:
        assignment = Assignment(course_id=None, name=exercise_id, spec_version_id=version.id)
        session.add(assignment)
        session.flush()
        session.add(AssignmentVersion(assignment_id=assignment.id, spec_version_id=version.id))
    else:
        set_version(session, assignment, version)
    return assignment


def create(session: Session, course: Course, name: str, version: SpecVersion) -> Assignment:
    """A new assignment of *course* on *version*; flushes."""
    name = name.strip()
    if not name or len(name) > 200 or "/" in name or any(ord(c) < 32 for c in name):
        raise ServiceRefusal("assignment", f"assignment name {name!r}: use 1 to 200 "
                             "printable characters, without '/'")
    taken = session.scalars(select(Assignment).where(Assignment.course_id == course.id,
                                                     Assignment.name == name)).first()
    if taken is not None:
        raise ServiceRefusal("assignment", f"{course.name} already has an assignment called "
                             f"{name!r}; choose another name")
    assignment = Assignment(course_id=course.id, name=name, spec_version_id=version.id)
    session.add(assignment)
    session.flush()
    session.add(AssignmentVersion(assignment_id=assignment.id, spec_version_id=version.id))
    return assignment


def resolve(session: Session, user: User, name: str, specs_dir: Path,
            roots: Sequence[Path] = ()) -> Assignment:
    """What *name* means to *user*: ``course/assignment``, an assignment of one of their
    courses, or else a catalogue exercise for practice. ServiceRefusal says why not."""
    if "/" in name:
        course_name, _, assignment_name = name.rpartition("/")
        candidates = [a for a in _courses_assignments(session, user)
                      if a[1].name == course_name and a[0].name == assignment_name]
    else:
        candidates = [a for a in _courses_assignments(session, user) if a[0].name == name]
    if len(candidates) > 1:
        listed = ", ".join(f"{c.name}/{a.name}" for a, c in candidates)
        raise ServiceRefusal("assignment", f"{name!r} is an assignment of several of your "
                             f"courses; name one: {listed}")
    if candidates:
        assignment = candidates[0][0]
        if not assignment.is_open:
            raise ServiceRefusal("closed", f"{candidates[0][1].name}/{assignment.name} is "
                                 "closed: it takes no more submissions")
        return assignment
    if "/" not in name:
        try:
            return practice(session, specs_dir, name, roots)
        except ExerciseNotFound:
            pass
    raise ServiceRefusal("assignment", f"unknown assignment {name!r}: it is neither an "
                         "assignment of your courses nor a catalogue exercise. Your "
                         "assignments are listed on the service's home page.")


def _courses_assignments(session: Session, user: User) -> list[tuple[Assignment, Course]]:
    rows = []
    for course, _role in access.courses_of(session, user):
        for assignment in session.scalars(select(Assignment).where(
                Assignment.course_id == course.id).order_by(Assignment.name)):
            rows.append((assignment, course))
    return rows
