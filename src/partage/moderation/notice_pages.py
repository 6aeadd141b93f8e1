"""The pages of the notice procedure: the public report form and receipt, and the
moderators' queue and decision form."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from partage.bounds import Offset
from partage.deps import Address, BaseUrl, Ctx, MailBaseUrl, check_csrf, resolve_auth
from partage.errors import BadRequest, IncompleteNotice, PartageError
from partage.files.download import direct_url
from partage.files.models import File, FileStatus
from partage.files.preview import preview_kind
from partage.moderation import decisions, notices, review
from partage.moderation.access import form_moderator, page_moderator
from partage.moderation.decisions import DecisionIn
from partage.moderation.intake import receive
from partage.moderation.messages import OUTCOME
from partage.moderation.models import Action, Bank, Category, NoticeStatus
from partage.moderation.receipts import receipt
from partage.web.i18n import N_
from partage.web.origin import check_origin
from partage.web.templating import error_text, render, request_language, translate

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}

CATEGORIES = {
    Category.copyright.value: N_("It infringes copyright"),
    Category.illegal.value: N_("It is illegal for another reason"),
    Category.terms.value: N_("It breaks the terms of service"),
    Category.malware.value: N_("It is malware"),
    Category.child_safety.value: N_("It shows the sexual abuse of a child"),
}
STATUSES = {
    NoticeStatus.open.value: N_("Waiting for a decision"),
    NoticeStatus.actioned.value: N_("Action taken"),
    NoticeStatus.kept.value: N_("Content kept"),
    NoticeStatus.rejected.value: N_("Rejected as unfounded"),
}
ACTIONS = {
    Action.disable.value: N_("Disable the named files"),
    Action.disable_blob.value: N_("Disable every file with the same content"),
    Action.keep.value: N_("Keep the content"),
    Action.reject.value: N_("Reject the notice as manifestly unfounded"),
    Action.suspend.value: N_("Disable the files and suspend the uploader's account"),
}


# -- the public form -------------------------------------------------------------------------


def _report_page(
    request: Request, form: dict[str, Any], problems: dict[str, str], error: str | None = None
) -> Response:
    status = 422 if problems else (400 if error else 200)
    return render(
        request,
        "report.html",
        {"form": form, "problems": problems, "error": error,
         "categories": list(CATEGORIES.items())},
        status=status, headers=NO_STORE,
    )  # fmt: skip


@router.get("/report")
def report_form(request: Request, location: str = "", category: str = "") -> Response:
    form = {"locations": location[:2048], "category": category}
    return _report_page(request, form, {})


@router.post("/report")
def report_submit(
    request: Request,
    ctx: Ctx,
    address: Address,
    base: MailBaseUrl,
    category: Annotated[str, Form(max_length=32)] = "",
    locations: Annotated[str, Form(max_length=200_000)] = "",
    explanation: Annotated[str, Form(max_length=20_000)] = "",
    work: Annotated[str, Form(max_length=20_000)] = "",
    legal_ground: Annotated[str, Form(max_length=20_000)] = "",
    notifier_name: Annotated[str, Form(max_length=1000)] = "",
    notifier_email: Annotated[str, Form(max_length=1000)] = "",
    good_faith: Annotated[str, Form(max_length=8)] = "",
    accurate: Annotated[str, Form(max_length=8)] = "",
    signature: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_origin(request, ctx)
    form = {
        "category": category, "locations": locations, "explanation": explanation, "work": work,
        "legal_ground": legal_ground, "notifier_name": notifier_name,
        "notifier_email": notifier_email, "good_faith": good_faith == "true",
        "accurate": accurate == "true", "signature": signature,
    }  # fmt: skip
    data = notices.NoticeIn(
        category=category.strip() or None,
        locations=notices.split_locations(locations),
        explanation=explanation.strip(),
        work=work.strip(),
        legal_ground=legal_ground.strip(),
        notifier_name=notifier_name.strip(),
        notifier_email=notifier_email.strip(),
        good_faith=good_faith == "true",
        accurate=accurate == "true",
        signature=signature.strip(),
    )
    # A logged-in trusted flagger's notice counts as theirs only with the session's token.
    auth = resolve_auth(request, ctx)
    notifier = None
    if auth.user is not None and csrf_token:
        check_csrf(request, auth, csrf_token)
        notifier = auth.user
    try:
        ref = receive(ctx, data, source="form", notifier=notifier, address=address, base=base,
                      locale=request_language(request))  # fmt: skip
    except IncompleteNotice as e:
        problems = {k: _problem_text(request, v) for k, v in e.fields.items()}
        return _report_page(request, form, problems)
    except PartageError as e:
        if e.status == 429:
            raise
        return _report_page(request, form, {}, error_text(request, e))
    return RedirectResponse(f"/report/{ref}?sent=1", status_code=303)


def _problem_text(request: Request, problem: str) -> str:
    template = getattr(problem, "template", None)
    if template is None:
        return problem
    params = getattr(problem, "params", {})
    try:
        return translate(request, template) % params if params else translate(request, template)
    except (KeyError, ValueError, TypeError):
        return problem


@router.get("/report/{ref}")
def receipt_page(ref: str, request: Request, ctx: Ctx, sent: Offset = 0) -> Response:
    with ctx.db.session() as s:
        notice = notices.get_by_ref(s, ref)
        r = receipt(s, notice, ctx.settings.complaint_window_days)
        outcome = OUTCOME.get(r.decision.action, "") if r.decision is not None else ""
        return render(
            request,
            "report_receipt.html",
            {"notice": notice, "r": r, "sent": bool(sent), "outcome": outcome,
             "category_label": CATEGORIES[notice.category.value],
             "status_label": STATUSES[notice.status.value]},
            headers={**NO_STORE, "Referrer-Policy": "no-referrer"},
        )  # fmt: skip


# -- moderators ------------------------------------------------------------------------------


@router.get("/moderation")
def queue_page(request: Request, ctx: Ctx, status: str = "open") -> Response:
    who = page_moderator(request, ctx)
    if isinstance(who, Response):
        return who
    chosen: NoticeStatus | None = None
    if status != "all":
        try:
            chosen = NoticeStatus(status)
        except ValueError:
            raise BadRequest("Unknown state: %(state)s.", state=status) from None
    with ctx.db.session() as s:
        items = notices.queue(s, status=chosen, limit=200)
        return render(
            request,
            "moderation_queue.html",
            {"items": items, "status": status, "categories": CATEGORIES,
             "status_labels": STATUSES,
             "statuses": [*STATUSES.items(), ("all", N_("All"))]},
            headers=NO_STORE,
        )  # fmt: skip


def _notice_page(
    request: Request, ctx: Ctx, ref: str, address: str, base: str, error: str | None = None
) -> Response:
    with ctx.db.session() as s:
        notice = notices.get_by_ref(s, ref)
        views = review.notice_files(s, notice)
        previews = {}
        for v in views:
            f = v.file
            if f.status == FileStatus.active and f.blob is not None:
                kind = preview_kind(f.blob.mime, f.size)
                if kind is not None:
                    previews[f.code] = (kind, direct_url(ctx, base, f, owner=True,
                                                         address=address, inline=True))  # fmt: skip
        made = decisions.for_notice(s, notice)
        banks = list(s.scalars(select(Bank).order_by(Bank.name)))
        return render(
            request,
            "moderation_notice.html",
            {"notice": notice, "files": views, "previews": previews, "decisions": made,
             "banks": banks, "categories": CATEGORIES, "status_labels": STATUSES,
             "actions": list(ACTIONS.items()), "error": error},
            status=400 if error else 200, headers=NO_STORE,
        )  # fmt: skip


@router.get("/moderation/notices/{ref}")
def notice_page(ref: str, request: Request, ctx: Ctx, address: Address, base: BaseUrl) -> Response:
    who = page_moderator(request, ctx)
    if isinstance(who, Response):
        return who
    return _notice_page(request, ctx, ref, address, base)


@router.post("/moderation/notices/{ref}/decide")
async def decide_page(
    ref: str,
    request: Request,
    ctx: Ctx,
    address: Address,
    base: BaseUrl,
    mail_base: MailBaseUrl,
) -> Response:
    form = await request.form()
    moderator = form_moderator(request, ctx, str(form.get("csrf_token") or ""))
    try:
        with ctx.db.session() as s:
            notice = notices.get_by_ref(s, ref)
            codes = [str(c) for c in form.getlist("files")]
            file_ids = None
            if codes:
                file_ids = list(s.scalars(select(File.id).where(File.code.in_(codes))))
            until = None
            if form.get("until"):
                try:
                    day = datetime.strptime(str(form.get("until")), "%Y-%m-%d")
                except ValueError:
                    raise BadRequest("The end date is not a date.") from None
                until = day.replace(tzinfo=UTC)
            bank = str(form.get("bank_id") or "")
            inp = DecisionIn(
                action=decisions.parse_action(form.get("action")),
                ground=str(form.get("ground") or "law"),
                legal_ground=str(form.get("legal_ground") or "")[:10_000],
                facts=str(form.get("facts") or "")[:10_000],
                file_ids=file_ids,
                until=until,
                bank_id=int(bank) if bank.isdigit() else None,
            )
            out = decisions.decide(s, ctx.settings, moderator, inp, notice=notice)
    except PartageError as e:
        if e.status not in (400, 409):
            raise
        return _notice_page(request, ctx, ref, address, base, error_text(request, e))
    out.outbox.send(ctx.settings, mail_base)
    return RedirectResponse(
        f"/moderation/notices/{ref}?" + urlencode({"decided": out.decision.ref}), status_code=303
    )
