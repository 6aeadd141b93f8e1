"""Where pages send people: the login page and back, and only ever to this site."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import Request


def safe_next(target: str | None, default: str = "/files") -> str:
    """Only a path on this site: never another origin (`//evil`, `https://…`, `/\\evil`)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ord(c) < 0x20 or c == "\\" for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def login_url(request: Request) -> str:
    """The login page, coming back to the current page afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(here, safe="")
