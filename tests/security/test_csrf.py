"""CSRF on every state-changing route, enumerated from the application itself: a route
added without being classified here fails `test_every_unsafe_route_is_classified`.

Each route reachable with a session cookie is sent the request a hostile page could make
the browser send (the cookie, a foreign Origin, no CSRF token), filled with the real ids
of the victim's own objects so that a missing check would act; the answer must be the
CSRF refusal itself (403 and its message, not a 404 or a validation error that would
hide a missing check), and nothing may have changed afterwards. Forms sent before a
session exists (log in, sign up, …) are refused for a foreign Origin instead. The JSON
routes for people without an account ignore the cookie: their answer is the same with
and without it."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conftest import make_account
from tests.security.conftest import EVIL, JSON, user_id
from tests.uploads.conftest import TUS, meta

CSRF = "did not come from this site"
ORIGIN = "sent from another site"

# Routes where the victim's session would act, and whose session we use: the role the
# route needs (a moderator's or administrator's cookie is what an attacker would ride).
A, M, ADM = "alice", "mod", "admin"
SESSION = {
    ("POST", "/api/v1/tokens"): A,
    ("DELETE", "/api/v1/tokens/{token_id}"): A,
    ("DELETE", "/api/v1/sessions/{session_id}"): A,
    ("POST", "/api/v1/sessions/revoke-others"): A,
    ("POST", "/api/v1/me/password"): A,
    ("POST", "/api/v1/me/email"): A,
    ("POST", "/api/v1/me/2fa/setup"): A,
    ("POST", "/api/v1/me/2fa/enable"): A,
    ("POST", "/api/v1/me/2fa/disable"): A,
    ("POST", "/api/v1/uploads"): A,
    ("PATCH", "/api/v1/uploads/{upload_id}"): A,
    ("DELETE", "/api/v1/uploads/{upload_id}"): A,
    ("POST", "/api/v1/files"): A,
    ("PUT", "/api/v1/files/{filename:anyname}"): A,
    ("PATCH", "/api/v1/files/{code}"): A,
    ("DELETE", "/api/v1/files/{code}"): A,
    ("POST", "/api/v1/files/bulk"): A,
    ("POST", "/api/v1/folders"): A,
    ("PATCH", "/api/v1/folders/{folder_id}"): A,
    ("DELETE", "/api/v1/folders/{folder_id}"): A,
    ("POST", "/api/v1/files/{code}/media"): A,
    ("POST", "/api/v1/files/{code}/subtitles"): A,
    ("DELETE", "/api/v1/files/{code}/subtitles/{subtitle_id}"): A,
    ("POST", "/logout"): A,
    ("POST", "/account/tokens"): A,
    ("POST", "/account/tokens/{token_id}/revoke"): A,
    ("POST", "/account/sessions/revoke-others"): A,
    ("POST", "/account/password"): A,
    ("POST", "/account/email"): A,
    ("POST", "/account/2fa/setup"): A,
    ("POST", "/account/2fa/enable"): A,
    ("POST", "/account/2fa/recovery-codes"): A,
    ("POST", "/account/2fa/disable"): A,
    ("POST", "/v/{code}"): A,
    ("POST", "/embed/{code}"): A,
    ("POST", "/{code}"): A,
    ("POST", "/api/v1/statements/{ref}/complaints"): A,
    ("POST", "/api/v1/statements/{ref}/counter-notices"): A,
    ("POST", "/account/statements/{ref}/complaint"): A,
    ("POST", "/account/statements/{ref}/counter-notice"): A,
    ("POST", "/language"): A,  # with a session, the language is the account's: CSRF-checked
    ("POST", "/api/v1/moderation/notices/{ref}/decide"): M,
    ("POST", "/api/v1/moderation/decisions"): M,
    ("POST", "/api/v1/moderation/decisions/{ref}/reverse"): M,
    ("POST", "/moderation/notices/{ref}/decide"): M,
    ("POST", "/api/v1/moderation/complaints/{ref}/decide"): M,
    ("POST", "/moderation/complaints/{ref}/decide"): M,
    ("POST", "/api/v1/banks"): M,
    ("POST", "/api/v1/banks/{bank_id}/entries"): M,
    ("DELETE", "/api/v1/banks/{bank_id}/entries/{entry_id}"): M,
    ("POST", "/api/v1/banks/{bank_id}/import"): M,
    ("POST", "/api/v1/banks/{bank_id}/references"): M,
    ("POST", "/api/v1/moderation/matches/{match_id}/decide"): M,
    ("POST", "/moderation/banks"): M,
    ("POST", "/moderation/banks/{bank_id}/import"): M,
    ("POST", "/moderation/banks/{bank_id}/entries/{entry_id}/delete"): M,
    ("POST", "/moderation/matches/{match_id}/decide"): M,
    ("POST", "/api/v1/admin/media/{code}/retry"): ADM,
    ("POST", "/api/v1/admin/media/{code}/cancel"): ADM,
    ("PATCH", "/api/v1/admin/users/{user_id}"): ADM,
    ("POST", "/api/v1/admin/users/{user_id}/suspend"): ADM,
    ("POST", "/api/v1/admin/users/{user_id}/unsuspend"): ADM,
    ("DELETE", "/api/v1/admin/users/{user_id}"): ADM,
    ("POST", "/api/v1/admin/plans"): ADM,
    ("PATCH", "/api/v1/admin/plans/{plan_id}"): ADM,
    ("DELETE", "/api/v1/admin/plans/{plan_id}"): ADM,
    ("PUT", "/api/v1/admin/settings/{key}"): ADM,
    ("DELETE", "/api/v1/admin/settings/{key}"): ADM,
    ("POST", "/admin/users/{user_id}/plan"): ADM,
    ("POST", "/admin/users/{user_id}/roles"): ADM,
    ("POST", "/admin/users/{user_id}/suspend"): ADM,
    ("POST", "/admin/users/{user_id}/unsuspend"): ADM,
    ("POST", "/admin/users/{user_id}/delete"): ADM,
    ("POST", "/admin/plans"): ADM,
    ("POST", "/admin/plans/{plan_id}"): ADM,
    ("POST", "/admin/plans/{plan_id}/delete"): ADM,
    ("POST", "/admin/jobs/{code}/{action}"): ADM,
    ("POST", "/admin/settings"): ADM,
}
# Forms sent before a session exists: no CSRF token yet, so the Origin decides.
BEFORE_SESSION = {
    ("POST", "/login"),
    ("POST", "/register"),
    ("POST", "/login/2fa"),
    ("POST", "/password/forgot"),
    ("POST", "/password/reset/{secret}"),
    ("POST", "/account/email/confirm/{secret}"),
    ("POST", "/report"),
    ("POST", "/report/{ref}/complaint"),
    ("POST", "/report/{ref}/court-action"),
    ("POST", "/language"),
}
# JSON routes for people without an account (a notifier's reference, a reset secret):
# a cookie gives them nothing.
NO_SESSION_API = {
    ("POST", "/api/v1/password/forgot"),
    ("POST", "/api/v1/password/reset"),
    ("POST", "/api/v1/email/confirm"),
    ("POST", "/api/v1/notices"),
    ("POST", "/api/v1/notices/{ref}/complaints"),
    ("POST", "/api/v1/notices/{ref}/court-action"),
}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def test_every_unsafe_route_is_classified(routes):
    unsafe = {(m, p) for m, p in routes if m in UNSAFE}
    known = set(SESSION) | BEFORE_SESSION | NO_SESSION_API
    assert unsafe - known == set(), "classify these routes in tests/security/test_csrf.py"
    assert known - unsafe == set(), "these routes are gone: drop them from the tables"


@pytest.fixture(scope="module")
def victim(server, cast) -> dict[str, Any]:
    """alice's real objects (ids to put in the paths), and someone for the admin routes."""
    api = cast["alice"].api
    f = api.put("/api/v1/files/keep.txt", content=b"keep me", headers=JSON).json()
    folder = api.post("/api/v1/folders", json={"name": "Keep"}).json()
    token = api.post("/api/v1/tokens", json={"name": "second"}).json()
    upload = api.post("/api/v1/uploads", headers={**TUS, "Upload-Length": "10",
                      "Upload-Metadata": meta(filename="u.bin")}).headers["Location"]  # fmt: skip
    other = make_account(server)
    other.client.close()
    plans = cast["admin"].api.get("/api/v1/admin/plans").json()
    plan = plans["items"][0] if isinstance(plans, dict) else plans[0]
    sessions = api.get("/api/v1/sessions").json()
    return {
        "code": f["code"], "folder_id": folder["id"], "token_id": token["id"],
        "upload_id": upload.rsplit("/", 1)[1], "session_id": sessions[0]["id"],
        "user_id": user_id(server, other.email), "plan_id": plan["id"], "key": "site_notice",
        "filename:anyname": "new.txt", "subtitle_id": 1, "ref": "NOTICE-1", "bank_id": 1,
        "entry_id": 1, "match_id": 1, "action": "retry", "secret": "s" * 32,
    }  # fmt: skip


