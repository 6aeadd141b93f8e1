"""Prometheus metrics.

Request metrics are counted in the process that served the request (no
multiprocess mode): with several web workers each scrape sees the counters of
the worker that answered it. Gauges derived from the database and the queue
(uploads in progress, queue depth, media jobs by state, storage used) are
computed at scrape time and are global. Media job durations are observed in
the process that ran the job: the embedded consumer inside `partage serve`
shows them; a `partage worker` serves no /metrics.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partage.context import Context
from partage.db import utcnow

log = logging.getLogger("partage.metrics")

REQUESTS = Counter(
    "partage_http_requests", "HTTP requests by route template, method and status",
    ["route", "method", "status"],
)  # fmt: skip
LATENCY = Histogram(
    "partage_http_request_duration_seconds", "Time to the end of the response body",
    ["route", "method"],
)  # fmt: skip
BYTES_OUT = Counter("partage_http_response_bytes", "Response body bytes sent")
BYTES_IN = Counter("partage_http_request_bytes", "Request body bytes received")
IN_FLIGHT = Gauge("partage_http_requests_in_progress", "Requests being handled by this process")
MEDIA_JOB_SECONDS = Histogram(
    "partage_media_job_duration_seconds", "Duration of media jobs that finished",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, float("inf")),
)  # fmt: skip


def observe_media_job(s: Session, blob_id: int) -> None:
    """Called by `media.jobs.finish()` (in whatever process ran the job)."""
    from partage.media.models import Media

    started: datetime | None = s.scalar(select(Media.started_at).where(Media.blob_id == blob_id))
    if started is not None:
        MEDIA_JOB_SECONDS.observe(max((utcnow() - started).total_seconds(), 0.0))


class StateCollector(Collector):
    """Gauges computed from the database and the queue when scraped."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from partage.files.models import Blob
        from partage.media.models import JobState, Media
        from partage.uploads.models import Upload

        with self.ctx.db.read() as s:
            uploads = s.scalar(select(func.count()).where(Upload.completed_at.is_(None))) or 0
            used = s.scalar(select(func.coalesce(func.sum(Blob.size), 0))) or 0
            states = dict(s.execute(select(Media.state, func.count()).group_by(Media.state)).all())
        yield GaugeMetricFamily(
            "partage_uploads_in_progress", "Resumable uploads begun and not finished", uploads
        )
        yield GaugeMetricFamily("partage_storage_bytes", "Bytes of stored blobs", used)
        by_state = GaugeMetricFamily("partage_media_jobs", "Media jobs by state", labels=["state"])
        for state in JobState:
            by_state.add_metric([state.value], states.get(state, 0))
        yield by_state
        try:
            from partage.jobs import huey

            depth: float = huey.pending_count()
        except Exception as exc:  # queue down: report it, keep the rest of the scrape
            log.warning("queue depth unavailable: %s", exc)
            depth = float("nan")
        yield GaugeMetricFamily("partage_job_queue_depth", "Jobs waiting in the queue", depth)


def render(ctx: Context) -> bytes:
    """The exposition text (blocking: run it in a thread)."""
    return generate_latest(REGISTRY) + generate_latest(StateCollector(ctx))
