"""One-request uploads: `POST /api/v1/files` (multipart) and `PUT /api/v1/files/{name}`
(raw body, for `curl -T`). JSON when the client asks for it, else the link(s) alone."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import ClientDisconnect

from partage.deps import Address, ApiUser, BaseUrl, Ctx
from partage.errors import BadRequest, UnsupportedMediaType
from partage.uploads import simple
from partage.uploads.formdata import FormReceiver
from partage.uploads.protocol import parse_size
from partage.uploads.respond import UploadRoute, file_out, files_response
from partage.uploads.staging import StagedWriter
from partage.web.bodylimit import OWN_LIMIT, body_limit


class _AnyName(Convertor[str]):
    """A path segment taken as sent, even with '/' or a newline in it, so that a bad name
    gets the name rule's clear 400 rather than a routing 404/405."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("anyname", _AnyName())

router = APIRouter(prefix="/api/v1/files", tags=["uploads"], route_class=UploadRoute)


@router.post("", status_code=201)
@body_limit(OWN_LIMIT)  # the upload's own limits: the plan's file size and quota
async def upload_form(
    request: Request, ctx: Ctx, user: ApiUser, base: BaseUrl, address: Address
) -> Response:
    """multipart/form-data: one or more `file` parts, and optional fields `folder`
    (id or path), `password`, `expires`, `max_downloads`, `public`, `description`."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data":
        raise UnsupportedMediaType(
            "Send files as multipart/form-data (or PUT the raw bytes to /api/v1/files/NAME)."
        )
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequest("multipart/form-data needs a boundary parameter.")
    length = parse_size("Content-Length", request.headers.get("content-length"))
    limits = await run_in_threadpool(simple.check_request, ctx, user, length, multipart=True)
    form = FormReceiver(
        ctx.settings.staging_dir,
        boundary,
        file_limit=limits.file_limit,
        file_error=limits.file_error,
        total_limit=limits.total_limit,
        total_error=limits.total_error,
    )
    try:
        await form.receive(request.stream())
    except ClientDisconnect:
        return Response(status_code=400)
    try:
        files = await run_in_threadpool(simple.finish_form, ctx, user, form.files, form.fields)
    finally:
        form.discard()
    payload = [file_out(ctx, f, base_url=base, address=address) for f in files]
    return files_response(request, payload, single=False)


@router.put("/{filename:anyname}", status_code=201)
@body_limit(OWN_LIMIT)  # the upload's own limits: the plan's file size and quota
async def upload_raw(
    filename: str, request: Request, ctx: Ctx, user: ApiUser, base: BaseUrl, address: Address
) -> Response:
    """The body is the file; query parameters `folder`, `password`, `expires`,
    `max_downloads`, `public`, `description` set its place and link options."""
    length = parse_size("Content-Length", request.headers.get("content-length"))
    spec, limits = await run_in_threadpool(
        simple.prepare_put, ctx, user, filename, dict(request.query_params), length
    )
    if limits.file_limit <= limits.total_limit:
        writer = StagedWriter(ctx.settings.staging_dir, limits.file_limit, limits.file_error)
    else:
        writer = StagedWriter(ctx.settings.staging_dir, limits.total_limit, limits.total_error)
    try:
        try:
            async for chunk in request.stream():
                writer.write(chunk)
        except ClientDisconnect:
            return Response(status_code=400)
        writer.close()
        f = await run_in_threadpool(simple.finish_put, ctx, user, spec, writer)
    finally:
        writer.discard()
    return files_response(request, [file_out(ctx, f, base_url=base, address=address)], single=True)
