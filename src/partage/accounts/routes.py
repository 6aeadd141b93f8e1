"""Accounts API: who am I, API tokens, sessions, password, e-mail and 2FA."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from partage import humanize
from partage.accounts import emails, messages, passwords, twofactor
from partage.accounts import service as accounts
from partage.accounts.models import ApiToken, User, WebSession
from partage.bounds import Id
from partage.db import iso
from partage.deps import Address, ApiUser, Ctx, MailBaseUrl, resolve_auth
from partage.files.quota import max_file_size, used_bytes

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def _token_json(t: ApiToken) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "prefix": t.prefix,
        "created": iso(t.created_at),
        "last_used": iso(t.last_used_at),
    }


@router.get("/me")
def me(user: ApiUser, ctx: Ctx) -> dict[str, Any]:
    with ctx.db.read() as s:
        used = used_bytes(s, user.id)
    plan = user.plan
    return {
        "id": user.id,
        "email": user.email,
        "is_admin": user.is_admin,
        "plan": {
            "name": plan.name,
            "storage_quota": plan.storage_quota,
            "max_file_size": max_file_size(user, ctx.settings),
        },
        "used_bytes": used,
        "used": humanize.size(used),
        "two_factor": user.totp_enabled_at is not None,
    }


class TokenIn(BaseModel):
    name: str = Field(default="api", max_length=100)


@router.get("/tokens")
def list_tokens(user: ApiUser, ctx: Ctx) -> list[dict[str, Any]]:
    with ctx.db.read() as s:
        return [_token_json(t) for t in accounts.list_tokens(s, user)]


@router.post("/tokens", status_code=201)
def create_token(body: TokenIn, user: ApiUser, ctx: Ctx) -> dict[str, Any]:
    """The token itself is in `token` and is shown only in this answer."""
    with ctx.db.session() as s:
        tok, secret = accounts.create_token(s, user, body.name)
        return {**_token_json(tok), "token": secret}


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: Id, user: ApiUser, ctx: Ctx) -> None:
    with ctx.db.session() as s:
        accounts.revoke_token(s, user, token_id)


def _session_json(ws: WebSession, current_id: int | None) -> dict[str, Any]:
    return {
        "id": ws.id,
        "created": iso(ws.created_at),
        "expires": iso(ws.expires_at),
        "user_agent": ws.user_agent,
        "address": ws.address,
        "current": ws.id == current_id,
    }


@router.get("/sessions")
def list_sessions(request: Request, user: ApiUser, ctx: Ctx) -> list[dict[str, Any]]:
    """Web sessions (logged-in browsers) of this account."""
    current = resolve_auth(request, ctx).web_session
    with ctx.db.read() as s:
        return [_session_json(w, current.id if current else None)
                for w in accounts.list_sessions(s, user)]  # fmt: skip


@router.delete("/sessions/{session_id}", status_code=204)
def revoke_session(session_id: Id, user: ApiUser, ctx: Ctx) -> None:
    with ctx.db.session() as s:
        accounts.revoke_session(s, user, session_id)


@router.post("/sessions/revoke-others")
def revoke_other_sessions(request: Request, user: ApiUser, ctx: Ctx) -> dict[str, int]:
    """Log out everywhere else (every session but the one asking, if any)."""
    current = resolve_auth(request, ctx).web_session
    with ctx.db.session() as s:
        n = accounts.revoke_other_sessions(s, user, current.id if current else None)
    return {"revoked": n}


# -- password, e-mail, two-factor ------------------------------------------------------------


class ForgotIn(BaseModel):
    email: str = Field(max_length=320)


class ResetIn(BaseModel):
    token: str = Field(max_length=200)
    password: str = Field(max_length=1024)


class PasswordIn(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class EmailIn(BaseModel):
    new_email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class ConfirmIn(BaseModel):
    token: str = Field(max_length=200)


class CodeIn(BaseModel):
    code: str = Field(max_length=64)


class DisableIn(BaseModel):
    password: str = Field(max_length=1024)
    code: str = Field(max_length=64)


SENT = "If an account uses this address, a reset link was sent to it."


@router.post("/password/forgot", status_code=202)
def forgot_password(
    body: ForgotIn, request: Request, ctx: Ctx, address: Address, base: MailBaseUrl
) -> dict[str, str]:
    """E-mail a one-hour, single-use reset link. The answer is the same for every address."""
    with ctx.db.session() as s:
        found = passwords.request_reset(s, ctx.limiter, ctx.settings, body.email, address)
    if found is not None:
        lang = messages.mail_language(request, found[0].locale)
        messages.send_reset(ctx.settings, base, found[0].email, found[1], lang)
    return {"message": SENT}


@router.post("/password/reset", status_code=204)
def reset_password(body: ResetIn, ctx: Ctx) -> None:
    """Set a new password with the secret of a reset link; every web session ends."""
    with ctx.db.session() as s:
        passwords.reset_password(s, body.token, body.password, body.password)


@router.post("/me/password")
def change_password(
    body: PasswordIn, request: Request, user: ApiUser, ctx: Ctx, address: Address
) -> dict[str, int]:
    """Change the password (the current one is required); every other web session ends."""
    current = resolve_auth(request, ctx).web_session
    with ctx.db.session() as s:
        n = passwords.change_password(
            s, ctx.limiter, ctx.settings, user.id, body.current_password, body.new_password,
            body.new_password, keep_session_id=current.id if current else None, address=address,
        )  # fmt: skip
    return {"sessions_ended": n}


@router.post("/me/email", status_code=202)
def change_email(
    body: EmailIn, request: Request, user: ApiUser, ctx: Ctx, base: MailBaseUrl, address: Address
) -> dict[str, str]:
    """Send a confirmation link to the new address; the address changes when it is used."""
    with ctx.db.session() as s:
        email, secret = emails.request_change(
            s, ctx.limiter, ctx.settings, user.id, body.password, body.new_email, address=address
        )
    lang = messages.mail_language(request, user.locale)
    messages.send_email_confirmation(ctx.settings, base, email, secret, lang)
    return {"message": "A confirmation link was sent to the new address.", "new_email": email}


@router.post("/email/confirm")
def confirm_email(body: ConfirmIn, request: Request, ctx: Ctx, base: MailBaseUrl) -> dict[str, str]:
    """Confirm an address change with the secret of the e-mailed link."""
    with ctx.db.session() as s:
        user, old = emails.confirm_change(s, body.token)
        new = user.email
        lang = messages.mail_language(request, user.locale)
    messages.send_email_changed(ctx.settings, base, old, new, lang)
    return {"email": new}


@router.post("/me/2fa/setup")
def setup_2fa(user: ApiUser, ctx: Ctx) -> dict[str, str]:
    """A new TOTP secret; two-factor stays off until `/me/2fa/enable` gets a valid code."""
    with ctx.db.session() as s:
        secret = twofactor.begin_setup(s, user.id)
        fresh = s.get(User, user.id)
        assert fresh is not None
        return {"secret": secret, "uri": twofactor.provisioning_uri(fresh)}


@router.post("/me/2fa/enable")
def enable_2fa(body: CodeIn, user: ApiUser, ctx: Ctx) -> dict[str, list[str]]:
    """Turn two-factor on; the answer holds the 10 recovery codes, shown only here."""
    with ctx.db.session() as s:
        return {"recovery_codes": twofactor.enable(s, user.id, body.code)}


@router.post("/me/2fa/disable", status_code=204)
def disable_2fa(body: DisableIn, user: ApiUser, ctx: Ctx, address: Address) -> None:
    with ctx.db.session() as s:
        twofactor.disable(
            s, ctx.limiter, ctx.settings, user.id, body.password, body.code, address=address
        )
