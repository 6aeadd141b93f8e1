"""The public page of a file, `/{code}`: what a visitor sees before downloading.

People get HTML (name, size, type, a download button with a signed direct link,
a password form when needed, and a clear page for each reason a link cannot be
used); other clients (the CLI, scripts) get the same answers as JSON.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from partage.context import Context
from partage.db import iso
from partage.deps import base_url, check_csrf, client_address, resolve_auth
from partage.errors import (
    BadRequest,
    NotFound,
    PartageError,
    PasswordRequired,
    RateLimited,
    WrongPassword,
)
from partage.files import preview
from partage.files.access import check_link
from partage.files.codes import is_code
from partage.files.download import direct_url
from partage.files.models import File
from partage.files.service import get_by_code
from partage.web.errors import wants_html
from partage.web.i18n import N_
from partage.web.jsonbody import read_json
from partage.web.link_errors import error_context
from partage.web.templating import render

router = APIRouter(include_in_schema=False)

NOT_FOUND = "No file at this address."


def _file_json(f: File, page_url: str, download_url: str, owner: bool) -> dict[str, Any]:
    return {
        "code": f.code,
        "name": f.name,
        "size": f.size,
        "mime": f.blob.mime if f.blob else None,
        "sha256": f.blob.sha256 if f.blob else None,
        "created": iso(f.created_at),
        "url": page_url,
        "download_url": download_url,
        "owner": owner,
    }


def _visit(
    request: Request, code: str, password: str | None, *, redirect: bool = False
) -> Response:
    ctx: Context = request.app.state.ctx
    html = wants_html(request)
    address = client_address(request, ctx.settings)
    base = base_url(request, ctx.settings)
    user = resolve_auth(request, ctx).user
    with ctx.db.read() as s:
        f = get_by_code(s, code)
    owner = f is not None and user is not None and f.owner_id == user.id
    try:
        if f is None:
            raise NotFound(NOT_FOUND)
        check_link(ctx, f, password=password, is_owner=owner, address=address)
    except PartageError as exc:
        if not html:
            raise
        # A page shown for an unusable link never names the file: it would tell the
        # name of a private or protected file to anyone holding a guessed code.
        asks_password = isinstance(exc, PasswordRequired | WrongPassword | RateLimited) and (
            f is not None and f.password_hash is not None
        )
        return render(
            request, "public_file.html",
            {"state": "password" if asks_password else "error", "code": code,
             "error": error_context(exc)},
            status=exc.status, headers={"Cache-Control": "no-store", **exc.headers},
        )  # fmt: skip
    page_url = f"{base}/{f.code}"
    link = direct_url(ctx, base, f, owner=owner, address=address)
    if redirect:
        return RedirectResponse(link, status_code=303, headers={"Cache-Control": "no-store"})
    if not html:
        return JSONResponse(
            _file_json(f, page_url, link, owner), headers={"Cache-Control": "no-store"}
        )
    mime = f.blob.mime if f.blob else ""
    return render(
        request, "public_file.html",
        {"state": "ok", "code": code, "file": f, "mime": mime, "download_url": link,
         "owner": owner, "page_url": page_url,
         "report_url": "/report?" + urlencode({"location": f.code}),
         **_preview(ctx, f, mime, base=base, owner=owner, address=address)},
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )  # fmt: skip


def _preview(
    ctx: Context, f: File, mime: str, *, base: str, owner: bool, address: str
) -> dict[str, Any]:
    """The preview of the page (files/preview.py): its kind, its signed inline link (the
    visitor already passed the link's rules, password included) and, for media, the
    player's data."""
    kind = preview.preview_kind(mime, f.size, capped=f.max_downloads is not None and not owner)
    if kind is None:
        return {"preview": None}
    out: dict[str, Any] = {
        "preview": kind,
        "preview_url": direct_url(ctx, base, f, owner=owner, address=address, inline=True),
    }
    view = preview.player_view()
    if kind == "video" and view is not None:
        with ctx.db.read() as s:
            out["media"] = view(ctx, s, f, base=base, owner=owner, address=address)
    return out


def _check_code(code: str) -> None:
    if not is_code(code):
        raise NotFound("Nothing here: check the address.")


@router.get("/{code}")
def file_page(code: str, request: Request) -> Response:
    """The file's page (HTML), or its details and a signed `download_url` as JSON."""
    _check_code(code)
    return _visit(request, code, None)


@router.post("/{code}")
async def file_password(code: str, request: Request) -> Response:
    """The password form (`password` form field, or JSON `{"password": …}`). A form is
    answered with a 303 to the signed direct link (or, with `action=view`, the page with
    its preview and download button); a JSON body, or a client that accepts
    `application/json`, gets the page's JSON instead."""
    _check_code(code)
    ctx: Context = request.app.state.ctx
    form_token: str | None = None
    view = False
    ctype = request.headers.get("content-type", "")
    is_json = ctype.startswith("application/json")
    if is_json:
        body = await read_json(request, N_("The body is not valid JSON."))
        password = body.get("password") if isinstance(body, dict) else None
    else:
        form = await request.form(max_files=0, max_fields=10)
        password = form.get("password")  # type: ignore[assignment]
        form_token = form.get("csrf_token")  # type: ignore[assignment]
        view = form.get("action") == "view"  # "Unlock and preview": the page, not the file
    if password is not None and not isinstance(password, str):
        raise BadRequest("password must be a string.")
    if password is not None and len(password) > 1024:
        raise BadRequest("password: 1024 characters at most.")
    auth = await run_in_threadpool(resolve_auth, request, ctx)
    check_csrf(request, auth, form_token)
    redirect = (
        not is_json and not view and "application/json" not in request.headers.get("accept", "")
    )
    return await run_in_threadpool(_visit, request, code, password or None, redirect=redirect)
