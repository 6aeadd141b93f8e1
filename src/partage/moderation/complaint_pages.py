"""Pages: a notifier's complaint and court action (from the notice's receipt page, the
tracking reference being the credential), and the moderators' complaint queue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from partage.accounts.models import User
from partage.deps import Ctx, mail_base_url
from partage.errors import IncompleteComplaint, PartageError
from partage.files.models import File
from partage.moderation import complaints, counter_notices, statements
from partage.moderation.access import form_moderator, page_moderator
from partage.moderation.models import Complaint, Decision, Notice, Statement
from partage.moderation.notices import get_by_ref
from partage.moderation.statement_pages import KIND, STATUS, field_errors
from partage.web.i18n import N_
from partage.web.origin import check_origin
from partage.web.templating import error_text, render, translate

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
FLASH = {
    "uphold": N_("The complaint was decided: the decision stands. The complainant was told."),
    "reverse": N_("The complaint was decided: the decision was reversed. The complainant was "
                  "told."),
}  # fmt: skip


def _sent(request: Request, notice: Notice, message: str) -> Response:
    return render(request, "complaint_received.html",
                  {"notice": notice, "message": translate(request, message)},
                  headers=NO_STORE)  # fmt: skip


@router.post("/report/{ref}/complaint")
def notifier_complaint(
    ref: str, request: Request, ctx: Ctx,
    text: Annotated[str, Form(max_length=complaints.MAX_TEXT + 1)] = "",
) -> Response:  # fmt: skip
    """The form on the receipt page: field `text`."""
    check_origin(request, ctx)
    with ctx.db.session() as s:
        notice = get_by_ref(s, ref)
        complaints.file_notifier_complaint(s, ctx.settings, notice, text)
    return _sent(request, notice, N_("Your complaint was received. A person will review the "
                                     "decision; we will send the answer to your e-mail "
                                     "address."))  # fmt: skip


def _court_page(request: Request, notice: Notice, status: int = 200, **extra: Any) -> Response:
    return render(request, "report_court_action.html", {"notice": notice, **extra}, status,
                  NO_STORE)  # fmt: skip


@router.get("/report/{ref}/court-action")
def court_action_page(ref: str, request: Request, ctx: Ctx) -> Response:
    with ctx.db.read() as s:
        notice = get_by_ref(s, ref)
    return _court_page(request, notice)


@router.post("/report/{ref}/court-action")
def court_action_form(
    ref: str, request: Request, ctx: Ctx,
    statement: Annotated[str, Form(max_length=complaints.MAX_TEXT + 1)] = "",
) -> Response:  # fmt: skip
    check_origin(request, ctx)
    with ctx.db.read() as s:
        notice = get_by_ref(s, ref)
    try:
        with ctx.db.session() as s:
            counter_notices.report_court_action(s, get_by_ref(s, ref), statement)
    except IncompleteComplaint as exc:
        return _court_page(request, notice, exc.status, errors=field_errors(request, exc),
                           statement=statement)  # fmt: skip
    except PartageError as exc:
        return _court_page(request, notice, exc.status, error=error_text(request, exc),
                           statement=statement)  # fmt: skip
    return _sent(request, notice, N_("We recorded your court action: the content stays "
                                     "disabled."))  # fmt: skip


# -- moderators ------------------------------------------------------------------------------


@router.get("/moderation/complaints")
def queue_page(request: Request, ctx: Ctx) -> Response:
    mod = page_moderator(request, ctx)
    if not isinstance(mod, User):
        return mod
    with ctx.db.read() as s:
        items = complaints.queue(s, limit=200)
        decisions = {d.id: d for d in (s.get(Decision, c.decision_id) for c in items) if d}
    return render(request, "moderation_complaints.html",
                  {"items": items, "decisions": decisions, "here": "complaints",
                   "kinds": {c.ref: translate(request, KIND[c.kind]) for c in items},
                   "states": {c.ref: translate(request, STATUS[c.status]) for c in items}},
                  headers=NO_STORE)  # fmt: skip


def _detail(request: Request, ctx: Ctx, ref: str, status: int = 200, **extra: Any) -> Response:
    with ctx.db.read() as s:
        c = complaints.get(s, ref)
        decision = s.get(Decision, c.decision_id)
        assert decision is not None
        notice = s.get(Notice, c.notice_id or decision.notice_id or 0)
        sts = list(s.scalars(select(Statement).where(Statement.decision_id == decision.id)))
        targets = [s.get(File, t.file_id) for t in decision.targets if t.file_id is not None]
        rows = [(st, _lines(request, st)) for st in sts if c.user_id in (None, st.user_id)]
        complainant = s.get(User, c.user_id) if c.user_id is not None else None
    flash = FLASH.get(request.query_params.get("done", ""))
    return render(request, "moderation_complaint.html",
                  {"c": c, "decision": decision, "notice": notice, "statements": rows,
                   "files": [f for f in targets if f is not None], "complainant": complainant,
                   "kind": translate(request, KIND[c.kind]),
                   "state": translate(request, STATUS[c.status]), "here": "complaints",
                   "flash": translate(request, flash) if flash else None, **extra},
                  status, NO_STORE)  # fmt: skip


def _lines(request: Request, st: Statement) -> list[tuple[str, str]]:
    from partage.db import iso
    from partage.web import i18n
    from partage.web.templating import request_language

    with i18n.using(request_language(request)):
        return statements.lines(st.content, iso(st.complaint_until) or "")


@router.get("/moderation/complaints/{ref}")
def complaint_page(ref: str, request: Request, ctx: Ctx) -> Response:
    mod = page_moderator(request, ctx)
    if not isinstance(mod, User):
        return mod
    return _detail(request, ctx, ref)


@router.post("/moderation/complaints/{ref}/decide")
def decide_page(
    ref: str, request: Request, ctx: Ctx,
    csrf_token: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form(max_length=16)] = "",
    answer: Annotated[str, Form(max_length=complaints.MAX_TEXT + 1)] = "",
) -> Response:  # fmt: skip
    mod = form_moderator(request, ctx, csrf_token)
    try:
        with ctx.db.session() as s:
            moderator = s.get(User, mod.id)
            assert moderator is not None
            c: Complaint = complaints.get(s, ref)
            outbox = complaints.decide(s, ctx.settings, moderator, c, outcome, answer)
    except IncompleteComplaint as exc:
        return _detail(request, ctx, ref, exc.status, errors=field_errors(request, exc),
                       answer=answer)  # fmt: skip
    except PartageError as exc:
        if exc.status == 404:
            raise
        return _detail(request, ctx, ref, exc.status, error=error_text(request, exc),
                       answer=answer)  # fmt: skip
    outbox.send(ctx.settings, mail_base_url(request, ctx.settings))
    return RedirectResponse(f"/moderation/complaints/{ref}?done={outcome}", status_code=303)
