"""Accounts API: who am I, API tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from partage import humanize
from partage.accounts import service as accounts
from partage.accounts.models import ApiToken, WebSession
from partage.db import iso
from partage.deps import ApiUser, Ctx, resolve_auth
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
def revoke_token(token_id: int, user: ApiUser, ctx: Ctx) -> None:
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
def revoke_session(session_id: int, user: ApiUser, ctx: Ctx) -> None:
    with ctx.db.session() as s:
        accounts.revoke_session(s, user, session_id)


@router.post("/sessions/revoke-others")
def revoke_other_sessions(request: Request, user: ApiUser, ctx: Ctx) -> dict[str, int]:
    """Log out everywhere else (every session but the one asking, if any)."""
    current = resolve_auth(request, ctx).web_session
    with ctx.db.session() as s:
        n = accounts.revoke_other_sessions(s, user, current.id if current else None)
    return {"revoked": n}
