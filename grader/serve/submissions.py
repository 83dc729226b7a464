"""Taking a submission: intake, storage, a row with the next sequence number, a queued job.

The web form and the API both come here, so both apply the same rules: the
same intake as `grade batch`, the same rate limit, the same idempotency.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from grader.batch.unzip import Rejected
from grader.errors import ServiceRefusal, SubmissionPathError
from grader.serve import access, jobs, ratelimit
from grader.serve.config import ServeConfig
from grader.serve.intake import keep, receive
from grader.serve.models import Assignment, Job, Submission, User

MAX_KEY = 100


@dataclass(frozen=True)
class Taken:
    submission: Submission
    job: Job
    repeated: bool  # the same Idempotency-Key was seen before: nothing new was made


def take(session: Session, config: ServeConfig, user: User, assignment: Assignment,
         files: Iterable[tuple[str, BinaryIO]], idempotency_key: str | None = None) -> Taken:
    """Store *files* as *user*'s next submission to *assignment* and queue it; commits."""
    if not access.can_submit(session, user, assignment):
        raise ServiceRefusal("forbidden", f"you are not in the course of {assignment.name!r}")
    if not assignment.is_open:
        raise ServiceRefusal("closed", f"{assignment.name} is closed: it takes no more "
                             "submissions")
    key = (idempotency_key or "").strip() or None
    if key is not None:
        if len(key) > MAX_KEY or not key.isprintable():
            raise ServiceRefusal("upload", f"Idempotency-Key: at most {MAX_KEY} printable "
                                 "characters")
        earlier = _by_key(session, user, key)
        if earlier is not None:
            return earlier
    if not ratelimit.hit(session, f"submit:{user.id}", config.submissions_per_minute):
        raise ServiceRefusal("limit", f"more than {config.submissions_per_minute} submissions "
                             "in a minute: wait a minute, then submit again")
    work = tempfile.mkdtemp(prefix="grade-upload-", dir=config.uploads)
    try:
        try:
            received = receive(files, Path(work))
        except (Rejected, SubmissionPathError) as e:
            raise ServiceRefusal("upload", str(e)) from e
        seq = (session.execute(select(func.max(Submission.seq)).where(
            Submission.user_id == user.id, Submission.assignment_id == assignment.id)
        ).scalar() or 0) + 1
        submission = Submission(user_id=user.id, assignment_id=assignment.id, seq=seq,
                                content_sha256=received.sha256, filename=received.label,
                                idempotency_key=key)
        session.add(submission)
        try:
            session.flush()
        except IntegrityError:
            session.rollback()  # a concurrent retry with the same key, or the same seq
            if key is not None and (earlier := _by_key(session, user, key)) is not None:
                return earlier
            raise ServiceRefusal("limit", "another submission was taken at the same moment; "
                                 "submit again") from None
        dest = config.uploads / str(submission.id)
        # The id is this transaction's now: a folder there is a crashed take's leftover.
        shutil.rmtree(dest, ignore_errors=True)
        keep(received, dest)
        job = jobs.enqueue(session, submission.id, assignment.spec_version_id)
        session.commit()
        return Taken(submission, job, repeated=False)
    except BaseException:
        session.rollback()
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _by_key(session: Session, user: User, key: str) -> Taken | None:
    submission = session.scalars(select(Submission).where(
        Submission.user_id == user.id, Submission.idempotency_key == key)).first()
    if submission is None:
        return None
    job = session.scalars(select(Job).where(Job.submission_id == submission.id)
                          .order_by(Job.id)).first()
    if job is None:
        return None
    return Taken(submission, job, repeated=True)
