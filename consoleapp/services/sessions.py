"""Signed-in sessions: started at sign-in, checked on every request, ended on the server.

The cookie carries a random token; the database keeps only its sha256, so a copy of the table
signs nobody in. A session ends when it is signed out, when its account is removed (the rows
cascade), when its password changes elsewhere, after an idle time, and after an absolute
lifetime, whichever comes first.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import User, UserSession, utcnow
from . import audit

# One account keeps at most this many open sessions; a new sign-in ends the oldest beyond it.
SESSION_CAP = 20
# last_seen_at is written at most this often per session, so reading pages does not write.
TOUCH_INTERVAL = timedelta(minutes=1)
USER_AGENT_MAX = 300
# The longest token any version of the console hands out, with room to spare.
TOKEN_MAX = 100


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_config(cls, config: Any) -> Lifetimes:
        return cls(
            idle=timedelta(minutes=config["SESSION_IDLE_MINUTES"]),
            absolute=timedelta(hours=config["SESSION_MAX_HOURS"]),
        )

    def alive(self, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
        return now - last_seen_at < self.idle and now - created_at < self.absolute


@dataclass(frozen=True)
class Resumed:
    """What checking a cookie's token found: the open session, or None; and what to write
    about it (an expired session to end, or the time it was last seen)."""

    session: UserSession | None
    ended_id: int | None = None
    seen_id: int | None = None
    now: datetime | None = None

    @property
    def needs_write(self) -> bool:
        return self.ended_id is not None or self.seen_id is not None


def record(found: Resumed) -> None:
    """Write what ``resume`` found: end the expired session, or move last_seen_at forward.

    Plain statements by id, so a request that ended the session meanwhile makes them match
    nothing. The caller commits.
    """
    if found.ended_id is not None:
        _delete([found.ended_id])
    if found.seen_id is not None and found.now is not None:
        db.session.execute(
            db.update(UserSession)
            .where(
                UserSession.id == found.seen_id,
                UserSession.last_seen_at < found.now - TOUCH_INTERVAL,
            )
            .values(last_seen_at=found.now)
            .execution_options(synchronize_session=False)
        )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User, lifetimes: Lifetimes, user_agent: str = "", ip: str | None = None) -> str:
    """Open a session for ``user``; returns the token for the cookie (shown nowhere else).

    Ends the account's expired sessions, and its oldest ones beyond ``SESSION_CAP``.
    """
    now = utcnow()
    token = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            user_id=user.id,
            token_hash=token_hash(token),
            created_at=now,
            last_seen_at=now,
            user_agent=user_agent[:USER_AGENT_MAX],
            ip=(ip or None) and ip[:45],
        )
    )
    db.session.flush()
    rows = db.session.execute(
        db.select(UserSession.id, UserSession.created_at, UserSession.last_seen_at)
        .filter_by(user_id=user.id)
        .order_by(UserSession.created_at.desc(), UserSession.id.desc())
    ).all()
    ended = [
        row.id
        for position, row in enumerate(rows)
        if position >= SESSION_CAP or not lifetimes.alive(row.created_at, row.last_seen_at, now)
    ]
    _delete(ended)
    return token


def resume(token: object, lifetimes: Lifetimes, *, activity: bool) -> Resumed:
    """The open session a cookie's token names, with its user, in one indexed lookup. Reads
    only; ``record`` writes what it found.

    An expired session is to be ended. ``activity`` (a page load or a form post, not a page
    script's background poll) moves last_seen_at forward, at most once per ``TOUCH_INTERVAL``.
    """
    if not isinstance(token, str) or not token or len(token) > TOKEN_MAX:
        return Resumed(None)
    row = db.session.execute(
        db.select(UserSession)
        .filter_by(token_hash=token_hash(token))
        .options(joinedload(UserSession.user))
    ).scalar_one_or_none()
    if row is None:
        return Resumed(None)
    now = utcnow()
    if not lifetimes.alive(row.created_at, row.last_seen_at, now):
        return Resumed(None, ended_id=row.id, now=now)
    if activity and now - row.last_seen_at >= TOUCH_INTERVAL:
        return Resumed(row, seen_id=row.id, now=now)
    return Resumed(row)


def end(session_id: int) -> None:
    _delete([session_id])


def end_all(user_id: int, keep: int | None = None) -> int:
    """End every session of an account, except ``keep``; returns how many were ended."""
    statement = db.select(UserSession.id).filter_by(user_id=user_id)
    if keep is not None:
        statement = statement.where(UserSession.id != keep)
    ids = list(db.session.execute(statement).scalars())
    _delete(ids)
    return len(ids)


def end_other_sessions(user: User, keep: int | None) -> int:
    """ "Sign out everywhere else": ends the account's other sessions, recorded when any were."""
    ended = end_all(user.id, keep=keep)
    if ended:
        audit.record(user, "user.sessions_ended", user.email, sessions_ended=ended)
    return ended


def open_sessions(user_id: int, lifetimes: Lifetimes) -> list[UserSession]:
    """The account's sessions that are still open, most recently seen first."""
    now = utcnow()
    rows = db.session.execute(
        db.select(UserSession)
        .filter_by(user_id=user_id)
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ).scalars()
    return [row for row in rows if lifetimes.alive(row.created_at, row.last_seen_at, now)]


def _delete(ids: list[int]) -> None:
    # A bulk DELETE, not session.delete(): two requests ending the same session at once must
    # not fail because the other one was first.
    if ids:
        db.session.execute(
            db.delete(UserSession)
            .where(UserSession.id.in_(ids))
            .execution_options(synchronize_session=False)
        )
