"""Rate limits counted in the database, so that every web process shares them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from grader.serve.models import RateHit, utcnow

WINDOW = timedelta(minutes=1)


def hit(session: Session, key: str, limit: int, window: timedelta = WINDOW) -> bool:
    """Count one attempt under *key*; False when *limit* attempts in *window* are passed.

    Refused attempts are counted too, so hammering keeps the limit closed. Commits.
    """
    now = utcnow()
    session.execute(delete(RateHit).where(RateHit.key == key, RateHit.at < now - window))
    session.add(RateHit(key=key[:300], at=now))
    session.flush()
    count = session.execute(select(func.count()).select_from(RateHit).where(
        RateHit.key == key[:300])).scalar_one()
    session.commit()
    return int(count) <= limit


def retry_after(window: timedelta = WINDOW) -> int:
    """Seconds a refused client is told to wait (the Retry-After header)."""
    return int(window.total_seconds())
