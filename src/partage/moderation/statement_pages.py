"""Statements of reasons in the account (DSA Art. 17): the list, each statement as it was
issued, and the complaint and counter-notice forms while the decision can be contested."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from partage.accounts.models import User
from partage.accounts.web import NO_STORE, web_user
from partage.db import iso
from partage.deps import Ctx, mail_base_url
from partage.errors import IncompleteComplaint, PartageError
from partage.moderation import complaints, counter_notices, statements
from partage.moderation.models import ComplaintStatus, Decision, Statement
from partage.web import i18n
from partage.web.i18n import N_
from partage.web.redirects import login_url
from partage.web.templating import error_text, render, request_language, translate

router = APIRouter(include_in_schema=False)

DONE = {
    "complaint": N_("Your complaint was received. A person will review the decision and "
                    "answer you by e-mail."),
    "counter-notice": N_("Your counter-notice was received and forwarded to the notifier. The "
                         "content will be restored after the waiting period unless they report "
                         "a court action."),
}  # fmt: skip
STATUS = {
    ComplaintStatus.open: N_("open: waiting for a person's review"),
    ComplaintStatus.upheld: N_("decided: the decision stands"),
    ComplaintStatus.reversed: N_("decided: the decision was reversed"),
    ComplaintStatus.restored: N_("the content was restored after the waiting period"),
    ComplaintStatus.court_action: N_("the notifier reported a court action: the content stays "
                                     "down"),
}  # fmt: skip
KIND = {"complaint": N_("Complaint"), "counter_notice": N_("Counter-notice")}


def field_errors(request: Request, exc: IncompleteComplaint) -> dict[str, str]:
    """Each field's problem in the reader's language."""
    out = {}
    for name, problem in exc.fields.items():
        template = getattr(problem, "template", problem)
        out[name] = translate(request, template) % getattr(problem, "params", {})
    return out


def statement_view(request: Request, s: Session, st: Statement) -> dict[str, Any]:
    found = complaints.of_decision(s, st.decision_id, user_id=st.user_id)
    can = complaints.contestable(st) and complaints.window_open(st.complaint_until)
    with i18n.using(request_language(request)):
        rows = statements.lines(st.content, iso(st.complaint_until) or "")
        kinds = {c.ref: i18n.gettext(KIND.get(c.kind, c.kind)) for c in found}
        states = {c.ref: i18n.gettext(STATUS[c.status]) for c in found}
    return {
        "st": st,
        "rows": rows,
        "complaints": found,
        "kinds": kinds,
        "states": states,
        "can_complain": can and not any(c.status == ComplaintStatus.open for c in found),
        "can_counter_notice": can and counter_notices.is_copyright(s, st.decision) is not None,
        "counter_fields": counter_notices.TEXT_FIELDS,
    }


def _user(request: Request, ctx: Ctx) -> User | None:
    return web_user(request, ctx)


@router.get("/account/statements")
def statements_page(request: Request, ctx: Ctx, decision: str = "") -> Response:
    user = _user(request, ctx)
    if user is None:
        return RedirectResponse(login_url(request), status_code=303)
    with ctx.db.read() as s:
        items = statements.for_user(s, user)
        if decision:
            wanted = decision.strip().upper()[:32]
            ids = set(s.scalars(select(Decision.id).where(Decision.ref == wanted)))
            items = [st for st in items if st.decision_id in ids]
            if len(items) == 1:  # the link from a disabled file: straight to its statement
                return RedirectResponse(f"/account/statements/{items[0].ref}", status_code=303)
    return render(request, "account_statements.html", {"items": items, "decision": decision},
                  headers=NO_STORE)  # fmt: skip


def _statement_page(
    request: Request, ctx: Ctx, user: User, ref: str, status: int = 200, **extra: Any
) -> Response:
    with ctx.db.read() as s:
        data = statement_view(request, s, statements.get_for_user(s, user, ref))
    done = DONE.get(request.query_params.get("done", ""))
    data["flash"] = translate(request, done) if done else None
    return render(request, "account_statement.html", {**data, **extra}, status, NO_STORE)


@router.get("/account/statements/{ref}")
def statement_page(ref: str, request: Request, ctx: Ctx) -> Response:
    user = _user(request, ctx)
    if user is None:
        return RedirectResponse(login_url(request), status_code=303)
    return _statement_page(request, ctx, user, ref)


def _form_user(request: Request, ctx: Ctx, csrf_token: str) -> User:
    from partage.errors import Forbidden

    user = web_user(request, ctx, csrf_token)
    if user is None:
        raise Forbidden("Log in again: your session has ended.")
    return user


@router.post("/account/statements/{ref}/complaint")
def complaint_form(
    ref: str, request: Request, ctx: Ctx,
    csrf_token: Annotated[str, Form()] = "",
    text: Annotated[str, Form(max_length=complaints.MAX_TEXT + 1)] = "",
) -> Response:  # fmt: skip
    user = _form_user(request, ctx, csrf_token)
    try:
        with ctx.db.session() as s:
            st = statements.get_for_user(s, user, ref)
            complaints.file_complaint(s, user, st, text)
    except IncompleteComplaint as exc:
        errors = field_errors(request, exc)
        return _statement_page(request, ctx, user, ref, exc.status, form="complaint",
                               errors=errors, values={"text": text})  # fmt: skip
    except PartageError as exc:
        if exc.status == 404:
            raise
        return _statement_page(request, ctx, user, ref, exc.status, form="complaint",
                               error=error_text(request, exc), values={"text": text})  # fmt: skip
    return RedirectResponse(f"/account/statements/{ref}?done=complaint", status_code=303)


@router.post("/account/statements/{ref}/counter-notice")
async def counter_notice_form(ref: str, request: Request, ctx: Ctx) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and len(v) <= 20_000}
    return await run_in_threadpool(_counter_notice, ref, request, ctx, values)


def _counter_notice(ref: str, request: Request, ctx: Ctx, values: dict[str, str]) -> Response:
    user = _form_user(request, ctx, values.get("csrf_token", ""))
    data = counter_notices.from_mapping(values, checkbox=True)
    try:
        with ctx.db.session() as s:
            st = statements.get_for_user(s, user, ref)
            _, outbox = counter_notices.file_counter_notice(s, ctx.settings, user, st, data)
    except IncompleteComplaint as exc:
        return _statement_page(request, ctx, user, ref, exc.status, form="counter",
                               errors=field_errors(request, exc), values=values)  # fmt: skip
    except PartageError as exc:
        if exc.status == 404:
            raise
        return _statement_page(request, ctx, user, ref, exc.status, form="counter",
                               error=error_text(request, exc), values=values)  # fmt: skip
    outbox.send(ctx.settings, mail_base_url(request, ctx.settings))
    return RedirectResponse(f"/account/statements/{ref}?done=counter-notice", status_code=303)
