"""What the public pages preview, and how a preview's bytes are served.

A preview is the file's signed direct link with the inline flag (`direct_url(...,
inline=True)`): the same link rules (version, expiry, cap, status), but the bytes are
shown in the page instead of saved, and a preview is never counted as a download.
Whatever the file holds, its preview can never script our origin:

- text (HTML, SVG source, JavaScript…) is served as `text/plain; charset=utf-8`, so
  the browser shows the source and runs nothing;
- every inline answer carries `Content-Security-Policy: default-src 'none'; sandbox`
  (a unique opaque origin, no script, no plugin), `X-Content-Type-Options: nosniff`
  and `Content-Disposition: inline`;
- the page frames text in `<iframe sandbox>` (no allow-scripts, no allow-same-origin);
- images go in `<img>`, where even an SVG runs no script.

PDF: Chromium refuses to run its PDF viewer in `<iframe sandbox>` (the frame shows an
error page), but renders a PDF whose response carries the CSP `sandbox` in a plain
frame or a tab. So a PDF is framed without the attribute and sandboxed by its response
alone (same opaque origin, no script), with "open in a new tab" and "download" links
as the fallback for browsers without a viewer. Text is always framed with the attribute.
A link with a download cap gets no preview (a preview would be an uncounted copy).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

PreviewKind = Literal["image", "video", "audio", "text", "pdf"]

TEXT_LIMIT = 20 * 1024 * 1024
IMAGE_LIMIT = 20 * 1024 * 1024
PDF_LIMIT = 100 * 1024 * 1024

TEXT_PLAIN = "text/plain; charset=utf-8"
INLINE_CSP = "default-src 'none'; sandbox"

# Images every current browser decodes in <img>.
_IMAGES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/svg+xml",
     "image/bmp", "image/x-icon", "image/vnd.microsoft.icon"}
)  # fmt: skip
_TEXT_APPS = frozenset(
    {"application/json", "application/xml", "application/javascript", "application/x-sh",
     "application/x-yaml", "application/yaml", "application/toml", "application/sql",
     "application/x-httpd-php", "application/xhtml+xml", "application/ld+json",
     "application/x-python", "application/x-shellscript", "application/csv"}
)  # fmt: skip


def base_type(mime: str | None) -> str:
    return (mime or "").split(";", 1)[0].strip().lower()


def is_text(mime: str | None) -> bool:
    m = base_type(mime)
    return m.startswith("text/") or m in _TEXT_APPS or m.endswith(("+xml", "+json"))


def kind_of(mime: str | None) -> PreviewKind | None:
    """The kind of preview a type gets, whatever its size."""
    m = base_type(mime)
    if m in _IMAGES:
        return "image"
    if m.startswith("video/"):
        return "video"
    if m.startswith("audio/"):
        return "audio"
    if m == "application/pdf":
        return "pdf"
    if is_text(m):
        return "text"
    return None


def preview_kind(mime: str | None, size: int, *, capped: bool = False) -> PreviewKind | None:
    """The preview a file gets on a page, or None (too big, capped link, unknown type).
    Media stream with Range, so they have no size limit."""
    if capped:
        return None
    kind = kind_of(mime)
    limit = {"text": TEXT_LIMIT, "image": IMAGE_LIMIT, "pdf": PDF_LIMIT}.get(kind or "")
    if limit is not None and size > limit:
        return None
    return kind


def inline_type(mime: str | None) -> str | None:
    """The Content-Type an inline answer is sent with, or None when this type is never
    shown inline (the link then behaves as a plain download)."""
    kind = kind_of(mime)
    if kind is None:
        return None
    if kind == "text":
        return TEXT_PLAIN
    return base_type(mime)


# The player's data for a video or audio file (media.service.media_view). `files` never
# imports `media` (media reacts to files): the app wires it in when it starts (app.py).
PlayerView = Callable[..., dict[str, Any]]
_player_view: PlayerView | None = None


def register_player(view: PlayerView) -> None:
    global _player_view
    _player_view = view


def player_view() -> PlayerView | None:
    return _player_view
