"""Figures for the overview page: accounts, files, storage, downloads and traffic;
and the state of the media job queue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.admin import traffic
from partage.db import iso
from partage.files.models import Blob, File, FileStatus
from partage.media.models import JobState, Media

RECENT_FAILURES = 20


def _one(s: Session, q: Any) -> int:
    return int(s.scalar(q) or 0)


def figures(s: Session, days: int = 30) -> dict[str, Any]:
    live = User.deleted_at.is_(None)
    not_deleted = File.status != FileStatus.deleted
    last = traffic.last_days(s, days)
    return {
        "users": _one(s, select(func.count(User.id)).where(live)),
        "users_suspended": _one(
            s, select(func.count(User.id)).where(live, User.is_active.is_(False))
        ),
        "admins": _one(s, select(func.count(User.id)).where(live, User.is_admin.is_(True))),
        "files": _one(s, select(func.count(File.id)).where(not_deleted)),
        # What users see as stored (each file at full size) and what the store holds
        # (each distinct content once): dedup makes the second smaller.
        "files_bytes": _one(s, select(func.coalesce(func.sum(File.size), 0)).where(not_deleted)),
        "blobs": _one(s, select(func.count(Blob.id))),
        "blobs_bytes": _one(s, select(func.coalesce(func.sum(Blob.size), 0))),
        "downloads_total": _one(s, select(func.coalesce(func.sum(File.downloads), 0))),
        "traffic": last,
        "traffic_bytes": sum(d["bytes_out"] for d in last),
        "traffic_downloads": sum(d["downloads"] for d in last),
    }


@dataclass
class Failure:
    media: Media
    code: str | None  # a file with this content, to retry or cancel by


def jobs_overview(s: Session, limit: int = RECENT_FAILURES) -> dict[str, Any]:
    """Media jobs by state, and the latest failures with their error."""
    counts = dict(s.execute(select(Media.state, func.count()).group_by(Media.state)).all())
    by_state = {state.value: int(counts.get(state, 0)) for state in JobState}
    failed = s.scalars(
        select(Media)
        .where(Media.state == JobState.failed)
        .order_by(func.coalesce(Media.finished_at, Media.updated_at).desc())
        .limit(limit)
    ).all()
    active = s.scalars(
        select(Media)
        .where(Media.state.in_((JobState.queued, JobState.running)))
        .order_by(Media.queued_at)
        .limit(limit)
    ).all()
    return {
        "by_state": by_state,
        "failures": [Failure(m, _code_of(s, m.blob_id)) for m in failed],
        "active": [Failure(m, _code_of(s, m.blob_id)) for m in active],
    }


def _code_of(s: Session, blob_id: int) -> str | None:
    return s.scalar(
        select(File.code)
        .where(File.blob_id == blob_id, File.status != FileStatus.deleted)
        .order_by(File.id)
        .limit(1)
    )


def job_json(item: Failure) -> dict[str, Any]:
    m = item.media
    return {
        "code": item.code,
        "sha256": m.sha256,
        "kind": m.kind.value,
        "state": m.state.value,
        "progress": round(m.progress, 1),
        "attempts": m.attempts,
        "last_error": m.last_error,
        "queued_at": iso(m.queued_at),
        "finished_at": iso(m.finished_at),
    }
