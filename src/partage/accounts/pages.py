"""Account pages: log in, sign up, log out, and the account page (plan, quota, API tokens)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from partage.accounts import service as accounts
from partage.accounts.models import User
from partage.deps import SESSION_COOKIE, Address, Ctx, check_csrf, resolve_auth
from partage.errors import BadRequest, Forbidden, NotAuthenticated, PartageError, RateLimited
from partage.files.quota import max_file_size, used_bytes
from partage.web.origin import check_origin
from partage.web.redirects import login_url, safe_next
from partage.web.templating import render

router = APIRouter(include_in_schema=False)

NO_STORE = {"Cache-Control": "no-store"}


def start_session(request: Request, ctx: Ctx, user: User, address: str, target: str) -> Response:
    with ctx.db.session() as s:
        new = accounts.open_session(
            s,
            user,
            ctx.settings.session_ttl,
            user_agent=request.headers.get("user-agent"),
            address=address,
        )
    secure = ctx.settings.cookie_secure
    if secure is None:
        secure = request.url.scheme == "https"
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        new.cookie,
        max_age=ctx.settings.session_ttl,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
    )
    return resp


# -- log in ----------------------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request, ctx: Ctx, next: str | None = None) -> Response:
    if resolve_auth(request, ctx).user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next, ""), "email": ""})


@router.post("/login")
def login(
    request: Request,
    ctx: Ctx,
    address: Address,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    check_origin(request, ctx)
    page = {"next": safe_next(next, ""), "email": email}
    try:
        if not email or not password:
            raise NotAuthenticated("Enter your e-mail and password.")
        with ctx.db.session() as s:
            user = accounts.authenticate(s, ctx.limiter, ctx.settings, email, password, address)
    except RateLimited as e:
        return render(request, "login.html", {**page, "error": e.message}, e.status, e.headers)
    except PartageError as e:
        return render(request, "login.html", {**page, "error": e.message}, e.status)
    return start_session(request, ctx, user, address, safe_next(next))


# -- sign up ---------------------------------------------------------------------------------


def _closed(request: Request) -> Response:
    return render(request, "register_closed.html", status=404)


@router.get("/register")
def register_page(request: Request, ctx: Ctx) -> Response:
    if not ctx.settings.registration_open:
        return _closed(request)
    if resolve_auth(request, ctx).user is not None:
        return RedirectResponse("/files", status_code=303)
    return render(request, "register.html", {"email": ""})


@router.post("/register")
def register(
    request: Request,
    ctx: Ctx,
    address: Address,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    password_again: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    if not ctx.settings.registration_open:
        return _closed(request)
    check_origin(request, ctx)
    try:
        if password != password_again:
            raise BadRequest("The two passwords differ.")
        with ctx.db.session() as s:
            user = accounts.register(s, ctx.limiter, ctx.settings, email, password, address)
    except PartageError as e:
        return render(
            request, "register.html", {"email": email, "error": e.message}, e.status, e.headers
        )
    return start_session(request, ctx, user, address, "/files")


# -- log out ---------------------------------------------------------------------------------


@router.post("/logout")
def logout(request: Request, ctx: Ctx, csrf_token: Annotated[str, Form()] = "") -> Response:
    auth = resolve_auth(request, ctx)
    cookie = request.cookies.get(SESSION_COOKIE)
    if auth.web_session is not None and cookie:
        check_csrf(request, auth, csrf_token)
        with ctx.db.session() as s:
            accounts.close_session(s, cookie)
    resp = RedirectResponse("/", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return resp


# -- account ---------------------------------------------------------------------------------


def _account(
    request: Request, ctx: Ctx, user: User, status: int = 200, **extra: object
) -> Response:
    with ctx.db.read() as s:
        used = used_bytes(s, user.id)
        tokens = accounts.list_tokens(s, user)
    data = {
        "plan": user.plan,
        "used": used,
        "quota": user.plan.storage_quota,
        "max_file_size": max_file_size(user, ctx.settings),
        "tokens": tokens,
        **extra,
    }
    return render(request, "account.html", data, status, NO_STORE)


def _web_user(request: Request, ctx: Ctx, csrf_token: str | None = None) -> User | None:
    auth = resolve_auth(request, ctx)
    if auth.user is None:
        return None
    if auth.web_session is None:
        raise Forbidden("These pages are for web sessions: use the API with a token.")
    check_csrf(request, auth, csrf_token)
    return auth.user


@router.get("/account")
def account_page(request: Request, ctx: Ctx, done: str | None = None) -> Response:
    user = _web_user(request, ctx)
    if user is None:
        return RedirectResponse(login_url(request), status_code=303)
    notice = {"revoked": "The token was revoked."}.get(done or "")
    return _account(request, ctx, user, notice=notice)


@router.post("/account/tokens")
def create_token(
    request: Request,
    ctx: Ctx,
    csrf_token: Annotated[str, Form()] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    user = _web_user(request, ctx, csrf_token)
    if user is None:
        return RedirectResponse("/login?next=/account", status_code=303)
    try:
        with ctx.db.session() as s:
            tok, secret = accounts.create_token(s, user, name)
    except PartageError as e:
        return _account(request, ctx, user, error=e.message, status=e.status)
    return _account(request, ctx, user, new_token=secret, new_token_name=tok.name)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(
    token_id: int, request: Request, ctx: Ctx, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    user = _web_user(request, ctx, csrf_token)
    if user is None:
        return RedirectResponse("/login?next=/account", status_code=303)
    try:
        with ctx.db.session() as s:
            accounts.revoke_token(s, user, token_id)
    except PartageError as e:
        return _account(request, ctx, user, error=e.message, status=e.status)
    return RedirectResponse("/account?done=revoked", status_code=303)
