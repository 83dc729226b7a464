"""Users, API tokens and one-time sign-in links. Secrets are stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from grader.errors import UsageError
from grader.serve.models import ROLES, ApiToken, SigninLink, User, utcnow

TOKEN_PREFIX = "grd_"
LINK_LIFETIME = timedelta(days=14)
MIN_PASSWORD = 8


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def ensure_user(session: Session, name: str, role: str) -> User:
    """The user called *name*, created with *role* if new (an existing one is upgraded
    to *role* if it is higher, never lowered)."""
    name = name.strip()
    if not name or len(name) > 200 or any(ord(c) < 32 for c in name):
        raise UsageError(f"--user {name!r}: give a name of 1 to 200 printable characters")
    if role not in ROLES:
        raise UsageError(f"--role {role!r}: one of {', '.join(ROLES)}")
    user = session.scalars(select(User).where(User.name == name)).first()
    if user is None:
        user = User(name=name, role=role)
        session.add(user)
        session.flush()
    elif ROLES.index(role) > ROLES.index(user.role):
        user.role = role
    return user


def new_token(session: Session, user: User) -> str:
    """A new API token for *user* (shown once; only its hash is kept)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_sha256=digest(token)))
    return token


def user_for_token(session: Session, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.scalars(select(ApiToken).where(ApiToken.token_sha256 == digest(token),
                                                 ApiToken.revoked.is_(False))).first()
    return None if row is None else session.get(User, row.user_id)


def new_signin_link(session: Session, user: User) -> str:
    """A one-time sign-in token for *user*; earlier unused ones stop working."""
    for old in session.scalars(select(SigninLink).where(SigninLink.user_id == user.id,
                                                        SigninLink.used_at.is_(None))):
        old.used_at = utcnow()
    token = secrets.token_urlsafe(32)
    session.add(SigninLink(user_id=user.id, token_sha256=digest(token),
                           expires_at=utcnow() + LINK_LIFETIME))
    return token


def link_user(session: Session, token: str) -> User | None:
    """The user of an unused, unexpired sign-in token (not spent yet: see spend_link)."""
    if len(token) > 200:
        return None
    link = session.scalars(select(SigninLink).where(
        SigninLink.token_sha256 == digest(token))).first()
    if link is None or link.used_at is not None or link.expires_at < utcnow():
        return None
    return session.get(User, link.user_id)


def spend_link(session: Session, token: str, password: str) -> User | None:
    """Set the password of the link's user and spend the link; None if it is not valid."""
    user = link_user(session, token)
    if user is None:
        return None
    check_password(password)
    link = session.scalars(select(SigninLink).where(
        SigninLink.token_sha256 == digest(token))).one()
    link.used_at = utcnow()
    user.password_hash = generate_password_hash(password)
    return user


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if len(password) > 1000:
        raise UsageError("the password is too long: use at most 1000 characters")


def authenticate(session: Session, name: str, password: str) -> User | None:
    user = session.scalars(select(User).where(User.name == name.strip())).first()
    if user is None or not user.password_hash or len(password) > 1000:
        return None
    return user if check_password_hash(user.password_hash, password) else None
