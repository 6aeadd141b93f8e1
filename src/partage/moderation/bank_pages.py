"""Moderators' staydown pages: the banks (list, create, entries, import, export) and the
bank matches queued for review (disable or dismiss). Plain forms with a CSRF token."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from partage.bounds import Cursor, Id
from partage.deps import Ctx, MailBaseUrl
from partage.errors import BadRequest, InvalidHashList, PartageError
from partage.moderation import bank_review, banks, screening
from partage.moderation.access import form_moderator, page_moderator
from partage.web.bodylimit import FORM_OVERHEAD, body_limit
from partage.web.i18n import N_
from partage.web.templating import error_text, render, translate

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}
MAX_LIST = 64 * 1024 * 1024

DONE = {
    "created": N_("The bank was created."),
    "imported": N_("The hash list was imported."),
    "deleted": N_("The entry was deleted."),
    "disabled": N_("The content was disabled; its uploaders were sent a statement of reasons."),
    "dismissed": N_("The match was dismissed."),
}
ON_MATCH = {
    "review": N_("Queue matches for review"),
    "disable": N_("Disable matching content automatically"),
}


def _flash(request: Request) -> str | None:
    done = DONE.get(request.query_params.get("done", ""))
    return translate(request, done) if done else None


def _banks_page(
    request: Request, ctx: Ctx, error: str | None = None, status: int = 200
) -> Response:
    who = page_moderator(request, ctx)
    if isinstance(who, Response):
        return who
    with ctx.db.read() as s:
        items = banks.list_banks(s, who)
        return render(
            request, "moderation_banks.html",
            {"here": "banks", "flash": _flash(request), "items": items, "error": error,
             "on_match": ON_MATCH},
            status=status, headers=NO_STORE,
        )  # fmt: skip


@router.get("/moderation/banks")
def banks_page(request: Request, ctx: Ctx) -> Response:
    return _banks_page(request, ctx)


@router.post("/moderation/banks")
async def create_bank(request: Request, ctx: Ctx) -> Response:
    form = await request.form()
    moderator = form_moderator(request, ctx, str(form.get("csrf_token") or ""))
    try:
        with ctx.db.session() as s:
            bank = banks.create_bank(
                s, moderator, name=str(form.get("name") or ""),
                source=str(form.get("source") or ""),
                on_match=str(form.get("on_match") or "review"),
                owner_email=str(form.get("owner") or "") or None,
            )  # fmt: skip
            bank_id = bank.id
    except PartageError as e:
        if e.status not in (400, 409):
            raise
        return _banks_page(request, ctx, error_text(request, e), e.status)
    return RedirectResponse(f"/moderation/banks/{bank_id}?done=created", status_code=303)


def _bank_page(
    request: Request, ctx: Ctx, bank_id: Id, after: Cursor = 0, error: str | None = None,
    status: int = 200, bad_lines: dict[int, str] | None = None,
) -> Response:  # fmt: skip
    who = page_moderator(request, ctx)
    if isinstance(who, Response):
        return who
    with ctx.db.read() as s:
        bank = banks.get_bank(s, who, bank_id)
        found = [x for x in banks.list_banks(s, who) if x[0].id == bank.id]
        entries = banks.list_entries(s, bank, after=after, limit=banks.PAGE)
        refs = {e.id: (banks.entry_json(e)["notice"] or banks.entry_json(e)["decision"])
                for e in entries}  # fmt: skip
        return render(
            request, "moderation_bank.html",
            {"here": "banks", "flash": _flash(request), "bank": bank,
             "count": found[0][1] if found else 0, "owner": found[0][2] if found else None,
             "entries": entries, "refs": refs, "on_match": ON_MATCH, "error": error,
             "bad_lines": sorted((bad_lines or {}).items()),
             "next": entries[-1].id if len(entries) == banks.PAGE else None},
            status=status, headers=NO_STORE,
        )  # fmt: skip


@router.get("/moderation/banks/{bank_id}")
def bank_page(bank_id: Id, request: Request, ctx: Ctx, after: Cursor = 0) -> Response:
    return _bank_page(request, ctx, bank_id, after)


@router.post("/moderation/banks/{bank_id}/import")
@body_limit(MAX_LIST + FORM_OVERHEAD)
async def import_page(bank_id: Id, request: Request, ctx: Ctx) -> Response:
    form = await request.form()
    moderator = form_moderator(request, ctx, str(form.get("csrf_token") or ""))
    f = form.get("file")
    try:
        if not isinstance(f, UploadFile):
            raise BadRequest("No file in the form: send the list as the 'file' field.")
        data = await f.read(MAX_LIST + 1)
        if len(data) > MAX_LIST:
            raise BadRequest("A hash list is %(n)s MiB at most.", n=MAX_LIST >> 20)
        entries = banks.parse_list(data, f.content_type or "")

        def add() -> int:
            with ctx.db.session() as s:
                bank = banks.get_bank(s, moderator, bank_id)
                return len(banks.add_entries(s, moderator, bank, entries, how="import"))

        if await run_in_threadpool(add):
            screening.enqueue_backfill(ctx)
    except InvalidHashList as e:
        return _bank_page(request, ctx, bank_id, error=error_text(request, e), status=422,
                          bad_lines=e.lines)  # fmt: skip
    except PartageError as e:
        if e.status not in (400, 409, 413):
            raise
        return _bank_page(request, ctx, bank_id, error=error_text(request, e), status=e.status)
    return RedirectResponse(f"/moderation/banks/{bank_id}?done=imported", status_code=303)


@router.post("/moderation/banks/{bank_id}/entries/{entry_id}/delete")
async def delete_entry_page(bank_id: Id, entry_id: Id, request: Request, ctx: Ctx) -> Response:
    form = await request.form()
    moderator = form_moderator(request, ctx, str(form.get("csrf_token") or ""))
    with ctx.db.session() as s:
        bank = banks.get_bank(s, moderator, bank_id)
        banks.delete_entry(s, moderator, bank, entry_id, str(form.get("reason") or "")[:2000])
    return RedirectResponse(f"/moderation/banks/{bank_id}?done=deleted", status_code=303)


# -- matches --------------------------------------------------------------------------------


def _matches_page(
    request: Request, ctx: Ctx, error: str | None = None, status: int = 200
) -> Response:
    who = page_moderator(request, ctx)
    if isinstance(who, Response):
        return who
    outcome = request.query_params.get("outcome", "queued")
    with ctx.db.read() as s:
        views = bank_review.list_matches(s, outcome=None if outcome == "all" else outcome)
        data: dict[str, Any] = {"here": "matches", "flash": _flash(request), "views": views,
                                "outcome": outcome, "error": error}  # fmt: skip
        return render(request, "moderation_matches.html", data, status=status, headers=NO_STORE)


@router.get("/moderation/matches")
def matches_page(request: Request, ctx: Ctx) -> Response:
    return _matches_page(request, ctx)


@router.post("/moderation/matches/{match_id}/decide")
async def decide_match_page(
    match_id: Id, request: Request, ctx: Ctx, base: MailBaseUrl
) -> Response:
    form = await request.form()
    moderator = form_moderator(request, ctx, str(form.get("csrf_token") or ""))
    action = str(form.get("action") or "")
    try:
        with ctx.db.session() as s:
            out = bank_review.decide_match(
                s, ctx.settings, moderator, match_id, action,
                legal_ground=str(form.get("legal_ground") or "")[:10_000],
                facts=str(form.get("facts") or "")[:10_000],
            )  # fmt: skip
    except PartageError as e:
        if e.status not in (400, 409):
            raise
        return _matches_page(request, ctx, error_text(request, e), e.status)
    if out is not None:
        out.outbox.send(ctx.settings, base)
    done = "disabled" if out is not None else "dismissed"
    return RedirectResponse("/moderation/matches?" + urlencode({"done": done}), status_code=303)
