"""The player pages: `/v/{code}` (watch page) and `/embed/{code}` (iframe player).

The same link rules as the download page: a private file is not found, an
expired one says so, a protected one asks for its password (POSTed back to the
same address, rate-limited like the download page's form). Files that are not
video or audio are sent to their download page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from partage.context import Context
from partage.deps import base_url, check_csrf, client_address, resolve_auth
from partage.errors import (
    BadRequest,
    NotFound,
    PartageError,
    PasswordRequired,
    RateLimited,
    WrongPassword,
)
from partage.files.access import check_link
from partage.files.codes import is_code
from partage.files.service import get_by_code
from partage.media import service
from partage.web.headers import page_policy
from partage.web.link_errors import error_context
from partage.web.templating import render

router = APIRouter(include_in_schema=False)

PLAYABLE_KINDS = ("video", "audio")


def _frame_headers(ctx: Context, embed: bool) -> dict[str, str]:
    ancestors = ctx.settings.embed_frame_ancestors if embed else "'self'"
    policy = page_policy(ctx.settings, frame_ancestors=ancestors)
    headers = {"Content-Security-Policy": policy, "Cache-Control": "no-store"}
    return headers if embed else {**headers, "X-Frame-Options": "SAMEORIGIN"}


def _page(request: Request, code: str, password: str | None, *, embed: bool) -> Response:
    ctx: Context = request.app.state.ctx
    template = "embed.html" if embed else "watch.html"
    headers = _frame_headers(ctx, embed)
    address = client_address(request, ctx.settings)
    base = base_url(request, ctx.settings)
    user = resolve_auth(request, ctx).user
    with ctx.db.read() as s:
        f = get_by_code(s, code) if is_code(code) else None
        owner = f is not None and user is not None and f.owner_id == user.id
        try:
            if f is None:
                raise NotFound("No file at this address.")
            check_link(ctx, f, password=password, is_owner=owner, address=address)
        except PartageError as exc:
            asks = isinstance(exc, PasswordRequired | WrongPassword | RateLimited) and (
                f is not None and f.password_hash is not None
            )
            return render(
                request, template,
                {"state": "password" if asks else "error", "code": code,
                 "error": error_context(exc)},
                status=exc.status, headers={**headers, **exc.headers},
            )  # fmt: skip
        media = service.media_view(ctx, s, f, base=base, owner=owner, address=address)
        if media["kind"] not in PLAYABLE_KINDS and media["state"] not in ("pending", "running"):
            return RedirectResponse(f"/{f.code}", status_code=303, headers=headers)
        height = 120 if media["kind"] == "audio" else 360  # the controls alone, for audio
        context: dict[str, Any] = {
            "state": "ok",
            "code": code,
            "file": f,
            "media": media,
            "owner": owner,
            "page_url": f"{base}/{f.code}",
            "watch_url": f"{base}/v/{f.code}",
            "embed_url": f"{base}/embed/{f.code}",
            "embed_code": (
                f'<iframe src="{base}/embed/{f.code}" width="640" height="{height}" '
                'style="border:0" allow="fullscreen; picture-in-picture" allowfullscreen>'
                "</iframe>"
            ),
        }
        return render(request, template, context, headers=headers)


def _check_code(code: str) -> None:
    if not is_code(code):
        raise NotFound("Nothing here: check the address.")


async def _password(request: Request, code: str, *, embed: bool) -> Response:
    _check_code(code)
    ctx: Context = request.app.state.ctx
    form = await request.form(max_files=0, max_fields=10)
    password = form.get("password")
    if password is not None and not isinstance(password, str):
        raise BadRequest("password must be a string.")
    if password is not None and len(password) > 1024:
        raise BadRequest("password: 1024 characters at most.")
    auth = await run_in_threadpool(resolve_auth, request, ctx)
    token = form.get("csrf_token")
    check_csrf(request, auth, token if isinstance(token, str) else None)
    return await run_in_threadpool(_page, request, code, password or None, embed=embed)


@router.get("/v/{code}")
def watch(code: str, request: Request) -> Response:
    """The watch page of a video or audio file."""
    _check_code(code)
    return _page(request, code, None, embed=False)


@router.post("/v/{code}")
async def watch_password(code: str, request: Request) -> Response:
    return await _password(request, code, embed=False)


@router.get("/embed/{code}")
def embed(code: str, request: Request) -> Response:
    """The player alone, to put in an iframe on another site."""
    _check_code(code)
    return _page(request, code, None, embed=True)


@router.post("/embed/{code}")
async def embed_password(code: str, request: Request) -> Response:
    return await _password(request, code, embed=True)
