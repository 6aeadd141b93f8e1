"""The direct-download hot path: `GET/HEAD /d/<token>/<name>`, served in pure ASGI.

Every download goes through here, so the path avoids what costs on small files
(routing, dependency injection, ORM sessions, thread hops): the token is
checked inline, one indexed query loads the file, and a whole-file answer is
handed to the server with `http.response.pathsend` (zero-copy in granian).
Ranges go through bounded reads, so memory stays flat whatever the size.

Counting: a GET that starts at byte 0 is a download (not HEAD, not 304, not the
owner's own link). Capped links count atomically in the database before a byte
is sent; uncapped links count in memory and are flushed by `files.counters`.

Every check above runs whatever `PARTAGE_DELIVERY` says; only the sending differs
(see `partage.delivery`): `x-accel` hands the file to nginx with X-Accel-Redirect,
`redirect` answers 302 to a presigned object-store URL (or the CDN's).
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import sqlite3
import stat
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, cast

import anyio
from sqlalchemy import bindparam, select, update
from starlette.requests import Request

from partage.context import Context
from partage.db import utcnow
from partage.delivery import (
    accel_headers,
    accel_uri,
    blob_relpath,
    nginx_agrees,
    redirect_headers,
    redirect_location,
    redirect_ttl,
)
from partage.deps import client_address
from partage.errors import DownloadLimitReached, NotFound, PartageError
from partage.files.codes import is_code
from partage.files.counters import counters
from partage.files.http_semantics import (
    content_disposition,
    http_date,
    if_range_ok,
    parse_ranges,
    strong_match,
    weak_match,
)
from partage.files.links import DirectGrant, check_grant, direct_path, read_direct_token
from partage.files.models import Blob, File
from partage.files.preview import inline_type
from partage.storage import LocalBlobStore, primary_of

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PREFIX = "/d/"
FALLBACK_CHUNK = 256 * 1024

_F = File.__table__.c
_B = Blob.__table__.c
# Column order matters: _Target.from_row reads by position.
_SELECT = (
    select(
        _F.id, _F.name, _F.status, _F.created_at, _F.expires_at, _F.max_downloads,
        _F.downloads, _F.link_version, _B.sha256, _B.size, _B.mime, _B.storage_key, _B.status,
        _B.scan_state, _B.malware, _F.disabled_reason, _F.disabled_ref,
        _F.disabled_notice,
    )
    .select_from(File.__table__.outerjoin(Blob.__table__, _B.id == _F.blob_id))
    .where(_F.code == bindparam("code"))
)  # fmt: skip
_COUNT_CAPPED = (
    update(File)
    .where(File.id == bindparam("fid"), File.downloads < File.max_downloads)
    .values(downloads=File.downloads + 1, last_download_at=bindparam("now"))
)

_STATIC_HEADERS = [
    (b"accept-ranges", b"bytes"),
    (b"cache-control", b"private"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"default-src 'none'; sandbox"),
    (b"referrer-policy", b"no-referrer"),
]


@dataclass(slots=True)
class _BlobView:
    sha256: str
    size: int
    mime: str
    storage_key: str
    status: str
    scan_state: str | None  # the malware scan's (files/links.py check_available)
    malware: str | None


@dataclass(slots=True)
class _Target:
    """The few fields of a file the download path needs; duck-types `File` for the
    link rules in files/links.py (check_grant), so the rules live in one place."""

    id: int
    name: str
    status: str
    created_at: datetime
    expires_at: datetime | None
    max_downloads: int | None
    downloads: int
    link_version: int
    blob: _BlobView | None
    disabled_reason: str | None = None  # a moderation decision's (files/links.py)
    disabled_ref: str | None = None
    disabled_notice: str | None = None


def _dt(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite keeps datetimes as ISO text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _target(row: Any) -> _Target:
    blob = _BlobView(*row[8:15]) if row[8] is not None else None
    created = _dt(row[3])
    assert created is not None
    return _Target(
        row[0], row[1], row[2], created, _dt(row[4]), row[5], row[6], row[7], blob, row[15],
        row[16], row[17],
    )  # fmt: skip


class _Lookup:
    """`code → _Target`. On SQLite: one long-lived DBAPI connection in autocommit,
    used only from the event loop thread (an indexed read takes microseconds and
    never waits on writers in WAL mode). Elsewhere: the engine, from a thread."""

    def __init__(self, ctx: Context) -> None:
        self.engine = ctx.db.engine
        self.sqlite = self.engine.dialect.name == "sqlite"
        self.sql = str(_SELECT.compile(dialect=self.engine.dialect))
        self._conn: Any = None
        self._raw: sqlite3.Connection | None = None

    def _sqlite_conn(self) -> sqlite3.Connection:
        if self._raw is None:
            self._conn = self.engine.raw_connection()
            self._raw = cast(sqlite3.Connection, self._conn.driver_connection)
        return self._raw

    def _reset(self) -> None:
        conn, self._conn, self._raw = self._conn, None, None
        if conn is not None:
            try:
                conn.invalidate()
            except Exception:  # noqa: BLE001 - a broken connection is dropped either way
                log.debug("dropping download lookup connection", exc_info=True)

    def _fetch_sqlite(self, code: str) -> Any:
        for attempt in (1, 2):
            try:
                # fetchall: the statement runs to completion, so no read transaction
                # stays open between requests (that would hold back WAL checkpoints).
                rows = self._sqlite_conn().execute(self.sql, (code,)).fetchall()
                return rows[0] if rows else None
            except sqlite3.Error:
                self._reset()
                if attempt == 2:
                    raise
        return None

    def _fetch_engine(self, code: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(_SELECT, {"code": code}).first()

    async def get(self, code: str) -> _Target | None:
        if self.sqlite:
            row = self._fetch_sqlite(code)
        else:
            row = await anyio.to_thread.run_sync(self._fetch_engine, code)
        return _target(row) if row is not None else None

    def count_capped(self, file_id: int) -> bool:
        """One download more if the cap allows it; atomic under any concurrency."""
        with self.engine.begin() as conn:
            done = conn.execute(_COUNT_CAPPED, {"fid": file_id, "now": utcnow()}).rowcount
        return bool(done)


# -- the ASGI app ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _file_headers(
    name: str, sha256: str, created: datetime, inline: bool = False
) -> tuple[str, str, int, tuple[tuple[bytes, bytes], ...]]:
    """Validators and fixed headers of one file version (all derived from immutable or
    rarely changing fields, so they are worth computing once)."""
    etag = f'"{sha256}"'
    last_modified = format_datetime(created, usegmt=True)
    disposition = content_disposition(name)
    if inline:
        disposition = b"inline" + disposition[len(b"attachment") :]
    headers = (
        *_STATIC_HEADERS,
        (b"etag", etag.encode()),
        (b"last-modified", last_modified.encode()),
        (b"content-disposition", disposition),
    )
    return etag, last_modified, int(created.timestamp()), headers


class DirectDownloads:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._ctx: Context | None = None
        self._lookup: _Lookup | None = None
        self._paths: dict[str, str | None] = {}  # storage key → local path (keys are immutable)

    @property
    def ctx(self) -> Context:
        if self._ctx is None:
            self._ctx = cast(Context, self.app.state.ctx)  # type: ignore[attr-defined]
        return self._ctx

    def _local_path(self, key: str) -> str | None:
        try:
            return self._paths[key]
        except KeyError:
            pass
        if len(self._paths) > 10_000:
            self._paths.clear()
        found = self.ctx.store.local_path(key)
        path = self._paths[key] = str(found) if found is not None else None
        return path

    def _in_primary(self, key: str, path: str) -> bool:
        """Whether nginx's internal location (the primary store's root) has this blob: during
        a migration a fallback store may find it under the old root, which the app sends."""
        primary = primary_of(self.ctx.store)
        return isinstance(primary, LocalBlobStore) and str(primary.path_for(key)) == path

    @property
    def lookup(self) -> _Lookup:
        if self._lookup is None:
            self._lookup = _Lookup(self.ctx)
        return self._lookup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        try:
            await self.serve(scope, receive, send)
        except PartageError as exc:
            await self.error(scope, receive, send, exc)

    async def error(self, scope: Scope, receive: Receive, send: Send, exc: PartageError) -> None:
        from partage.web.errors import error_response, message_for

        request = Request({**scope, "app": self.app}, receive)
        message = message_for(request, exc)
        response = error_response(request, exc.status, exc.code, message, exc.headers, exc.details)
        response.headers["cache-control"] = "no-store"
        await response(scope, receive, send)

    def _address(self, scope: Scope) -> str:
        settings = self.ctx.settings
        if not settings.trusted_proxies:
            client = scope.get("client")
            return client[0] if client else "unknown"
        return client_address(Request(scope), settings)

    async def serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            allow = {"Allow": "GET, HEAD"}
            raise _MethodNotAllowed("%(method)s is not allowed here.", method=method, headers=allow)
        token = scope["path"][len(PREFIX) :].split("/", 1)[0]
        ctx = self.ctx
        grant = read_direct_token(ctx.link_signer, token, self._address(scope))
        f = await self.lookup.get(grant.code) if is_code(grant.code) else None
        if f is None:
            raise NotFound("No file at this address.")
        check_grant(cast(File, f), grant)
        blob = f.blob
        assert blob is not None  # check_grant refuses deleted files

        path = self._local_path(blob.storage_key)
        size = blob.size
        if path is not None:
            try:
                st = os.stat(path)
            except FileNotFoundError:
                st = None
            if st is None or not stat.S_ISREG(st.st_mode):
                log.error("blob %s of file %s is missing from storage", blob.sha256, f.id)
                raise _Unavailable("This file's content is temporarily unavailable.")
            size = st.st_size

        req = _headers(scope)
        # A preview (files/preview.py): shown in the page with a safe type, never counted.
        inline_mime = inline_type(blob.mime) if grant.inline else None
        etag, last_modified, modified, base = _file_headers(
            f.name, blob.sha256, f.created_at, inline_mime is not None
        )

        # Preconditions (RFC 9110 §13.2.2): If-Match, If-Unmodified-Since, then
        # If-None-Match / If-Modified-Since, then If-Range.
        if_match = req.get("if-match")
        if if_match is not None and not strong_match(if_match, etag):
            await _empty(send, 412, base)
            return
        ius = req.get("if-unmodified-since")
        if if_match is None and ius is not None:
            when = http_date(ius)
            if when is not None and modified > when:
                await _empty(send, 412, base)
                return
        inm = req.get("if-none-match")
        if inm is not None:
            if weak_match(inm, etag):
                await _empty(send, 304, base)
                return
        elif (ims := req.get("if-modified-since")) is not None:
            when = http_date(ims)
            if when is not None and modified <= when:
                await _empty(send, 304, base)
                return

        ranges: list[tuple[int, int]] | None = None
        range_header = req.get("range")
        if_range = req.get("if-range")
        honour_range = range_header is not None and (
            if_range is None or if_range_ok(if_range, etag, last_modified)
        )
        if honour_range:
            ranges = parse_ranges(cast(str, range_header), size)
        if ranges is not None and not ranges:
            raise _RangeNotSatisfiable(
                "The requested range is not within the file (%(size)s bytes).",
                size=size,
                headers={"Content-Range": f"bytes */{size}"},
            )

        head = method == "HEAD"
        starts = ranges is None or ranges[0][0] == 0
        if not head and starts and not grant.owner and not grant.inline:
            await self._count(f)

        mime = inline_mime or blob.mime or "application/octet-stream"
        # Previews are always sent by the app: only it sets their type and headers.
        mode = "app" if grant.inline else ctx.settings.delivery
        if mode == "x-accel" and path is not None and self._in_primary(blob.storage_key, path):
            if nginx_agrees(req, range_ignored=honour_range and ranges is None):
                uri = accel_uri(ctx.settings, "blobs", blob_relpath(blob.storage_key))
                headers = [*base, (b"content-type", mime.encode("latin-1"))]
                await _empty(send, 200, accel_headers(uri, headers))
                return
        elif mode == "redirect" and not head:
            location = self._presigned(f, grant, mime)
            if location is not None:
                await _empty(send, 302, redirect_headers(location))
                return

        if ranges is None:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        *base,
                        (b"content-type", mime.encode("latin-1")),
                        (b"content-length", str(size).encode()),
                    ],
                }
            )
            if head or size == 0:
                await send({"type": "http.response.body", "body": b""})
            elif path is not None and "http.response.pathsend" in scope.get("extensions", {}):
                await send({"type": "http.response.pathsend", "path": path})
            else:
                await _send_ranges(send, ctx, blob.storage_key, [(0, size - 1)], None)
            return

        if len(ranges) == 1:
            start, end = ranges[0]
            await send(
                {
                    "type": "http.response.start",
                    "status": 206,
                    "headers": [
                        *base,
                        (b"content-type", mime.encode("latin-1")),
                        (b"content-range", f"bytes {start}-{end}/{size}".encode()),
                        (b"content-length", str(end - start + 1).encode()),
                    ],
                }
            )
            if head:
                await send({"type": "http.response.body", "body": b""})
            else:
                await _send_ranges(send, ctx, blob.storage_key, ranges, None)
            return

        boundary = secrets.token_hex(16)
        part_heads = [
            (
                f"\r\n--{boundary}\r\nContent-Type: {mime}\r\n"
                f"Content-Range: bytes {start}-{end}/{size}\r\n\r\n"
            ).encode("latin-1")
            for start, end in ranges
        ]
        tail = f"\r\n--{boundary}--\r\n".encode()
        length = sum(len(h) for h in part_heads) + sum(e - s + 1 for s, e in ranges) + len(tail)
        await send(
            {
                "type": "http.response.start",
                "status": 206,
                "headers": [
                    *base,
                    (b"content-type", f"multipart/byteranges; boundary={boundary}".encode()),
                    (b"content-length", str(length).encode()),
                ],
            }
        )
        if head:
            await send({"type": "http.response.body", "body": b""})
        else:
            await _send_ranges(send, ctx, blob.storage_key, ranges, (part_heads, tail))

    def _presigned(self, f: _Target, grant: DirectGrant, mime: str) -> str | None:
        """Where a redirect sends the client: valid while the signed link is, never longer
        than the link TTL setting nor (for visitors) the file's own link expiry."""
        settings = self.ctx.settings
        ttl = redirect_ttl(grant.expires, settings.direct_link_ttl)
        if f.expires_at is not None and not grant.owner:
            ttl = redirect_ttl(f.expires_at.timestamp(), ttl)
        assert f.blob is not None
        url = self.ctx.store.presigned_url(
            f.blob.storage_key, ttl, filename=f.name, content_type=mime
        )
        return redirect_location(settings, url) if url else None

    async def _count(self, f: _Target) -> None:
        if f.max_downloads is None:
            counters.hit(f.id)
        elif not await anyio.to_thread.run_sync(self.lookup.count_capped, f.id):
            raise DownloadLimitReached("This link has reached its maximum number of downloads.")
        counters.traffic(f.blob.size if f.blob is not None else 0)


