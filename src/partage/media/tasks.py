"""The media task on the job queue, and the watchdog that revives lost jobs."""

from __future__ import annotations

import logging
import threading

from partage.jobs import huey, job_context
from partage.media import jobs, pipeline

log = logging.getLogger("partage.media")


@huey.task()
def process_media(blob_id: int) -> None:
    pipeline.process(job_context(), blob_id)


def start_watchdog(stop: threading.Event) -> threading.Thread:
    """Sweep for dead or lost media jobs every `media_sweep_interval` seconds, in a
    thread of a process that consumes jobs (serve in embedded mode, every worker)."""
    interval = job_context().settings.media_sweep_interval

    def loop() -> None:
        while not stop.is_set():
            try:
                empty = huey.pending_count() == 0
                jobs.sweep(job_context(), queue_empty=empty)
            except Exception:  # the watchdog must outlive a database hiccup
                log.exception("media sweep failed")
            stop.wait(interval)

    thread = threading.Thread(target=loop, name="media-watchdog", daemon=True)
    thread.start()
    return thread
