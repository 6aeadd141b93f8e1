"""API: an account's statements of reasons and its complaints and counter-notices; a
notifier's complaint and court action (the notice's tracking reference is the credential);
the moderators' complaint queue and decisions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.bounds import Count, Offset
from partage.deps import ApiUser, Ctx, MailBaseUrl
from partage.moderation import complaints, counter_notices, statements
from partage.moderation.access import Moderator
from partage.moderation.models import ComplaintStatus, Decision, Statement
from partage.moderation.notices import get_by_ref

router = APIRouter(prefix="/api/v1", tags=["moderation"])
JsonBody = Annotated[dict[str, Any], Body()]


def statement_out(s: Session, st: Statement) -> dict[str, Any]:
    found = complaints.of_decision(s, st.decision_id, user_id=st.user_id)
    can = complaints.contestable(st) and complaints.window_open(st.complaint_until)
    return {
        **statements.statement_json(st),
        "can_complain": can and not any(c.status == ComplaintStatus.open for c in found),
        "can_counter_notice": can and counter_notices.is_copyright(s, st.decision) is not None,
        "complaints": [complaints.complaint_json(c) for c in found],
    }


@router.get("/statements")
def list_statements(user: ApiUser, ctx: Ctx) -> dict[str, Any]:
    """The statements of reasons sent to this account, newest first."""
    with ctx.db.read() as s:
        return {"items": [statement_out(s, st) for st in statements.for_user(s, user)]}


@router.get("/statements/{ref}")
def get_statement(ref: str, user: ApiUser, ctx: Ctx) -> dict[str, Any]:
    """One statement (this account's only: 404 for any other), with its complaints."""
    with ctx.db.read() as s:
        return statement_out(s, statements.get_for_user(s, user, ref))


@router.post("/statements/{ref}/complaints", status_code=201)
def complain(ref: str, body: JsonBody, user: ApiUser, ctx: Ctx) -> dict[str, Any]:
    """`{"text": "…"}`: contest the decision (DSA Art. 20), free, until `complaint_until`."""
    with ctx.db.session() as s:
        st = statements.get_for_user(s, user, ref)
        return complaints.complaint_json(complaints.file_complaint(s, user, st, body.get("text")))


@router.post("/statements/{ref}/counter-notices", status_code=201)
def counter_notice(
    ref: str, body: JsonBody, user: ApiUser, ctx: Ctx, base: MailBaseUrl
) -> dict[str, Any]:
    """A DMCA counter-notice: `signature`, `identification`, `name`, `address`, `phone`
    (text) and `good_faith`, `jurisdiction`, `service` (true); 422 names each missing one."""
    data = counter_notices.from_mapping(body)
    with ctx.db.session() as s:
        st = statements.get_for_user(s, user, ref)
        c, outbox = counter_notices.file_counter_notice(s, ctx.settings, user, st, data)
        out = complaints.complaint_json(c, full=True)
    outbox.send(ctx.settings, base)
    return out


@router.post("/notices/{ref}/complaints", status_code=201)
def notifier_complaint(ref: str, body: JsonBody, ctx: Ctx) -> dict[str, Any]:
    """`{"text": "…"}`: the notifier contests a decision to keep the content or to reject the
    notice; the tracking reference is the credential."""
    with ctx.db.session() as s:
        notice = get_by_ref(s, ref)
        c = complaints.file_notifier_complaint(s, ctx.settings, notice, body.get("text"))
        return complaints.complaint_json(c)


@router.post("/notices/{ref}/court-action")
def court_action(ref: str, body: JsonBody, ctx: Ctx) -> dict[str, Any]:
    """`{"statement": "…"}`: the notifier filed an action seeking a court order; the content
    counter-noticed stays down."""
    with ctx.db.session() as s:
        notice = get_by_ref(s, ref)
        done = counter_notices.report_court_action(s, notice, body.get("statement"))
        return {"items": [complaints.complaint_json(c) for c in done]}


def moderation_out(s: Session, c: Any) -> dict[str, Any]:
    decision = s.get(Decision, c.decision_id)
    return {
        **complaints.complaint_json(c, full=True),
        "decision": decision.ref if decision is not None else None,
        "decision_action": decision.action.value if decision is not None else None,
        "from_notifier": c.notice_id is not None,
    }


@router.get("/moderation/complaints")
def complaint_queue(
    mod: Moderator, ctx: Ctx, status: str | None = None, limit: Count = 100, offset: Offset = 0
) -> dict[str, Any]:
    """Open complaints and counter-notices first, oldest first; `status` filters."""
    wanted = ComplaintStatus(status) if status and status in ComplaintStatus.__members__ else None
    with ctx.db.read() as s:
        found = complaints.queue(s, status=wanted, limit=max(1, min(limit, 500)),
                                 offset=max(0, offset))  # fmt: skip
        return {"items": [moderation_out(s, c) for c in found]}


@router.get("/moderation/complaints/{ref}")
def complaint_detail(ref: str, mod: Moderator, ctx: Ctx) -> dict[str, Any]:
    with ctx.db.read() as s:
        return moderation_out(s, complaints.get(s, ref))


@router.post("/moderation/complaints/{ref}/decide")
def decide(ref: str, body: JsonBody, mod: Moderator, ctx: Ctx, base: MailBaseUrl) -> dict[str, Any]:
    """`{"outcome": "uphold"|"reverse", "answer": "…"}`: decided by a person, with reasons;
    a reversal restores the content at once. The complainant is mailed the answer."""
    with ctx.db.session() as s:
        moderator = s.get(User, mod.id)
        assert moderator is not None
        c = complaints.get(s, ref)
        outbox = complaints.decide(s, ctx.settings, moderator, c, body.get("outcome"),
                                   body.get("answer"))  # fmt: skip
        out = moderation_out(s, c)
    outbox.send(ctx.settings, base)
    return out
