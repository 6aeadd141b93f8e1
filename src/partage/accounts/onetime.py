"""One-time secrets sent by e-mail (a password reset, the proof of a new address).

The link carries a 256-bit random secret; only its SHA-256 is stored. A secret is
spent by one conditional UPDATE, so two requests racing with the same link cannot
both succeed.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from partage.accounts.models import AccountToken, User
from partage.db import utcnow
from partage.errors import Gone, NotFound
from partage.security import new_token, token_hash
from partage.web.i18n import N_

RESET = "reset"
EMAIL = "email"
TTL = {RESET: timedelta(hours=1), EMAIL: timedelta(hours=24)}

UNKNOWN = N_("This link is not valid: check that you copied all of it, or ask for a new one.")
USED = N_("This link was used already: ask for a new one if you need it.")
EXPIRED = N_("This link has expired: ask for a new one.")


def issue(s: Session, user: User, purpose: str, *, new_email: str | None = None) -> str:
    secret = new_token()
    s.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=token_hash(secret),
            new_email=new_email,
            expires_at=utcnow() + TTL[purpose],
        )
    )
    s.flush()
    return secret


def find(s: Session, secret: str, purpose: str) -> AccountToken:
    """The live token for `secret`, or NotFound / Gone saying why not."""
    tok = s.scalar(
        select(AccountToken).where(
            AccountToken.token_hash == token_hash(secret), AccountToken.purpose == purpose
        )
    )
    if tok is None:
        raise NotFound(UNKNOWN)
    if tok.used_at is not None:
        raise Gone(USED)
    if tok.expires_at <= utcnow():
        raise Gone(EXPIRED)
    return tok


def spend(s: Session, tok: AccountToken) -> None:
    done = s.execute(
        update(AccountToken)
        .where(AccountToken.id == tok.id, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Gone(USED)


def spend_all(s: Session, user_id: int, purpose: str) -> None:
    """Links of this kind still waiting in the mailbox are worth nothing any more."""
    s.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user_id,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
