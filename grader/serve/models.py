"""The service's tables: the database is the truth about every user, submission and job.

Flask-SQLAlchemy models; the schema is made by the Alembic migrations under
``grader/serve/migrations`` (``grade serve`` upgrades on start), never by
``create_all``. Times are stored in UTC, naive (SQLite keeps no zone).

The path of a submission through these tables (docs/service.md):

    User --< Membership >-- Course --< Assignment --< AssignmentVersion >-- SpecVersion
    User --< Submission >-- Assignment;  Submission --< Job --1 Grading

A submission is (user, assignment, seq). A job is one request to grade it
(``live`` or ``regrade`` queue); a grading is the verdict a job produced, keyed
by the submission's content hash, the spec version's hash and the sandbox
image's content tag (:func:`grading_key`). One job has at most one grading,
enforced by a unique index, so a job finished twice is counted once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


# The Flask extension (Flask's own idiom: made once, bound to an app by init_app).
db = SQLAlchemy(model_class=Base)

ROLES = ("student", "ta", "instructor")
QUEUES = ("live", "regrade")  # a regrade never goes ahead of a live submission
JOB_STATES = ("queued", "running", "done", "error")


def utcnow() -> datetime:
    """Now, in UTC, without a zone (as every time is stored)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def grading_key(content_sha256: str, spec_sha256: str, image_tag: str) -> str:
    """What a verdict depends on: the same three give the same verdict on any host.

    The image's *content tag* (image.image_tag), never its id: hosts that build
    the same image get different ids.
    """
    return hashlib.sha256(f"{content_sha256}\0{spec_sha256}\0{image_tag}".encode()).hexdigest()


class User(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # The role `grade token --role` gave: instructors may create courses.
    role: Mapped[str] = mapped_column(String(20), default="student")
    password_hash: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ApiToken(db.Model):  # type: ignore[name-defined,misc]
    """A bearer token for the API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class SigninLink(db.Model):  # type: ignore[name-defined,misc]
    """A one-time sign-in link: it sets the user's password, then is spent."""

    __tablename__ = "signin_links"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Course(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "courses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Part two (docs/service.md): time zone, policies. Kept as columns added by migrations.


class Membership(db.Model):  # type: ignore[name-defined,misc]
    """A user's role in one course, and the roster row they came from."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("course_id", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))  # student | ta | instructor
    display_name: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str] = mapped_column(String(300), default="")
    external_id: Mapped[str] = mapped_column(String(200), default="")  # the matched column


class SpecVersion(db.Model):  # type: ignore[name-defined,misc]
    """One exercise folder, as it was: kept under DATA/specs/<sha256>/ and never changed."""

    __tablename__ = "spec_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)  # of the whole folder
    exercise_id: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300), default="")
    max_score: Mapped[float] = mapped_column(Float, default=0.0)
    source: Mapped[str] = mapped_column(String(20))  # catalogue | upload
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Assignment(db.Model):  # type: ignore[name-defined,misc]
    """What students submit to: a course's assignment, or a practice exercise.

    Practice assignments have no course; their name is the catalogue id and they
    appear in no gradebook.
    """

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("course_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"), nullable=True,
                                                  index=True)
    name: Mapped[str] = mapped_column(String(200))
    spec_version_id: Mapped[int] = mapped_column(ForeignKey("spec_versions.id"))
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AssignmentVersion(db.Model):  # type: ignore[name-defined,misc]
    """Every spec version an assignment has had, in order (regrades use them)."""

    __tablename__ = "assignment_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    spec_version_id: Mapped[int] = mapped_column(ForeignKey("spec_versions.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Submission(db.Model):  # type: ignore[name-defined,misc]
    """(student, assignment, seq): the files are under DATA/uploads/<id>/, never executed here."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("user_id", "assignment_id", "seq"),
        # A client's retry of the same upload (same key) is the same submission.
        UniqueConstraint("user_id", "idempotency_key"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    content_sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(300), default="")  # as uploaded, for display
    idempotency_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Job(db.Model):  # type: ignore[name-defined,misc]
    """One request to grade a submission; its state is the queue (jobs.py)."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_queue_id", "state", "queue", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    spec_version_id: Mapped[int] = mapped_column(ForeignKey("spec_versions.id"))
    queue: Mapped[str] = mapped_column(String(20), default="live")
    state: Mapped[str] = mapped_column(String(20), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str] = mapped_column(String(200), default="")  # who holds it
    enqueued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")


class Grading(db.Model):  # type: ignore[name-defined,misc]
    """A verdict. ``full_json`` is the instructor's; ``student_json`` the redacted view."""

    __tablename__ = "gradings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), unique=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    spec_version_id: Mapped[int] = mapped_column(ForeignKey("spec_versions.id"))
    image_tag: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(64), index=True)  # models.grading_key
    status: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    full_json: Mapped[str] = mapped_column(Text)
    student_json: Mapped[str] = mapped_column(Text)
    student_html: Mapped[str] = mapped_column(Text)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)  # claim to verdict
    graded_by: Mapped[str] = mapped_column(String(200), default="")
    graded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class GradingProcess(db.Model):  # type: ignore[name-defined,misc]
    """A grading process's heartbeat: /healthz and the expected wait read it."""

    __tablename__ = "grading_processes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    engine_ok: Mapped[bool] = mapped_column(Boolean, default=False)
    engine_message: Mapped[str] = mapped_column(Text, default="")


class RateHit(db.Model):  # type: ignore[name-defined,misc]
    """One attempt counted by a rate limit (sign-in, submission), shared by web processes."""

    __tablename__ = "rate_hits"
    __table_args__ = (Index("ix_rate_hits_key_at", "key", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
