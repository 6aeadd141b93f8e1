"""tus 1.0.0 at /api/v1/uploads: core, creation, creation-with-upload,
creation-defer-length, termination, checksum, expiration, concatenation.

Routes parse headers and shape answers; upload logic is in `service`, `concat`
and `appender`. On completion answers carry `Partage-File-Code`, and
`GET /api/v1/uploads/{id}` returns `{id, offset, length, complete, file}`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from partage.db import iso
from partage.deps import Address, ApiUser, BaseUrl, Ctx, OptionalUser
from partage.errors import BadRequest, PartageError, UnsupportedMediaType
from partage.files.quota import max_file_size
from partage.uploads import service
from partage.uploads.appender import AppendResult
from partage.uploads.concat import create_final
from partage.uploads.errors import UnsupportedTusVersion
from partage.uploads.protocol import (
    CHECKSUM_ALGORITHMS,
    EXTENSIONS,
    OFFSET_STREAM,
    TUS_VERSION,
    UPLOADS_PATH,
    Checksum,
    http_date,
    parse_checksum,
    parse_concat,
    parse_size,
)
from partage.uploads.respond import UploadRoute, file_out
from partage.web.bodylimit import OWN_LIMIT, body_limit

FILE_CODE = "Partage-File-Code"


class TusRoute(UploadRoute):
    """Every tus answer, errors included, carries Tus-Resumable; requests must too."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def tus_handler(request: Request) -> Response:
            try:
                if request.method not in ("OPTIONS", "GET"):
                    sent = request.headers.get("tus-resumable")
                    if sent != TUS_VERSION:
                        if sent:
                            raise UnsupportedTusVersion(
                                "This server speaks tus %(version)s; send 'Tus-Resumable: "
                                "%(version)s' (got %(sent)s).",
                                version=TUS_VERSION,
                                sent=repr(sent),
                            )
                        raise UnsupportedTusVersion(
                            "This server speaks tus %(version)s; send 'Tus-Resumable: "
                            "%(version)s'.",
                            version=TUS_VERSION,
                        )
                response = await handler(request)
            except PartageError as exc:
                exc.headers = {"Tus-Resumable": TUS_VERSION, "Tus-Version": TUS_VERSION,
                               **exc.headers}  # fmt: skip
                raise
            response.headers.setdefault("Tus-Resumable", TUS_VERSION)
            return response

        return tus_handler


router = APIRouter(prefix=UPLOADS_PATH, tags=["uploads"], route_class=TusRoute)


def _location(base_url: str, upload_id: str) -> str:
    return f"{base_url}{UPLOADS_PATH}/{upload_id}"


def _result_headers(result: AppendResult) -> dict[str, str]:
    headers = {"Upload-Offset": str(result.offset)}
    if result.file_code:
        headers[FILE_CODE] = result.file_code
    elif result.expires_at is not None:
        headers["Upload-Expires"] = http_date(result.expires_at)
    return headers


async def _append(
    request: Request,
    ctx: Ctx,
    user: ApiUser,
    upload_id: str,
    *,
    offset: int,
    checksum: Checksum | None,
    declared_length: int | None = None,
    stream: AsyncIterator[bytes] | None,
) -> AppendResult | None:
    """Append a request body to an upload; None when the client went away mid-body."""
    app = await run_in_threadpool(
        service.begin_append,
        ctx,
        user,
        upload_id,
        offset=offset,
        declared_length=declared_length,
        content_length=parse_size("Content-Length", request.headers.get("content-length")),
        checksum=checksum,
    )
    if isinstance(app, AppendResult):
        return app
    try:
        if stream is not None:
            await app.receive(stream)
    except BaseException as exc:
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(app.abort)
        if isinstance(exc, ClientDisconnect):
            return None
        raise
    return await run_in_threadpool(app.finish)


def _options_headers(max_size: int) -> dict[str, str]:
    return {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": EXTENSIONS,
        "Tus-Max-Size": str(max_size),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
    }


@router.options("", status_code=204)
def options(ctx: Ctx, user: OptionalUser) -> Response:
    limit = max_file_size(user, ctx.settings) if user else ctx.settings.max_upload_size
    return Response(status_code=204, headers=_options_headers(limit))


@router.options("/{upload_id}", status_code=204)
def options_upload(upload_id: str, ctx: Ctx, user: OptionalUser) -> Response:
    """The same answer as OPTIONS on the collection: tus asks either."""
    return options(ctx, user)


