"""Same-site checks for forms sent before a session (and so a CSRF token) exists."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request

from partage.context import Context
from partage.errors import Forbidden


def check_origin(request: Request, ctx: Context) -> None:
    """Forms posted before a session exists (log in, sign up, the language switch) carry
    no CSRF token yet: refuse them when the browser says they come from another site."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    allowed = {request.headers.get("host", "")}
    if ctx.settings.base_url:
        allowed.add(urlsplit(ctx.settings.base_url).netloc)
    if urlsplit(origin).netloc not in allowed:
        raise Forbidden("This form was sent from another site.")
