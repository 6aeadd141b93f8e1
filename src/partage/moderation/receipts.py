"""What a notifier is shown of their notice: the receipt, then the decision and how to
contest it (page and JSON alike)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from partage.db import iso, utcnow
from partage.moderation.messages import receipt_url
from partage.moderation.models import Decision, Notice, NoticeStatus

# A notifier may complain about a decision not to act (keep, reject) for six months.
CONTESTABLE = frozenset({NoticeStatus.kept, NoticeStatus.rejected})


@dataclass
class Receipt:
    notice: Notice
    decision: Decision | None
    complaint_until: datetime | None  # set while the notifier may complain


def receipt(s: Session, notice: Notice, window_days: int = 183) -> Receipt:
    decision = s.scalar(
        select(Decision)
        .where(Decision.notice_id == notice.id, Decision.reverses_id.is_(None))
        .order_by(Decision.id)
        .limit(1)
    )
    until = None
    if notice.status in CONTESTABLE and notice.decided_at is not None:
        until = notice.decided_at + timedelta(days=window_days)
        if until <= utcnow():
            until = None
    return Receipt(notice, decision, until)


def receipt_json(s: Session, notice: Notice, base: str, window_days: int = 183) -> dict[str, Any]:
    r = receipt(s, notice, window_days)
    out: dict[str, Any] = {
        "ref": notice.ref,
        "status": notice.status.value,
        "category": notice.category.value,
        "received_at": iso(notice.created_at),
        "decided_at": iso(notice.decided_at),
        "locations": sorted({i.location for i in notice.items}),
        "files": len(notice.items),
        "receipt_url": receipt_url(base, notice.ref),
        "decision": None,
        "contest": None,
    }
    if r.decision is not None:
        out["decision"] = {
            "ref": r.decision.ref,
            "action": r.decision.action.value,
            "automated": r.decision.automated,
            "decided_at": iso(r.decision.created_at),
            "reversed_at": iso(r.decision.reversed_at),
        }
    if r.complaint_until is not None:
        out["contest"] = {
            "complaint_until": iso(r.complaint_until),
            "complaint_url": f"{base}/api/v1/notices/{notice.ref}/complaints",
            "out_of_court": "An out-of-court dispute settlement body, or a court.",
        }
    return out
