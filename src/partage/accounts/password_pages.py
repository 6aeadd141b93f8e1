"""Pages for a forgotten password, a password change and an e-mail address change."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from partage.accounts import emails, messages, passwords
from partage.accounts.account_page import account_response
from partage.accounts.web import NO_STORE, to_login, web_auth, web_user
from partage.deps import Address, Ctx, mail_base_url
from partage.errors import PartageError
from partage.web.origin import check_origin
from partage.web.templating import error_text, render

router = APIRouter(include_in_schema=False)
log = logging.getLogger("partage.accounts")

# The secret is in the address: keep it out of Referer headers and caches.
SECRET_PAGE = {**NO_STORE, "Referrer-Policy": "no-referrer"}


# -- forgotten password ----------------------------------------------------------------------


@router.get("/password/forgot")
def forgot_page(request: Request) -> Response:
    return render(request, "password_forgot.html", {"email": ""}, headers=NO_STORE)


@router.post("/password/forgot")
def forgot(
    request: Request,
    ctx: Ctx,
    address: Address,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    check_origin(request, ctx)
    try:
        with ctx.db.session() as s:
            found = passwords.request_reset(s, ctx.limiter, ctx.settings, email, address)
    except PartageError as e:
        data = {"email": email, "error": error_text(request, e)}
        return render(request, "password_forgot.html", data, e.status, {**NO_STORE, **e.headers})
    if found is not None:
        user, secret = found
        lang = messages.mail_language(request, user.locale)
        base = mail_base_url(request, ctx.settings)
        messages.send_reset(ctx.settings, base, user.email, secret, lang)
    # The same answer whether the account exists or not.
    return render(request, "password_forgot.html", {"email": email, "sent": True}, 200, NO_STORE)


@router.get("/password/reset/{secret}")
def reset_page(secret: str, request: Request, ctx: Ctx) -> Response:
    try:
        with ctx.db.read() as s:
            user = passwords.reset_account(s, secret)
    except PartageError as e:
        data = {"dead": error_text(request, e)}
        return render(request, "password_reset.html", data, e.status, SECRET_PAGE)
    return render(request, "password_reset.html", {"email": user.email}, 200, SECRET_PAGE)


@router.post("/password/reset/{secret}")
def reset(
    secret: str,
    request: Request,
    ctx: Ctx,
    password: Annotated[str, Form(max_length=1024)] = "",
    password_again: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    check_origin(request, ctx)
    try:
        with ctx.db.session() as s:
            user = passwords.reset_password(s, secret, password, password_again)
    except PartageError as e:
        with ctx.db.read() as s:
            try:
                email = passwords.reset_account(s, secret).email
                data = {"email": email, "error": error_text(request, e)}
            except PartageError as dead:
                data = {"dead": error_text(request, dead)}
        return render(request, "password_reset.html", data, e.status, SECRET_PAGE)
    log.info("password of user %s reset by e-mailed link", user.id)
    return RedirectResponse("/login?done=reset", status_code=303)


# -- changes from the account page -----------------------------------------------------------


@router.post("/account/password")
def change_password(
    request: Request,
    ctx: Ctx,
    address: Address,
    csrf_token: Annotated[str, Form()] = "",
    current_password: Annotated[str, Form(max_length=1024)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
    new_password_again: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    auth = web_auth(request, ctx, csrf_token)
    if auth.user is None or auth.web_session is None:
        return to_login()
    try:
        with ctx.db.session() as s:
            passwords.change_password(
                s, ctx.limiter, ctx.settings, auth.user.id, current_password, new_password,
                new_password_again, keep_session_id=auth.web_session.id, address=address,
            )  # fmt: skip
    except PartageError as e:
        return account_response(
            request, ctx, auth.user, e.status, error=error_text(request, e), error_form="password"
        )
    return RedirectResponse("/account?done=password", status_code=303)


@router.post("/account/email")
def change_email(
    request: Request,
    ctx: Ctx,
    address: Address,
    csrf_token: Annotated[str, Form()] = "",
    new_email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    user = web_user(request, ctx, csrf_token)
    if user is None:
        return to_login()
    try:
        with ctx.db.session() as s:
            email, secret = emails.request_change(
                s, ctx.limiter, ctx.settings, user.id, password, new_email, address=address
            )
    except PartageError as e:
        return account_response(
            request,
            ctx,
            user,
            e.status,
            error=error_text(request, e),
            error_form="email",
            new_email=new_email,
        )
    lang = messages.mail_language(request, user.locale)
    base = mail_base_url(request, ctx.settings)
    messages.send_email_confirmation(ctx.settings, base, email, secret, lang)
    return RedirectResponse("/account?done=email-sent", status_code=303)


@router.get("/account/email/confirm/{secret}")
def confirm_email_page(secret: str, request: Request, ctx: Ctx) -> Response:
    """A button, not a change: mail scanners that fetch links must not confirm."""
    try:
        with ctx.db.read() as s:
            _user, email = emails.pending_change(s, secret)
    except PartageError as e:
        data = {"dead": error_text(request, e)}
        return render(request, "account_email_confirm.html", data, e.status, SECRET_PAGE)
    return render(request, "account_email_confirm.html", {"new_email": email}, 200, SECRET_PAGE)


@router.post("/account/email/confirm/{secret}")
def confirm_email(secret: str, request: Request, ctx: Ctx) -> Response:
    check_origin(request, ctx)
    try:
        with ctx.db.session() as s:
            user, old = emails.confirm_change(s, secret)
            new = user.email
    except PartageError as e:
        data = {"dead": error_text(request, e)}
        return render(request, "account_email_confirm.html", data, e.status, SECRET_PAGE)
    lang = messages.mail_language(request, user.locale)
    messages.send_email_changed(ctx.settings, mail_base_url(request, ctx.settings), old, new, lang)
    return render(
        request, "account_email_confirm.html", {"new_email": new, "done": True}, 200, SECRET_PAGE
    )
