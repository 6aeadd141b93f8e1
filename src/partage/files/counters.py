"""Buffered download counters for uncapped links.

A database write per download would cost more than serving a small file, so
downloads of links without a cap are counted in memory (one dict update) and
flushed every `settings.counter_flush_interval` seconds, and on shutdown, in
one transaction. Capped links never come here: they count atomically in the
database before the bytes are sent (files/download.py). A crash loses at most
one interval of counts of uncapped links, which is acceptable for statistics.
The same flush adds the day's traffic (downloads and bytes, every link) to
`traffic_daily` (partage.admin.traffic).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, date, datetime

import anyio
from sqlalchemy import bindparam, update

from partage.context import Context
from partage.files.models import File

log = logging.getLogger(__name__)

_FLUSH = (
    update(File)
    .where(File.id == bindparam("fid"))
    .values(downloads=File.downloads + bindparam("n"), last_download_at=bindparam("at"))
)


class Counters:
    def __init__(self) -> None:
        self._pending: dict[int, list[float]] = {}  # file id → [count, last time]
        self._traffic: dict[date, list[int]] = {}  # UTC day → [bytes, downloads]
        self._ctx: Context | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def hit(self, file_id: int) -> None:
        entry = self._pending.get(file_id)
        if entry is None:
            self._pending[file_id] = [1, time.time()]
        else:
            entry[0] += 1
            entry[1] = time.time()

    def traffic(self, nbytes: int) -> None:
        """One download of `nbytes` more in today's traffic figures."""
        entry = self._traffic.setdefault(datetime.now(UTC).date(), [0, 0])
        entry[0] += nbytes
        entry[1] += 1

    @property
    def pending(self) -> int:
        return int(sum(e[0] for e in self._pending.values()))

    async def start(self, ctx: Context) -> None:
        self._ctx = ctx
        self._pending = {}
        self._traffic = {}
        self._lock = asyncio.Lock()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()

    async def _run(self) -> None:
        assert self._ctx is not None
        interval = max(0.05, float(self._ctx.settings.counter_flush_interval))
        while True:
            await asyncio.sleep(interval)
            try:
                await self.flush()
            except Exception:  # noqa: BLE001 - keep counting; the batch is retried
                log.exception("flushing download counters failed; will retry")

    async def flush(self) -> None:
        """Write the buffered counts in one transaction (off the event loop)."""
        async with self._lock:
            if not (self._pending or self._traffic) or self._ctx is None:
                return
            batch, self._pending = self._pending, {}
            traffic, self._traffic = self._traffic, {}
            rows = [
                {"fid": fid, "n": int(n), "at": datetime.fromtimestamp(at, UTC)}
                for fid, (n, at) in batch.items()
            ]
            try:
                await anyio.to_thread.run_sync(self._write, rows, traffic)
            except BaseException:
                for day, (sent, count) in traffic.items():
                    day_entry = self._traffic.setdefault(day, [0, 0])
                    day_entry[0] += sent
                    day_entry[1] += count
                for fid, (n, at) in batch.items():  # put them back for the next try
                    entry = self._pending.setdefault(fid, [0, at])
                    entry[0] += n
                    entry[1] = max(entry[1], at)
                raise

    def _write(self, rows: list[dict[str, object]], traffic: dict[date, list[int]]) -> None:
        from partage.admin import traffic as traffic_table

        assert self._ctx is not None
        with self._ctx.db.engine.begin() as conn:
            if rows:
                conn.execute(_FLUSH, rows)
            traffic_table.add(conn, {d: (v[0], v[1]) for d, v in traffic.items()})


counters = Counters()
