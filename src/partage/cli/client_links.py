"""From what the user pasted (a page URL, a direct link or a bare code) to a signed
direct download link."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from partage.cli.client_api import Api, error_from_response
from partage.cli.client_config import Config, normalise_url
from partage.cli.client_errors import ClientError

CODE = re.compile(r"^[a-z0-9]{12}$")


@dataclass(frozen=True)
class Target:
    base: str  # the server's origin (and path prefix, if it is mounted below one)
    code: str | None  # a file page's code; None for a direct link
    direct: str | None  # a direct link as given


def parse_target(text: str, cfg: Config) -> Target:
    text = text.strip()
    if CODE.match(text):
        if not cfg.url:
            raise ClientError(f"{text} is a bare file code: give its full URL or log in first")
        return Target(cfg.url, text, None)
    url = normalise_url(text) if "://" not in text else text
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ClientError(f"{text!r} is not a partage link")
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path
    if "/d/" in path:
        prefix = path[: path.index("/d/")]
        return Target(origin + prefix, None, url)
    prefix, _, last = path.rstrip("/").rpartition("/")
    if not CODE.match(last):
        raise ClientError(
            f"{text!r} is neither a file page ({origin}/<code>) nor a direct link ({origin}/d/…)"
        )
    return Target(origin + prefix, last, None)


def _same_server(a: str, b: str | None) -> bool:
    return b is not None and a.rstrip("/").lower() == b.rstrip("/").lower()


def direct_link(target: Target, cfg: Config, password: str | None) -> str:
    """A signed direct link for the target: the file page answers JSON with its
    `download_url` (the owner's link when our token is the owner's)."""
    if target.direct:
        return target.direct
    page = f"/{target.code}"
    token = cfg.token if _same_server(target.base, cfg.url) else None
    r = _ask_page(target.base, page, token, password)
    if r.status_code == 401 and token:
        r = _ask_page(target.base, page, None, password)  # a stale token: go as a visitor
    if r.status_code >= 400:
        exc = error_from_response(r, hint_login=False)
        if exc.status == 401 and password is None:
            exc.message = f"{exc.message.rstrip('.')}: use --password"
        raise exc
    try:
        link = r.json()["download_url"]
    except (ValueError, KeyError, TypeError):
        raise ClientError(
            f"{target.base}{page} gave no download link: is it a partage server?"
        ) from None
    return urljoin(str(r.url), str(link))


def _ask_page(base: str, page: str, token: str | None, password: str | None) -> httpx.Response:
    with Api(base, token) as api:
        if password is None:
            return api.send("GET", page)
        return api.send("POST", page, json={"password": password})
