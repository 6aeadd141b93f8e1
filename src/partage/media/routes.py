"""Media API: a file's media state, its subtitles, and an administrator's controls."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from partage.bounds import Id
from partage.context import Context
from partage.deps import Address, ApiUser, BaseUrl, Ctx, check_csrf, resolve_auth
from partage.errors import BadRequest, Forbidden, NotFound, TooLarge
from partage.files.access import check_link
from partage.files.service import get_by_code, get_owned
from partage.media import service
from partage.media.models import JobState, Media
from partage.media.subtitles import MAX_SUBTITLE_BYTES
from partage.web.bodylimit import FORM_OVERHEAD, body_limit

router = APIRouter(prefix="/api/v1", tags=["media"])

_NOT_FOUND = "No file at this address."


def visitor_view(
    ctx: Context, request: Request, code: str, password: str | None, base: str, address: str
) -> dict[str, Any]:
    """The media JSON for whoever asks: the owner always; others by the link's rules
    (public, not expired, the password when there is one)."""
    user = resolve_auth(request, ctx).user
    with ctx.db.read() as s:
        f = get_by_code(s, code)
        if f is None:
            raise NotFound(_NOT_FOUND)
        owner = user is not None and f.owner_id == user.id
        check_link(ctx, f, password=password, is_owner=owner, address=address)
        return service.media_view(ctx, s, f, base=base, owner=owner, address=address)


@router.get("/files/{code}/media")
def get_media(code: str, request: Request, ctx: Ctx, base: BaseUrl, address: Address) -> Any:
    """State of the file's media (`pending | running | done | failed | not_media`),
    progress, renditions and the URLs to play it. Signed URLs for private files; a
    password-protected file answers 401 here: POST the password instead."""
    return JSONResponse(
        visitor_view(ctx, request, code, None, base, address),
        headers={"Cache-Control": "no-store"},
    )


class PasswordIn(BaseModel):
    password: str


@router.post("/files/{code}/media")
def unlock_media(
    code: str, body: PasswordIn, request: Request, ctx: Ctx, base: BaseUrl, address: Address
) -> Any:
    """The same as GET, for a password-protected file: `{"password": "…"}`."""
    if len(body.password) > 1024:
        raise BadRequest("password: 1024 characters at most.")
    check_csrf(request, resolve_auth(request, ctx))
    return JSONResponse(
        visitor_view(ctx, request, code, body.password or None, base, address),
        headers={"Cache-Control": "no-store"},
    )


# -- subtitles ---------------------------------------------------------------------------


def _subtitle_json(view: dict[str, Any], sub_id: int) -> dict[str, Any]:
    return next(sub for sub in view["subtitles"] if sub["id"] == sub_id)


@router.post("/files/{code}/subtitles", status_code=201)
@body_limit(MAX_SUBTITLE_BYTES + FORM_OVERHEAD)
async def add_subtitle(
    code: str,
    file: UploadFile,
    user: ApiUser,
    ctx: Ctx,
    base: BaseUrl,
    address: Address,
    language: Annotated[str | None, Form(max_length=16)] = None,
    label: Annotated[str | None, Form(max_length=255)] = None,
) -> Any:
    """Attach a subtitle file (.srt, .vtt, .ass/.ssa; any common text encoding) to one
    of your videos: multipart field `file`, optional fields `language` (en, fr, pt-BR…)
    and `label`. It is converted to WebVTT."""
    data = await file.read(MAX_SUBTITLE_BYTES + 1)
    if len(data) > MAX_SUBTITLE_BYTES:
        raise TooLarge(
            "A subtitle file can be %(max)s MiB at most.", max=MAX_SUBTITLE_BYTES // 1024**2
        )
    filename = file.filename or "subtitles.srt"

    def work() -> dict[str, Any]:
        with ctx.db.session() as s:
            f = get_owned(s, user, code)
            sub = service.add_subtitle(ctx, s, f, data, filename, language, label)
            sub_id = sub.id
        with ctx.db.read() as s:
            f = get_owned(s, user, code)
            view = service.media_view(ctx, s, f, base=base, owner=True, address=address)
        return _subtitle_json(view, sub_id)

    return await run_in_threadpool(work)


@router.delete("/files/{code}/subtitles/{subtitle_id}", status_code=204)
def delete_subtitle(code: str, subtitle_id: Id, user: ApiUser, ctx: Ctx) -> Response:
    """Remove a subtitle track you uploaded."""
    with ctx.db.session() as s:
        service.remove_subtitle(s, get_owned(s, user, code), subtitle_id)
    return Response(status_code=204)


# -- administration ------------------------------------------------------------------------


def _admin(user: Any) -> None:
    if not user.is_admin:
        raise Forbidden("Only an administrator can do this.")


@router.post("/admin/media/{code}/retry")
def admin_retry(code: str, user: ApiUser, ctx: Ctx) -> dict[str, Any]:
    """Process the file's content again from the start."""
    _admin(user)
    return service.job_json(service.retry(ctx, code, actor=user))


@router.post("/admin/media/{code}/cancel")
def admin_cancel(code: str, user: ApiUser, ctx: Ctx) -> dict[str, Any]:
    """Stop processing the file's content (a running job stops within seconds)."""
    _admin(user)
    return service.job_json(service.cancel(ctx, code, actor=user))


@router.get("/admin/media")
def admin_jobs(user: ApiUser, ctx: Ctx, state: JobState | None = None) -> dict[str, Any]:
    """Media jobs, newest first (100 at most), optionally of one state."""
    _admin(user)
    with ctx.db.read() as s:
        query = select(Media).order_by(Media.queued_at.desc()).limit(100)
        if state is not None:
            query = query.where(Media.state == state)
        items = [{"sha256": m.sha256, **service.job_json(m)} for m in s.scalars(query).all()]
    return {"items": items}
