"""Accounts: plans, users, login, web sessions and API tokens. No HTTP here."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from partage.accounts.models import ApiToken, Plan, User, WebSession
from partage.db import utcnow
from partage.errors import BadRequest, Conflict, Forbidden, NotAuthenticated, NotFound
from partage.ratelimit import FailureLimiter, check_secret, login_policy, token_policy
from partage.security import hash_password, new_token, token_hash, verify_password
from partage.settings import Settings
from partage.web.i18n import N_

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
TOKEN_PREFIX = "ptg_"

GiB = 1024**3
DEFAULT_PLANS: dict[str, dict[str, int | None]] = {
    "free": dict(storage_quota=50 * GiB, max_file_size=5 * GiB),
    "premium": dict(storage_quota=None, max_file_size=None),
    "anonymous": dict(storage_quota=0, max_file_size=0),
}


def ensure_default_plans(s: Session) -> None:
    existing = set(s.scalars(select(Plan.name)))
    for name, limits in DEFAULT_PLANS.items():
        if name not in existing:
            s.add(Plan(name=name, **limits))
    s.flush()


def get_plan(s: Session, name: str) -> Plan:
    plan = s.scalar(select(Plan).where(Plan.name == name))
    if plan is None:
        names = ", ".join(s.scalars(select(Plan.name).order_by(Plan.name)))
        raise NotFound("No plan named %(name)s. Plans: %(names)s.", name=repr(name), names=names)
    return plan


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 320:
        raise BadRequest("%(email)s is not a valid e-mail address.", email=repr(email))
    return email


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise BadRequest("The password must have at least %(min)s characters.", min=MIN_PASSWORD)
    if len(password) > 1024:
        raise BadRequest("The password is too long (1024 characters at most).")


def create_user(
    s: Session, email: str, password: str, *, admin: bool = False, plan: str = "free"
) -> User:
    email = normalize_email(email)
    check_password_strength(password)
    ensure_default_plans(s)
    if s.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("An account with the e-mail %(email)s exists already.", email=email)
    user = User(
        email=email,
        password_hash=hash_password(password),
        is_admin=admin,
        plan=get_plan(s, plan),
    )
    s.add(user)
    s.flush()
    return user


def register(
    s: Session,
    limiter: FailureLimiter,
    settings: Settings,
    email: str,
    password: str,
    address: str,
) -> User:
    """Self-service sign-up: limited per address, since each account costs storage."""
    key = f"register:address:{address}"
    rule = settings.registration_rate_per_address
    limiter.check(rule, key, what=N_("sign-ups from your address"), counted="sign-ups")
    user = create_user(s, email, password)
    limiter.fail(rule, key)
    return user


def count_users(s: Session) -> int:
    return s.scalar(select(func.count(User.id))) or 0


def list_users(s: Session) -> list[User]:
    return list(s.scalars(select(User).order_by(User.id)))


def get_user_by_email(s: Session, email: str) -> User:
    user = s.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound("No account with the e-mail %(email)s.", email=email)
    return user


def bootstrap_admin(s: Session, settings: Settings) -> tuple[str, str] | None:
    """On first start, create the admin account. Returns (email, password) when generated."""
    ensure_default_plans(s)
    if count_users(s):
        return None
    email = settings.admin_email or "admin@localhost.localdomain"
    password = settings.admin_password or secrets.token_urlsafe(15)
    create_user(s, email, password, admin=True, plan="premium")
    return email, password


def authenticate(
    s: Session, limiter: FailureLimiter, settings: Settings, email: str, password: str, address: str
) -> User:
    """Check a password under the login policy (ratelimit.check_secret): the owner gets in
    from an address that is not failing, whatever others tried on the account."""
    email = email.strip().lower()
    user = s.scalar(select(User).where(User.email == email))

    def right() -> bool:
        return user is not None and verify_password(user.password_hash, password)

    policy = login_policy(settings)
    if not check_secret(limiter, policy, address=address, subject=email, verify=right):
        raise NotAuthenticated("Wrong e-mail or password.")
    assert user is not None  # right() said so
    if not user.is_active:
        raise Forbidden("This account is suspended.")
    return user


# -- web sessions ----------------------------------------------------------------------------


@dataclass
class NewSession:
    cookie: str
    session: WebSession


def open_session(
    s: Session, user: User, ttl: int, *, user_agent: str | None, address: str | None
) -> NewSession:
    cookie = new_token()
    ws = WebSession(
        token_hash=token_hash(cookie),
        user_id=user.id,
        csrf_token=new_token(24),
        expires_at=utcnow() + timedelta(seconds=ttl),
        user_agent=(user_agent or "")[:512],
        address=address,
    )
    s.add(ws)
    s.execute(update(User).where(User.id == user.id).values(last_login_at=utcnow()))
    s.flush()
    return NewSession(cookie, ws)


def session_user(s: Session, cookie: str) -> tuple[WebSession, User] | None:
    ws = s.scalar(select(WebSession).where(WebSession.token_hash == token_hash(cookie)))
    if ws is None or ws.expires_at <= utcnow():
        return None
    user = s.get(User, ws.user_id)
    if user is None or not user.is_active:
        return None
    return ws, user


def close_session(s: Session, cookie: str) -> None:
    ws = s.scalar(select(WebSession).where(WebSession.token_hash == token_hash(cookie)))
    if ws is not None:
        s.delete(ws)


# -- API tokens ------------------------------------------------------------------------------


def create_token(s: Session, user: User, name: str) -> tuple[ApiToken, str]:
    name = name.strip() or "token"
    if len(name) > 100:
        raise BadRequest("A token name has 100 characters at most.")
    secret = TOKEN_PREFIX + new_token()
    tok = ApiToken(user_id=user.id, name=name, token_hash=token_hash(secret), prefix=secret[:10])
    s.add(tok)
    s.flush()
    return tok, secret


def list_tokens(s: Session, user: User) -> list[ApiToken]:
    return list(
        s.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id)
        )
    )


def revoke_token(s: Session, user: User, token_id: int) -> None:
    tok = s.get(ApiToken, token_id)
    if tok is None or tok.user_id != user.id or tok.revoked_at is not None:
        raise NotFound("No such token.")
    tok.revoked_at = utcnow()


def token_user(
    s: Session, limiter: FailureLimiter, settings: Settings, secret: str, address: str
) -> tuple[User, int | None]:
    """The account of a valid token, whatever failed before from this address (the token is
    looked up first; only invalid ones count, and slow further invalid ones), and the
    token's id when its last use is worth writing down (`touch_token`, at most once a
    minute). The lookup itself writes nothing, so every API request can run in a read
    transaction: on SQLite a write transaction per request serialized the whole API
    behind the database's one write lock."""
    tok = s.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))
    user = s.get(User, tok.user_id) if tok is not None and tok.revoked_at is None else None
    policy = token_policy(settings)
    if not check_secret(limiter, policy, address=address, subject=None, verify=lambda: bool(user)):
        raise NotAuthenticated("Invalid or revoked API token.")
    assert tok is not None and user is not None
    if not user.is_active:
        raise Forbidden("This account is suspended.")
    stale = tok.last_used_at is None or utcnow() - tok.last_used_at > timedelta(minutes=1)
    return user, tok.id if stale else None


def touch_token(s: Session, token_id: int) -> None:
    s.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))


def list_sessions(s: Session, user: User) -> list[WebSession]:
    return list(
        s.scalars(
            select(WebSession)
            .where(WebSession.user_id == user.id, WebSession.expires_at > utcnow())
            .order_by(WebSession.created_at.desc())
        )
    )


def revoke_session(s: Session, user: User, session_id: int) -> None:
    ws = s.get(WebSession, session_id)
    if ws is None or ws.user_id != user.id:
        raise NotFound("No such session.")
    s.delete(ws)


def revoke_other_sessions(s: Session, user: User, keep_id: int | None) -> int:
    from sqlalchemy import delete

    q = delete(WebSession).where(WebSession.user_id == user.id)
    if keep_id is not None:
        q = q.where(WebSession.id != keep_id)
    return s.execute(q).rowcount or 0  # type: ignore[attr-defined]
