"""The pure-ASGI guard around the whole app (API, pages, tus and direct downloads).

It refuses what no route should see and answers what no route answered:

- a path or query whose percent-encoded bytes are not UTF-8 (`a%ffb`) → 400
  `invalid_encoding` (servers decode paths with errors="replace" and Starlette decodes
  queries the same way, which would store U+FFFD in a name);
- a request body past its route's limit (`partage.web.bodylimit`) → 413
  `request_too_large`: at once when Content-Length says so, else while the body is read,
  by counting the bytes `receive` hands over, so a too-large body is never held in memory;
- any exception nobody handled → 500 `internal_error` with the request id and no
  traceback, logged here, once, with the traceback and the request id.

Inside FastAPI, Starlette's ServerErrorMiddleware would answer a plain-text 500 first:
`leave_to_guard` is installed as its handler and hands the exception on to this guard.
"""

from __future__ import annotations

import logging
from typing import Any, NoReturn
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from partage.errors import InternalError, InvalidEncoding, PartageError, RequestTooLarge
from partage.humanize import size as human_size
from partage.ops.logs import request_id
from partage.web.bodylimit import limit_of
from partage.web.errors import error_response, message_for, wants_html
from partage.web.i18n import N_

log = logging.getLogger("partage.errors")

INTERNAL_MESSAGE = N_(
    "Something went wrong on our side. It has been logged; if it persists, tell the "
    "administrator this request id: %(request_id)s."
)


class BodyTooLarge(HTTPException):
    """Raised from `receive` once the body passes its limit, after the 413 is sent.

    An HTTPException because FastAPI turns any other error met while parsing a body into a
    400; whatever the app then answers is dropped, the 413 being out already."""

    def __init__(self, error: RequestTooLarge) -> None:
        super().__init__(413, error.message)
        self.error = error


async def leave_to_guard(request: Request, exc: Exception) -> NoReturn:
    """ServerErrorMiddleware's handler: raise again, so nothing is answered or logged twice."""
    raise exc


def _not_utf8(raw: bytes) -> bool:
    if b"%" not in raw and raw.isascii():
        return False
    try:
        unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


class Guard:
    def __init__(self, app: ASGIApp, *, pages: FastAPI, max_body: int) -> None:
        self.app = app
        self.pages = pages  # the FastAPI app: its routes' limits, its error pages
        self.max_body = max_body
        self.large = [
            (rc.route, limit_of(rc.endpoint, max_body))
            for rc in iter_route_contexts(pages.routes)
            if limit_of(rc.endpoint, max_body) != max_body
        ]

    def __getattr__(self, name: str) -> object:
        return getattr(self.app, name)

    def limit(self, scope: Scope) -> int | None:
        """The body limit of the route the request goes to (None: the route's own)."""
        endpoint = scope.get("endpoint")  # set once the app has routed the request
        if endpoint is None:
            # Before routing: the routes made for large bodies are few, so match them
            # alone. One shadowed by another route only delays the refusal to `receive`.
            for route, limit in self.large:
                if route.matches(scope)[0] is Match.FULL:
                    return limit
        return limit_of(endpoint, self.max_body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path, query = scope.get("raw_path") or b"", scope.get("query_string", b"")
        if _not_utf8(raw_path) or _not_utf8(query):
            target = raw_path + b"?" + query if query else raw_path
            error: PartageError = InvalidEncoding(
                "The address is not valid UTF-8 once percent-decoded: %(target)s.",
                target=repr(target.decode("latin-1")[:200]),
            )
            await self._answer(scope, send, error)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            route_limit = self.limit(scope)
            if route_limit is not None and declared > route_limit:
                await self._answer(scope, send, _too_large(route_limit))
                return

        started = answered = False
        received = 0
        limit: int | None | bool = False  # False: not looked up yet (routing runs first)

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the app's own answer to the error we raised: ours went first
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        async def counted_receive() -> Message:
            nonlocal received, limit, answered
            if limit is False:
                limit = self.limit(scope)
            message = await receive()
            if limit is not None and message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    error = _too_large(int(limit))
                    if not started:
                        await self._answer(scope, send, error)
                    answered = True
                    raise BodyTooLarge(error)
            return message

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception as exc:
            if _ours(exc):
                return  # answered when it was raised
            rid = request_id.get() or "-"
            log.exception("%s %s failed (request id %s)", scope.get("method"), scope["path"], rid)
            if not started and not answered:
                await self._internal_error(scope, send, rid)

    def _request(self, scope: Scope) -> Request:
        return Request({**scope, "app": self.pages})

    async def _answer(self, scope: Scope, send: Send, error: PartageError) -> None:
        request = self._request(scope)
        response = error_response(
            request, error.status, error.code, message_for(request, error), error.headers
        )
        response.headers["Connection"] = "close"  # the rest of the body is not read
        await response(scope, _no_body, send)

    async def _internal_error(self, scope: Scope, send: Send, rid: str) -> None:
        request = self._request(scope)
        error = InternalError(INTERNAL_MESSAGE, request_id=rid)
        response: Response
        try:
            response = error_response(request, 500, error.code, message_for(request, error),
                                      details={"request_id": rid})  # fmt: skip
        except Exception:  # the error page itself failed (the database is down…)
            log.exception("the error page failed too (request id %s)", rid)
            if wants_html(request):
                response = HTMLResponse(f"<h1>{error.message}</h1>", status_code=500)
            else:
                body: dict[str, Any] = {"error": error.code, "message": error.message}
                response = JSONResponse({**body, "request_id": rid}, status_code=500)
        await response(scope, _no_body, send)


def _ours(exc: BaseException) -> bool:
    """Our BodyTooLarge, alone or as the only error of a task group (a streaming response
    listens for the client's disconnect in one, with the `receive` that raised it)."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_ours(e) for e in exc.exceptions)
    return isinstance(exc, BodyTooLarge)


def _too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(
        "The request body is larger than this address accepts (%(limit)s at most).",
        limit=human_size(limit),
    )


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
