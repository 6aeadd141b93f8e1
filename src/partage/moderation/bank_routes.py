"""The staydown API.

- `/api/v1/banks`: list (moderators see every bank, a rights holder its own), create
  (moderators), get; entries (list with paging, add, delete [moderators]); import and
  export of hash lists (CSV `kind,value,label` or JSON); reference files (fingerprinted,
  never stored).
- `/api/v1/moderation/matches`: bank matches queued for review, and the decision on one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from partage.bounds import Count, Cursor, Id
from partage.deps import ApiUser, Ctx, MailBaseUrl
from partage.errors import BadRequest, TooLarge
from partage.moderation import bank_review, banks, screening
from partage.moderation.access import Moderator
from partage.moderation.references import ReferenceFile
from partage.web.bodylimit import FORM_OVERHEAD, OWN_LIMIT, body_limit
from partage.web.jsonbody import read_json

router = APIRouter(tags=["staydown"])

MAX_LIST = 64 * 1024 * 1024  # an imported hash list, bytes
MAX_REFERENCE = 16 * 1024**3  # a reference file, bytes


async def _json(request: Request) -> Any:
    return await read_json(request)


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")


@router.get("/api/v1/banks")
def list_banks(user: ApiUser, ctx: Ctx) -> dict[str, Any]:
    with ctx.db.read() as s:
        return {
            "banks": [banks.bank_json(b, n, owner) for b, n, owner in banks.list_banks(s, user)]
        }


@router.post("/api/v1/banks", status_code=201)
async def create_bank(request: Request, moderator: Moderator, ctx: Ctx) -> dict[str, Any]:
    """`{name, source, on_match: "disable"|"review", owner: e-mail of a rights holder}`."""
    body = await _json(request)
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")

    def create() -> dict[str, Any]:
        with ctx.db.session() as s:
            bank = banks.create_bank(
                s, moderator, name=str(body.get("name") or ""),
                source=str(body.get("source") or ""),
                on_match=str(body.get("on_match") or "review"),
                owner_email=str(body["owner"]) if body.get("owner") else None,
            )  # fmt: skip
            return banks.bank_json(bank, 0)

    return await run_in_threadpool(create)


@router.get("/api/v1/banks/{bank_id}")
def get_bank(bank_id: Id, user: ApiUser, ctx: Ctx) -> dict[str, Any]:
    with ctx.db.read() as s:
        bank = banks.get_bank(s, user, bank_id)
        found = [x for x in banks.list_banks(s, user) if x[0].id == bank.id]
        return banks.bank_json(bank, found[0][1] if found else 0, found[0][2] if found else None)


@router.get("/api/v1/banks/{bank_id}/entries")
def list_entries(
    bank_id: Id, user: ApiUser, ctx: Ctx, after: Cursor = 0, limit: Count = 100,
    kind: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Oldest first; `after` (the last id seen) pages on, `next` is the next page's."""
    with ctx.db.read() as s:
        bank = banks.get_bank(s, user, bank_id)
        rows = banks.list_entries(s, bank, after=after, limit=limit, kind=kind)
        items = [banks.entry_json(e) for e in rows]
    more = len(items) == max(1, min(limit, 1000))
    return {"entries": items, "next": items[-1]["id"] if items and more else None}


def _add(ctx: Ctx, user: Any, bank_id: Id, entries: list[banks.EntryIn], how: str) -> int:
    with ctx.db.session() as s:
        bank = banks.get_bank(s, user, bank_id)
        n = len(banks.add_entries(s, user, bank, entries, how=how))
    if n:
        screening.enqueue_backfill(ctx)
    return n


@router.post("/api/v1/banks/{bank_id}/entries", status_code=201)
async def add_entries(request: Request, bank_id: Id, user: ApiUser, ctx: Ctx) -> dict[str, Any]:
    """`{"entries": [{kind, value, label}]}` or one `{kind, value, label}`; 422 names the
    bad items (numbered from 1). Entries the bank holds already are skipped."""
    body = await _json(request)
    if isinstance(body, dict) and "kind" in body:
        body = [body]
    entries = banks.parse_json(body)
    added = await run_in_threadpool(_add, ctx, user, bank_id, entries, "api")
    return {"added": added, "skipped": len(entries) - added}


@router.delete("/api/v1/banks/{bank_id}/entries/{entry_id}", status_code=204)
def delete_entry(
    bank_id: Id, entry_id: Id, moderator: Moderator, ctx: Ctx, reason: str = ""
) -> Response:
    with ctx.db.session() as s:
        bank = banks.get_bank(s, moderator, bank_id)
        banks.delete_entry(s, moderator, bank, entry_id, reason)
    return Response(status_code=204)


