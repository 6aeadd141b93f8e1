"""Audit log API for moderators and administrators: read only, there is no route that
changes an entry."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from partage.bounds import Count, Id
from partage.deps import Ctx
from partage.moderation import audit_export
from partage.moderation.access import Moderator

router = APIRouter(prefix="/api/v1/moderation", tags=["moderation"])


@router.get("/audit")
def list_entries(
    moderator: Moderator,
    ctx: Ctx,
    since: str | None = None,
    until: str | None = None,
    action: str | None = None,
    subject: str | None = None,
    before_id: Id | None = None,
    limit: Count = 100,
) -> dict[str, Any]:
    """Entries newest first: `{items, next_before_id}`; pass `next_before_id` back as
    `before_id` for the next (older) page, null on the last one. `since` and `until` are
    dates (YYYY-MM-DD, `until` included) or UTC times; `action` and `subject` match exactly
    (`user.suspend`, `user:12`)."""
    f = audit_export.filters(since, until, action, subject)
    limit = audit_export.check_limit(limit)
    with ctx.db.read() as s:
        items, next_id = audit_export.page(s, f, before_id, limit)
    return {"items": items, "next_before_id": next_id}


def _export(ctx: Ctx, fmt: str, since: str | None, until: str | None, action: str | None,
            subject: str | None) -> StreamingResponse:  # fmt: skip
    f = audit_export.filters(since, until, action, subject)
    name = f"partage-audit.{fmt}"
    return StreamingResponse(
        audit_export.export(ctx.db, f, fmt),
        media_type=audit_export.MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },  # fmt: skip
    )


@router.get("/audit.csv")
def export_csv(
    moderator: Moderator,
    ctx: Ctx,
    since: str | None = None,
    until: str | None = None,
    action: str | None = None,
    subject: str | None = None,
) -> StreamingResponse:
    """Every matching entry of the period, oldest first, streamed; `before` and `after` as
    JSON text."""
    return _export(ctx, "csv", since, until, action, subject)


@router.get("/audit.jsonl")
def export_jsonl(
    moderator: Moderator,
    ctx: Ctx,
    since: str | None = None,
    until: str | None = None,
    action: str | None = None,
    subject: str | None = None,
) -> StreamingResponse:
    """Every matching entry of the period, oldest first, one JSON object a line."""
    return _export(ctx, "jsonl", since, until, action, subject)
