"""The public transparency report: `/transparency` as a page, as JSON when asked with
`Accept: application/json` (or `?format=json`), and as CSV (`?format=csv` or
`/transparency.csv`). Anyone may read it; the figures are computed on each request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from partage.deps import Ctx
from partage.errors import BadRequest
from partage.moderation import period as periods
from partage.moderation import transparency
from partage.web.i18n import N_
from partage.web.templating import render

router = APIRouter(include_in_schema=False)

HEADERS = {"Cache-Control": "no-cache", "Vary": "Accept"}

# The rows' labels on the page (the JSON and CSV keep the keys).
LABELS = {
    "total": N_("Total"),
    "copyright": N_("Copyright"),
    "illegal": N_("Other illegal content"),
    "terms": N_("Terms of service"),
    "malware": N_("Malware"),
    "child_safety": N_("Child sexual abuse"),
    "form": N_("Public form"),
    "api": N_("API"),
    "open": N_("Open"),
    "actioned": N_("Actioned"),
    "kept": N_("Kept"),
    "rejected": N_("Rejected as unfounded"),
    "law": N_("Illegal content (law)"),
    "disable": N_("Files disabled"),
    "disable_blob": N_("Every copy disabled"),
    "keep": N_("Content kept"),
    "reject": N_("Notice rejected"),
    "suspend": N_("Account suspended"),
    "notice": N_("A notice"),
    "own_initiative": N_("Our own initiative"),
    "bank_match": N_("A fingerprint bank match"),
    "malware_scan": N_("The malware scanner"),
    "complaint": N_("Complaints"),
    "counter_notice": N_("Counter-notices"),
    "upheld": N_("Upheld"),
    "reversed": N_("Reversed"),
    "restored": N_("Restored after the waiting period"),
    "court_action": N_("Court action reported"),
    "admin": N_("By an administrator"),
    "decision": N_("By a moderator's decision"),
    "repeat_infringer": N_("Repeat infringer (strikes)"),
    "refused": N_("Refused at upload"),
    "disabled": N_("Disabled automatically"),
    "queued": N_("Queued for review"),
    "sha256": "SHA-256",
    "md5": "MD5",
    "pdq": N_("PDQ (images)"),
    "vpdq": N_("vPDQ (videos)"),
}


def _wants_json(request: Request, fmt: str) -> bool:
    if fmt == "json":
        return True
    accept = request.headers.get("accept", "")
    if "application/json" not in accept:
        return False
    html = accept.find("text/html")
    return html < 0 or accept.find("application/json") < html


def _compute(ctx: Ctx, first: str | None, last: str | None) -> dict[str, Any]:
    period = periods.days(first, last)
    with ctx.db.read() as s:
        return transparency.report(s, period)


def _csv(data: dict[str, Any]) -> Iterator[str]:
    yield "figure,value\r\n"
    for name, value in transparency.flatten(data):
        yield f"{name},{'' if value is None else value}\r\n"


def _csv_response(data: dict[str, Any]) -> Response:
    name = f"partage-transparency-{data['period']['from']}-{data['period']['to']}.csv"
    return StreamingResponse(
        _csv(data),
        media_type="text/csv; charset=utf-8",
        headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )


def _query(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value if value else None


@router.get("/transparency")
def transparency_page(request: Request, ctx: Ctx, format: str = "") -> Response:  # noqa: A002
    if format not in ("", "html", "json", "csv"):
        raise BadRequest("format: html, json or csv.")
    data = _compute(ctx, _query(request, "from"), _query(request, "to"))
    if format == "csv":
        return _csv_response(data)
    if _wants_json(request, format):
        return JSONResponse(data, headers=HEADERS)
    return render(
        request,
        "transparency.html",
        {"r": data, "labels": LABELS, "definitions": transparency.DEFINITIONS},
        headers=HEADERS,
    )  # fmt: skip


@router.get("/transparency.csv")
def transparency_csv(request: Request, ctx: Ctx) -> Response:
    return _csv_response(_compute(ctx, _query(request, "from"), _query(request, "to")))
