"""Staydown jobs: screen each new blob, and check new bank entries against stored content
(on demand when entries are added, and every minute for entries added elsewhere, e.g. by
a decision that banked its content)."""

from __future__ import annotations

import logging

from huey import crontab

from partage.jobs import huey, job_context
from partage.moderation import screening
from partage.moderation.tasks import _exclusive

log = logging.getLogger("partage.moderation.screening")


@huey.task()
def screen_blob_task(blob_id: int) -> list[int]:
    return screening.screen_blob(job_context(), blob_id)


def _backfill(*, retry: bool = False) -> int:
    with _exclusive("bank-backfill", ttl=120) as mine:  # one backfill at a time
        if not mine:
            if retry:  # the running one may have read the entries before these came
                backfill_task.schedule(delay=3)
            return 0
        n = screening.backfill(job_context(), budget=50)
    if n:
        log.info("checked %d new bank entries against stored content", n)
    return n


@huey.task()
def backfill_task() -> int:
    return _backfill(retry=True)


@huey.periodic_task(crontab(minute="*"))
def backfill_sweep() -> int:
    return _backfill()
