"""`GET /m/<token>/<path>`: playlists, segments, posters, storyboards and subtitles.

Every request re-checks the file behind the token (deleted: 410, disabled:
451, made private or re-protected: the token no longer matches its link
version), so a moderation decision or an owner's change stops a stream at
once. Starting to watch (the master playlist, or a direct file from its first
byte) counts as a download of the link. Segments of a public file are
`Cache-Control: public, immutable`; everything of a private or protected
file is `private`.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from sqlalchemy import select

from partage import delivery
from partage.context import Context
from partage.deps import base_url, client_address
from partage.errors import NotFound, PartageError
from partage.files.http_semantics import parse_ranges
from partage.files.models import File
from partage.media import service
from partage.media.hls import HlsResult, render_master, storyboard_vtt, subtitle_playlist
from partage.media.models import Media, Subtitle
from partage.media.outputs import Outputs, outputs_for
from partage.media.playlists import SubtitleRendition

router = APIRouter(include_in_schema=False)

# Files a job writes, and nothing else, may be served from its directory.
_OUTPUT = re.compile(
    r"^(?:hls/[a-z0-9_]{1,32}/(?:index\.m3u8|init(?:_\d+)?\.mp4|seg_\d{1,6}\.m4s)"
    r"|hls/storyboard\.jpg|poster\.jpg|poster-small\.jpg|thumb\.jpg|preview\.jpg"
    r"|direct\.mp4|audio\.m4a)$"
)
# Subtitles: `subs/…` for <track>s, `hls/subs/…` as the master playlist's renditions.
_SUBTITLE = re.compile(r"^(?:hls/)?subs/(\d{1,12})\.(vtt|m3u8)$")
_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".jpg": "image/jpeg",
    ".vtt": "text/vtt; charset=utf-8",
}
_IMMUTABLE = "max-age=31536000, immutable"
_SAFE = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Referrer-Policy": "no-referrer",
    # Tokens are capabilities: any site's player may use a link it was given.
    "Access-Control-Allow-Origin": "*",
}


def _cache(grant: service.StreamGrant, policy: str) -> dict[str, str]:
    scope = "public" if grant.cacheable else "private"
    return {**_SAFE, "Cache-Control": f"{scope}, {policy}" if policy != "no-cache" else "no-cache"}


def _text(body: str, ext: str, headers: dict[str, str]) -> Response:
    return Response(body, media_type=_TYPES[ext], headers=headers)


@router.get("/m/{token}/{path:path}")
def stream(token: str, path: str, request: Request) -> Response:
    try:
        return _stream(token, path, request)
    except PartageError as e:
        # A player on another site must be able to read why a stream stopped.
        e.headers = {**e.headers, "Access-Control-Allow-Origin": "*"}
        raise


def _stream(token: str, path: str, request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    grant = service.read_stream_token(ctx, token)
    with ctx.db.read() as s:
        f = s.scalar(select(File).where(File.code == grant.code))
        service.check_stream(f, grant)
        assert f is not None and f.blob is not None
        m = s.get(Media, f.blob_id)
        if path == "status":
            base = base_url(request, ctx.settings)
            address = client_address(request, ctx.settings)
            view = service.media_view(
                ctx, s, f, base=base, owner=grant.owner, address=address, token=token
            )
            return JSONResponse(view, headers={**_SAFE, "Cache-Control": "no-store"})
        if m is None:
            raise NotFound("This file has nothing to stream.")
        hls = HlsResult.from_json(m.hls) if m.hls else None
        if path == "hls/master.m3u8":
            if hls is None:
                raise NotFound("This video is not ready to stream yet.")
            subs = service.file_subtitles(s, f)
            if not grant.owner:
                service.count_view(ctx, f)
            return _master(grant, hls, subs)
        if path == "hls/storyboard.vtt":
            if hls is None or hls.storyboard is None or not m.hls_complete:
                raise NotFound("This video has no seek previews yet.")
            body = storyboard_vtt(hls.storyboard, m.duration or 0.0, "storyboard.jpg")
            return _text(body, ".vtt", _cache(grant, "max-age=300"))
        if found := _SUBTITLE.match(path):
            return _subtitle(s, f, m, grant, int(found.group(1)), found.group(2))
        sha, complete = m.sha256, m.hls_complete
    if not _OUTPUT.match(path):
        raise NotFound("No such stream file.")
    return _file(request, ctx, f, grant, sha, path, complete)


def _master(grant: service.StreamGrant, hls: HlsResult, subs: list[Subtitle]) -> Response:
    renditions = [SubtitleRendition(sub.label, sub.language, f"subs/{sub.id}.m3u8") for sub in subs]
    body = render_master(hls.variants, hls.audio, renditions)
    return _text(body, ".m3u8", {**_SAFE, "Cache-Control": "no-cache"})


def _subtitle(
    s: Any, f: File, m: Media, grant: service.StreamGrant, sub_id: int, ext: str
) -> Response:
    sub = s.get(Subtitle, sub_id)
    if sub is None or not (sub.blob_id == f.blob_id or sub.file_id == f.id):
        raise NotFound("No such subtitle track.")
    if ext == "m3u8":
        body = subtitle_playlist(f"{sub.id}.vtt", m.duration or 0.0)
        return _text(body, ".m3u8", _cache(grant, "no-cache"))
    return _text(sub.vtt, ".vtt", _cache(grant, "max-age=60"))


def _file(
    request: Request, ctx: Context, f: File, grant: service.StreamGrant, sha: str, rel: str,
    complete: bool,
) -> Response:  # fmt: skip
    outputs = outputs_for(ctx)
    local = outputs.local_path(sha, rel)
    size = local.stat().st_size if local is not None else outputs.size(sha, rel)
    if size is None:
        raise NotFound("No such stream file.")
    ext = Path(rel).suffix
    # A media playlist grows while the ladder runs (EVENT), then is final (VOD).
    growing = "max-age=3600" if complete else "no-cache"
    headers = _cache(grant, growing if ext == ".m3u8" else _IMMUTABLE)
    if ext != ".m3u8":
        # A proxy cache in front (deploy/nginx.conf) keeps a segment at most this long,
        # whatever browsers may: a removed video leaves the edge within minutes.
        headers["X-Accel-Expires"] = "300"
    ranges = _ranges(request.headers.get("range"), size)
    name = Path(rel).name
    if name in ("direct.mp4", "audio.m4a") and not grant.owner and _from_start(ranges):
        service.count_view(ctx, f)
    handed = _hand_off(request, ctx, grant, outputs, sha, rel, local, headers)
    if handed is not None:
        return handed
    if local is not None:
        return FileResponse(local, media_type=_TYPES.get(ext), headers=headers)
    return _from_store(outputs, sha, rel, size, ranges, _TYPES.get(ext), headers)


def _hand_off(
    request: Request, ctx: Context, grant: service.StreamGrant, outputs: Outputs, sha: str,
    rel: str, local: Path | None, headers: dict[str, str],
) -> Response | None:  # fmt: skip
    """Per PARTAGE_DELIVERY, let nginx (x-accel) or the object store / CDN (redirect)
    send an output the app has authorised. Playlists always come from the app: their
    relative URIs must keep pointing here, where every segment is checked."""
    settings = ctx.settings
    ext = Path(rel).suffix
    if ext == ".m3u8":
        return None
    if settings.delivery == "x-accel" and local is not None:
        asked = {k.lower(): v for k, v in request.headers.items()}
        ignored = "range" in asked and _ranges(asked["range"], local.stat().st_size) is None
        if not delivery.nginx_agrees(asked, range_ignored=ignored):
            return None
        uri = delivery.accel_uri(settings, "media", delivery.media_relpath(sha, rel))
        out = {**headers, "Content-Type": _TYPES.get(ext, "application/octet-stream"),
               "X-Accel-Redirect": uri}  # fmt: skip
        return Response(status_code=200, headers=out)
    if settings.delivery == "redirect" and local is None:
        cap = settings.stream_token_ttl
        ttl = delivery.redirect_ttl(grant.expires or time.time() + cap, cap)
        presigned = outputs.presigned_url(sha, rel, ttl)
        if presigned is None:
            return None
        location = delivery.redirect_location(settings, presigned)
        return Response(status_code=302, headers={**_SAFE, "Location": location,
                        "Cache-Control": "no-store"})  # fmt: skip
    return None


def _ranges(header: str | None, size: int) -> list[tuple[int, int]] | None:
    return parse_ranges(header, size) if header else None


def _from_start(ranges: list[tuple[int, int]] | None) -> bool:
    """Whether a GET reads byte 0 (a view starting), whatever form its Range takes."""
    return ranges is None or any(start == 0 for start, _ in ranges)


def _from_store(
    outputs: Outputs, sha: str, rel: str, size: int, ranges: list[tuple[int, int]] | None,
    media_type: str | None, headers: dict[str, str],
) -> Response:  # fmt: skip
    """An output from the object store: whole, or the one range asked for (players ask
    for one at a time; several are answered whole)."""
    headers = {**headers, "Accept-Ranges": "bytes"}
    if ranges == []:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    start, end, status = 0, size - 1, 200
    if ranges is not None and len(ranges) == 1:
        (start, end), status = ranges[0], 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    body = outputs.read(sha, rel, start, end) if size else _nothing()
    return StreamingResponse(body, status_code=status, media_type=media_type, headers=headers)


async def _nothing() -> AsyncIterator[bytes]:
    yield b""
