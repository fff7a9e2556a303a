"""Web logins: argon2 password hashes, roles, the communities each user may see, sessions."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.common_passwords import is_common
from storage.models import Community, User, UserCommunity, utcnow

ROLES = ("admin", "organiser", "staff")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10
_hasher = PasswordHasher()
# Verifying against a real hash when the e-mail is unknown keeps both answers equally slow.
_DUMMY_HASH = _hasher.hash("no such user, same amount of work")


def use_hasher(hasher: PasswordHasher) -> None:
    """Change the argon2 parameters (the test suite uses a cheap profile to stay fast)."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash("no such user, same amount of work")


class UserError(ValueError):
    """A user that cannot be created; the message says why in one sentence."""


def normalise_email(email: str) -> str:
    """E-mail addresses compare without surrounding space and case."""
    return email.strip().lower()


def create_user(
    session: Session, email: str, password: str, role: str, community_slugs: list[str]
) -> User:
    """Add a login with a hashed password and the communities it may see."""
    email = normalise_email(email)
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise UserError(f"{email!r} is not an e-mail address")
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must be at least {MIN_PASSWORD} characters")
    if is_common(password):
        raise UserError("that password is on the list of the most common ones; choose another")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise UserError(f"a user {email} already exists")
    communities = []
    for slug in community_slugs:
        found = session.scalar(select(Community).where(Community.slug == slug))
        if found is None:
            raise UserError(f"no community {slug!r}")
        communities.append(found)
    user = User(email=email, password_hash=_hasher.hash(password), role=role)
    session.add(user)
    session.flush()
    for community in communities:
        session.add(UserCommunity(user_id=user.id, community_id=community.id))
    session.flush()
    return user


def grant(session: Session, user: User, community: Community) -> None:
    """Let a user see a community."""
    session.add(UserCommunity(user_id=user.id, community_id=community.id))
    session.flush()


def check_password(session: Session, email: str, password: str) -> User | None:
    """The user when the e-mail and password match, else None."""
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user


def visible_communities(session: Session, user: User) -> list[Community]:
    """The communities a user may see: all for admins, else those granted."""
    query = select(Community).order_by(Community.name)
    if user.role != "admin":
        granted = select(UserCommunity.community_id).where(UserCommunity.user_id == user.id)
        query = query.where(Community.id.in_(granted))
    return list(session.scalars(query))


def may_see(session: Session, user: User, community_id: int) -> bool:
    """Whether a user may see one community."""
    if user.role == "admin":
        return True
    return (
        session.scalar(
            select(UserCommunity.user_id).where(
                UserCommunity.user_id == user.id, UserCommunity.community_id == community_id
            )
        )
        is not None
    )


def end_sessions(session: Session, user_id: int) -> None:
    """Make every session this user has open stop working (logout, or a stolen cookie)."""
    user = session.get(User, user_id)
    if user is not None:
        user.session_version += 1
