"""The audit log for people and for auditors: filters from a query string, and the export
as CSV or JSON Lines, oldest first, streamed in batches so a year of entries never sits in
memory (the API and `partage admin audit export` share it)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from partage.db import Database
from partage.errors import BadRequest
from partage.moderation import audit
from partage.moderation.audit import entry_json
from partage.moderation.models import AuditEvent
from partage.moderation.period import parse_moment

BATCH = 500
MAX_LIMIT = 500
FORMATS = ("csv", "jsonl")
COLUMNS = ("id", "at", "actor", "actor_id", "action", "subject", "reason", "before", "after")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}


@dataclass(frozen=True)
class Filters:
    since: datetime | None = None
    until: datetime | None = None  # excluded
    action: str | None = None
    subject: str | None = None


def filters(
    since: str | None = None,
    until: str | None = None,
    action: str | None = None,
    subject: str | None = None,
) -> Filters:
    """From query-string values; a date as `until` includes that whole day."""
    start = parse_moment("since", since) if since and since.strip() else None
    end = parse_moment("until", until, end=True) if until and until.strip() else None
    if start is not None and end is not None and start >= end:
        raise BadRequest("since: the start of the period comes after its end (until).")
    return Filters(start, end, (action or "").strip() or None, (subject or "").strip() or None)


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest("limit: between 1 and %(max)s.", max=MAX_LIMIT)
    return limit


def page(
    s: Session, f: Filters, before_id: int | None, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of entries, newest first, and the `before_id` of the next (older) page."""
    found = list(
        audit.query(
            s,
            since=f.since,
            until=f.until,
            action=f.action,
            subject=f.subject,
            before_id=before_id,
            limit=limit + 1,
        )  # fmt: skip
    )
    items = [audit.entry_json(e) for e in found[:limit]]
    return items, (items[-1]["id"] if len(found) > limit else None)


def entries(db: Database, f: Filters) -> Iterator[dict[str, Any]]:
    """Every matching entry, oldest first, one short read transaction per batch."""
    after = 0
    while True:
        q = select(AuditEvent).where(AuditEvent.id > after).order_by(AuditEvent.id).limit(BATCH)
        if f.since is not None:
            q = q.where(AuditEvent.at >= f.since)
        if f.until is not None:
            q = q.where(AuditEvent.at < f.until)
        if f.action:
            q = q.where(AuditEvent.action == f.action)
        if f.subject:
            q = q.where(AuditEvent.subject == f.subject)
        with db.read() as s:
            batch = [entry_json(e) for e in s.scalars(q)]
        yield from batch
        if len(batch) < BATCH:
            return
        after = batch[-1]["id"]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def jsonl(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield _json(row) + "\n"


def csv_lines(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    """One row an entry; `before` and `after` as JSON text (empty when absent). Values are
    written as recorded, never altered: open the file as data, not as a spreadsheet."""
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")

    def flush() -> str:
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return text

    out.writerow(COLUMNS)
    yield flush()
    for row in rows:
        cells = [row[c] for c in COLUMNS]
        cells[-2:] = ["" if v is None else _json(v) for v in cells[-2:]]
        out.writerow(["" if v is None else v for v in cells])
        yield flush()


def export(db: Database, f: Filters, fmt: str) -> Iterator[str]:
    if fmt not in FORMATS:
        raise BadRequest("format: csv or jsonl.")
    rows = entries(db, f)
    return csv_lines(rows) if fmt == "csv" else jsonl(rows)
