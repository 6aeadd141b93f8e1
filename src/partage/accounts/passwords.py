"""Forgotten passwords (reset by an e-mailed link) and password changes."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from partage.accounts import onetime
from partage.accounts.models import User, WebSession
from partage.accounts.service import check_password_strength
from partage.errors import BadRequest, Forbidden, NotAuthenticated
from partage.ratelimit import FailureLimiter, check_secret, login_policy
from partage.security import hash_password, verify_password
from partage.settings import Settings
from partage.web.i18n import N_

SUSPENDED = N_("This account is suspended.")
WRONG_CURRENT = N_("The current password is wrong.")
DIFFER = N_("The two passwords differ.")


def request_reset(
    s: Session, limiter: FailureLimiter, settings: Settings, email: str, address: str
) -> tuple[User, str] | None:
    """A reset secret for the account of `email`, or None when there is none. The caller
    answers the same either way; every request counts against both limits, so the answer
    cannot be used to list accounts, nor to flood a mailbox."""
    email = email.strip().lower()
    key_address = f"reset:address:{address}"
    key_email = f"reset:email:{email}"
    limiter.check(
        settings.password_reset_rate_per_address, key_address,
        what=N_("password-reset requests from your address"), counted="requests",
    )  # fmt: skip
    limiter.check(
        settings.password_reset_rate_per_email, key_email,
        what=N_("password-reset requests for this address"), counted="requests",
    )  # fmt: skip
    limiter.fail(settings.password_reset_rate_per_address, key_address)
    limiter.fail(settings.password_reset_rate_per_email, key_email)
    user = s.scalar(select(User).where(User.email == email))
    if user is None:
        return None
    return user, onetime.issue(s, user, onetime.RESET)


def reset_account(s: Session, secret: str) -> User:
    """The account a live reset link is for (to show the form), or why the link is dead."""
    tok = onetime.find(s, secret, onetime.RESET)
    user = s.get(User, tok.user_id)
    if user is None:
        raise Forbidden(onetime.UNKNOWN)
    if not user.is_active:
        raise Forbidden(SUSPENDED)
    return user


def reset_password(s: Session, secret: str, password: str, again: str) -> User:
    """Set a new password from a reset link: the link is spent and every web session of
    the account ends (whoever knew the old password is logged out)."""
    user = reset_account(s, secret)
    if password != again:
        raise BadRequest(DIFFER)
    check_password_strength(password)  # before spending: a typo must not burn the link
    onetime.spend(s, onetime.find(s, secret, onetime.RESET))
    onetime.spend_all(s, user.id, onetime.RESET)
    user.password_hash = hash_password(password)
    s.execute(delete(WebSession).where(WebSession.user_id == user.id))
    return user


def check_current_password(
    limiter: FailureLimiter, settings: Settings, user: User, password: str, address: str
) -> None:
    """Re-authentication before a sensitive change: the login policy, on the same counts."""

    def right() -> bool:
        return bool(password) and verify_password(user.password_hash, password)

    policy = login_policy(settings)
    if not check_secret(limiter, policy, address=address, subject=user.email, verify=right):
        raise NotAuthenticated(WRONG_CURRENT)


def change_password(
    s: Session,
    limiter: FailureLimiter,
    settings: Settings,
    user_id: int,
    current: str,
    new: str,
    again: str,
    *,
    keep_session_id: int | None,
    address: str,
) -> int:
    """Change the password; every other web session ends. Returns how many ended."""
    user = s.get(User, user_id)
    if user is None or not user.is_active:
        raise Forbidden(SUSPENDED)
    check_current_password(limiter, settings, user, current, address)
    if new != again:
        raise BadRequest(DIFFER)
    check_password_strength(new)
    user.password_hash = hash_password(new)
    onetime.spend_all(s, user.id, onetime.RESET)
    q = delete(WebSession).where(WebSession.user_id == user.id)
    if keep_session_id is not None:
        q = q.where(WebSession.id != keep_session_id)
    return s.execute(q).rowcount or 0  # type: ignore[attr-defined]