class _MethodNotAllowed(PartageError):
    status, code = 405, "method_not_allowed"


class _Unavailable(PartageError):
    status, code = 503, "content_unavailable"


class _RangeNotSatisfiable(PartageError):
    status, code = 416, "range_not_satisfiable"


def _headers(scope: Scope) -> dict[str, str]:
    """The request headers we look at (first value wins; names are lower case in ASGI)."""
    wanted = _WANTED
    out: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name in wanted:
            out.setdefault(name.decode(), value.decode("latin-1"))
    return out


_WANTED = frozenset(
    {b"range", b"if-range", b"if-none-match", b"if-modified-since", b"if-match",
     b"if-unmodified-since"}
)  # fmt: skip


async def _empty(send: Send, status: int, headers: Sequence[tuple[bytes, bytes]]) -> None:
    out = [h for h in headers if status != 412 or h[0] != b"content-disposition"]
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": b""})


async def _send_ranges(
    send: Send,
    ctx: Context,
    key: str,
    ranges: list[tuple[int, int]],
    multipart: tuple[list[bytes], bytes] | None,
) -> None:
    """Stream ranges in bounded chunks: memory stays flat whatever the size."""
    for i, (start, end) in enumerate(ranges):
        if multipart:
            await send({"type": "http.response.body", "body": multipart[0][i], "more_body": True})
        async for chunk in ctx.store.read_range(key, start, end):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": multipart[1] if multipart else b""})


def with_direct_downloads(app: ASGIApp) -> ASGIApp:
    """Serve `/d/…` directly; hand everything else to `app` (the FastAPI app)."""
    return DirectDownloads(app)


def direct_url(
    ctx: Context, base_url: str, f: File, *, owner: bool, address: str, inline: bool = False
) -> str:
    """An absolute signed direct link to `f`, bound to `address` when the operator asks;
    `inline`: a preview link (shown in the page, not counted; see files/preview.py)."""
    settings = ctx.settings
    path = direct_path(
        ctx.link_signer,
        f,
        ttl=settings.direct_link_ttl,
        owner=owner,
        address=address if settings.bind_links_to_ip else None,
        inline=inline,
    )
    return base_url + path
