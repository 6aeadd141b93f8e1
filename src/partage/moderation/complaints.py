"""Complaints against decisions (DSA Art. 20), from the affected account or the notifier,
and their decision by a person.

The uploader complains from a statement of reasons while its `complaint_until` lasts; a
notifier complains about a decision to keep (or to reject) their notice, with its tracking
reference as the credential, for as long. One open complaint at a time per statement and per
notice. A moderator upholds or reverses it with a reasoned answer, never an automated one:
a reversal of a restriction restores the files at once (`decisions.reverse`), a reversal of a
decision to keep reopens the notice for a new decision. Counter-notices are in
`counter_notices`; they share the `Complaint` row, its queue and its answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.db import iso, utcnow
from partage.errors import BadRequest, Conflict, Forbidden, IncompleteComplaint, NotFound
from partage.moderation import audit
from partage.moderation.decisions import RESTRICTING, reverse
from partage.moderation.models import (
    Action,
    Complaint,
    ComplaintStatus,
    Decision,
    Notice,
    NoticeStatus,
    Statement,
)
from partage.moderation.notices import Problem
from partage.moderation.outbox import Outbox
from partage.moderation.refs import new_ref
from partage.settings import Settings
from partage.web.i18n import N_

MAX_TEXT = 10_000
OUTCOMES = ("uphold", "reverse")


def _text(value: Any, field: str, what: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise IncompleteComplaint({field: what})
    if len(text) > MAX_TEXT:
        raise IncompleteComplaint({field: Problem(N_("%(n)s characters at most"), n=MAX_TEXT)})
    return text


def window_open(until: datetime, now: datetime | None = None) -> bool:
    return (now or utcnow()) < until


def open_complaint(s: Session, *, decision_id: int, user_id: int | None = None,
                   notice_id: int | None = None) -> Complaint | None:  # fmt: skip
    q = select(Complaint).where(
        Complaint.decision_id == decision_id, Complaint.status == ComplaintStatus.open
    )
    q = q.where(Complaint.user_id == user_id) if notice_id is None else q
    q = q.where(Complaint.notice_id == notice_id) if notice_id is not None else q
    return s.scalars(q.limit(1)).first()


def contestable(st: Statement) -> bool:
    """A statement of a restriction still in force (a restore has nothing to contest)."""
    return st.decision.action in RESTRICTING and st.decision.reversed_at is None


def check_can_contest(s: Session, st: Statement, now: datetime | None = None) -> None:
    if not contestable(st):
        raise Conflict("This decision is no longer in force: there is nothing to contest.")
    if not window_open(st.complaint_until, now):
        raise Forbidden(
            "The time to contest this decision ended on %(until)s.",
            until=st.complaint_until.strftime("%Y-%m-%d"),
        )
    if open_complaint(s, decision_id=st.decision_id, user_id=st.user_id) is not None:
        raise Conflict("A complaint about this decision is already open: wait for its answer.")


def file_complaint(s: Session, user: User, st: Statement, text: Any) -> Complaint:
    """The affected account's complaint, from its statement of reasons."""
    body = _text(text, "text", N_("required: why the decision is wrong"))
    check_can_contest(s, st)
    c = Complaint(
        ref=new_ref("C"), kind="complaint", decision_id=st.decision_id, user_id=user.id, text=body
    )
    s.add(c)
    s.flush()
    audit.record(s, user, "complaint.received", f"complaint:{c.ref}", reason=body[:500],
                 after={"decision": st.decision.ref, "statement": st.ref})  # fmt: skip
    return c


def notice_decision(s: Session, notice: Notice) -> Decision | None:
    """The decision that answered a notice (not a later restore)."""
    return s.scalars(
        select(Decision)
        .where(Decision.notice_id == notice.id, Decision.reverses_id.is_(None))
        .order_by(Decision.id.desc())
        .limit(1)
    ).first()


def notifier_window(settings: Settings, notice: Notice) -> datetime | None:
    """Until when the notifier may complain, when the notice was kept or rejected."""
    if notice.status not in (NoticeStatus.kept, NoticeStatus.rejected):
        return None
    if notice.decided_at is None:
        return None
    return notice.decided_at + timedelta(days=settings.complaint_window_days)


