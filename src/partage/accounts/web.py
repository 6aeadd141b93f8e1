"""What the account pages share: starting a session, the signed-in user, messages."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from partage.accounts import service as accounts
from partage.accounts.models import User
from partage.deps import SESSION_COOKIE, Auth, Ctx, check_csrf, resolve_auth
from partage.errors import Forbidden

NO_STORE = {"Cache-Control": "no-store"}


def secure_cookies(request: Request, ctx: Ctx) -> bool:
    secure = ctx.settings.cookie_secure
    return request.url.scheme == "https" if secure is None else secure


def start_session(request: Request, ctx: Ctx, user: User, address: str, target: str) -> Response:
    with ctx.db.session() as s:
        new = accounts.open_session(
            s,
            user,
            ctx.settings.session_ttl,
            user_agent=request.headers.get("user-agent"),
            address=address,
        )
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        new.cookie,
        max_age=ctx.settings.session_ttl,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, ctx),
    )
    return resp


def web_auth(request: Request, ctx: Ctx, csrf_token: str | None = None) -> Auth:
    """The signed-in browser (a web session, CSRF-checked for forms); `auth.user` is None
    for a visitor."""
    auth = resolve_auth(request, ctx)
    if auth.user is None:
        return auth
    if auth.web_session is None:
        raise Forbidden("These pages are for web sessions: use the API with a token.")
    check_csrf(request, auth, csrf_token)
    return auth


def web_user(request: Request, ctx: Ctx, csrf_token: str | None = None) -> User | None:
    return web_auth(request, ctx, csrf_token).user


def to_login(next_path: str = "/account") -> Response:
    return RedirectResponse(f"/login?next={next_path}", status_code=303)
