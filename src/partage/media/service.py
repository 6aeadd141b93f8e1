"""What the pages and the API ask of media: its state as JSON, stream tokens,
subtitles attached by the owner, and an administrator's retry or cancel.

Stream URLs are `/m/<token>/<path>`, where the token is signed and names the
file and its link version (a change of link options revokes every stream
URL, as it does direct links). For a public file without password the token
carries no expiry, so its URLs are stable and segments can be cached by
anyone; for the owner's own view and for password-protected files it expires
after `stream_token_ttl`. Playlists use relative URIs, so the token travels
into every playlist and segment URL without rewriting anything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.context import Context
from partage.db import utcnow
from partage.errors import Conflict, LinkExpired, LinkRevoked, NotFound, PartageError
from partage.files.counters import counters
from partage.files.download import direct_url
from partage.files.links import check_available
from partage.files.models import File
from partage.files.service import get_by_code
from partage.media import jobs
from partage.media.hls import HlsResult
from partage.media.models import JobState, Media, MediaKind, Subtitle
from partage.media.outputs import outputs_for
from partage.media.pipeline import DIRECT_NAME
from partage.media.subtitles import normalise_language
from partage.security import Signer

PREFIX = "/m/"
MAX_SUBTITLES_PER_FILE = 20


class NotAVideo(PartageError):
    status, code = 409, "not_a_video"


class SubtitleRejected(PartageError):
    status, code = 422, "invalid_subtitle"


def stream_signer(ctx: Context) -> Signer:
    return Signer(ctx.settings.signing_key(), "stream")


def stream_token(ctx: Context, f: File, *, owner: bool) -> str:
    """Stable (no expiry, cacheable) only for a plain public link; any restriction on
    the link (password, expiry date, download cap) or the owner's view expires."""
    payload: dict[str, Any] = {"c": f.code, "v": f.link_version}
    if owner:
        payload["o"] = 1
    restricted = (
        f.password_hash is not None or not f.public or f.expires_at is not None
        or f.max_downloads is not None
    )  # fmt: skip
    if owner or restricted:
        payload["e"] = int(time.time()) + ctx.settings.stream_token_ttl
    return stream_signer(ctx).sign(payload)


@dataclass(frozen=True)
class StreamGrant:
    code: str
    version: int
    owner: bool
    cacheable: bool  # a stable public token: responses may be shared by caches
    expires: int | None = None  # epoch seconds; None for a stable public token


def read_stream_token(ctx: Context, token: str) -> StreamGrant:
    data = stream_signer(ctx).unsign(token)
    if data is None or not isinstance(data.get("c"), str):
        raise NotFound("This stream address is not valid.")
    expires = data.get("e")
    if expires is not None and int(expires) < time.time():
        raise LinkExpired("This stream address has expired: open the video's page again.")
    return StreamGrant(data["c"], int(data.get("v", 0)), bool(data.get("o")), expires is None,
                       int(expires) if expires is not None else None)  # fmt: skip


def check_stream(f: File | None, grant: StreamGrant) -> None:
    """The download rules, applied to a stream request (a playlist, a segment…)."""
    if f is None or grant.code != f.code:
        raise NotFound("This stream address is not valid.")
    check_available(f)  # deleted: 410; disabled or blocked: 451
    if grant.version != f.link_version:
        raise LinkRevoked("This stream was revoked: the file's link options changed.")
    if not grant.owner:
        if not f.public:
            raise NotFound("No file at this address.")
        if f.expires_at is not None and f.expires_at <= utcnow():
            raise LinkExpired("This link has expired.")


def count_view(ctx: Context, f: File) -> None:
    """A visitor starting to watch counts as a download, within the link's cap."""
    from partage.errors import DownloadLimitReached

    if f.max_downloads is None:
        counters.hit(f.id)
        return
    with ctx.db.session() as s:
        done = s.execute(
            update(File)
            .where(File.id == f.id, File.downloads < File.max_downloads)
            .values(downloads=File.downloads + 1, last_download_at=utcnow())
        )
        if getattr(done, "rowcount", 0) != 1:
            raise DownloadLimitReached("This link has reached its maximum number of downloads.")


