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
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy import select

from partage.context import Context
from partage.deps import base_url, client_address
from partage.errors import NotFound, PartageError
from partage.files.http_semantics import parse_ranges
from partage.files.models import File
from partage.media import service
from partage.media.hls import HlsResult, render_master, storyboard_vtt, subtitle_playlist
from partage.media.models import Media, Subtitle
from partage.media.pipeline import media_dir
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
        directory = media_dir(ctx, m.sha256)
        complete = m.hls_complete
    if not _OUTPUT.match(path):
        raise NotFound("No such stream file.")
    target = directory / path
    if not target.is_file():
        raise NotFound("No such stream file.")
    return _file(request, ctx, f, grant, target, complete)


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
    request: Request, ctx: Context, f: File, grant: service.StreamGrant, target: Path,
    complete: bool,
) -> Response:  # fmt: skip
    ext = target.suffix
    # A media playlist grows while the ladder runs (EVENT), then is final (VOD).
    growing = "max-age=3600" if complete else "no-cache"
    policy = growing if ext == ".m3u8" else _IMMUTABLE
    if (
        target.name in ("direct.mp4", "audio.m4a")
        and not grant.owner
        and _from_start(request.headers.get("range"), target)
    ):
        service.count_view(ctx, f)
    return FileResponse(target, media_type=_TYPES.get(ext), headers=_cache(grant, policy))


def _from_start(range_header: str | None, target: Path) -> bool:
    """Whether a GET reads byte 0 (a view starting), whatever form its Range takes."""
    if range_header is None:
        return True
    ranges = parse_ranges(range_header, target.stat().st_size)
    return ranges is None or any(start == 0 for start, _ in ranges)