@router.post("", status_code=201)
@body_limit(OWN_LIMIT)  # the upload's own limits: the plan's file size and quota
async def create(request: Request, ctx: Ctx, user: ApiUser, base: BaseUrl) -> Response:
    """Create an upload (Upload-Length or Upload-Defer-Length: 1), optionally with its
    first bytes (creation-with-upload), or a final upload from partials (Upload-Concat)."""
    h = request.headers
    metadata = h.get("upload-metadata")
    concat = parse_concat(h.get("upload-concat"))
    if concat is not None and not concat.partial:
        if h.get("upload-length") is not None:
            raise BadRequest("A final upload takes no Upload-Length: it is the parts' sum.")
        final_id, result = await run_in_threadpool(create_final, ctx, user, concat.parts, metadata)
        headers = {"Location": _location(base, final_id), **_result_headers(result)}
        return Response(status_code=201, headers=headers)

    length = parse_size("Upload-Length", h.get("upload-length"))
    defer = h.get("upload-defer-length")
    if defer is not None and defer.strip() != "1":
        raise BadRequest("Upload-Defer-Length must be 1.")
    if (length is None) == (defer is None):
        raise BadRequest("Send either Upload-Length (the size in bytes) or Upload-Defer-Length: 1.")
    with_body = h.get("content-type", "").split(";")[0].strip().lower() == OFFSET_STREAM
    body_size = parse_size("Content-Length", h.get("content-length"))
    if not with_body and (body_size or "chunked" in h.get("transfer-encoding", "").lower()):
        raise UnsupportedMediaType(
            "Data sent with the creation request must be Content-Type: %(type)s.",
            type=OFFSET_STREAM,
        )
    checksum = parse_checksum(h.get("upload-checksum")) if with_body else None
    partial = concat is not None
    row = await run_in_threadpool(
        service.create_upload, ctx, user, length=length, partial=partial, metadata=metadata
    )
    headers = {"Location": _location(base, row.id), "Upload-Offset": "0",
               "Upload-Expires": http_date(row.expires_at)}  # fmt: skip
    if with_body or length == 0:
        try:
            first = await _append(
                request, ctx, user, row.id, offset=0, checksum=checksum,
                stream=request.stream() if with_body else None,
            )  # fmt: skip
        except PartageError as exc:  # the upload exists: tell the client where to resume
            exc.headers = {**exc.headers, "Location": headers["Location"]}
            raise
        if first is None:
            return Response(status_code=400)
        headers.update(_result_headers(first))
        if first.file_code:
            headers.pop("Upload-Expires", None)
    return Response(status_code=201, headers=headers)


@router.head("/{upload_id}")
def head(upload_id: str, ctx: Ctx, user: ApiUser, base: BaseUrl) -> Response:
    info = service.get_info(ctx, user, upload_id)
    row = info.row
    headers = {"Upload-Offset": str(info.offset), "Cache-Control": "no-store"}
    if row.length is not None:
        headers["Upload-Length"] = str(row.length)
    else:
        headers["Upload-Defer-Length"] = "1"
    if raw := service.raw_metadata(row):
        headers["Upload-Metadata"] = raw
    if row.is_partial:
        headers["Upload-Concat"] = "partial"
    elif row.parts is not None:
        headers["Upload-Concat"] = "final;" + " ".join(_location(base, p) for p in row.parts)
    if info.file is not None:
        headers[FILE_CODE] = info.file.code
    elif not info.complete:
        headers["Upload-Expires"] = http_date(row.expires_at)
    return Response(status_code=200, headers=headers)


@router.patch("/{upload_id}", status_code=204)
@body_limit(OWN_LIMIT)  # the upload's own limits: the plan's file size and quota
async def patch(upload_id: str, request: Request, ctx: Ctx, user: ApiUser) -> Response:
    h = request.headers
    ctype = h.get("content-type", "").split(";")[0].strip().lower()
    if ctype != OFFSET_STREAM:
        if ctype:
            raise UnsupportedMediaType(
                "A PATCH body must be sent as Content-Type: %(type)s (got %(sent)s).",
                type=OFFSET_STREAM,
                sent=repr(ctype),
            )
        raise UnsupportedMediaType(
            "A PATCH body must be sent as Content-Type: %(type)s.", type=OFFSET_STREAM
        )
    offset = parse_size("Upload-Offset", h.get("upload-offset"))
    if offset is None:
        raise BadRequest("Upload-Offset is required: the offset this data starts at.")
    result = await _append(
        request,
        ctx,
        user,
        upload_id,
        offset=offset,
        checksum=parse_checksum(h.get("upload-checksum")),
        declared_length=parse_size("Upload-Length", h.get("upload-length")),
        stream=request.stream(),
    )
    if result is None:
        return Response(status_code=400)
    return Response(status_code=204, headers=_result_headers(result))


@router.delete("/{upload_id}", status_code=204)
def terminate(upload_id: str, ctx: Ctx, user: ApiUser) -> Response:
    service.terminate(ctx, user, upload_id)
    return Response(status_code=204)


@router.get("/{upload_id}")
def status(upload_id: str, ctx: Ctx, user: ApiUser, base: BaseUrl, address: Address) -> Response:
    """The upload's progress, and the file it became once complete."""
    info = service.get_info(ctx, user, upload_id)
    body = {
        "id": info.row.id,
        "offset": info.offset,
        "length": info.row.length,
        "complete": info.complete,
        "expires": None if info.complete else iso(info.row.expires_at),
        "file": file_out(ctx, info.file, base_url=base, address=address) if info.file else None,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
