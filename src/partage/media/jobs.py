"""The media job's life: queued → running → done | failed, in the database.

The database row is the truth; the queue only carries wake-ups. So a job can
be enqueued twice, or its queue entry lost with a killed worker, without harm:
`claim()` moves a row from queued to running atomically (one worker wins) and
`sweep()` re-enqueues rows whose worker stopped sending heartbeats, and queued
rows nobody picked up.

Retries: a failure is retried (up to `media_max_attempts` runs in all) after
`media_retry_delay` seconds times the attempt number, unless the input itself
is bad (probe error, or ffmpeg saying so) or an administrator cancelled it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from partage.context import Context
from partage.db import utcnow
from partage.files.blobs import is_document_image
from partage.files.models import Blob
from partage.media.models import JobState, Media, MediaKind
from partage.ops.metrics import observe_media_job

log = logging.getLogger("partage.media")

# Media types worth a job; anything else is not media (no job, no row).
_MEDIA_MAJOR = ("video/", "audio/", "image/")
_PROBE_ANYWAY = ("application/octet-stream", "application/ogg", "application/mp4")
_EARLY = timedelta(seconds=5)  # a scheduled retry may wake a little early


def wants_processing(mime: str) -> bool:
    if is_document_image(mime):
        return False
    return mime.startswith(_MEDIA_MAJOR) or mime in _PROBE_ANYWAY


def guess_kind(mime: str) -> MediaKind:
    major = mime.split("/", 1)[0]
    return MediaKind(major) if major in ("video", "audio", "image") else MediaKind.other


def prepare(s: Session, blob: Blob) -> bool:
    """In the transaction that stores a blob: create its media row when it has none
    and may hold media. True when a job must be enqueued after the commit."""
    if s.get(Media, blob.id) is not None:
        return False  # processed, or being processed, for an earlier identical upload
    if not wants_processing(blob.mime):
        return False
    s.add(Media(blob_id=blob.id, sha256=blob.sha256, kind=guess_kind(blob.mime)))
    s.flush()  # a second identical file in the same batch must see it
    return True


def enqueue(ctx: Context, blob_ids: Iterable[int], *, delay: float = 0) -> None:
    """Wake a worker for each blob; call only after the rows' transaction committed."""
    if not ctx.settings.media_processing:
        return
    from partage.media.tasks import process_media

    for blob_id in blob_ids:
        try:
            if delay > 0:
                process_media.schedule(args=(blob_id,), delay=delay)
            else:
                process_media(blob_id)
        except Exception:  # the queue is down: the row stays queued, the sweep retries
            log.exception("could not enqueue media job %s", blob_id)


def claim(ctx: Context, blob_id: int, worker: str) -> bool:
    """queued → running for this worker; False if another worker has it, or it is
    not due yet (retry backoff), or it was cancelled."""
    now = utcnow()
    with ctx.db.session() as s:
        result = s.execute(
            update(Media)
            .where(
                Media.blob_id == blob_id,
                Media.state == JobState.queued,
                or_(Media.not_before.is_(None), Media.not_before <= now + _EARLY),
            )
            .values(
                state=JobState.running,
                attempts=Media.attempts + 1,
                started_at=now,
                heartbeat_at=now,
                finished_at=None,
                worker=worker[:255],
                progress=0.0,
                cancel_requested=False,
            )
        )
        return bool(getattr(result, "rowcount", 0) == 1)


def heartbeat(ctx: Context, blob_id: int, progress: float | None) -> bool:
    """Record that the job is alive (and its progress); True if cancellation was asked."""
    values: dict[str, object] = {"heartbeat_at": utcnow()}
    if progress is not None:
        values["progress"] = round(progress, 1)
    with ctx.db.session() as s:
        s.execute(
            update(Media)
            .where(Media.blob_id == blob_id, Media.state == JobState.running)
            .values(**values)
        )
        cancel = s.scalar(select(Media.cancel_requested).where(Media.blob_id == blob_id))
    return bool(cancel) or cancel is None  # a row that vanished (blob deleted): stop


def _mark_done(s: Session, blob_id: int, note: str | None) -> None:
    s.execute(
        update(Media)
        .where(Media.blob_id == blob_id)
        .values(
            state=JobState.done,
            progress=100.0,
            finished_at=utcnow(),
            last_error=note,
            bad_input=False,
            not_before=None,
            cancel_requested=False,
        )
    )


