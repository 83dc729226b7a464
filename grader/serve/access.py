"""Who may see and do what. Every page and API route asks here; nothing else decides.

- A student sees their own submissions and the redacted view of their reports.
- A course's TAs and instructors see everything of that course; only its
  instructors change it (settings, roster, assignments, staff).
- Users whose global role is instructor may create courses.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.serve.models import Assignment, Course, Membership, Submission, User

STAFF = ("ta", "instructor")


def course_role(session: Session, user: User, course_id: int) -> str | None:
    return session.scalars(select(Membership.role).where(
        Membership.course_id == course_id, Membership.user_id == user.id)).first()


def is_staff(session: Session, user: User, course_id: int) -> bool:
    return course_role(session, user, course_id) in STAFF


def can_manage(session: Session, user: User, course_id: int) -> bool:
    return course_role(session, user, course_id) == "instructor"


def can_create_course(user: User) -> bool:
    return user.role == "instructor"


def can_submit(session: Session, user: User, assignment: Assignment) -> bool:
    """Practice exercises: anyone signed in; a course's: its members."""
    if assignment.course_id is None:
        return True
    return course_role(session, user, assignment.course_id) is not None


def can_view_submission(session: Session, user: User, submission: Submission) -> bool:
    """Its student, or the staff of its assignment's course."""
    if submission.user_id == user.id:
        return True
    assignment = session.get(Assignment, submission.assignment_id)
    if assignment is None or assignment.course_id is None:
        return False  # practice is private to the student
    return is_staff(session, user, assignment.course_id)


def can_view_full(session: Session, user: User, submission: Submission) -> bool:
    """The unredacted result (hidden checks, all output): the course's staff only."""
    assignment = session.get(Assignment, submission.assignment_id)
    if assignment is None or assignment.course_id is None:
        return False
    return is_staff(session, user, assignment.course_id)


def courses_of(session: Session, user: User) -> list[tuple[Course, str]]:
    rows = session.execute(select(Course, Membership.role).join(
        Membership, Membership.course_id == Course.id).where(
        Membership.user_id == user.id).order_by(Course.name)).all()
    return [(course, role) for course, role in rows]
