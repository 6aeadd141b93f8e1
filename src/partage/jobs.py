"""Background jobs (Huey).

Embedded (default): `SqliteHuey` in the data dir, consumed by threads inside
`partage serve`. At scale (`PARTAGE_QUEUE_URL=redis://…`): `RedisHuey`, consumed
by `partage worker` processes on any number of machines. Tasks register on the
`huey` object when their module is imported; `TASK_MODULES` lists them so that
every consumer knows every task. Periodic jobs register here.
"""

from __future__ import annotations

import importlib
import logging
import threading
from dataclasses import dataclass
from functools import lru_cache

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer

from partage.context import Context
from partage.settings import Settings, get_settings

log = logging.getLogger("partage.jobs")

TASK_MODULES = (
    "partage.media.tasks",
    "partage.moderation.tasks",
    "partage.moderation.complaint_tasks",
    "partage.moderation.screening_tasks",
)


def make_huey(settings: Settings) -> Huey:
    url = settings.queue_url
    if url:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"PARTAGE_QUEUE_URL: unsupported queue URL {url!r} (use redis://…)")
        return RedisHuey(settings.queue_name, url=url)
    settings.ensure_dirs()
    return SqliteHuey(settings.queue_name, filename=str(settings.data_dir / "jobs.db"))


huey = make_huey(get_settings())


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


@huey.periodic_task(crontab(minute="17"))
def collect_media_outputs() -> int:
    """Remove output directories whose blob is gone."""
    from partage.media.service import collect_orphan_outputs

    return collect_orphan_outputs(job_context())


def load_tasks() -> None:
    for name in TASK_MODULES:
        importlib.import_module(name)


@dataclass
class Jobs:
    """A running consumer and its watchdog; `stop()` ends both."""

    consumer: Consumer
    thread: threading.Thread | None
    stopping: threading.Event

    def stop(self) -> None:
        self.stopping.set()
        self.consumer.stop(graceful=False)


def _consumer(threads: int) -> tuple[Consumer, threading.Event]:
    from partage.media.tasks import start_watchdog

    load_tasks()
    consumer = huey.create_consumer(workers=threads, worker_type="thread", periodic=True)
    stopping = threading.Event()
    start_watchdog(stopping)
    return consumer, stopping


def start_consumer(threads: int | None = None) -> Jobs:
    """Run the consumer in threads of this process (embedded mode, inside serve)."""
    consumer, stopping = _consumer(threads or get_settings().job_threads)
    thread = threading.Thread(target=consumer.run, name="huey-consumer", daemon=True)
    # Consumer.run installs signal handlers, which only the main thread may do.
    consumer._set_signal_handlers = lambda: None  # type: ignore[method-assign]
    thread.start()
    return Jobs(consumer, thread, stopping)


def run_worker(threads: int | None = None) -> None:
    """`partage worker`: consume in this process's main thread until SIGINT/SIGTERM."""
    consumer, stopping = _consumer(threads or get_settings().job_threads)
    try:
        consumer.run()
    finally:
        stopping.set()
