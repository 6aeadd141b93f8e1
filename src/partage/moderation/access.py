"""Who may moderate: moderators and administrators. One check for the API (token or
session) and one for pages (a web session, CSRF on every form)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from partage.accounts.models import User
from partage.context import Context
from partage.deps import ApiUser, check_csrf, resolve_auth
from partage.errors import Forbidden
from partage.web.redirects import login_url


def is_moderator(user: User | None) -> bool:
    return user is not None and user.is_active and (user.is_moderator or user.is_admin)


def require_moderator(user: User) -> User:
    if not is_moderator(user):
        raise Forbidden("Only a moderator can do this.")
    return user


def _api_moderator(user: ApiUser) -> User:
    return require_moderator(user)


Moderator = Annotated[User, Depends(_api_moderator)]


def page_moderator(request: Request, ctx: Context) -> User | Response:
    """The moderator viewing a page, or the response to send instead (login redirect)."""
    auth = resolve_auth(request, ctx)
    if auth.user is None:
        return RedirectResponse(login_url(request), status_code=303)
    if auth.web_session is None:
        raise Forbidden("These pages are for web sessions: use the API with a token.")
    return require_moderator(auth.user)


def form_moderator(request: Request, ctx: Context, csrf_token: str) -> User:
    """The moderator posting a form: a live web session and its CSRF token."""
    auth = resolve_auth(request, ctx)
    if auth.user is None or auth.web_session is None:
        raise Forbidden("Log in again: your session has ended.")
    check_csrf(request, auth, csrf_token)
    return require_moderator(auth.user)
