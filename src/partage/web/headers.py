"""Security headers on every answer, set in one place.

Every response gets `X-Content-Type-Options: nosniff` and a `Referrer-Policy`; every
response that did not choose its own `Content-Security-Policy` gets the app's policy
(same-origin scripts, styles, images and media only, framed only by the site itself)
and `X-Frame-Options: SAMEORIGIN` for browsers that predate `frame-ancestors`.

A route that sets its own CSP keeps it untouched: user content served inline is
`default-src 'none'; sandbox` (stricter), and the embed page builds its policy with
`page_policy(frame_ancestors=…)` so the operator's list of framing sites applies there.
A route that sets its own `Referrer-Policy` (`no-referrer` on pages whose URL carries a
secret, such as reset links) keeps it too.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from partage.settings import Settings

# The one inline script of the site (base.html): it marks the page as scripted before
# the first paint, so styles for no-script fallbacks never flash. A blocking static file
# would cost a request on every page; its hash lets exactly this text run.
JS_FLAG_SCRIPT = 'document.documentElement.classList.add("js")'
_JS_FLAG_HASH = base64.b64encode(hashlib.sha256(JS_FLAG_SCRIPT.encode()).digest()).decode()

REFERRER_POLICY = "strict-origin-when-cross-origin"


def media_origins(settings: Settings) -> list[str]:
    """Where pictures and streams may come from besides the site: with
    PARTAGE_DELIVERY=redirect the app answers 302 to the object store or CDN, and a
    browser checks the redirect's target against the page's policy."""
    if settings.delivery != "redirect":
        return []
    url = settings.delivery_url or settings.s3_endpoint_url
    if not url:
        return ["https://*.amazonaws.com"]
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return [origin, f"{parts.scheme}://*.{parts.netloc}"]  # virtual-hosted bucket URLs


def page_policy(settings: Settings, *, frame_ancestors: str = "'self'") -> str:
    media = " ".join(["'self'", *media_origins(settings)])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'sha256-{_JS_FLAG_HASH}'",
            "style-src 'self'",
            f"img-src {media} data: blob:",
            # hls.js feeds the <video> through MediaSource (a blob: URL) and parses
            # segments in a worker it starts from a blob: URL.
            f"media-src {media} blob:",
            f"connect-src {media}",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


class SecurityHeaders:
    """Pure ASGI: adds the headers to `http.response.start` without touching bodies, so
    streamed downloads and `pathsend` keep working."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.policy = page_policy(settings).encode()

    def __getattr__(self, name: str) -> object:  # app.state, routes… of the wrapped app
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self.add(list(message.get("headers", [])), self.policy)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def add(self, headers: list[tuple[bytes, bytes]], policy: bytes) -> list[tuple[bytes, bytes]]:
        present = {name.lower() for name, _ in headers}
        if b"content-security-policy" not in present:
            headers.append((b"content-security-policy", policy))
            if b"x-frame-options" not in present:
                headers.append((b"x-frame-options", b"SAMEORIGIN"))
        if b"x-content-type-options" not in present:
            headers.append((b"x-content-type-options", b"nosniff"))
        if b"referrer-policy" not in present:
            headers.append((b"referrer-policy", REFERRER_POLICY.encode()))
        return headers
