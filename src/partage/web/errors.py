"""One mapping from errors to responses: JSON for the API, a page for people."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from partage.diskfull import is_disk_full
from partage.errors import InsufficientStorage, PartageError

_HTTP_CODES = {
    400: "bad_request", 401: "not_authenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "invalid_request", 429: "rate_limited",
}  # fmt: skip


def wants_html(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    details: Mapping[str, object] | None = None,
) -> Response:
    if wants_html(request):
        from partage.web.templating import render

        return render(
            request,
            "error.html",
            {"status": status, "code": code, "message": message},
            status=status,
            headers=dict(headers or {}),
        )
    return JSONResponse(
        {"error": code, "message": message, **(details or {})},
        status_code=status,
        headers=dict(headers or {}),
    )


def message_for(request: Request, exc: PartageError) -> str:
    """The error's message: English for the API, the reader's language for a page."""
    if not wants_html(request):
        return exc.message
    from partage.web.templating import error_text

    return error_text(request, exc)


def _describe(err: dict) -> str:  # type: ignore[type-arg]
    where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
    return f"{where}: {err.get('msg')}" if where else str(err.get("msg"))


def install(app: FastAPI) -> None:
    @app.exception_handler(PartageError)
    async def _domain(request: Request, exc: PartageError) -> Response:
        return error_response(
            request, exc.status, exc.code, message_for(request, exc), exc.headers, exc.details
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        details = [_describe(e) for e in exc.errors()]
        resp = error_response(request, 422, "invalid_request", "; ".join(details))
        return resp

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = "Nothing here: check the address."
        if exc.status_code == 405:
            message = f"{request.method} is not allowed here."
        return error_response(request, exc.status_code, code, message, exc.headers)

    # Not OSError: Starlette turns an exception that has a handler into a RuntimeError
    # once the response has started, and a client gone mid-download is an OSError.
    # ENOSPC from files is mapped where they are written (uploads.staging).
    @app.exception_handler(SQLAlchemyError)
    @app.exception_handler(sqlite3.Error)  # the embedded job queue's (huey) own SQLite
    async def _disk_full(request: Request, exc: Exception) -> Response:
        """A full disk under the database: 507, not a 500; any other database error goes
        on to the catch-all."""
        if not is_disk_full(exc):
            raise exc
        return await _domain(
            request, InsufficientStorage("The server is out of disk space; try again later.")
        )
