"""The periodic restoration of counter-noticed content once its waiting period is over."""

from __future__ import annotations

import logging
from datetime import datetime

from huey import crontab

from partage.context import Context
from partage.jobs import huey, job_context

log = logging.getLogger("partage.moderation.complaints")


def run_restore_due(ctx: Context, now: datetime | None = None) -> list[str]:
    """Restore what is due at `now`, in batches, then mail the statements; the refs of the
    counter-notices settled. What the job and `partage admin moderation restore-due` run."""
    from partage.moderation.counter_notices import restore_due

    done: list[str] = []
    while True:
        with ctx.db.session() as s:
            batch, outbox = restore_due(s, ctx.settings, now)
            refs = [c.ref for c in batch]
        outbox.send(ctx.settings)
        done += refs
        if len(refs) < 100:
            return done


@huey.periodic_task(crontab(minute="*/10"))
def restore_counter_noticed() -> int:
    ctx = job_context()
    try:
        n = len(run_restore_due(ctx))
    finally:
        ctx.close()
    if n:
        log.info("restored the content of %d counter-notices", n)
    return n
