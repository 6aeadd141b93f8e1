"""How the bytes of a download or a stream reach the client (`PARTAGE_DELIVERY`).

- `app`: the web process sends them itself (the default; works everywhere).
- `x-accel`: the app checks the request, then answers with an empty body and
  `X-Accel-Redirect: <accel_uri(...)>`; nginx serves the local file named there
  from an `internal` location (`deploy/nginx.conf`), Range included.
- `redirect`: the app checks the request, then answers `302 Found` to a presigned
  object-store URL (`redirect_location`), or to the same path and query on a CDN
  origin (`PARTAGE_DELIVERY_URL`).

The helpers here are shared by the direct downloads (`files/download.py`) and the
HLS streams (`media/streams.py`):

    uri = accel_uri(settings, "blobs", blob_relpath(sha256))
    uri = accel_uri(settings, "media", media_relpath(sha256, "hls/720p/seg_00001.m4s"))
    headers = accel_headers(uri, response_headers)        # x-accel: send with status 200
    ttl = redirect_ttl(link_expires, settings.direct_link_ttl)
    location = redirect_location(settings, store.presigned_url(key, ttl, ...))

nginx copies only some of the app's headers to the client after an internal
redirect (Content-Type, Content-Disposition, Cache-Control, Expires,
Accept-Ranges, Set-Cookie) and answers with the file's own ETag and
Last-Modified; deploy/nginx.conf puts the app's values back from
`$upstream_http_*`. It also re-evaluates If-Match and If-Unmodified-Since
against the file on disk and answers 416 to a malformed Range the app would
ignore: `nginx_agrees` says when a request must stay in the app instead.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

from partage.settings import Settings

Kind = Literal["blobs", "media"]
Header = tuple[bytes, bytes]

_NGINX_OWN = frozenset({b"content-length", b"accept-ranges"})


class DeliveryConfigError(ValueError):
    """The delivery settings cannot work with the rest; `str(e)` is one line that
    starts with the setting, e.g. `PARTAGE_DELIVERY=redirect: …`."""


# -- x-accel ---------------------------------------------------------------------------------


def blob_relpath(key: str) -> str:
    """Where a blob lives under the local blob root (`ab/cd/<sha256>`, as
    `storage/local.py` lays them out)."""
    return f"{key[:2]}/{key[2:4]}/{key}"


def media_relpath(sha256: str, rel: str) -> str:
    """Where a blob's media output `rel` (e.g. `hls/720p/seg_00001.m4s`) lives under
    the media root (`ab/<sha256>/<rel>`, as `media/outputs.py` lays them out)."""
    return f"{sha256[:2]}/{sha256}/{rel}"


def accel_location(settings: Settings) -> str:
    """`PARTAGE_X_ACCEL_LOCATION` with exactly one trailing slash."""
    return settings.x_accel_location.rstrip("/") + "/"


def accel_uri(settings: Settings, kind: Kind, relpath: str) -> str:
    """The percent-encoded internal URI nginx serves `relpath` of `kind` from,
    e.g. `/_partage/blobs/ab/cd/<sha256>`. nginx decodes it before mapping it on
    the location's `alias`. Refuses anything that could climb out of the root."""
    if kind not in ("blobs", "media"):
        raise ValueError(f"not a delivery kind: {kind!r}")
    parts = relpath.split("/")
    if any(p in ("", ".", "..") for p in parts) or "\\" in relpath or "\x00" in relpath:
        raise ValueError(f"not a relative path under the {kind} root: {relpath!r}")
    return f"{accel_location(settings)}{kind}/{quote(relpath, safe='/')}"


def accel_headers(uri: str, headers: Iterable[Header]) -> list[Header]:
    """The app's answer that hands a request to nginx: `headers` (what the client
    must see: Content-Type, Content-Disposition, ETag, Cache-Control…) plus
    `X-Accel-Redirect`, and no body. Content-Length and Accept-Ranges are dropped:
    nginx sends its own for the file (the app's would be repeated)."""
    out = [(k, v) for k, v in headers if k.lower() not in _NGINX_OWN]
    out.append((b"x-accel-redirect", uri.encode("ascii")))
    out.append((b"content-length", b"0"))
    return out


