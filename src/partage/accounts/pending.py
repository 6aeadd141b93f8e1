"""The state between a correct password and the second factor: a short-lived signed
value kept in a cookie. It is no session: it opens nothing but the code form."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.accounts.passwords import SUSPENDED
from partage.errors import Forbidden, NotAuthenticated
from partage.security import Signer, token_hash
from partage.settings import Settings
from partage.web.i18n import N_

COOKIE = "partage_2fa"
TTL = 300  # seconds to type the code
EXPIRED = N_("The log-in took too long or was interrupted: log in again.")


def _signer(settings: Settings) -> Signer:
    return Signer(settings.signing_key(), "login-second-factor")


def _password_mark(user: User) -> str:
    # A password change (or reset) in the meantime voids the half-done log-in.
    return token_hash(user.password_hash)[:16]


def make(settings: Settings, user: User, next_path: str) -> str:
    payload = {"u": user.id, "x": int(time.time()) + TTL, "p": _password_mark(user)}
    return _signer(settings).sign({**payload, "n": next_path})


def resolve(s: Session, settings: Settings, value: str | None) -> tuple[User, str]:
    """(user, where to go after) for a live pending log-in, else NotAuthenticated."""
    data = _signer(settings).unsign(value or "")
    if not data or not isinstance(data.get("x"), int) or data["x"] < time.time():
        raise NotAuthenticated(EXPIRED)
    user = s.get(User, data.get("u"))
    if user is None or data.get("p") != _password_mark(user) or user.totp_enabled_at is None:
        raise NotAuthenticated(EXPIRED)
    if not user.is_active:
        raise Forbidden(SUSPENDED)
    return user, str(data.get("n") or "/files")
