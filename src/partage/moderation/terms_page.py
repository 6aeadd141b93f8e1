"""`/terms`: the policies the moderation applies, generated from the settings, so what is
published is what is enforced (DSA Art. 14 and 23, DMCA 512(i))."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from partage.deps import Ctx
from partage.moderation import strikes
from partage.web import i18n
from partage.web.templating import render, request_language

router = APIRouter(include_in_schema=False)


@router.get("/terms")
def terms(request: Request, ctx: Ctx) -> Response:
    settings = ctx.settings
    with i18n.using(request_language(request)):  # the policies are sentences in this language
        data = {
            "strike_policy": strikes.policy(settings),
            "notifier_policy": strikes.notifier_policy(settings),
        }
    return render(request, "terms.html", {
        **data,
        "complaint_days": settings.complaint_window_days,
        "counter_days": settings.counter_notice_business_days,
        "dispute_settlement": settings.dispute_settlement,
        "operator_name": settings.operator_name,
    }, headers={"Cache-Control": "public, max-age=300"})  # fmt: skip
