"""The public page of a shared folder, `/s/<share_hash>[/<sub/path>]`, and its zip
(`?format=zip`). What a visitor may see and download: files/folder_share.py.

People get HTML; other clients (scripts, the CLI) get the same listing as JSON.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from partage.context import Context
from partage.deps import base_url, client_address
from partage.errors import NotFound, PartageError
from partage.files import folder_share as share
from partage.files import zip as zipper
from partage.files.counters import counters
from partage.files.download import direct_url
from partage.files.http_semantics import content_disposition
from partage.files.models import File, Folder
from partage.files.preview import kind_of, preview_kind
from partage.web.errors import wants_html
from partage.web.i18n import N_
from partage.web.templating import render

router = APIRouter(include_in_schema=False)

MAX_LISTED = 2000
NO_STORE = {"Cache-Control": "no-store"}
FOLDER_ERROR = {
    "status": 404,
    "code": "not_found",
    "title": N_("Folder not found"),
    "explanation": N_(
        "The address may be mistyped, or the owner stopped sharing this folder: "
        "ask them for a new link."
    ),
}


def _folder_url(share_hash: str, names: list[str]) -> str:
    return share.PREFIX + share_hash + "".join("/" + quote(n, safe="") for n in names)


def _file_view(ctx: Context, base: str, address: str, f: File) -> dict[str, Any]:
    assert f.blob is not None
    mime = f.blob.mime or ""
    open_ = share.downloadable(f)
    thumb = None
    if open_ and preview_kind(mime, f.size, capped=f.max_downloads is not None) == "image":
        thumb = direct_url(ctx, base, f, owner=False, address=address, inline=True)
    return {
        "code": f.code,
        "name": f.name,
        "size": f.size,
        "mime": mime,
        "kind": kind_of(mime) or "other",
        # A private file has no page of its own for visitors; a protected one opens only there.
        "page_url": f"{base}/{f.code}" if f.public or not open_ else None,
        "download_url": direct_url(ctx, base, f, owner=False, address=address) if open_ else None,
        "thumb_url": thumb,
        "protected": not open_,
    }


def _listing(
    ctx: Context, s: Session, base: str, address: str, share_hash: str, chain: list[Folder]
) -> dict[str, Any]:
    names = [c.name for c in chain[1:]]
    folder = chain[-1]
    files = share.files_in(s, folder, limit=MAX_LISTED + 1)
    return {
        "name": folder.name,
        "root": chain[0].name,
        "url": base + _folder_url(share_hash, names),
        "zip_url": base + _folder_url(share_hash, names) + "?format=zip",
        "path": [
            {"name": c.name, "url": base + _folder_url(share_hash, names[:i])}
            for i, c in enumerate(chain)
        ],
        "folders": [
            {"name": c.name, "url": base + _folder_url(share_hash, [*names, c.name])}
            for c in share.subfolders(s, folder)
        ],
        "files": [_file_view(ctx, base, address, f) for f in files[:MAX_LISTED]],
        "truncated": len(files) > MAX_LISTED,
    }


def _error(request: Request, exc: PartageError) -> Response:
    if not wants_html(request):
        raise exc
    error = {**FOLDER_ERROR, "message": exc}
    return render(request, "public_folder.html", {"state": "error", "error": error},
                  status=404, headers=NO_STORE)  # fmt: skip


def _page(request: Request, share_hash: str, sub_path: str) -> Response:
    ctx: Context = request.app.state.ctx
    base = base_url(request, ctx.settings)
    address = client_address(request, ctx.settings)
    try:
        with ctx.db.read() as s:
            chain = share.resolve(s, share.get_shared(s, share_hash), sub_path)
            listing = _listing(ctx, s, base, address, share_hash, chain)
    except NotFound as exc:
        return _error(request, exc)
    if not wants_html(request):
        return JSONResponse(listing, headers=NO_STORE)
    return render(request, "public_folder.html", {"state": "ok", "folder": listing},
                  headers={**NO_STORE, "Referrer-Policy": "no-referrer"})  # fmt: skip


def _count(ctx: Context, entries: list[share.ZipEntry]) -> list[share.ZipEntry]:
    """A zip counts as one download of each file in it. Capped files count atomically
    now (one whose cap was reached meanwhile is left out), the others on the event loop
    (`_serve`), as downloads do."""
    kept = []
    for e in entries:
        if e.capped:
            with ctx.db.session() as s:
                if not share.count_capped(s, e.file_id):
                    continue
        kept.append(e)
    return kept


def _zip(request: Request, share_hash: str, sub_path: str) -> Response:
    ctx: Context = request.app.state.ctx
    try:
        with ctx.db.read() as s:
            chain = share.resolve(s, share.get_shared(s, share_hash), sub_path)
            entries, dirs = share.zip_entries(s, chain[-1])
    except NotFound as exc:
        return _error(request, exc)
    entries = _count(ctx, entries)
    archive = zipper.build(ctx, entries, dirs)
    name = share.zip_name(chain[-1].name) + ".zip"
    headers = {
        "Content-Disposition": content_disposition(name).decode("latin-1"),
        "Content-Length": str(len(archive)),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    request.state.zip_counts = (
        [e.file_id for e in entries if not e.capped],
        sum(e.size for e in entries),
    )
    return StreamingResponse(iter(archive), media_type="application/zip", headers=headers)


async def _serve(request: Request, share_hash: str, sub_path: str) -> Response:
    if request.query_params.get("format") == "zip":
        response = await run_in_threadpool(_zip, request, share_hash, sub_path)
        if (counts := getattr(request.state, "zip_counts", None)) is not None:
            for file_id in counts[0]:
                counters.hit(file_id)  # on the event loop, where the counters live
            counters.traffic(counts[1])
        return response
    return await run_in_threadpool(_page, request, share_hash, sub_path)


@router.get(share.PREFIX + "{share_hash}")
async def shared_folder(share_hash: str, request: Request) -> Response:
    """A shared folder: its files and subfolders (HTML, or JSON for other clients);
    `?format=zip` streams the whole folder as one zip."""
    return await _serve(request, share_hash, "")


@router.get(share.PREFIX + "{share_hash}/{sub_path:path}")
async def shared_subfolder(share_hash: str, sub_path: str, request: Request) -> Response:
    return await _serve(request, share_hash, sub_path)
