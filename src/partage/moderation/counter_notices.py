"""DMCA counter-notices (17 U.S.C. 512(g)): their fields, the waiting period, the court action
that stops it, and the restoration once it is over.

A counter-notice is forwarded to the notifier at once; the content comes back
`counter_notice_business_days` business days later (10 to 14, weekends skipped) unless the
notifier reports having filed a court action meanwhile. `restore_due` is what the periodic
job and `partage admin moderation restore-due` run, with the time given so tests and
operators control the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.db import iso, utcnow
from partage.errors import Conflict, IncompleteComplaint
from partage.moderation import audit
from partage.moderation.complaints import MAX_TEXT, check_can_contest
from partage.moderation.decisions import reverse
from partage.moderation.models import (
    Category,
    Complaint,
    ComplaintStatus,
    Decision,
    Notice,
    Statement,
)
from partage.moderation.notices import Problem
from partage.moderation.outbox import Outbox
from partage.moderation.refs import new_ref
from partage.settings import Settings
from partage.web.i18n import N_

# The fields 512(g)(3) asks for, with what each must say when it is missing.
TEXT_FIELDS = {
    "signature": N_("required: your physical or electronic signature (your full name)"),
    "identification": N_("required: the material that was removed and where it was before"),
    "name": N_("required: your name"),
    "address": N_("required: your postal address"),
    "phone": N_("required: your telephone number"),
}
STATEMENTS = {
    "good_faith": N_("must be true: under penalty of perjury, you believe in good faith that "
                     "the material was removed by mistake or misidentification"),
    "jurisdiction": N_("must be true: you consent to the jurisdiction of the court for your "
                       "address (or, outside the United States, of any district where the "
                       "service provider may be found)"),
    "service": N_("must be true: you will accept service of process from the notifier"),
}  # fmt: skip
MAX_LINE = 1000


@dataclass
class CounterNoticeIn:
    signature: str = ""
    identification: str = ""
    name: str = ""
    address: str = ""
    phone: str = ""
    good_faith: bool = False
    jurisdiction: bool = False
    service: bool = False


def _clean(v: Any) -> str:
    return v.strip() if isinstance(v, str) else ""


def from_mapping(data: Any, *, checkbox: bool = False) -> CounterNoticeIn:
    """From JSON (`true` for the statements) or a form (`checkbox`: any value ticks)."""
    data = data if isinstance(data, dict) else {}

    def yes(k: str) -> bool:
        v = data.get(k)
        return bool(v) and v not in ("", "0", "false") if checkbox else v is True

    return CounterNoticeIn(
        signature=_clean(data.get("signature")),
        identification=_clean(data.get("identification")),
        name=_clean(data.get("name")),
        address=_clean(data.get("address")),
        phone=_clean(data.get("phone")),
        good_faith=yes("good_faith"),
        jurisdiction=yes("jurisdiction"),
        service=yes("service"),
    )


def validate(data: CounterNoticeIn) -> None:
    problems: dict[str, str] = {}
    for name, what in TEXT_FIELDS.items():
        value = getattr(data, name)
        limit = MAX_TEXT if name == "identification" else MAX_LINE
        if not value:
            problems[name] = what
        elif len(value) > limit:
            problems[name] = Problem(N_("%(n)s characters at most"), n=limit)
    for name, what in STATEMENTS.items():
        if not getattr(data, name):
            problems[name] = what
    if problems:
        raise IncompleteComplaint(problems)


def add_business_days(start: datetime, days: int) -> datetime:
    """`days` working days (Monday to Friday) after `start`, at the same time of day."""
    out = start
    left = days
    while left > 0:
        out += timedelta(days=1)
        if out.weekday() < 5:
            left -= 1
    return out


def is_copyright(s: Session, decision: Decision) -> Notice | None:
    """The copyright notice behind a decision: only those can be counter-noticed."""
    if decision.notice_id is None:
        return None
    notice = s.get(Notice, decision.notice_id)
    return notice if notice is not None and notice.category == Category.copyright else None


def file_counter_notice(
    s: Session, settings: Settings, user: User, st: Statement, data: CounterNoticeIn
) -> tuple[Complaint, Outbox]:
    validate(data)
    notice = is_copyright(s, st.decision)
    if notice is None:
        raise Conflict("A counter-notice answers a copyright notice; this decision did not come "
                       "from one: send a complaint instead.")  # fmt: skip
    check_can_contest(s, st)
    now = utcnow()
    details = {k: getattr(data, k) for k in (*TEXT_FIELDS, *STATEMENTS)}
    c = Complaint(
        ref=new_ref("C"), kind="counter_notice", decision_id=st.decision_id, user_id=user.id,
        text=data.identification, details=details,
        restore_after=add_business_days(now, settings.counter_notice_business_days),
        created_at=now,
    )  # fmt: skip
    s.add(c)
    s.flush()
    audit.record(s, user, "counter_notice.received", f"complaint:{c.ref}",
                 after={"decision": st.decision.ref, "notice": notice.ref,
                        "restore_after": iso(c.restore_after)})  # fmt: skip
    from partage.moderation.complaint_messages import counter_notice_forwarded

    out = Outbox()
    out.add(counter_notice_forwarded(notice, st.decision, c))
    return c, out


def report_court_action(s: Session, notice: Notice, text: Any) -> list[Complaint]:
    """The notifier filed an action seeking a court order: the counter-noticed content stays
    down (512(g)(2)(C)). Applies to every counter-notice still waiting on this notice."""
    statement = _clean(text)
    if not statement:
        raise IncompleteComplaint(
            {"statement": N_("required: the court, the parties and the case number")}
        )
    if len(statement) > MAX_TEXT:
        raise IncompleteComplaint(
            {"statement": Problem(N_("%(n)s characters at most"), n=MAX_TEXT)}
        )
    waiting = list(
        s.scalars(
            select(Complaint)
            .join(Decision, Decision.id == Complaint.decision_id)
            .where(
                Decision.notice_id == notice.id,
                Complaint.kind == "counter_notice",
                Complaint.status == ComplaintStatus.open,
            )
        )
    )
    if not waiting:
        raise Conflict("No counter-notice on this notice is waiting for a court action.")
    now = utcnow()
    for c in waiting:
        c.status = ComplaintStatus.court_action
        c.details = {**c.details, "court_action": statement, "court_action_at": iso(now)}
        c.decided_at = now
        audit.record(s, None, "counter_notice.court_action", f"complaint:{c.ref}",
                     reason=statement[:500], after={"notice": notice.ref})  # fmt: skip
    s.flush()
    return waiting


def restore_due(
    s: Session, settings: Settings, now: datetime | None = None, *, limit: int = 100
) -> tuple[list[Complaint], Outbox]:
    """Restore the content of counter-notices whose waiting period is over at `now`."""
    now = now or utcnow()
    due = list(
        s.scalars(
            select(Complaint)
            .where(
                Complaint.kind == "counter_notice",
                Complaint.status == ComplaintStatus.open,
                Complaint.restore_after <= now,
            )
            .order_by(Complaint.restore_after, Complaint.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    out = Outbox()
    for c in due:
        decision = s.get(Decision, c.decision_id)
        assert decision is not None
        if decision.reversed_at is None:
            out.extend(
                reverse(s, settings, None, decision, source="counter_notice",
                        reason="The notifier reported no court action within the waiting "
                               "period after the counter-notice.").outbox
            )  # fmt: skip
        c.status, c.decided_at = ComplaintStatus.restored, now
        audit.record(s, None, "counter_notice.restored", f"complaint:{c.ref}",
                     after={"decision": decision.ref, "at": iso(now)})  # fmt: skip
    s.flush()
    return due, out