async def _body(request: Request, limit: int) -> tuple[bytes, str]:
    """A hash list sent raw or as the `file` field of a form; (bytes, media type)."""
    if _is_form(request):
        form = await request.form()
        f = form.get("file")
        if not isinstance(f, UploadFile):
            raise BadRequest("No file in the form: send the list as the 'file' field.")
        data = await f.read(limit + 1)
        ctype = f.content_type or ""
    else:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                break
            chunks.append(chunk)
        data, ctype = b"".join(chunks), request.headers.get("content-type", "")
    if len(data) > limit:
        raise TooLarge("A hash list is %(n)s MiB at most.", n=limit >> 20)
    return data, ctype


@router.post("/api/v1/banks/{bank_id}/import", status_code=201)
@body_limit(MAX_LIST + FORM_OVERHEAD)
async def import_list(request: Request, bank_id: Id, user: ApiUser, ctx: Ctx) -> dict[str, Any]:
    """A hash list as the body (CSV `kind,value,label`, or JSON as `export` gives it) or
    as the `file` field of a form. All or nothing: 422 names every bad line."""
    data, ctype = await _body(request, MAX_LIST)
    entries = banks.parse_list(data, ctype)
    added = await run_in_threadpool(_add, ctx, user, bank_id, entries, "import")
    return {"added": added, "skipped": len(entries) - added}


@router.get("/api/v1/banks/{bank_id}/export")
def export_list(bank_id: Id, user: ApiUser, ctx: Ctx, format: str = "csv") -> Response:  # noqa: A002
    with ctx.db.read() as s:
        bank = banks.get_bank(s, user, bank_id)
        body, media = banks.export(s, bank, format)
    ext = "json" if format == "json" else "csv"
    disposition = f'attachment; filename="bank-{bank_id}.{ext}"'
    return Response(body, media_type=media, headers={"Content-Disposition": disposition})


@router.post("/api/v1/banks/{bank_id}/references", status_code=201)
@body_limit(OWN_LIMIT)  # refused past MAX_REFERENCE or the plan's file size as it streams
async def add_reference(
    request: Request, bank_id: Id, user: ApiUser, ctx: Ctx, filename: str = "",
    label: str = "",
) -> dict[str, Any]:  # fmt: skip
    """A reference file (the body, or the `file` field of a form): partage keeps its
    SHA-256, MD5 and PDQ/vPDQ print, never its bytes. `label` names the work."""
    with ctx.db.read() as s:
        banks.get_bank(s, user, bank_id)  # 404 before reading a byte
    ref = ReferenceFile(ctx.settings, min(MAX_REFERENCE, ctx.settings.max_upload_size))
    try:
        declared = None
        if _is_form(request):
            form = await request.form()
            f = form.get("file")
            if not isinstance(f, UploadFile):
                raise BadRequest("No file in the form: send the reference as the 'file' field.")
            filename = filename or f.filename or ""
            declared = f.content_type
            label = label or str(form.get("label") or "")
            while chunk := await f.read(1 << 20):
                ref.write(chunk)
        else:
            declared = request.headers.get("content-type")
            await ref.receive(request.stream())
        entries = await run_in_threadpool(ref.entries, ctx.settings, filename, declared, label)
    finally:
        ref.discard()
    added = await run_in_threadpool(_add, ctx, user, bank_id, entries, "reference")
    return {"added": added, "kinds": [e.kind for e in entries], "sha256": entries[0].value}


# -- bank matches queued for review ---------------------------------------------------------


@router.get("/api/v1/moderation/matches")
def list_matches(
    moderator: Moderator, ctx: Ctx, outcome: str = "queued", before: Cursor | None = None,
    limit: Count = 100,
) -> dict[str, Any]:  # fmt: skip
    """Newest first; `outcome`: queued (default), disabled, dismissed, refused or all."""
    with ctx.db.read() as s:
        views = bank_review.list_matches(
            s, outcome=None if outcome == "all" else outcome, before=before, limit=limit
        )
        return {"matches": [bank_review.match_json(v) for v in views]}


@router.post("/api/v1/moderation/matches/{match_id}/decide")
async def decide_match(
    request: Request, match_id: Id, moderator: Moderator, ctx: Ctx, base: MailBaseUrl
) -> JSONResponse:
    """`{action: "disable"|"dismiss", legal_ground, facts}` (ground and facts default to
    the bank entry's)."""
    body = await _json(request)
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")

    def run() -> dict[str, Any]:
        with ctx.db.session() as s:
            out = bank_review.decide_match(
                s, ctx.settings, moderator, match_id, str(body.get("action") or ""),
                legal_ground=str(body.get("legal_ground") or ""),
                facts=str(body.get("facts") or ""),
            )  # fmt: skip
            view = bank_review.match_json(bank_review.get_match(s, match_id))
            view["decision"] = out.decision.ref if out is not None else None
        if out is not None:
            out.outbox.send(ctx.settings, base)
        return view

    return JSONResponse(await run_in_threadpool(run))
