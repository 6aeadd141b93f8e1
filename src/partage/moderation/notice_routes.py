"""The notice API: rights holders and others send notices; moderators decide them.

- `POST /api/v1/notices`: anyone (a token makes the notice a trusted flagger's when its
  account is one); 201 with the receipt; 422 naming each missing or invalid field.
- `GET /api/v1/notices/{ref}`: the receipt and, once decided, the decision (the reference
  is the credential, as on the receipt page).
- `/api/v1/moderation/…`: the queue, a notice with its files, decisions and reversals.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.bounds import Count, Offset
from partage.db import iso
from partage.deps import Address, BaseUrl, Ctx, MailBaseUrl, resolve_auth
from partage.errors import BadRequest
from partage.files.models import File
from partage.moderation import decisions, notices, review
from partage.moderation.access import Moderator
from partage.moderation.decisions import DecisionIn
from partage.moderation.intake import receive
from partage.moderation.models import Decision, NoticeStatus
from partage.moderation.receipts import receipt_json
from partage.web.i18n import N_
from partage.web.jsonbody import read_json

router = APIRouter(tags=["moderation"])


def _token_user(request: Request, ctx: Ctx) -> User | None:
    """A bearer token's account; a browser session is not used here (no CSRF on this path)."""
    auth = resolve_auth(request, ctx)
    return auth.user if auth.web_session is None else None


@router.post("/api/v1/notices", status_code=201)
async def post_notice(
    request: Request, ctx: Ctx, address: Address, base: BaseUrl, mail_base: MailBaseUrl
) -> Any:
    body = await read_json(request, N_("The body must be JSON: the notice's fields."))
    user = _token_user(request, ctx)
    data = notices.from_json(body)
    lang = body.get("language") if isinstance(body, dict) else None
    ref = receive(ctx, data, source="api", notifier=user, address=address, base=mail_base,
                  locale=lang if isinstance(lang, str) else None)  # fmt: skip
    with ctx.db.session() as s:
        out = receipt_json(s, notices.get_by_ref(s, ref), base)
    return JSONResponse(out, status_code=201, headers={"Location": f"/api/v1/notices/{ref}"})


@router.get("/api/v1/notices/{ref}")
def get_notice(ref: str, ctx: Ctx, base: BaseUrl) -> dict[str, Any]:
    with ctx.db.session() as s:
        return receipt_json(s, notices.get_by_ref(s, ref), base)


# -- moderators -----------------------------------------------------------------------------


def _status(value: str | None) -> NoticeStatus | None:
    if not value or value == "all":
        return None
    try:
        return NoticeStatus(value)
    except ValueError:
        raise BadRequest(
            "status: one of %(choices)s, or all.",
            choices=", ".join(x.value for x in NoticeStatus),
        ) from None


@router.get("/api/v1/moderation/notices")
def queue(
    moderator: Moderator, ctx: Ctx, status: str = "open", limit: Count = 50, offset: Offset = 0
) -> dict[str, Any]:
    limit = max(1, min(limit, 500))
    with ctx.db.session() as s:
        items = notices.queue(s, status=_status(status), limit=limit, offset=max(0, offset))
        return {"notices": [notices.notice_json(n, full=True) for n in items]}


@router.get("/api/v1/moderation/notices/{ref}")
def notice_detail(ref: str, moderator: Moderator, ctx: Ctx) -> dict[str, Any]:
    with ctx.db.session() as s:
        n = notices.get_by_ref(s, ref)
        return {
            **notices.notice_json(n, full=True),
            "files": [review.file_view_json(v) for v in review.notice_files(s, n)],
            "decisions": [decision_json(d) for d in decisions.for_notice(s, n)],
        }


def parse_until(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        d = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest("until: a date and time in ISO 8601, e.g. 2027-01-31T00:00:00Z.") from None
    if d.tzinfo is None:
        raise BadRequest("until: give the time zone, e.g. 2027-01-31T00:00:00Z.")
    return d


def decision_in(body: Any, s: Session) -> DecisionIn:
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    codes = body.get("files")
    file_ids = None
    if codes is not None:
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise BadRequest("files: a list of file codes.")
        rows = s.execute(select(File.code, File.id).where(File.code.in_(codes))).all()
        found = dict(rows)
        missing = [c for c in codes if c not in found]
        if missing:
            raise BadRequest("files: no file with the codes %(codes)s.", codes=", ".join(missing))
        file_ids = [found[c] for c in codes]
    bank = body.get("bank_id")
    if bank is not None and not isinstance(bank, int):
        raise BadRequest("bank_id: the id of a bank.")
    return DecisionIn(
        action=decisions.parse_action(body.get("action")),
        ground=str(body.get("ground") or "law"),
        legal_ground=str(body.get("legal_ground") or ""),
        facts=str(body.get("facts") or ""),
        file_ids=file_ids,
        until=parse_until(body.get("until")),
        bank_id=bank,
    )


@router.post("/api/v1/moderation/notices/{ref}/decide")
async def decide_notice(
    ref: str, request: Request, moderator: Moderator, ctx: Ctx, base: MailBaseUrl
) -> dict[str, Any]:
    body = await _json(request)
    with ctx.db.session() as s:
        notice = notices.get_by_ref(s, ref)
        out = decisions.decide(s, ctx.settings, moderator, decision_in(body, s), notice=notice)
        result = decision_json(out.decision)
    out.outbox.send(ctx.settings, base)
    return result


@router.post("/api/v1/moderation/decisions", status_code=201)
async def decide_files(
    request: Request, moderator: Moderator, ctx: Ctx, base: MailBaseUrl
) -> dict[str, Any]:
    """A decision of our own initiative on files named by code (no notice)."""
    body = await _json(request)
    with ctx.db.session() as s:
        inp = decision_in(body, s)
        if not inp.file_ids:
            raise BadRequest("files: the codes of the files the decision is about.")
        files = [f for f in (s.get(File, i) for i in inp.file_ids) if f is not None]
        inp.file_ids = None
        out = decisions.decide(s, ctx.settings, moderator, inp, files=files)
        result = decision_json(out.decision)
    out.outbox.send(ctx.settings, base)
    return result


@router.get("/api/v1/moderation/decisions/{ref}")
def get_decision(ref: str, moderator: Moderator, ctx: Ctx) -> dict[str, Any]:
    with ctx.db.session() as s:
        return decision_json(decisions.get_decision(s, ref))


@router.post("/api/v1/moderation/decisions/{ref}/reverse")
async def reverse(
    ref: str, request: Request, moderator: Moderator, ctx: Ctx, base: MailBaseUrl
) -> dict[str, Any]:
    body = await _json(request)
    reason = str(body.get("reason") or "").strip() if isinstance(body, dict) else ""
    if not reason:
        raise BadRequest("reason: say why the decision is reversed.")
    with ctx.db.session() as s:
        d = decisions.get_decision(s, ref)
        out = decisions.reverse(s, ctx.settings, moderator, d, reason=reason, source="moderator")
        result = decision_json(out.decision)
    out.outbox.send(ctx.settings, base)
    return result


async def _json(request: Request) -> Any:
    return await read_json(request)


def decision_json(d: Decision) -> dict[str, Any]:
    return {
        "ref": d.ref,
        "action": d.action.value,
        "source": d.source,
        "ground": d.ground,
        "legal_ground": d.legal_ground,
        "facts": d.facts,
        "automated": d.automated,
        "until": iso(d.until),
        "decided_at": iso(d.created_at),
        "reversed_at": iso(d.reversed_at),
        "files": [t.file.code for t in d.targets if t.file is not None],
    }
