"""Background jobs (Huey). Embedded: SqliteHuey in the data dir, consumed by
threads inside `partage serve`. Periodic jobs register here."""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

from huey import SqliteHuey, crontab
from huey.consumer import Consumer

from partage.context import Context
from partage.settings import get_settings

log = logging.getLogger("partage.jobs")

settings = get_settings()
settings.ensure_dirs()
huey = SqliteHuey("partage", filename=str(settings.data_dir / "jobs.db"), immediate=False)


@lru_cache(maxsize=1)
def job_context() -> Context:
    return Context.build(get_settings())


@huey.periodic_task(crontab(minute="*/5"))
def expire_uploads() -> int:
    """Remove tus uploads nobody finished before their expiry."""
    from partage.uploads.service import expire_abandoned

    n = expire_abandoned(job_context())
    if n:
        log.info("removed %d abandoned uploads", n)
    return n


def start_consumer(workers: int = 2) -> Consumer:
    """Run the consumer in threads of this process (embedded mode)."""
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
    thread = threading.Thread(target=consumer.run, name="huey-consumer", daemon=True)
    # Consumer.run installs signal handlers, which only the main thread may do.
    consumer._set_signal_handlers = lambda: None  # type: ignore[method-assign]
    thread.start()
    return consumer
