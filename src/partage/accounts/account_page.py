"""The account page: plan and what it allows, storage used, e-mail, password, 2FA,
API tokens and sessions. Every form on it renders this page again on error."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from partage.accounts import service as accounts
from partage.accounts import twofactor
from partage.accounts.models import User
from partage.accounts.web import NO_STORE
from partage.deps import Ctx, resolve_auth
from partage.files.quota import max_file_size, used_bytes
from partage.web.i18n import N_
from partage.web.templating import render, translate

NOTICES = {
    "revoked": N_("The token was revoked."),
    "password": N_("Your password was changed. Your other sessions were logged out."),
    "email-sent": N_("We sent a confirmation link to the new address. Your address "
                     "changes when you follow it."),
    "2fa-off": N_("Two-factor authentication is off."),
    "sessions": N_("Your other sessions were logged out."),
}  # fmt: skip


def account_response(
    request: Request, ctx: Ctx, user: User, status: int = 200, **extra: object
) -> Response:
    current = resolve_auth(request, ctx).web_session
    with ctx.db.read() as s:
        used = used_bytes(s, user.id)
        tokens = accounts.list_tokens(s, user)
        sessions = accounts.list_sessions(s, user)
        codes_left = twofactor.recovery_codes_left(s, user.id)
    data = {
        "plan": user.plan,
        "used": used,
        "quota": user.plan.storage_quota,
        "max_file_size": max_file_size(user, ctx.settings),
        "tokens": tokens,
        "sessions": sessions,
        "current_session_id": current.id if current else None,
        "two_factor": user.totp_enabled_at is not None,
        "recovery_codes_left": codes_left,
        **extra,
    }
    for key in ("error", "notice"):
        if isinstance(data.get(key), str):
            data[key] = translate(request, str(data[key]))
    return render(request, "account.html", data, status, NO_STORE)
