"""Passwords: changing your own, and one-time reset links for a teammate who forgot theirs.

Reset links work the way invitations do: only a hash of the token is stored, the link is shown
once, and it expires. It also works only once, and not after the password changed some other
way since it was made.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import PasswordReset, Role, User, utcnow
from . import audit, sessions
from .users import UserError

RESET_LIFETIME = timedelta(hours=1)


class PasswordError(UserError):
    """A password change refused; ``field`` names the form field the message belongs to."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class ResetProblem(enum.Enum):
    UNKNOWN = "unknown"  # never made, replaced by a newer link, or its account was removed
    USED = "used"
    EXPIRED = "expired"
    PASSWORD_CHANGED = "password changed"


@dataclass(frozen=True)
class ResetCheck:
    reset: PasswordReset | None
    problem: ResetProblem | None = None


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()


def change_password(user: User, current: str, new: str, keep_session_id: int | None) -> int:
    """Set a new password; ends every other session of the account and returns how many."""
    if not check_password_hash(user.password_hash, current):
        raise PasswordError(
            "Your current password is not right. Nothing was changed.", "current_password"
        )
    if new == current:
        raise PasswordError(
            "The new password is the same as the current one. Choose another.", "new_password"
        )
    user.password_hash = generate_password_hash(new)
    ended = sessions.end_all(user.id, keep=keep_session_id)
    audit.record(user, "user.password_changed", user.email, other_sessions_ended=ended)
    return ended


def create_reset_link(actor: User | None, target: User) -> str:
    """A one-time reset link's token for ``target``; ``actor`` None is the command line.

    A newer link replaces any older one of the same account.
    """
    if actor is not None:
        if target.id == actor.id:
            raise UserError("To change your own password, use your account page.")
        if target.role_enum is Role.OWNER and actor.role_enum is not Role.OWNER:
            raise UserError("Only an owner can make a password reset link for an owner.")
    db.session.execute(db.delete(PasswordReset).filter_by(user_id=target.id))
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        PasswordReset(
            user_id=target.id,
            token_hash=sessions.token_hash(token),
            password_fingerprint=_fingerprint(target),
            created_by_id=actor.id if actor else None,
            created_at=now,
            expires_at=now + RESET_LIFETIME,
        )
    )
    details = {} if actor else {"via": "command line"}
    audit.record(actor, "user.password_reset_link_created", target.email, **details)
    return token


def check_reset(token: str) -> ResetCheck:
    if len(token) > sessions.TOKEN_MAX:
        return ResetCheck(None, ResetProblem.UNKNOWN)
    reset = db.session.execute(
        db.select(PasswordReset).filter_by(token_hash=sessions.token_hash(token))
    ).scalar_one_or_none()
    if reset is None:
        return ResetCheck(None, ResetProblem.UNKNOWN)
    if reset.used_at is not None:
        return ResetCheck(reset, ResetProblem.USED)
    if reset.expires_at <= utcnow():
        return ResetCheck(reset, ResetProblem.EXPIRED)
    if reset.password_fingerprint != _fingerprint(reset.user):
        return ResetCheck(reset, ResetProblem.PASSWORD_CHANGED)
    return ResetCheck(reset)


def reset_password(reset: PasswordReset, new: str) -> ResetProblem | None:
    """Use a checked link: set the password and end every session of its account.

    Returns ResetProblem.USED, changing nothing, when another request used the link first.
    """
    # Claimed with one conditional UPDATE, so two requests cannot both use the link.
    claimed = db.session.execute(
        db.update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return ResetProblem.USED
    user = reset.user
    user.password_hash = generate_password_hash(new)
    ended = sessions.end_all(user.id)
    audit.record(user, "user.password_reset", user.email, sessions_ended=ended)
    return None