def nginx_agrees(request: Mapping[str, str], *, range_ignored: bool) -> bool:
    """Whether nginx, handed this request after the app checked it, answers what the
    app would. `request` holds lower-case header names.

    nginx re-evaluates If-Match and If-Unmodified-Since against the file on disk (its
    own ETag and mtime, not partage's: a matching If-Match would get 412), and answers
    416 to a Range header the app ignores (`range_ignored`: malformed, another unit,
    too many parts). Such requests, rare in practice, are served by the app itself.
    If-None-Match / If-Modified-Since are settled by the app (304) before any hand-off,
    and the internal location has `if_modified_since off`; If-Range is compared by
    nginx with the ETag and Last-Modified the app sent, as the app does."""
    return not range_ignored and "if-match" not in request and "if-unmodified-since" not in request


# -- redirect --------------------------------------------------------------------------------


def redirect_ttl(link_expires: float, cap: int, *, now: float | None = None) -> int:
    """Seconds a presigned URL may live: until the signed link it stands for expires
    (`link_expires`, epoch seconds), never more than `cap` (the link TTL setting), and
    at least 1 (an expired link was refused before)."""
    left = int(link_expires - (time.time() if now is None else now))
    return max(1, min(left, cap))


def redirect_location(settings: Settings, presigned: str) -> str:
    """The URL a client is sent to: the presigned object-store URL, or with
    `PARTAGE_DELIVERY_URL` the same path and query (signature included) on that
    origin (a CDN that forwards them to the bucket). A path in the delivery URL is
    put in front of the presigned path."""
    if not settings.delivery_url:
        return presigned
    cdn = urlsplit(settings.delivery_url)
    src = urlsplit(presigned)
    return urlunsplit((cdn.scheme, cdn.netloc, cdn.path.rstrip("/") + src.path, src.query, ""))


def redirect_headers(location: str) -> list[Header]:
    """The headers of the `302 Found`: the Location is a capability with its own expiry,
    so no cache may keep it (`no-store`), and it must not leak as a Referer."""
    return [
        (b"location", location.encode("ascii")),
        (b"cache-control", b"no-store"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-length", b"0"),
    ]


# -- start-up rule ---------------------------------------------------------------------------


def _is_object_storage(settings: Settings) -> bool:
    return bool(settings.storage_url and settings.storage_url.startswith("s3://"))


def check_settings(settings: Settings) -> None:
    """Raise `DeliveryConfigError` when the delivery settings cannot work: `redirect`
    needs an object store to presign URLs, `x-accel` needs blobs on a local disk nginx
    can read, and the URLs must be usable."""
    mode = settings.delivery
    storage = settings.storage_url or f"file://{settings.blob_root}"
    if mode == "redirect" and not _is_object_storage(settings):
        raise DeliveryConfigError(
            "PARTAGE_DELIVERY=redirect: needs object storage to presign URLs "
            f"(PARTAGE_STORAGE_URL=s3://bucket/prefix), but blobs are at {storage}; "
            "use x-accel (behind nginx) or app for local storage"
        )
    if mode == "x-accel" and _is_object_storage(settings):
        raise DeliveryConfigError(
            "PARTAGE_DELIVERY=x-accel: needs blobs on a local disk that nginx reads, "
            f"but PARTAGE_STORAGE_URL={storage}; use redirect (or app) with object storage"
        )
    if mode == "x-accel" and not settings.x_accel_location.startswith("/"):
        raise DeliveryConfigError(
            f"PARTAGE_X_ACCEL_LOCATION={settings.x_accel_location}: must be an absolute "
            "path such as /_partage/ (nginx's internal location)"
        )
    url = settings.delivery_url
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise DeliveryConfigError(
                f"PARTAGE_DELIVERY_URL={url}: not an http(s) origin such as https://cdn.example.org"
            )
