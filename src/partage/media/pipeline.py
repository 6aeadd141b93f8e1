"""One media job: from a blob to everything needed to watch or listen to it.

Video: probe → direct play (the original, or a faststart remux) as soon as
possible → poster → embedded subtitles → the HLS ladder with its storyboard,
the lowest rung published as soon as its first segment exists. Audio: direct
play, or an AAC copy when browsers cannot play the original; a poster from
cover art. Images: thumbnails. Anything else: not media.

Each step publishes what it made (see `outputs`), then commits it, so the
player can use it while later steps run. A job works in one directory per
blob (`media_root/ab/<sha256>/`); an earlier attempt's partial outputs are
wiped at its start. A re-run of a blob whose outputs play (an administrator's
retry) works in a staging directory instead and keeps what it made to itself
until it is done, then swaps it in at once: cancelled, failed or killed, it
leaves the previous outputs playing.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import anyio
from sqlalchemy import delete

from partage.context import Context
from partage.files.blobs import is_document_image
from partage.files.models import Blob
from partage.media import jobs
from partage.media.direct import direct_play, needs_faststart, remux_faststart, transcode_audio
from partage.media.ffmpeg import FFmpegNotFound, ffmpeg_path
from partage.media.hls import EncodeError, encode_hls, plan_storyboard, provisional_result
from partage.media.ladder import plan_ladder
from partage.media.models import Media, MediaKind, Subtitle
from partage.media.outputs import NO_PUBLISHER, Publisher, live_sync, outputs_for
from partage.media.poster import make_image_thumbnails, make_poster
from partage.media.probe import MediaInfo, ProbeError, probe
from partage.media.run import Cancelled, Hooks, TimedOut
from partage.media.subtitles import extract_embedded
from partage.media.ticker import every

log = logging.getLogger("partage.media")

HEARTBEAT_SECONDS = 3.0

DIRECT_NAME = {"remux": "direct.mp4", "transcode": "audio.m4a"}
# A row's output fields before a job has made anything.
UNMADE: dict[str, object] = {
    "playable": False, "hls": None, "hls_complete": False, "poster": False, "direct": None,
}  # fmt: skip


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class _Job:
    """The running job's link to its row: heartbeats, progress, cancellation."""

    def __init__(self, ctx: Context, blob_id: int) -> None:
        self.ctx = ctx
        self.blob_id = blob_id
        self.progress = 0.0
        self.cancelled = False
        self._last = 0.0
        self.deadline = time.monotonic() + ctx.settings.media_timeout
        self.publisher: Publisher = NO_PUBLISHER
        # A re-run beside playing outputs: what it finds and makes is kept here and
        # recorded only when its outputs are swapped in.
        self.staged = False
        self.pending: dict[str, object] = {}

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last >= HEARTBEAT_SECONDS:
            self._last = now
            self.cancelled = jobs.heartbeat(self.ctx, self.blob_id, self.progress)

    def heartbeats(self) -> AbstractContextManager[None]:
        """Beat from a thread of its own for the whole job, whatever step it is in
        (a long copy from object storage prints no ffmpeg progress): the watchdog
        must never take a live job for a dead one."""
        return every(HEARTBEAT_SECONDS, self.tick, name=f"media-heartbeat-{self.blob_id}",
                     failed=f"media job {self.blob_id}: heartbeat failed")  # fmt: skip

    def should_stop(self) -> bool:
        return self.cancelled

    def stage(self, start: float, end: float) -> Hooks:
        """Keyword arguments for a run_ffmpeg-based step mapped to [start, end] %."""

        def progress(pct: float) -> None:
            self.progress = start + (end - start) * pct / 100

        return Hooks(
            progress=progress, tick=self.tick, should_stop=self.should_stop,
            deadline=self.deadline,
        )  # fmt: skip

    def save(self, **values: object) -> None:
        """Publish what the job made so far, then record it: readers never see a flag
        before the file it announces."""
        self.publisher.step()
        self.save_only(**values)

    def save_only(self, **values: object) -> None:
        if self.staged:
            self.pending.update(values)
            return
        self._write(values)

    def commit_staged(self) -> None:
        """The staged outputs are in place: describe them, and only them."""
        self._write({**UNMADE, **self.pending})

    def _write(self, values: dict[str, object]) -> None:
        with self.ctx.db.session() as s:
            m = s.get(Media, self.blob_id)
            if m is not None:
                for key, value in values.items():
                    setattr(m, key, value)


def process(ctx: Context, blob_id: int) -> None:
    """The Huey task's body: claim the job, run it, record the outcome."""
    if not jobs.claim(ctx, blob_id, worker_name()):
        return
    job = _Job(ctx, blob_id)
    try:
        with job.heartbeats():
            _run(ctx, job)
    except Cancelled:
        if job.staged:
            jobs.keep_previous(ctx, blob_id, "The re-run was cancelled by an administrator; "
                               "the previous outputs are kept.")  # fmt: skip
        else:
            jobs.fail(ctx, blob_id, "Processing was cancelled by an administrator.", retry=False)
    except TimedOut:
        limit = ctx.settings.media_timeout
        jobs.fail(ctx, blob_id, f"Processing took longer than its limit ({limit} s).", retry=True)
    except ProbeError as e:
        jobs.fail(ctx, blob_id, f"This file cannot be read: {e.message}", retry=False,
                  bad_input=True)  # fmt: skip
    except EncodeError as e:
        jobs.fail(ctx, blob_id, e.message, retry=True, bad_input=e.bad_input)
    except FFmpegNotFound as e:
        jobs.fail(ctx, blob_id, str(e), retry=True)
    except Exception as e:  # a bug or the machine: logged in full, retried once
        log.exception("media job %s crashed", blob_id)
        jobs.fail(ctx, blob_id, f"Internal error: {type(e).__name__}: {e}", retry=True)
    else:
        jobs.finish(ctx, blob_id)