def _fill(path: str, ids: dict[str, Any]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: str(ids[m.group(1)]), path)


def _snapshot(cast, victim) -> dict[str, Any]:
    alice, admin = cast["alice"].api, cast["admin"].api
    return {
        "me": alice.get("/api/v1/me").json(),
        "tokens": sorted(t["id"] for t in alice.get("/api/v1/tokens").json()),
        "sessions": sorted(s["id"] for s in alice.get("/api/v1/sessions").json()),
        "files": [
            {k: v for k, v in f.items() if k != "download_url"}  # signed afresh each time
            for f in alice.get("/api/v1/files", params={"all": "true"}).json()["items"]
        ],
        "folders": alice.get("/api/v1/folders").json(),
        "upload": alice.head(f"/api/v1/uploads/{victim['upload_id']}", headers=TUS).headers.get(
            "upload-offset"
        ),
        "user": admin.get(f"/api/v1/admin/users/{victim['user_id']}").json(),
        "plans": admin.get("/api/v1/admin/plans").json(),
        "settings": admin.get("/api/v1/admin/settings").json(),
        "banks": cast["mod"].api.get("/api/v1/banks").json(),
    }


def _forged(client: httpx.Client, method: str, path: str) -> httpx.Response:
    """What a hostile page can make a browser send: a form post or a simple fetch."""
    headers = {"Origin": EVIL, "Accept": "application/json", **TUS}
    if method == "POST" and not path.startswith("/api/"):
        form = {"name": "x", "confirm": "yes", "password": "x", "lang": "fr", "action": "x"}
        return client.post(path, data=form, headers=headers)
    body = b'{"name": "pwned", "public": false, "password": "x"}' if method != "DELETE" else None
    headers["Content-Type"] = "application/json"  # the strongest case: no body error first
    return client.request(method, path, content=body, headers=headers)