# -- the media's state, as the API and the player see it -----------------------------------


def api_state(m: Media | None) -> str:
    if m is None or m.kind == MediaKind.other and m.state == JobState.done:
        return "not_media"
    return {JobState.queued: "pending", JobState.running: "running"}.get(m.state, m.state.value)


def file_subtitles(s: Session, f: File) -> list[Subtitle]:
    return list(
        s.scalars(
            select(Subtitle)
            .where(or_(Subtitle.blob_id == f.blob_id, Subtitle.file_id == f.id))
            .order_by(Subtitle.blob_id.is_(None), Subtitle.id)
        ).all()
    )


def media_view(
    ctx: Context, s: Session, f: File, *, base: str, owner: bool, address: str,
    token: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The JSON of `GET /api/v1/files/{code}/media`, also embedded in the player page.

    `token`: the stream token the caller already holds (the `status` poll), reused so
    that polling never extends a token's life; else a new one is signed."""
    m = s.get(Media, f.blob_id) if f.blob_id is not None else None
    token = token or stream_token(ctx, f, owner=owner)
    root = f"{base}{PREFIX}{token}/"
    hls = HlsResult.from_json(m.hls) if m is not None and m.hls else None
    kind = m.kind.value if m is not None else "other"
    view: dict[str, Any] = {
        "code": f.code,
        "name": f.name,
        "kind": kind,
        "state": api_state(m),
        "progress": round(m.progress, 1) if m else 0.0,
        "playable": bool(m and m.playable),
        "error": m.last_error if m and m.state == JobState.failed else None,
        "attempts": m.attempts if m else 0,
        "duration": m.duration if m else None,
        "width": m.width if m else None,
        "height": m.height if m else None,
        "rungs": [],
        "complete": bool(m and m.hls_complete),
        "poster": None,
        "poster_small": None,
        "storyboard": None,
        "subtitles": [],
        "audio_tracks": [],
        "hls_url": None,
        "direct_url": None,
        "status_url": root + "status",
    }
    if m is None:
        return view
    if m.poster:
        large, small = ("preview.jpg", "thumb.jpg") if kind == "image" else (
            "poster.jpg", "poster-small.jpg")  # fmt: skip
        view["poster"], view["poster_small"] = root + large, root + small
    if m.direct == "original":
        view["direct_url"] = direct_url(ctx, base, f, owner=owner, address=address)
    elif m.direct in DIRECT_NAME:
        view["direct_url"] = root + DIRECT_NAME[m.direct]
    if hls is not None and hls.variants:
        view["hls_url"] = root + "hls/master.m3u8"
        view["rungs"] = [
            {"name": v.name, "width": v.width, "height": v.height, "bitrate": v.bandwidth}
            for v in hls.variants
        ]
        view["audio_tracks"] = [
            {"index": i, "label": a.title, "language": a.language, "default": a.default}
            for i, a in enumerate(hls.audio)
        ]
        if hls.storyboard is not None and m.hls_complete:
            view["storyboard"] = root + "hls/storyboard.vtt"
    view["subtitles"] = [
        {"id": sub.id, "label": sub.label, "language": sub.language, "source": sub.source,
         "url": f"{root}subs/{sub.id}.vtt"}
        for sub in file_subtitles(s, f)
    ]  # fmt: skip
    return view


# -- subtitles uploaded by the owner --------------------------------------------------------


def add_subtitle(
    ctx: Context, s: Session, f: File, data: bytes, filename: str, language: str | None,
    label: str | None,
) -> Subtitle:  # fmt: skip
    from partage.media.ffmpeg import ffmpeg_path
    from partage.media.subtitles import SubtitleError, language_label, to_webvtt

    m = s.get(Media, f.blob_id) if f.blob_id is not None else None
    if m is None or m.kind not in (MediaKind.video, MediaKind.audio) and m.state == JobState.done:
        raise NotAVideo("Subtitles can only be attached to a video.")
    count = len([sub for sub in file_subtitles(s, f) if sub.file_id == f.id])
    if count >= MAX_SUBTITLES_PER_FILE:
        raise Conflict(
            "A file can have %(max)s subtitle tracks at most.", max=MAX_SUBTITLES_PER_FILE
        )
    lang = (language or "").strip() or None
    if lang is not None and (len(lang) > 16 or not lang.replace("-", "").isalnum()):
        raise SubtitleRejected("language: use a language code such as en, fr or pt-BR.")
    try:
        vtt = to_webvtt(data, filename, ffmpeg_path(ctx.settings))
    except SubtitleError as e:
        raise SubtitleRejected(e.template, **cast(dict[str, Any], e.params)) from None
    name = (label or "").strip()[:255] or language_label(lang, filename.rsplit(".", 1)[0][:255])
    sub = Subtitle(file_id=f.id, language=normalise_language(lang) or lang, label=name, vtt=vtt)
    s.add(sub)
    s.flush()
    return sub


def remove_subtitle(s: Session, f: File, subtitle_id: int) -> None:
    sub = s.get(Subtitle, subtitle_id)
    if sub is None or sub.file_id != f.id:
        raise NotFound("No such subtitle track on this file (tracks found in the video "
                       "itself cannot be removed).")  # fmt: skip
    s.delete(sub)


# -- administration ------------------------------------------------------------------------


def _media_of(s: Session, code: str) -> tuple[File, Media | None]:
    f = get_by_code(s, code)
    if f is None or f.blob is None:
        raise NotFound("No file with code %(code)s.", code=repr(code))
    return f, s.get(Media, f.blob_id)


def retry(ctx: Context, code: str, *, actor: User | None = None) -> Media:
    """Process the file's content again from the start (also for content stored
    before media processing existed). An administrator's action: audited."""
    from partage.moderation import audit

    with ctx.db.session() as s:
        f, m = _media_of(s, code)
        assert f.blob is not None
        before = {"state": m.state.value if m is not None else None}
        if m is None:
            m = Media(blob_id=f.blob.id, sha256=f.blob.sha256, kind=jobs.guess_kind(f.blob.mime))
            s.add(m)
        elif m.state == JobState.running:
            raise Conflict("This file is being processed right now: cancel it first.")
        jobs.request_retry(s, m)
        s.flush()
        audit.record(s, actor, "media.retry", f"file:{code}", before=before,
                     after={"state": m.state.value})  # fmt: skip
        s.expunge(m)
    # The answer is the state the request left (queued, no attempt yet): a worker may
    # take the job as soon as it is enqueued.
    jobs.enqueue(ctx, [m.blob_id])
    return m


def cancel(ctx: Context, code: str, *, actor: User | None = None) -> Media:
    from partage.moderation import audit

    with ctx.db.session() as s:
        _, m = _media_of(s, code)
        if m is None or m.state not in (JobState.queued, JobState.running):
            raise Conflict("This file is not being processed: there is nothing to cancel.")
        before = {"state": m.state.value}
        jobs.request_cancel(s, m)
        s.flush()
        audit.record(s, actor, "media.cancel", f"file:{code}", before=before,
                     after={"state": m.state.value, "cancel_requested": True})  # fmt: skip
        s.expunge(m)
        return m


def job_json(m: Media) -> dict[str, Any]:
    return {
        "state": m.state.value,
        "kind": m.kind.value,
        "progress": round(m.progress, 1),
        "attempts": m.attempts,
        "last_error": m.last_error,
        "cancel_requested": m.cancel_requested,
        "worker": m.worker,
    }


def collect_orphan_outputs(ctx: Context) -> int:
    """Remove the outputs of blobs that are gone (their media row with them)."""
    outputs = outputs_for(ctx)
    listed = list(outputs.stored())  # before the rows: see S3Outputs.stored
    with ctx.db.read() as s:
        known = set(s.scalars(select(Media.sha256)).all())
    removed = 0
    young = time.time() - 3600  # a local job may have created its directory meanwhile
    for sha, modified in listed:
        if sha not in known and modified < young:
            outputs.remove(sha)
            removed += 1
    return removed
