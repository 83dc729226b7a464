"""The durable queue: every job's state is a row, changed only by conditional updates.

Each transition names the state it expects, so two processes racing on one job
(a dispatcher and a sweep, a late grading process and a retry) cannot both win:
the loser's update matches no row. That is what makes "nothing counted twice"
hold across a SIGKILL and a restart (docs/service.md, "The queue").

    queued --claim--> running --finish--> done
                         |  \\--fail-----> error
                         \\--release (process died / restart / lease expired)
                              attempts < MAX_ATTEMPTS --> queued
                              otherwise               --> error, with the reason

Nothing here talks to Docker or reads a submission's files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from grader.serve.models import Grading, Job, utcnow

MAX_ATTEMPTS = 2  # a job whose grading process died is retried once
QUEUE_ORDER = ("live", "regrade")  # every live job goes before any regrade
RECENT = 20  # gradings the expected wait is averaged over
DEFAULT_SECONDS = 5.0  # the expected grading time before any grading is recorded


@dataclass(frozen=True)
class Claimed:
    job_id: int
    submission_id: int
    spec_version_id: int
    attempt: int


@dataclass(frozen=True)
class Place:
    """Where a job stands: ``position`` 1 is next; ``wait`` in seconds (None: not queued)."""

    state: str
    position: int | None
    ahead: int
    wait: float | None


def enqueue(session: Session, submission_id: int, spec_version_id: int,
            queue: str = "live") -> Job:
    """A new queued job for *submission_id* (added to *session*; the caller commits)."""
    if queue not in QUEUE_ORDER:
        raise ValueError(f"unknown queue {queue!r}")
    job = Job(submission_id=submission_id, spec_version_id=spec_version_id, queue=queue,
              state="queued", attempts=0, enqueued_at=utcnow())
    session.add(job)
    return job


def claim(session: Session, worker: str, lease: timedelta,
          queues: tuple[str, ...] = QUEUE_ORDER) -> Claimed | None:
    """Take the next queued job for *worker*, or None; commits.

    A candidate is chosen, then taken by an update that still requires it
    queued: if another claimer won, the next candidate is tried.
    """
    for queue in queues:
        while True:
            row = session.execute(
                select(Job.id, Job.submission_id, Job.spec_version_id, Job.attempts)
                .where(Job.state == "queued", Job.queue == queue)
                .order_by(Job.id).limit(1)).first()
            if row is None:
                break
            now = utcnow()
            taken = session.execute(
                update(Job).where(Job.id == row.id, Job.state == "queued")
                .values(state="running", worker=worker, claimed_at=now,
                        lease_until=now + lease, attempts=Job.attempts + 1)
                .execution_options(synchronize_session=False))
            session.commit()
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return Claimed(row.id, row.submission_id, row.spec_version_id,
                               row.attempts + 1)
    return None


def finish(session: Session, job_id: int, worker: str, grading: Grading) -> bool:
    """Store *grading* and mark the job done, if *worker* still holds it; commits.

    False (and nothing stored) when the job is no longer this worker's: it was
    released meanwhile and will be, or was, graded again.
    """
    done = session.execute(
        update(Job).where(Job.id == job_id, Job.state == "running", Job.worker == worker)
        .values(state="done", finished_at=utcnow(), lease_until=None)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return False
    session.add(grading)
    session.commit()
    return True


def fail(session: Session, job_id: int, worker: str, reason: str) -> bool:
    """Record the job as an error with *reason* (the grader could not grade it); commits."""
    failed = session.execute(
        update(Job).where(Job.id == job_id, Job.state == "running", Job.worker == worker)
        .values(state="error", finished_at=utcnow(), lease_until=None, error=reason[:4000])
        .execution_options(synchronize_session=False))
    session.commit()
    return failed.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def release(session: Session, job_id: int, reason: str, worker: str | None = None) -> str | None:
    """Give back a running job whose grader is gone: queued again, or an error after
    MAX_ATTEMPTS; returns the new state (None: it was not running). Commits."""
    job = session.get(Job, job_id)
    if job is None or job.state != "running" or (worker is not None and job.worker != worker):
        return None
    if job.attempts >= MAX_ATTEMPTS:
        values = {"state": "error", "finished_at": utcnow(), "lease_until": None,
                  "error": (f"{reason}; tried {job.attempts} times, so it is not tried "
                            "again")[:4000]}
    else:
        values = {"state": "queued", "worker": "", "lease_until": None,
                  "error": reason[:4000]}
    moved = session.execute(
        update(Job).where(Job.id == job_id, Job.state == "running", Job.worker == job.worker)
        .values(**values).execution_options(synchronize_session=False))
    session.commit()
    return str(values["state"]) if moved.rowcount == 1 else None  # type: ignore[attr-defined]


def release_all(session: Session, reason: str, *, expired_only: bool = False,
                now: datetime | None = None) -> int:
    """Release every running job (a restart: their graders died with the server), or
    only those past their lease (the sweep). Returns how many moved."""
    query = select(Job.id).where(Job.state == "running")
    if expired_only:
        query = query.where(Job.lease_until < (now or utcnow()))
    moved = 0
    for job_id in session.scalars(query).all():
        if release(session, job_id, reason) is not None:
            moved += 1
    return moved


def extend(session: Session, job_id: int, worker: str, lease: timedelta) -> bool:
    """Renew *worker*'s lease on a running job (a grading that takes long); commits."""
    renewed = session.execute(
        update(Job).where(Job.id == job_id, Job.state == "running", Job.worker == worker)
        .values(lease_until=utcnow() + lease).execution_options(synchronize_session=False))
    session.commit()
    return renewed.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def average_seconds(session: Session) -> float:
    """The mean grading time (claim to verdict) of the RECENT last gradings."""
    recent = (select(Grading.seconds).order_by(Grading.id.desc()).limit(RECENT)).subquery()
    mean = session.execute(select(func.avg(recent.c.seconds))).scalar()
    return float(mean) if mean else DEFAULT_SECONDS


def place(session: Session, job_id: int, graders: int) -> Place:
    """*job_id*'s exact position and its expected wait with *graders* grading at once.

    Ahead of a queued job: every queued job of an earlier queue, those of its own
    queue with a smaller id, and the running ones. The wait: the jobs ahead and
    this one, in rounds of *graders*, each round one average grading, less what
    the running ones have done (counted as half).
    """
    job = session.get(Job, job_id)
    if job is None:
        raise LookupError(f"no job {job_id}")
    if job.state != "queued":
        return Place(job.state, None, 0, None)
    earlier = QUEUE_ORDER[:QUEUE_ORDER.index(job.queue)]
    queued_ahead = session.execute(
        select(func.count()).select_from(Job).where(
            Job.state == "queued",
            (Job.queue.in_(earlier)) | ((Job.queue == job.queue) & (Job.id < job.id)))
    ).scalar_one()
    running = session.execute(
        select(func.count()).select_from(Job).where(Job.state == "running")).scalar_one()
    graders = max(1, graders)
    mean = average_seconds(session)
    rounds = math.ceil((queued_ahead + 1) / graders)
    wait = rounds * mean + (0.5 * mean if running >= graders else 0.0)
    return Place("queued", queued_ahead + 1, queued_ahead, round(wait, 1))