def test_session_routes_refuse_a_request_without_the_csrf_token(cast, victim):
    before = _snapshot(cast, victim)
    wrong = []
    for (method, path), who in sorted(SESSION.items()):
        r = _forged(cast[who].web, method, _fill(path, victim))
        if r.status_code != 403 or CSRF not in r.text:
            wrong.append((method, path, r.status_code, r.text[:160]))
    assert wrong == []
    assert _snapshot(cast, victim) == before
    for p in cast.values():  # every session is still alive (logout was refused too)
        assert p.web.get("/account", headers={"Accept": "text/html"}).status_code == 200


def test_forms_before_a_session_refuse_a_foreign_origin(server, cast, victim):
    wrong = []
    for method, path in sorted(BEFORE_SESSION):
        with httpx.Client(base_url=server.url, timeout=30) as visitor:
            form = {"email": cast["bob"].email, "password": cast["bob"].account.password,
                    "password_again": cast["bob"].account.password, "lang": "fr",
                    "locations": victim["code"], "code": "123456"}  # fmt: skip
            r = visitor.post(_fill(path, victim), data=form, headers={"Origin": EVIL})
            if r.status_code != 403 or ORIGIN not in r.text or "set-cookie" in r.headers:
                wrong.append((path, r.status_code, r.text[:160]))
    assert wrong == []
    # the same login from our own origin works (the refusal was the origin's)
    with httpx.Client(base_url=server.url, timeout=30) as visitor:
        r = visitor.post("/login", data={"email": cast["bob"].email,
                         "password": cast["bob"].account.password},
                         headers={"Origin": server.url})  # fmt: skip
        assert r.status_code == 303 and "partage_session" in r.headers["set-cookie"]


def test_account_less_api_ignores_the_cookie(server, cast, victim):
    for method, path in sorted(NO_SESSION_API):
        url = _fill(path, victim)
        body = {"email": cast["alice"].email} if "forgot" in path else {"nonsense": 1}
        with httpx.Client(base_url=server.url, timeout=30) as visitor:
            bare = visitor.request(method, url, json=body, headers={"Origin": EVIL})
        ridden = cast["alice"].web.request(method, url, json=body, headers={"Origin": EVIL})
        assert (ridden.status_code, ridden.json()) == (bare.status_code, bare.json()), path
