"""The audit log page for moderators and administrators: filters, newest first, paging by
id (stable while new entries arrive), links to the export with the same filters."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from partage.bounds import Id
from partage.deps import Ctx
from partage.moderation import audit_export
from partage.moderation.access import page_moderator
from partage.moderation.models import AuditEvent
from partage.web.templating import render

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/moderation/audit")
def audit_page(
    request: Request,
    ctx: Ctx,
    action: str = "",
    subject: str = "",
    since: str = "",
    until: str = "",
    before_id: Id | None = None,
) -> Response:
    who = page_moderator(request, ctx)
    if isinstance(who, Response):
        return who
    f = audit_export.filters(since[:40], until[:40], action[:64], subject[:64])
    with ctx.db.read() as s:
        entries, next_id = audit_export.page(s, f, before_id, PER_PAGE)
        actions = list(s.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
    query = {k: v for k, v in (("action", action), ("subject", subject), ("since", since),
                               ("until", until)) if v}  # fmt: skip
    filtered = urlencode(query)
    older = None
    if next_id is not None:
        older = "/moderation/audit?" + urlencode({**query, "before_id": next_id})
    return render(
        request,
        "moderation_audit.html",
        {"here": "audit", "entries": entries, "actions": actions, "action": action,
         "subject": subject, "since": since, "until": until, "older": older,
         "newest": "/moderation/audit" + (f"?{filtered}" if filtered else ""),
         "paged": before_id is not None,
         "export": filtered},
        headers=NO_STORE,
    )  # fmt: skip
