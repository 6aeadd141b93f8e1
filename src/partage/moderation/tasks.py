"""Malware scans on the job queue: one per new blob, a retry sweep, periodic rescans.

A scan that finds clamd down is retried by itself a few times with a growing delay
(a restart of clamd, a signature reload, is over in seconds or minutes); past that,
the minute sweep picks up every blob without a verdict, so an outage of any length
ends with everything scanned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from huey import crontab

from partage.jobs import huey, job_context
from partage.moderation import malware
from partage.moderation.clamd import ScannerUnavailable

log = logging.getLogger("partage.moderation.malware")

QUICK_RETRIES = 6  # delays of 1, 2, 4… × clamav_retry_delay: about an hour at the default


@contextmanager
def _exclusive(name: str, ttl: float) -> Iterator[bool]:
    """True for one holder at a time across every worker sharing the queue. Huey's own
    lock would stay taken forever after a killed worker; this one expires after `ttl`
    (longer than the sweep's budget), since the queue storage has no TTL of its own."""
    key = f"partage.{name}"
    now = time.time()
    mine = huey.put_if_empty(key, now)
    if not mine:
        held_since = huey.get(key, peek=True)
        if isinstance(held_since, float) and now - held_since > ttl:
            huey.delete(key)  # its holder died; a racing taker loses put_if_empty
            mine = huey.put_if_empty(key, now)
    try:
        yield mine
    finally:
        if mine:
            huey.delete(key)


@huey.task()
def scan_blob_task(blob_id: int, attempt: int = 0) -> str | None:
    ctx = job_context()
    try:
        return malware.scan_blob(ctx, blob_id)
    except ScannerUnavailable as e:
        if attempt < QUICK_RETRIES:
            delay = ctx.settings.clamav_retry_delay * 2**attempt
            log.warning("malware scan of blob %s: %s; retry in %g s", blob_id, e, delay)
            malware.enqueue(ctx, [blob_id], attempt=attempt + 1, delay=delay)
        else:
            log.warning("malware scan of blob %s: %s; left to the sweep", blob_id, e)
        return None


@huey.periodic_task(crontab(minute="*"))
def retry_scans() -> int:
    """Blobs held, failed or never scanned (e.g. stored before scanning was turned on)."""
    ctx = job_context()
    if not malware.enabled(ctx.settings):
        return 0
    with _exclusive("malware-retry", ttl=120) as mine:  # one sweep at a time
        return malware.retry_unscanned(ctx, budget=50) if mine else 0


@huey.periodic_task(crontab(minute="*/10"))
def rescan_due() -> int:
    """Rescan, with the current signatures, blobs scanned more than
    `clamav_rescan_days` ago."""
    ctx = job_context()
    if not malware.enabled(ctx.settings):
        return 0
    with _exclusive("malware-rescan", ttl=900) as mine:
        if not mine:
            return 0
        n = malware.rescan(ctx, timedelta(days=ctx.settings.clamav_rescan_days), budget=540)
    if n:
        log.info("rescanned %d blobs", n)
    return n
