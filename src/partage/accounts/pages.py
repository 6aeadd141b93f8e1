"""Account pages: log in, sign up, log out, and the account page (plan, quota, API
tokens, sessions). Passwords and e-mail are in `password_pages`, 2FA in
`twofactor_pages`; their routes hang off this module's router."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from partage.accounts import password_pages, pending, twofactor_pages
from partage.accounts import service as accounts
from partage.accounts.account_page import NOTICES, account_response
from partage.accounts.web import secure_cookies, start_session, to_login, web_auth, web_user
from partage.admin import runtime
from partage.bounds import Id
from partage.deps import SESSION_COOKIE, Address, Ctx, check_csrf, resolve_auth
from partage.errors import BadRequest, NotAuthenticated, PartageError
from partage.web.i18n import N_
from partage.web.origin import check_origin
from partage.web.redirects import login_url, safe_next
from partage.web.templating import error_text, render, translate

router = APIRouter(include_in_schema=False)

# -- log in ----------------------------------------------------------------------------------


@router.get("/login")
def login_page(
    request: Request, ctx: Ctx, next: str | None = None, done: str | None = None
) -> Response:
    if resolve_auth(request, ctx).user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = {"reset": N_("Your password was changed: log in with the new one.")}.get(done or "")
    data = {
        "next": safe_next(next, ""),
        "email": "",
        "notice": notice and translate(request, notice),
    }
    return render(request, "login.html", data)


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
            raise NotAuthenticated(N_("Enter your e-mail and password."))
        with ctx.db.session() as s:
            user = accounts.authenticate(s, ctx.limiter, ctx.settings, email, password, address)
    except PartageError as e:
        error = error_text(request, e)
        return render(request, "login.html", {**page, "error": error}, e.status, e.headers)
    if user.totp_enabled_at is not None:  # the session waits for the second factor
        resp = RedirectResponse("/login/2fa", status_code=303)
        value = pending.make(ctx.settings, user, safe_next(next))
        resp.set_cookie(
            pending.COOKIE, value, max_age=pending.TTL, path="/login", httponly=True,
            samesite="lax", secure=secure_cookies(request, ctx),
        )  # fmt: skip
        return resp
    return start_session(request, ctx, user, address, safe_next(next))


# -- sign up ---------------------------------------------------------------------------------


def _closed(request: Request) -> Response:
    return render(request, "register_closed.html", status=404)


@router.get("/register")
def register_page(request: Request, ctx: Ctx) -> Response:
    if not runtime.registration_open(ctx):
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
    if not runtime.registration_open(ctx):
        return _closed(request)
    check_origin(request, ctx)
    try:
        if password != password_again:
            raise BadRequest(N_("The two passwords differ."))
        with ctx.db.session() as s:
            user = accounts.register(s, ctx.limiter, ctx.settings, email, password, address)
    except PartageError as e:
        data = {"email": email, "error": error_text(request, e)}
        return render(request, "register.html", data, e.status, e.headers)
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


@router.get("/account")
def account_page(request: Request, ctx: Ctx, done: str | None = None) -> Response:
    user = web_user(request, ctx)
    if user is None:
        return RedirectResponse(login_url(request), status_code=303)
    return account_response(request, ctx, user, notice=NOTICES.get(done or ""))


@router.post("/account/tokens")
def create_token(
    request: Request,
    ctx: Ctx,
    csrf_token: Annotated[str, Form()] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    user = web_user(request, ctx, csrf_token)
    if user is None:
        return to_login()
    try:
        with ctx.db.session() as s:
            tok, secret = accounts.create_token(s, user, name)
    except PartageError as e:
        return account_response(request, ctx, user, error=error_text(request, e), status=e.status)
    return account_response(request, ctx, user, new_token=secret, new_token_name=tok.name)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(
    token_id: Id, request: Request, ctx: Ctx, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    user = web_user(request, ctx, csrf_token)
    if user is None:
        return to_login()
    try:
        with ctx.db.session() as s:
            accounts.revoke_token(s, user, token_id)
    except PartageError as e:
        return account_response(request, ctx, user, error=error_text(request, e), status=e.status)
    return RedirectResponse("/account?done=revoked", status_code=303)


@router.post("/account/sessions/revoke-others")
def revoke_other_sessions(
    request: Request, ctx: Ctx, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    auth = web_auth(request, ctx, csrf_token)
    if auth.user is None or auth.web_session is None:
        return to_login()
    with ctx.db.session() as s:
        accounts.revoke_other_sessions(s, auth.user, auth.web_session.id)
    return RedirectResponse("/account?done=sessions", status_code=303)


router.include_router(password_pages.router)
router.include_router(twofactor_pages.router)