def file_notifier_complaint(s: Session, settings: Settings, notice: Notice, text: Any) -> Complaint:
    """A notifier contesting a decision to keep the content or to reject their notice."""
    body = _text(text, "text", N_("required: why the decision is wrong"))
    until = notifier_window(settings, notice)
    decision = notice_decision(s, notice)
    if until is None or decision is None or decision.action not in (Action.keep, Action.reject):
        raise Conflict("Only a decision to keep the content or to reject the notice can be "
                       "contested here.")  # fmt: skip
    if not window_open(until):
        raise Forbidden(
            "The time to contest this decision ended on %(until)s.",
            until=until.strftime("%Y-%m-%d"),
        )
    if open_complaint(s, decision_id=decision.id, notice_id=notice.id) is not None:
        raise Conflict("A complaint about this decision is already open: wait for its answer.")
    c = Complaint(
        ref=new_ref("C"), kind="complaint", decision_id=decision.id, user_id=notice.notifier_id,
        notice_id=notice.id, text=body,
    )  # fmt: skip
    s.add(c)
    s.flush()
    audit.record(s, None, "complaint.received", f"complaint:{c.ref}", reason=body[:500],
                 after={"decision": decision.ref, "notice": notice.ref})  # fmt: skip
    return c


def get(s: Session, ref: str) -> Complaint:
    c = s.scalar(select(Complaint).where(Complaint.ref == ref.strip().upper()))
    if c is None:
        raise NotFound("No complaint with this reference.")
    return c


def of_decision(s: Session, decision_id: int, *, user_id: int | None = None,
                notice_id: int | None = None) -> list[Complaint]:  # fmt: skip
    q = select(Complaint).where(Complaint.decision_id == decision_id)
    if notice_id is not None:
        q = q.where(Complaint.notice_id == notice_id)
    else:
        q = q.where(Complaint.user_id == user_id, Complaint.notice_id.is_(None))
    return list(s.scalars(q.order_by(Complaint.created_at, Complaint.id)))


def queue(s: Session, *, status: ComplaintStatus | None = None, limit: int = 100,
          offset: int = 0) -> list[Complaint]:  # fmt: skip
    """Open ones first, then the oldest first."""
    q = select(Complaint)
    if status is not None:
        q = q.where(Complaint.status == status)
    first = case((Complaint.status == ComplaintStatus.open, 0), else_=1)
    q = q.order_by(first, Complaint.created_at, Complaint.id)
    return list(s.scalars(q.limit(limit).offset(offset)))


def parse_outcome(value: Any) -> str:
    if value not in OUTCOMES:
        raise IncompleteComplaint({"outcome": N_("required: uphold or reverse")})
    return str(value)


def decide(
    s: Session, settings: Settings, moderator: User, c: Complaint, outcome: Any, answer: Any
) -> Outbox:
    """A person's decision on a complaint, with its reasons; mails go after commit."""
    outcome = parse_outcome(outcome)
    why = _text(answer, "answer", N_("required: the reasons for the decision"))
    if c.status != ComplaintStatus.open:
        raise Conflict("This complaint was decided already (%(status)s).", status=c.status.value)
    decision = s.get(Decision, c.decision_id)
    assert decision is not None
    if c.kind == "counter_notice" and outcome == "uphold":
        raise BadRequest("A counter-notice is not upheld or rejected: the content comes back "
                         "after the waiting period unless the notifier reports a court action. "
                         "You can restore it now with 'reverse'.")  # fmt: skip
    out = Outbox()
    before = {"status": c.status.value, "decision": decision.ref}
    if outcome == "reverse":
        if decision.action in RESTRICTING:
            if decision.reversed_at is None:
                out.extend(reverse(s, settings, moderator, decision, reason=why,
                                   source=c.kind).outbox)  # fmt: skip
        elif c.notice_id is not None:
            # A decision to keep or reject, contested by the notifier: the notice goes back
            # to the queue for a new decision.
            notice = s.get(Notice, c.notice_id)
            if notice is not None:
                notice.status, notice.decided_at = NoticeStatus.open, None
        c.status = ComplaintStatus.reversed
    else:
        c.status = ComplaintStatus.upheld
    c.answer, c.decided_by_id, c.decided_at = why, moderator.id, utcnow()
    audit.record(s, moderator, f"complaint.{c.status.value}", f"complaint:{c.ref}", reason=why,
                 before=before, after={"status": c.status.value})  # fmt: skip
    from partage.moderation.complaint_messages import complaint_answered

    out.add(complaint_answered(s, c, decision))
    s.flush()
    return out


def complaint_json(c: Complaint, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ref": c.ref,
        "kind": c.kind,
        "status": c.status.value,
        "text": c.text,
        "received_at": iso(c.created_at),
        "decided_at": iso(c.decided_at),
        "answer": c.answer,
        "restore_after": iso(c.restore_after),
    }
    if full:
        out["details"] = c.details
    return out
