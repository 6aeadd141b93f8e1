"""Jinja2 environment for every page; user strings are always autoescaped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from partage import humanize

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.filters["filesize"] = humanize.size
templates.env.filters["isodate"] = lambda d: d.strftime("%Y-%m-%d %H:%M UTC") if d else ""


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    from partage.deps import resolve_auth

    auth = resolve_auth(request, request.app.state.ctx)
    data = {"user": auth.user, "csrf_token": auth.csrf_token, **(context or {})}
    return templates.TemplateResponse(request, name, data, status_code=status, headers=headers)
