"""Shaping upload answers: file JSON with the owner's direct link, JSON or plain links."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import anyio
from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect

from partage.context import Context
from partage.errors import PartageError
from partage.files.links import direct_path
from partage.files.models import File, FileStatus
from partage.files.service import file_json


def file_out(ctx: Context, f: File, *, base_url: str, address: str) -> dict[str, Any]:
    direct = None
    if f.status == FileStatus.active and f.blob is not None:
        bound = address if ctx.settings.bind_links_to_ip else None
        path = direct_path(
            ctx.link_signer, f, ttl=ctx.settings.direct_link_ttl, owner=True, address=bound
        )
        direct = base_url + path
    return file_json(f, base_url=base_url, direct_url=direct)


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "").lower()


def files_response(
    request: Request, payload: list[dict[str, Any]], *, single: bool, status: int = 201
) -> Response:
    """JSON when the client asks for it; otherwise the public links alone, one a line
    (what `curl -T` prints)."""
    if wants_json(request):
        return JSONResponse(payload[0] if single else {"files": payload}, status_code=status)
    return PlainTextResponse("".join(f"{p['url']}\n" for p in payload), status_code=status)


DRAIN_LIMIT = 4 * 1024 * 1024


async def drain_body(request: Request, limit: int = DRAIN_LIMIT) -> None:
    """Read and drop what is left of a refused request's body, when it is small.

    Answering before the body is read makes the server close the connection while
    the client is still sending, and most clients then report a broken connection
    instead of our 413/400. A client that sent `Expect: 100-continue` (curl) is
    waiting for our answer and sends nothing: it needs no draining.
    """
    if "100-continue" in request.headers.get("expect", "").lower():
        return
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return
    seen = 0
    with anyio.move_on_after(5):
        try:
            async for chunk in request.stream():
                seen += len(chunk)
                if seen > limit:
                    break
        except (ClientDisconnect, RuntimeError):  # gone, or the stream was read already
            pass


class UploadRoute(APIRoute):
    """An upload route: on a refusal, drain a small unread body so the client sees why."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def upload_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except PartageError:
                if request.method in ("POST", "PUT", "PATCH"):
                    with anyio.CancelScope(shield=True):
                        await drain_body(request)
                raise

        return upload_handler
