"""TOTP two-factor authentication (RFC 6238) with single-use recovery codes.

A code is accepted in the current 30-second step or the one either side (clock
drift), and once only: each accepted step is recorded as a spent one-time token
(purpose "totp", unique hash of user and step), so a code seen over a shoulder or
in a proxy log cannot be replayed, by any web process.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import timedelta

import pyotp
import segno
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from partage.accounts.models import AccountToken, RecoveryCode, User
from partage.accounts.passwords import SUSPENDED, check_current_password
from partage.db import utcnow
from partage.errors import BadRequest, Conflict, Forbidden, NotAuthenticated
from partage.ratelimit import FailureLimiter, check_secret, second_factor_policy
from partage.security import random_code, token_hash
from partage.settings import Settings
from partage.web.i18n import N_

ISSUER = "partage"
RECOVERY_CODES = 10
TOTP_PURPOSE = "totp"
CODE_RE = re.compile(r"^\d{6}$")

WRONG_CODE = N_("This code is wrong or was used already.")
NOT_SET_UP = N_("Two-factor authentication is not set up.")
ALREADY_ON = N_("Two-factor authentication is on already.")
NOT_ON = N_("Two-factor authentication is off.")


def _clean(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()


def _recovery_hash(code: str) -> str:
    return hashlib.sha256(f"recovery:{_clean(code)}".encode()).hexdigest()


def _live_user(s: Session, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None or not user.is_active:
        raise Forbidden(SUSPENDED)
    return user


# -- set-up ----------------------------------------------------------------------------------


def begin_setup(s: Session, user_id: int) -> str:
    """A new secret for this account (replacing an unconfirmed one); 2FA stays off until
    a first code proves the authenticator has it."""
    user = _live_user(s, user_id)
    if user.totp_enabled_at is not None:
        raise Conflict(ALREADY_ON)
    user.totp_secret = pyotp.random_base32()
    return user.totp_secret


def provisioning_uri(user: User, issuer: str = ISSUER) -> str:
    if not user.totp_secret:
        raise BadRequest(NOT_SET_UP)
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_svg(uri: str, title: str) -> str:
    """An inline SVG QR code (no external request, no script); dark on white for scanners."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, border=2, light="#fff", title=title))


def enable(s: Session, user_id: int, code: str) -> list[str]:
    """Turn 2FA on with a first valid code; returns the recovery codes (shown once)."""
    user = _live_user(s, user_id)
    if user.totp_enabled_at is not None:
        raise Conflict(ALREADY_ON)
    if not user.totp_secret:
        raise BadRequest(NOT_SET_UP)
    if not _accept_totp(s, user, code):
        raise BadRequest(WRONG_CODE)
    user.totp_enabled_at = utcnow()
    return new_recovery_codes(s, user)


def new_recovery_codes(s: Session, user: User) -> list[str]:
    """A fresh set; the old codes stop working."""
    s.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{random_code(5)}-{random_code(5)}" for _ in range(RECOVERY_CODES)]
    s.add_all(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(c)) for c in codes)
    s.flush()
    return codes


def regenerate_codes(
    s: Session,
    limiter: FailureLimiter,
    settings: Settings,
    user_id: int,
    password: str,
    *,
    address: str,
) -> list[str]:
    user = _live_user(s, user_id)
    if user.totp_enabled_at is None:
        raise BadRequest(NOT_ON)
    check_current_password(limiter, settings, user, password, address)
    return new_recovery_codes(s, user)


def recovery_codes_left(s: Session, user_id: int) -> int:
    q = select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
    )
    return s.scalar(q) or 0


def disable(
    s: Session,
    limiter: FailureLimiter,
    settings: Settings,
    user_id: int,
    password: str,
    code: str,
    *,
    address: str,
) -> None:
    """Turn 2FA off: both the password and a code (or a recovery code) are needed."""
    user = _live_user(s, user_id)
    if user.totp_enabled_at is None:
        raise BadRequest(NOT_ON)
    check_current_password(limiter, settings, user, password, address)
    check_second_factor(s, limiter, settings, user, code, address)
    user.totp_secret = None
    user.totp_enabled_at = None
    s.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# -- checking codes --------------------------------------------------------------------------


def _accept_totp(s: Session, user: User, code: str) -> bool:
    code = _clean(code)
    if not user.totp_secret or not CODE_RE.match(code):
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now = utcnow()
    step = totp.timecode(now)
    for counter in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.generate_otp(counter), code):
            return _spend_step(s, user, counter)
    return False


def _spend_step(s: Session, user: User, counter: int) -> bool:
    """Record the step as used; False when it was used already. A racing twin fails on
    the unique hash at commit, so at most one request wins."""
    now = utcnow()
    s.execute(
        delete(AccountToken).where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == TOTP_PURPOSE,
            AccountToken.expires_at <= now,
        )
    )
    digest = token_hash(f"totp:{user.id}:{counter}")
    if s.scalar(select(AccountToken.id).where(AccountToken.token_hash == digest)) is not None:
        return False
    s.add(
        AccountToken(
            user_id=user.id,
            purpose=TOTP_PURPOSE,
            token_hash=digest,
            expires_at=now + timedelta(minutes=3),  # past the last step that could match
            used_at=now,
        )
    )
    s.flush()
    return True


def _accept_recovery(s: Session, user: User, code: str) -> bool:
    done = s.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _recovery_hash(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]


def check_second_factor(
    s: Session, limiter: FailureLimiter, settings: Settings, user: User, code: str, address: str
) -> None:
    """A 6-digit TOTP code or a recovery code, under the second-factor policy
    (ratelimit.check_secret)."""

    def right() -> bool:
        ok = _accept_totp(s, user, code) if CODE_RE.match(_clean(code)) else False
        return ok or (len(_clean(code)) == 10 and _accept_recovery(s, user, code))

    policy = second_factor_policy(settings)
    if not check_secret(limiter, policy, address=address, subject=str(user.id), verify=right):
        raise NotAuthenticated(WRONG_CODE)
