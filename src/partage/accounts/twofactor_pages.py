"""Two-factor pages: set-up (QR code), recovery codes, turning it off, and the second
step of logging in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from partage.accounts import pending, twofactor
from partage.accounts.models import User
from partage.accounts.web import NO_STORE, start_session, to_login, web_user
from partage.deps import Address, Ctx
from partage.errors import PartageError
from partage.web.i18n import N_
from partage.web.origin import check_origin
from partage.web.templating import error_text, render, translate

router = APIRouter(include_in_schema=False)


# -- second step of logging in ---------------------------------------------------------------


@router.get("/login/2fa")
def second_step_page(request: Request, ctx: Ctx) -> Response:
    try:
        with ctx.db.read() as s:
            pending.resolve(s, ctx.settings, request.cookies.get(pending.COOKIE))
    except PartageError as e:
        return render(request, "login_2fa.html", {"dead": error_text(request, e)}, e.status)
    return render(request, "login_2fa.html", {}, headers=NO_STORE)


@router.post("/login/2fa")
def second_step(
    request: Request,
    ctx: Ctx,
    address: Address,
    code: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    check_origin(request, ctx)
    try:
        with ctx.db.session() as s:
            user, target = pending.resolve(s, ctx.settings, request.cookies.get(pending.COOKIE))
            twofactor.check_second_factor(s, ctx.limiter, ctx.settings, user, code, address)
    except PartageError as e:
        dead = e.message == pending.EXPIRED or e.status == 403
        data = {"dead": error_text(request, e)} if dead else {"error": error_text(request, e)}
        return render(request, "login_2fa.html", data, e.status, {**NO_STORE, **e.headers})
    resp = start_session(request, ctx, user, address, target)
    resp.delete_cookie(pending.COOKIE, path="/login", httponly=True, samesite="lax")
    return resp


# -- set-up and management -------------------------------------------------------------------


def _page(request: Request, ctx: Ctx, user: User, status: int = 200, **extra: object) -> Response:
    with ctx.db.read() as s:
        fresh = s.get(User, user.id)
        assert fresh is not None
        codes_left = twofactor.recovery_codes_left(s, user.id)
    data: dict[str, object] = {
        "enabled": fresh.totp_enabled_at is not None,
        "codes_left": codes_left,
        **extra,
    }
    if fresh.totp_enabled_at is None and fresh.totp_secret:
        uri = twofactor.provisioning_uri(fresh)
        data.update(
            secret=fresh.totp_secret,
            uri=uri,
            qr=twofactor.qr_svg(uri, translate(request, N_("QR code for your authenticator app"))),
        )
    if isinstance(data.get("error"), str):
        data["error"] = translate(request, str(data["error"]))
    return render(request, "account_2fa.html", data, status, NO_STORE)


@router.get("/account/2fa")
def twofactor_page(request: Request, ctx: Ctx) -> Response:
    user = web_user(request, ctx)
    if user is None:
        return to_login("/account/2fa")
    return _page(request, ctx, user)


@router.post("/account/2fa/setup")
def setup(request: Request, ctx: Ctx, csrf_token: Annotated[str, Form()] = "") -> Response:
    user = web_user(request, ctx, csrf_token)
    if user is None:
        return to_login("/account/2fa")
    try:
        with ctx.db.session() as s:
            twofactor.begin_setup(s, user.id)
    except PartageError as e:
        return _page(request, ctx, user, e.status, error=error_text(request, e))
    return RedirectResponse("/account/2fa", status_code=303)


def _codes(request: Request, codes: list[str], first: bool) -> Response:
    data = {"codes": codes, "first": first}
    return render(request, "account_2fa_codes.html", data, 200, NO_STORE)


@router.post("/account/2fa/enable")
def enable(
    request: Request,
    ctx: Ctx,
    csrf_token: Annotated[str, Form()] = "",
    code: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    user = web_user(request, ctx, csrf_token)
    if user is None:
        return to_login("/account/2fa")
    try:
        with ctx.db.session() as s:
            codes = twofactor.enable(s, user.id, code)
    except PartageError as e:
        return _page(request, ctx, user, e.status, error=error_text(request, e))
    return _codes(request, codes, first=True)


@router.post("/account/2fa/recovery-codes")
def regenerate(
    request: Request,
    ctx: Ctx,
    address: Address,
    csrf_token: Annotated[str, Form()] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    user = web_user(request, ctx, csrf_token)
    if user is None:
        return to_login("/account/2fa")
    try:
        with ctx.db.session() as s:
            codes = twofactor.regenerate_codes(
                s, ctx.limiter, ctx.settings, user.id, password, address=address
            )
    except PartageError as e:
        return _page(request, ctx, user, e.status, error=error_text(request, e), error_form="codes")
    return _codes(request, codes, first=False)


@router.post("/account/2fa/disable")
def disable(
    request: Request,
    ctx: Ctx,
    address: Address,
    csrf_token: Annotated[str, Form()] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    code: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    user = web_user(request, ctx, csrf_token)
    if user is None:
        return to_login("/account/2fa")
    try:
        with ctx.db.session() as s:
            twofactor.disable(
                s, ctx.limiter, ctx.settings, user.id, password, code, address=address
            )
    except PartageError as e:
        return _page(
            request, ctx, user, e.status, error=error_text(request, e), error_form="disable"
        )
    return RedirectResponse("/account?done=2fa-off", status_code=303)
