"""What a moderator sees of the files a notice names: the file, its uploader and their
history, and the other files sharing its content (which `disable_blob` would also reach)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.db import iso
from partage.files.models import File, FileStatus
from partage.moderation.models import Decision, DecisionTarget, Notice, NoticeItem, Strike


@dataclass
class FileView:
    file: File
    owner: User | None
    locations: list[str]
    strikes: int  # active or not: the whole history
    decisions: list[str]  # refs of earlier decisions on this owner's files
    siblings: list[str]  # codes of other files sharing the blob
    notices: int  # notices that named this file


def _history(s: Session, owner_id: int) -> tuple[int, list[str]]:
    strikes = int(
        s.scalar(
            select(func.count(Strike.id)).where(
                Strike.user_id == owner_id, Strike.voided_at.is_(None)
            )
        )
        or 0
    )
    refs = list(
        s.scalars(
            select(Decision.ref)
            .join(DecisionTarget, DecisionTarget.decision_id == Decision.id)
            .where(DecisionTarget.user_id == owner_id)
            .distinct()
            .order_by(Decision.ref)
            .limit(50)
        )
    )
    return strikes, refs


def file_view(s: Session, f: File, locations: list[str]) -> FileView:
    owner = s.get(User, f.owner_id)
    strikes, decisions = _history(s, f.owner_id)
    siblings: list[str] = []
    if f.blob_id is not None:
        siblings = list(
            s.scalars(
                select(File.code)
                .where(
                    File.blob_id == f.blob_id, File.id != f.id, File.status != FileStatus.deleted
                )
                .limit(100)
            )
        )
    notices = int(
        s.scalar(select(func.count(NoticeItem.id)).where(NoticeItem.file_id == f.id)) or 0
    )
    return FileView(f, owner, locations, strikes, decisions, siblings, notices)


def notice_files(s: Session, notice: Notice) -> list[FileView]:
    by_file: dict[int, list[str]] = {}
    for item in notice.items:
        if item.file_id is not None:
            by_file.setdefault(item.file_id, []).append(item.location)
    views = []
    for fid, locations in by_file.items():
        f = s.get(File, fid)
        if f is not None:
            views.append(file_view(s, f, locations))
    return views


def file_view_json(v: FileView) -> dict[str, Any]:
    f = v.file
    return {
        "id": f.id,
        "code": f.code,
        "name": f.name,
        "size": f.size,
        "mime": f.blob.mime if f.blob is not None else None,
        "sha256": f.blob.sha256 if f.blob is not None else None,
        "status": f.status.value,
        "disabled_reason": f.disabled_reason,
        "decision": f.disabled_ref,
        "created_at": iso(f.created_at),
        "downloads": f.downloads,
        "locations": v.locations,
        "owner": {"id": v.owner.id, "email": v.owner.email, "active": v.owner.is_active}
        if v.owner is not None
        else None,
        "owner_strikes": v.strikes,
        "owner_decisions": v.decisions,
        "same_content": v.siblings,
        "notices": v.notices,
    }
