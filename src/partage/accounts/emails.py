"""Changing the e-mail address: proven by a link sent to the new address."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from partage.accounts import onetime
from partage.accounts.models import User
from partage.accounts.passwords import SUSPENDED, check_current_password
from partage.accounts.service import normalize_email
from partage.errors import BadRequest, Conflict, Forbidden
from partage.ratelimit import FailureLimiter
from partage.settings import Settings
from partage.web.i18n import N_

TAKEN = N_("Another account uses this e-mail address.")
SAME = N_("This is your address already.")


def _check_free(s: Session, email: str) -> None:
    if s.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(TAKEN)


def request_change(
    s: Session,
    limiter: FailureLimiter,
    settings: Settings,
    user_id: int,
    password: str,
    new_email: str,
    *,
    address: str,
) -> tuple[str, str]:
    """(normalized new address, secret for the confirmation link). The address changes
    only when the link is followed."""
    user = s.get(User, user_id)
    if user is None or not user.is_active:
        raise Forbidden(SUSPENDED)
    check_current_password(limiter, settings, user, password, address)
    email = normalize_email(new_email)
    if email == user.email:
        raise BadRequest(SAME)
    _check_free(s, email)
    onetime.spend_all(s, user.id, onetime.EMAIL)  # only the latest request counts
    return email, onetime.issue(s, user, onetime.EMAIL, new_email=email)


def pending_change(s: Session, secret: str) -> tuple[User, str]:
    """(account, new address) for a live confirmation link."""
    tok = onetime.find(s, secret, onetime.EMAIL)
    user = s.get(User, tok.user_id)
    if user is None or tok.new_email is None:
        raise Forbidden(onetime.UNKNOWN)
    if not user.is_active:
        raise Forbidden(SUSPENDED)
    return user, tok.new_email


def confirm_change(s: Session, secret: str) -> tuple[User, str]:
    """Switch the address; returns (account, old address)."""
    user, email = pending_change(s, secret)
    _check_free(s, email)  # someone may have taken it since the link was sent
    onetime.spend(s, onetime.find(s, secret, onetime.EMAIL))
    old, user.email = user.email, email
    return user, old
