"""Daily traffic: downloads and their bytes per UTC day.

Downloads are added up in memory by `files.counters` and written here when its buffer
is flushed (every `counter_flush_interval` seconds), one upsert per day in the batch,
so the download path itself never writes for this. Several nodes add to the same day
row safely: the upsert adds, it never overwrites.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Table, select
from sqlalchemy.orm import Session

from partage.admin.models import TrafficDay
from partage.db import utcnow


def add(conn: Connection, days: dict[date, tuple[int, int]]) -> None:
    """Add `{day: (bytes, downloads)}` to the table, in the caller's transaction."""
    if not days:
        return
    table = TrafficDay.__table__
    assert isinstance(table, Table)
    dialect = conn.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    else:  # pragma: no cover - partage runs on SQLite and PostgreSQL only
        raise RuntimeError(f"no upsert for {dialect}")
    for day, (nbytes, count) in days.items():
        stmt = insert(table).values(day=day, bytes_out=nbytes, downloads=count)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.day],
            set_={
                "bytes_out": table.c.bytes_out + stmt.excluded.bytes_out,
                "downloads": table.c.downloads + stmt.excluded.downloads,
            },
        )
        conn.execute(stmt)


def last_days(s: Session, n: int = 30) -> list[dict[str, Any]]:
    """The last `n` days, oldest first, with zeros for days without downloads."""
    today = utcnow().date()
    first = today - timedelta(days=n - 1)
    rows = {r.day: r for r in s.scalars(select(TrafficDay).where(TrafficDay.day >= first))}
    out = []
    for i in range(n):
        day = first + timedelta(days=i)
        row = rows.get(day)
        out.append({
            "day": day.isoformat(),
            "bytes_out": int(row.bytes_out) if row else 0,
            "downloads": int(row.downloads) if row else 0,
        })  # fmt: skip
    return out