def finish(ctx: Context, blob_id: int) -> None:
    with ctx.db.session() as s:
        _mark_done(s, blob_id, None)
        observe_media_job(s, blob_id)  # duration histogram, in this process's registry


def fail(ctx: Context, blob_id: int, message: str, *, retry: bool, bad_input: bool = False) -> bool:
    """Record a failure; queue a retry when allowed. True when a retry was queued."""
    settings = ctx.settings
    now = utcnow()
    with ctx.db.session() as s:
        m = s.get(Media, blob_id)
        if m is None:
            return False
        m.last_error = message[:4000]
        m.bad_input = bad_input
        m.finished_at = now
        again = retry and not bad_input and m.attempts < settings.media_max_attempts
        if again:
            delay = settings.media_retry_delay * max(m.attempts, 1)
            m.state = JobState.queued
            m.queued_at = now
            m.not_before = now + timedelta(seconds=delay)
        else:
            m.state = JobState.failed
            m.not_before = None
    if again:
        log.warning("media job %s failed (will retry in %ss): %s", blob_id, delay, message)
        enqueue(ctx, [blob_id], delay=delay)
    else:
        log.warning("media job %s failed: %s", blob_id, message)
    return again


def keep_previous(ctx: Context, blob_id: int, message: str) -> None:
    """A re-run stopped before its outputs were swapped in: the previous run's outputs,
    still in place and still described by the row, stand; the note says what happened."""
    with ctx.db.session() as s:
        _mark_done(s, blob_id, message[:4000])
    log.warning("media job %s: %s", blob_id, message)


def request_retry(s: Session, m: Media) -> None:
    """An administrator's re-run: back to queued from whatever state, outputs redone."""
    m.state = JobState.queued
    m.queued_at = utcnow()
    m.not_before = None
    m.attempts = 0
    m.last_error = None
    m.bad_input = False
    m.cancel_requested = False
    m.progress = 0.0


def request_cancel(s: Session, m: Media) -> None:
    """Stop processing: a queued job fails at once; a running one when its worker sees
    the flag (within a couple of seconds)."""
    m.cancel_requested = True
    if m.state == JobState.queued:
        m.state = JobState.failed
        m.last_error = "Processing was cancelled by an administrator."
        m.finished_at = utcnow()


def sweep(ctx: Context, *, queue_empty: bool, now: datetime | None = None) -> list[int]:
    """Re-enqueue what no worker holds: running jobs whose heartbeat stopped (their
    worker died; the attempt counts), and, when the queue is empty, queued jobs that
    are due but were never picked up (their wake-up was lost). Returns the blob ids
    enqueued."""
    settings = ctx.settings
    now = now or utcnow()
    stale = now - timedelta(seconds=settings.media_stale_after)
    idle = now - timedelta(seconds=max(settings.media_stale_after, 30))
    revived: list[int] = []
    with ctx.db.session() as s:
        dead = s.scalars(
            select(Media).where(Media.state == JobState.running, Media.heartbeat_at < stale)
        ).all()
        for m in dead:
            if m.attempts >= settings.media_max_attempts:
                m.state = JobState.failed
                m.last_error = (
                    "The worker processing this file stopped responding on every attempt "
                    "(killed, or out of memory)."
                )
                m.finished_at = now
                continue
            log.warning("media job %s: worker %s stopped; queued again", m.blob_id, m.worker)
            m.state = JobState.queued
            m.queued_at = now
            m.worker = None
            revived.append(m.blob_id)
        if queue_empty:
            waiting = s.scalars(
                select(Media).where(
                    Media.state == JobState.queued,
                    Media.queued_at < idle,
                    or_(Media.not_before.is_(None), Media.not_before <= now),
                )
            ).all()
            for m in waiting:
                m.queued_at = now
                revived.append(m.blob_id)
        # Blobs stored before media processing existed (or while it was off).
        missing = s.execute(
            select(Blob.id, Blob.sha256, Blob.mime)
            .outerjoin(Media, Media.blob_id == Blob.id)
            .where(
                and_(Media.blob_id.is_(None), Blob.mime.notlike("text/%")),
            )
            .limit(100)
        ).all()
        for blob_id, sha, mime in missing:
            if wants_processing(mime):
                s.add(Media(blob_id=blob_id, sha256=sha, kind=guess_kind(mime)))
                revived.append(blob_id)
    if revived:
        enqueue(ctx, sorted(set(revived)))
    return revived
