"""The transparency report (DSA Art. 15 and 24): figures for a period, computed from the
records each time (notices, decisions, complaints, audit log, bank matches, blobs), never
from stored counters, so they always agree with what happened.

Each figure counts the records made in the period [start, end). What each one means is
written next to it in `DEFINITIONS` (shown on the page) and in docs/moderation.md.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from partage.db import iso, utcnow
from partage.files.models import Blob
from partage.moderation.models import (
    Action,
    AuditEvent,
    BankMatch,
    Category,
    Complaint,
    ComplaintStatus,
    Decision,
    Notice,
    NoticeStatus,
    NotifierSanction,
)
from partage.moderation.period import Period
from partage.web.i18n import N_

SOURCES = ("form", "api")
GROUNDS = ("law", "terms")
DECIDED = tuple(a.value for a in Action if a != Action.restore)
DECISION_SOURCES = ("notice", "own_initiative", "bank_match", "malware_scan")
COMPLAINT_KINDS = ("complaint", "counter_notice")
MATCH_OUTCOMES = ("refused", "disabled", "queued")
MATCH_KINDS = ("sha256", "md5", "pdq", "vpdq")
SUSPENSION_CAUSES = ("admin", "decision", "repeat_infringer")

# What each figure counts, in the order the page shows them (marked for the catalogue).
DEFINITIONS: dict[str, str] = {
    "notices": N_(
        "Notices received in the period, by category and by source (the public form or the "
        "API). Notices sent by trusted flaggers are also counted apart. The outcome is the "
        "notice's state today: open, actioned (content disabled or account suspended), kept "
        "(examined, content left up) or rejected (manifestly unfounded)."
    ),
    "decisions": N_(
        "Decisions taken in the period, restorations excepted: by ground (illegal content, "
        "or incompatible with our terms), by action and by what started them (a notice, our "
        "own initiative, a match in a fingerprint bank, the malware scanner). Automated: "
        "decisions taken by automated means without a person (bank matches set to disable, "
        "malware). The median time runs from the notice's receipt to the decision, over the "
        "decisions taken on a notice."
    ),
    "complaints": N_(
        "Complaints against decisions and DMCA counter-notices received in the period, by "
        "their state today: open, upheld (the decision stands), reversed (content restored "
        "at once), restored (counter-notice: restored after the waiting period), court "
        "action (the notifier reported a court action). The median time runs from receipt "
        "to the answer, over those answered. Reversals: decisions reversed in the period, "
        "by what reversed them."
    ),
    "suspensions": N_(
        "Accounts suspended in the period, by reason: by an administrator, by a moderator's "
        "decision, or closed under the repeat-infringer policy (strikes); uploads suspended "
        "under that policy; notifiers whose notices were suspended, or who were warned, "
        "after manifestly unfounded notices."
    ),
    "bank_matches": N_(
        "Content found to match a fingerprint bank in the period: refused at upload (exact "
        "match), disabled automatically, or queued for a moderator; by kind of fingerprint "
        "(SHA-256, MD5, PDQ for images, vPDQ for videos)."
    ),
    "malware": N_(
        "Stored contents the malware scanner found infected and quarantined, counted when "
        "last scanned in the period."
    ),
}


def _in(column: Any, period: Period) -> ColumnElement[bool]:
    return (column >= period.start) & (column < period.end)  # type: ignore[no-any-return]


def _grouped(
    s: Session, key: InstrumentedAttribute[Any], keys: Iterable[str], *where: Any
) -> dict[str, int]:
    """Counts by `key`, every known key present (0 when none), unknown ones added."""
    out = {k: 0 for k in keys}
    for value, n in s.execute(select(key, func.count()).where(*where).group_by(key)):
        name = getattr(value, "value", value)
        out[str(name)] = out.get(str(name), 0) + int(n)
    return out


def _count(s: Session, *where: Any, of: Any = None) -> int:
    column = func.count() if of is None else func.count(of)
    return int(s.scalar(select(column).where(*where)) or 0)


def _median_seconds(pairs: Iterable[tuple[datetime, datetime | None]]) -> float | None:
    spans = [(b - a).total_seconds() for a, b in pairs if b is not None]
    return round(statistics.median(spans), 1) if spans else None


def notices(s: Session, period: Period) -> dict[str, Any]:
    when = _in(Notice.created_at, period)
    trusted = Notice.trusted.is_(True)
    return {
        "total": _count(s, when, of=Notice.id),
        "by_category": _grouped(s, Notice.category, (c.value for c in Category), when),
        "by_source": _grouped(s, Notice.source, SOURCES, when),
        "by_outcome": _grouped(s, Notice.status, (x.value for x in NoticeStatus), when),
        "trusted_flaggers": {
            "total": _count(s, when, trusted, of=Notice.id),
            "by_category": _grouped(
                s, Notice.category, (c.value for c in Category), when, trusted
            ),  # fmt: skip
        },
    }


def decisions(s: Session, period: Period) -> dict[str, Any]:
    when = _in(Decision.created_at, period)
    taken = Decision.action != Action.restore
    on_notice = s.execute(
        select(Notice.created_at, Decision.created_at)
        .join(Notice, Notice.id == Decision.notice_id)
        .where(when, taken)
    ).tuples()
    return {
        "total": _count(s, when, taken, of=Decision.id),
        "by_ground": _grouped(s, Decision.ground, GROUNDS, when, taken),
        "by_action": _grouped(s, Decision.action, DECIDED, when, taken),
        "by_source": _grouped(s, Decision.source, DECISION_SOURCES, when, taken),
        "automated": _count(s, when, taken, Decision.automated.is_(True), of=Decision.id),
        "median_seconds_notice_to_decision": _median_seconds(on_notice),
    }


def complaints(s: Session, period: Period) -> dict[str, Any]:
    when = _in(Complaint.created_at, period)
    out: dict[str, Any] = {"total": _count(s, when, of=Complaint.id), "by_kind": {}}
    for kind in COMPLAINT_KINDS:
        mine = Complaint.kind == kind
        answered = s.execute(
            select(Complaint.created_at, Complaint.decided_at).where(
                when, mine, Complaint.decided_at.is_not(None)
            )
        ).tuples()
        out["by_kind"][kind] = {
            "total": _count(s, when, mine, of=Complaint.id),
            "by_outcome": _grouped(
                s, Complaint.status, (x.value for x in ComplaintStatus), when, mine
            ),  # fmt: skip
            "median_seconds_to_decide": _median_seconds(answered),
        }
    restores = (_in(Decision.created_at, period), Decision.action == Action.restore)
    out["reversals"] = {
        "total": _count(s, *restores, of=Decision.id),
        "by_source": _grouped(s, Decision.source, COMPLAINT_KINDS, *restores),
    }
    return out


def _audit_events(s: Session, period: Period, action: str) -> Iterator[AuditEvent]:
    yield from s.scalars(
        select(AuditEvent).where(_in(AuditEvent.at, period), AuditEvent.action == action)
    )


def suspensions(s: Session, period: Period) -> dict[str, Any]:
    # The audit log is the record of suspensions: the account row only keeps the latest.
    accounts = {c: 0 for c in SUSPENSION_CAUSES}
    for e in _audit_events(s, period, "user.suspend"):
        cause = str((e.after or {}).get("cause") or "admin")
        accounts[cause] = accounts.get(cause, 0) + 1
    when = _in(NotifierSanction.created_at, period)
    return {
        "accounts": {"total": sum(accounts.values()), "by_reason": accounts},
        "upload_suspensions": _count(
            s,
            _in(AuditEvent.at, period),
            AuditEvent.action == "strike.upload_suspension",
            of=AuditEvent.id,
        ),  # fmt: skip
        "notifiers": {
            "suspended": _count(
                s, when, NotifierSanction.kind == "suspension", of=NotifierSanction.id
            ),  # fmt: skip
            "warned": _count(s, when, NotifierSanction.kind == "warning", of=NotifierSanction.id),
        },
    }


def bank_matches(s: Session, period: Period) -> dict[str, Any]:
    when = _in(BankMatch.created_at, period)
    return {
        "total": _count(s, when, of=BankMatch.id),
        "by_outcome": _grouped(s, BankMatch.outcome, MATCH_OUTCOMES, when),
        "by_kind": _grouped(s, BankMatch.kind, MATCH_KINDS, when),
    }


def malware(s: Session, period: Period) -> dict[str, Any]:
    return {
        "quarantined": _count(
            s, Blob.scan_state == "infected", _in(Blob.scanned_at, period), of=Blob.id
        )
    }


def report(s: Session, period: Period) -> dict[str, Any]:
    return {
        "period": {"from": period.first.isoformat(), "to": period.last.isoformat()},
        "generated_at": iso(utcnow()),
        "notices": notices(s, period),
        "decisions": decisions(s, period),
        "complaints": complaints(s, period),
        "suspensions": suspensions(s, period),
        "bank_matches": bank_matches(s, period),
        "malware": malware(s, period),
    }


def flatten(data: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """("notices.by_category.copyright", 3)… for the CSV: one figure a row."""
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from flatten(value, name + ".")
        else:
            yield name, value
