"""The language switch: `POST /language` keeps the choice in a cookie, and on the
account of a signed-in user, then goes back to the page it came from."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from partage.accounts.models import User
from partage.deps import Ctx, check_csrf, resolve_auth
from partage.errors import BadRequest
from partage.web import i18n
from partage.web.origin import check_origin
from partage.web.redirects import safe_next

router = APIRouter(include_in_schema=False)

YEAR = 365 * 24 * 3600


@router.post("/language")
def switch_language(
    request: Request,
    ctx: Ctx,
    lang: Annotated[str, Form()],
    next: Annotated[str | None, Form()] = None,
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    auth = resolve_auth(request, ctx)
    check_csrf(request, auth, csrf_token)
    check_origin(request, ctx)
    chosen = i18n.supported(lang)
    if chosen is None:
        raise BadRequest(
            "Unknown language %(lang)s: choose one of %(languages)s.",
            lang=repr(lang),
            languages=", ".join(i18n.LANGUAGES),
        )
    if auth.user is not None:
        with ctx.db.session() as s:
            user = s.get(User, auth.user.id)
            if user is not None:
                user.locale = chosen
    resp = RedirectResponse(safe_next(next, "/"), status_code=303)
    resp.set_cookie(i18n.COOKIE, chosen, max_age=YEAR, path="/", samesite="lax", httponly=True)
    return resp
