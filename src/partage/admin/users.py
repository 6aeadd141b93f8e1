"""Accounts seen by an administrator: create, list and search, plan, tokens, suspend,
delete.

The web pages, the API and `partage admin user …` all call these functions.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from partage.accounts import service as accounts
from partage.accounts.models import AccountToken, ApiToken, Plan, RecoveryCode, User, WebSession
from partage.context import Context
from partage.db import iso, utcnow
from partage.errors import BadRequest, Conflict, NotFound, Term
from partage.files.blobs import delete_unreferenced_keys
from partage.files.models import File, FileStatus, Folder
from partage.files.service import MAX_BULK, delete_files
from partage.moderation import audit
from partage.web.i18n import N_

MAX_REASON = 1000
STATES = ("active", "suspended")


@dataclass
class UserRow:
    user: User
    used: int  # bytes of the user's files, counted at full size (as quotas do)
    files: int

    @property
    def state(self) -> str:
        return "active" if self.user.is_active else "suspended"


@dataclass
class UserPage:
    items: list[UserRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def list_users(
    s: Session,
    *,
    search: str | None = None,
    state: str | None = None,
    plan: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> UserPage:
    """Accounts (deleted ones left out), oldest first; `search` is a piece of the e-mail."""
    if page < 1 or not 1 <= per_page <= 500:
        raise BadRequest("page starts at 1; per_page is between 1 and 500.")
    if state is not None and state not in STATES:
        raise BadRequest("state is one of: %(states)s.", states=", ".join(STATES))
    q = select(User).where(User.deleted_at.is_(None))
    if search and search.strip():
        q = q.where(User.email.ilike(_like(search.strip().lower()), escape="\\"))
    if state is not None:
        q = q.where(User.is_active.is_(state == "active"))
    if plan:
        q = q.join(Plan, Plan.id == User.plan_id).where(Plan.name == plan)
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    users = list(s.scalars(q.order_by(User.id).offset((page - 1) * per_page).limit(per_page)))
    usage = _usage(s, [u.id for u in users])
    rows = [UserRow(u, *usage.get(u.id, (0, 0))) for u in users]
    return UserPage(rows, total, page, per_page)


def _usage(s: Session, ids: list[int]) -> dict[int, tuple[int, int]]:
    if not ids:
        return {}
    found = s.execute(
        select(File.owner_id, func.coalesce(func.sum(File.size), 0), func.count(File.id))
        .where(File.owner_id.in_(ids), File.status != FileStatus.deleted)
        .group_by(File.owner_id)
    ).all()
    return {r[0]: (int(r[1]), int(r[2])) for r in found}


def get_user(s: Session, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None or user.deleted_at is not None:
        raise NotFound("No account with id %(user_id)s.", user_id=user_id)
    return user


def find_user(s: Session, ref: str) -> User:
    """An account by id or e-mail (for the command line)."""
    if ref.isdigit():
        return get_user(s, int(ref))
    user = s.scalar(
        select(User).where(User.email == ref.strip().lower(), User.deleted_at.is_(None))
    )
    if user is None:
        raise NotFound("No account with the e-mail %(ref)s.", ref=ref)
    return user


def create_account(
    s: Session, actor: User | None, email: str, password: str, *, admin: bool = False,
    plan: str = "free",
) -> User:  # fmt: skip
    """An account made by an operator (not a sign-up): audited as `user.create`."""
    user = accounts.create_user(s, email, password, admin=admin, plan=plan)
    audit.record(s, actor, "user.create", f"user:{user.id}",
                 after={"email": user.email, "plan": plan, "is_admin": user.is_admin})  # fmt: skip
    return user


def issue_token(s: Session, actor: User | None, user: User, name: str) -> tuple[ApiToken, str]:
    """An API token made for an account by an operator: audited as `token.create` (its
    id, name and visible prefix; never the secret)."""
    tok, secret = accounts.create_token(s, user, name)
    audit.record(s, actor, "token.create", f"user:{user.id}",
                 after={"token": tok.id, "name": tok.name, "prefix": tok.prefix})  # fmt: skip
    return tok, secret


def user_row(s: Session, user: User) -> UserRow:
    return UserRow(user, *_usage(s, [user.id]).get(user.id, (0, 0)))


def set_plan(s: Session, user_id: int, plan_name: str, *, actor: User | None = None) -> User:
    from partage.accounts.service import get_plan

    user = get_user(s, user_id)
    before = user.plan.name
    user.plan = get_plan(s, plan_name)
    s.flush()
    audit.record(s, actor, "user.plan", f"user:{user.id}",
                 before={"plan": before}, after={"plan": user.plan.name})  # fmt: skip
    return user


def set_roles(
    s: Session,
    actor: User | None,
    user_id: int,
    *,
    is_moderator: bool | None = None,
    trusted_flagger: bool | None = None,
) -> User:
    """Mark or unmark a moderator and a trusted flagger (None: unchanged)."""
    user = get_user(s, user_id)
    before = _roles(user)
    if is_moderator is not None:
        user.is_moderator = is_moderator
    if trusted_flagger is not None:
        user.trusted_flagger = trusted_flagger
    if _roles(user) != before:
        audit.record(s, actor, "user.roles", f"user:{user.id}", before=before, after=_roles(user))
    s.flush()
    return user


def _roles(user: User) -> dict[str, bool]:
    return {"is_moderator": bool(user.is_moderator), "trusted_flagger": bool(user.trusted_flagger)}


def _end_access(s: Session, user_id: int) -> None:
    """Log out every web session and revoke every API token: effective at the next request."""
    s.execute(delete(WebSession).where(WebSession.user_id == user_id))
    s.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def suspend(
    s: Session, actor: User | None, user_id: int, reason: str, *, cause: str = "admin"
) -> User:
    """`actor` is the administrator doing it; None from the command line. `cause` says
    why for the transparency report: "admin", "decision" (a moderator's), or
    "repeat_infringer" (the strike policy)."""
    reason = reason.strip()
    if not reason:
        raise BadRequest("Give a reason for the suspension.")
    if len(reason) > MAX_REASON:
        raise BadRequest("The reason has %(max)s characters at most.", max=MAX_REASON)
    user = get_user(s, user_id)
    _check_not_last_admin(s, actor, user, N_("suspend"))
    before = {"active": user.is_active, "suspended_reason": user.suspended_reason}
    user.is_active = False
    user.suspended_at = utcnow()
    user.suspended_reason = reason
    _end_access(s, user.id)
    s.flush()
    audit.record(s, actor, "user.suspend", f"user:{user.id}", reason=reason, before=before,
                 after={"active": False, "suspended_reason": reason, "cause": cause})  # fmt: skip
    return user


def unsuspend(s: Session, user_id: int, *, actor: User | None = None, cause: str = "admin") -> User:
    """`cause`: "admin", or "reversal" when a reversed decision reopens the account."""
    user = get_user(s, user_id)
    before = {"active": user.is_active, "suspended_reason": user.suspended_reason}
    user.is_active = True
    user.suspended_at = None
    user.suspended_reason = None
    s.flush()
    audit.record(s, actor, "user.unsuspend", f"user:{user.id}", before=before,
                 after={"active": True, "cause": cause})  # fmt: skip
    return user


def _check_not_last_admin(s: Session, actor: User | None, user: User, verb: str) -> None:
    if actor is not None and user.id == actor.id:
        raise Conflict("You cannot %(verb)s your own account.", verb=Term(verb))
    if user.is_admin:
        others = s.scalar(
            select(func.count(User.id)).where(
                User.is_admin.is_(True), User.deleted_at.is_(None), User.id != user.id,
                User.is_active.is_(True),
            )
        )  # fmt: skip
        if not others:
            raise Conflict(
                "This is the last administrator: make another one before you %(verb)s it.",
                verb=Term(verb),
            )


def delete_user(ctx: Context, actor: User | None, user_id: int) -> int:
    """Delete an account and its files; returns how many files went.

    The files go as a user's own deletion makes them go (links answer 410, blobs
    released by reference count, bytes removed after commit). The account row stays as
    a tombstone without e-mail, password or secrets, so those links can say "deleted";
    the e-mail address is free for a new account at once."""
    deleted = 0
    keys: list[str] = []
    with ctx.db.session() as s:
        user = get_user(s, user_id)
        _check_not_last_admin(s, actor, user, N_("delete"))
        # The e-mail address is left out on purpose: the account's deletion frees it, and
        # the append-only log would otherwise keep it for ever.
        before = {"plan": user.plan.name, "active": user.is_active, "is_admin": user.is_admin,
                  **_roles(user)}  # fmt: skip
        codes = list(
            s.scalars(
                select(File.code).where(File.owner_id == user.id, File.status != FileStatus.deleted)
            )
        )
        for i in range(0, len(codes), MAX_BULK):
            keys += delete_files(s, user, codes[i : i + MAX_BULK])
        deleted = len(codes)
        s.execute(delete(Folder).where(Folder.owner_id == user.id))
        for model in (AccountToken, RecoveryCode):
            s.execute(delete(model).where(model.user_id == user.id))  # type: ignore[attr-defined]
        _end_access(s, user.id)
        user.email = f"deleted-{user.id}-{secrets.token_hex(4)}@deleted.invalid"
        user.password_hash = "!"  # matches no password
        user.is_active = False
        user.is_admin = False
        user.totp_secret = None
        user.totp_enabled_at = None
        user.suspended_reason = None
        user.is_moderator = False
        user.trusted_flagger = False
        user.deleted_at = utcnow()
        audit.record(s, actor, "user.delete", f"user:{user.id}", before=before,
                     after={"deleted": True, "deleted_files": deleted})  # fmt: skip
    if keys:
        with ctx.db.session() as s:
            delete_unreferenced_keys(s, ctx.store, keys)
    return deleted


def user_json(row: UserRow) -> dict[str, Any]:
    u = row.user
    return {
        "id": u.id,
        "email": u.email,
        "plan": u.plan.name,
        "is_admin": u.is_admin,
        "is_moderator": bool(u.is_moderator),
        "trusted_flagger": bool(u.trusted_flagger),
        "state": row.state,
        "suspended_at": iso(u.suspended_at),
        "suspended_reason": u.suspended_reason,
        "storage_used": row.used,
        "files": row.files,
        "created": iso(u.created_at),
        "last_login": iso(u.last_login_at),
    }