def _run(ctx: Context, job: _Job) -> None:
    with ctx.db.read() as s:
        blob = s.get(Blob, job.blob_id)
        if blob is None:
            return  # deleted meanwhile: nothing to do
        sha, key, mime = blob.sha256, blob.storage_key, blob.mime
        m = s.get(Media, job.blob_id)
        plays = m is not None and (m.playable or m.poster or m.hls is not None)
    if is_document_image(mime):  # a job queued before SVG was skipped (or retried)
        job.save(kind=MediaKind.other)
        return
    outputs = outputs_for(ctx)
    if plays:
        job.staged = True
        out = outputs.staging(sha)
    else:
        job.save(**UNMADE)
        outputs.reset(sha)
        out = outputs.workdir(sha)
        out.mkdir(parents=True, exist_ok=True)
        job.publisher = outputs.publisher(sha)
    ffmpeg = ffmpeg_path(ctx.settings)
    try:
        with _source_file(ctx, key, out) as source:
            _make(ctx, job, ffmpeg, source, mime, out)
        if job.staged:
            outputs.swap_in(sha)
            job.commit_staged()
    finally:
        job.publisher.close()
        if job.staged:
            outputs.discard_staging(sha)  # what a stopped re-run made (gone after a swap)


def _make(ctx: Context, job: _Job, ffmpeg: str, source: Path, mime: str, out: Path) -> None:
    info = probe(source)
    if info is None:
        if mime.startswith("image/"):
            make_image_thumbnails(ffmpeg, source, out, **job.stage(0, 100))
            job.save(kind=MediaKind.image, poster=True)
        else:
            job.save(kind=MediaKind.other)
    elif info.is_video:
        _video(ctx, job, ffmpeg, source, info, out)
    elif info.is_audio_only:
        _audio(job, ffmpeg, source, info, out)
    else:
        job.save(kind=MediaKind.other)


def _video(ctx: Context, job: _Job, ffmpeg: str, source: Path, info: MediaInfo, out: Path) -> None:
    size = info.display_size
    job.save(
        kind=MediaKind.video,
        duration=info.duration,
        width=size[0] if size else None,
        height=size[1] if size else None,
    )
    if direct_play(info):
        if needs_faststart(source):
            remux_faststart(ffmpeg, source, out / DIRECT_NAME["remux"], **job.stage(0, 3))
            job.save(direct="remux", playable=True)
        else:
            job.save(direct="original", playable=True)
    make_poster(ffmpeg, source, info, out, **job.stage(3, 5))
    job.save(poster=True)
    if info.subtitle_streams:
        found = extract_embedded(ffmpeg, source, info, out, **job.stage(5, 6))
        with ctx.db.session() as s:
            s.execute(delete(Subtitle).where(Subtitle.blob_id == job.blob_id))
            for sub in found:
                s.add(
                    Subtitle(
                        blob_id=job.blob_id, stream_index=sub.stream_index,
                        language=sub.language, label=sub.label[:255], vtt=sub.vtt,
                    )
                )  # fmt: skip

    rungs = plan_ladder(info)
    hls_dir = out / "hls"

    def publish_lowest() -> None:
        early = provisional_result(hls_dir, info, rungs[:1])
        job.publisher.live()
        job.save_only(hls=early.to_json(), playable=True)

    with live_sync(job.publisher):
        result = encode_hls(
            ffmpeg, source, info, rungs, hls_dir,
            storyboard=plan_storyboard(info), on_playable=publish_lowest, **job.stage(6, 100),
        )  # fmt: skip
    job.save(hls=result.to_json(), hls_complete=True, playable=True)


def _audio(job: _Job, ffmpeg: str, source: Path, info: MediaInfo, out: Path) -> None:
    job.save(kind=MediaKind.audio, duration=info.duration)
    if direct_play(info):
        job.save(direct="original", playable=True)
    else:
        transcode_audio(ffmpeg, source, out / DIRECT_NAME["transcode"], info, **job.stage(0, 95))
        job.save(direct="transcode", playable=True)
    if any(st.attached_picture for st in info.streams if st.kind == "video"):
        try:
            make_poster(ffmpeg, source, info, out, **job.stage(95, 100))
            job.save(poster=True)
        except EncodeError as e:  # cover art is a nicety: the audio still plays
            log.info("no poster from cover art of blob %s: %s", job.blob_id, e.message)


@contextmanager
def _source_file(ctx: Context, key: str, work: Path) -> Iterator[Path]:
    """The blob as a local file: the stored file itself on local storage, else a
    temporary copy (ffmpeg seeks, so it needs a real file)."""
    local = ctx.store.local_path(key)
    if local is not None:
        yield local
        return
    fd, name = tempfile.mkstemp(prefix="source-", dir=work)
    size = ctx.store.size(key) or 0

    async def copy() -> None:
        with os.fdopen(fd, "wb") as f:
            if size:
                async for chunk in ctx.store.read_range(key, 0, size - 1):
                    f.write(chunk)

    try:
        anyio.run(copy)
        yield Path(name)
    finally:
        Path(name).unlink(missing_ok=True)
