"""A pure-ASGI middleware around the whole app (direct downloads included).

For each HTTP request: a request id (the client's `X-Request-Id` when it is a
sane token, else a new one) in a contextvar for the logs and echoed in the
response; request count and latency by route template and status; request and
response body bytes; an optional access log line.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from partage.files.download import PREFIX as DIRECT_PREFIX
from partage.ops import metrics
from partage.ops.logs import request_id

access_log = logging.getLogger("partage.access")

_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
DIRECT_ROUTE = DIRECT_PREFIX + "{token}/{name}"


def _incoming_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            try:
                candidate = value.decode("ascii")
            except UnicodeDecodeError:
                break
            if _SANE_ID.fullmatch(candidate):
                return candidate
            break
    return secrets.token_hex(16)


def _route_label(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str) and path:
        return path
    if scope.get("path", "").startswith(DIRECT_PREFIX):
        return DIRECT_ROUTE
    return "unmatched"


class OpsMiddleware:
    def __init__(self, app: ASGIApp, *, access_log: bool = False) -> None:
        self.app = app
        self.access_log = access_log

    def __getattr__(self, name: str) -> object:
        # `app.state` and friends of the wrapped app stay reachable.
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope)
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        bytes_out = 0
        content_length: int | None = None

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                n = len(message.get("body", b""))
                if n:
                    metrics.BYTES_IN.inc(n)
            return message

        async def tagging_send(message: Message) -> None:
            nonlocal status, bytes_out, content_length
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k != b"x-request-id"]
                headers.append((b"x-request-id", rid.encode()))
                for k, v in headers:
                    if k.lower() == b"content-length":
                        try:
                            content_length = int(v)
                        except ValueError:
                            pass
                message = {**message, "headers": headers}
            elif kind == "http.response.body":
                n = len(message.get("body", b""))
                bytes_out += n
                if n:
                    metrics.BYTES_OUT.inc(n)
            elif kind == "http.response.pathsend":
                # Zero-copy file body: the server sends the whole file.
                if content_length is not None:
                    n = content_length
                else:
                    try:
                        n = os.path.getsize(message["path"])
                    except OSError:
                        n = 0
                bytes_out += n
                metrics.BYTES_OUT.inc(n)
            await send(message)

        metrics.IN_FLIGHT.inc()
        try:
            await self.app(scope, counting_receive, tagging_send)
        finally:
            metrics.IN_FLIGHT.dec()
            elapsed = time.perf_counter() - started
            route = _route_label(scope)
            method = scope.get("method", "")
            metrics.REQUESTS.labels(route, method, str(status)).inc()
            metrics.LATENCY.labels(route, method).observe(elapsed)
            if self.access_log:
                access_log.info(
                    '%s "%s %s" %d %d %.1fms', _client(scope), method, scope.get("path", ""),
                    status, bytes_out, elapsed * 1000,
                )  # fmt: skip
            request_id.reset(token)


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "-"
