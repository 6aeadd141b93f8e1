"""Storage quota and size limits, checked before a byte is accepted."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partage import humanize
from partage.accounts.models import User
from partage.errors import QuotaExceeded, TooLarge
from partage.files.models import File, FileStatus
from partage.settings import Settings
from partage.uploads.models import Upload


def used_bytes(s: Session, user_id: int) -> int:
    """Every file counts at its full size, even when its content is deduplicated."""
    return int(
        s.scalar(
            select(func.coalesce(func.sum(File.size), 0)).where(
                File.owner_id == user_id, File.status != FileStatus.deleted
            )
        )
        or 0
    )


def reserved_bytes(s: Session, user_id: int, exclude_upload: str | None = None) -> int:
    """Bytes promised to unfinished uploads of known length (partials of a
    concatenation count through their parts)."""
    q = select(func.coalesce(func.sum(Upload.length), 0)).where(
        Upload.owner_id == user_id,
        Upload.completed_at.is_(None),
        Upload.length.is_not(None),
        Upload.parts.is_(None),
    )
    if exclude_upload:
        q = q.where(Upload.id != exclude_upload)
    return int(s.scalar(q) or 0)


def max_file_size(user: User, settings: Settings) -> int:
    plan_max = user.plan.max_file_size
    return settings.max_upload_size if plan_max is None else min(plan_max, settings.max_upload_size)


def check_size(
    s: Session,
    user: User,
    settings: Settings,
    size: int,
    *,
    exclude_upload: str | None = None,
    reserve: bool = True,
) -> None:
    """Raise 413 when `size` more bytes would break the plan's file size or storage quota."""
    limit = max_file_size(user, settings)
    if size > limit:
        raise TooLarge(
            "This file is %(size)s; your plan allows files up to %(limit)s.",
            size=humanize.size(size),
            limit=humanize.size(limit),
        )
    check_quota(s, user, size, exclude_upload=exclude_upload, reserve=reserve)


def check_quota(
    s: Session, user: User, size: int, *, exclude_upload: str | None = None, reserve: bool = True
) -> None:
    quota = user.plan.storage_quota
    if quota is None:
        return
    used = used_bytes(s, user.id)
    if reserve:
        used += reserved_bytes(s, user.id, exclude_upload)
    if used + size > quota:
        raise QuotaExceeded(
            "Not enough storage left: this needs %(size)s, you have %(free)s free of %(quota)s.",
            size=humanize.size(size),
            free=humanize.size(max(0, quota - used)),
            quota=humanize.size(quota),
        )
