"""Console accounts: the first owner, sign-in, invitations, roles."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import Invitation, Role, User, utcnow
from . import audit

INVITATION_LIFETIME = timedelta(days=7)
# Compared against when the email is unknown, so both failures cost the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password-0000")


class UserError(ValueError):
    """A change that would break a rule of the team; the message says which."""


def has_users() -> bool:
    return db.session.execute(db.select(User.id).limit(1)).first() is not None


def find_by_email(email: str) -> User | None:
    return db.session.execute(db.select(User).filter_by(email=email)).scalar_one_or_none()


def create_owner(email: str, password: str) -> User:
    if has_users():
        raise UserError("The owner account already exists. Sign in instead.")
    user = User(email=email, password_hash=generate_password_hash(password), role=Role.OWNER)
    db.session.add(user)
    db.session.flush()
    audit.record(user, "user.created_owner", email)
    return user


def authenticate(email: str, password: str) -> User | None:
    user = find_by_email(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    user.last_sign_in_at = utcnow()
    audit.record(user, "user.signed_in", user.email)
    return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite(actor: User, email: str, role: Role) -> tuple[Invitation, str]:
    """Create an invitation; returns it with the one-time token to put in the link."""
    if role is Role.OWNER and actor.role_enum is not Role.OWNER:
        raise UserError("Only an owner can invite another owner.")
    if find_by_email(email):
        raise UserError(f"{email} already has an account.")
    existing = db.session.execute(db.select(Invitation).filter_by(email=email)).scalar_one_or_none()
    if existing:
        db.session.delete(existing)
        db.session.flush()
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        email=email,
        role=role.value,
        token_hash=_token_hash(token),
        invited_by_id=actor.id,
        expires_at=utcnow() + INVITATION_LIFETIME,
    )
    db.session.add(invitation)
    audit.record(actor, "user.invited", email, role=role.value)
    return invitation, token


def open_invitation(token: str) -> Invitation | None:
    invitation = db.session.execute(
        db.select(Invitation).filter_by(token_hash=_token_hash(token))
    ).scalar_one_or_none()
    if invitation is None or invitation.expires_at < utcnow():
        return None
    return invitation


def accept_invitation(invitation: Invitation, password: str) -> User:
    if find_by_email(invitation.email):
        raise UserError(f"{invitation.email} already has an account. Sign in instead.")
    user = User(
        email=invitation.email,
        password_hash=generate_password_hash(password),
        role=invitation.role,
    )
    db.session.add(user)
    db.session.delete(invitation)
    db.session.flush()
    audit.record(user, "user.joined", user.email, role=user.role)
    return user


def cancel_invitation(actor: User, invitation: Invitation) -> None:
    db.session.delete(invitation)
    audit.record(actor, "user.invitation_cancelled", invitation.email)


def _owner_count(lock: bool = True) -> int:
    # Lock the owner rows, so two owners demoting each other at once cannot leave none.
    query = db.select(User.id).filter_by(role=Role.OWNER.value)
    owners = db.session.execute(query.with_for_update() if lock else query).scalars()
    return len(owners.all())


def _check_may_manage(actor: User, target: User) -> None:
    if target.role_enum is Role.OWNER and actor.role_enum is not Role.OWNER:
        raise UserError("Only an owner can change or remove an owner.")


def change_role(actor: User, target: User, role: Role) -> None:
    _check_may_manage(actor, target)
    if role is Role.OWNER and actor.role_enum is not Role.OWNER:
        raise UserError("Only an owner can make someone an owner.")
    if target.role_enum is Role.OWNER and role is not Role.OWNER and _owner_count() <= 1:
        raise UserError("The console needs at least one owner. Make someone else an owner first.")
    before = target.role
    target.role = role.value
    audit.record(actor, "user.role_changed", target.email, before=before, after=role.value)


def check_may_remove(actor: User, target: User, lock: bool = True) -> None:
    """Raises ``UserError`` saying why the actor may not remove the target. ``lock=False``
    only asks (for the page that asks first); the removal itself locks the owner rows."""
    _check_may_manage(actor, target)
    if target.id == actor.id:
        raise UserError("You cannot remove yourself. Ask another owner or admin.")
    if target.role_enum is Role.OWNER and _owner_count(lock) <= 1:
        raise UserError("The console needs at least one owner.")


def remove(actor: User, target: User) -> None:
    check_may_remove(actor, target)
    audit.record(actor, "user.removed", target.email)
    db.session.delete(target)


def list_users() -> list[User]:
    return list(db.session.execute(db.select(User).order_by(User.created_at, User.id)).scalars())


def list_invitations() -> list[Invitation]:
    return list(db.session.execute(db.select(Invitation).order_by(Invitation.created_at)).scalars())
