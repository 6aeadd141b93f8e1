"""Server-side web sessions: cookie auth, CSRF on unsafe API calls, revocation."""

from __future__ import annotations

import httpx

from partage.accounts import service as accounts
from tests.conftest import db_context


def open_browser_session(server, email: str) -> tuple[httpx.Client, str]:
    ctx = db_context(server)
    with ctx.db.session() as s:
        user = accounts.get_user_by_email(s, email)
        new = accounts.open_session(s, user, 3600, user_agent="test-agent", address="127.0.0.1")
    ctx.close()
    client = httpx.Client(base_url=server.url, cookies={"partage_session": new.cookie})
    return client, new.session.csrf_token


def test_cookie_session_needs_csrf_for_unsafe_calls(server, alice):
    browser, csrf = open_browser_session(server, alice.email)
    assert browser.get("/api/v1/me").json()["email"] == alice.email

    refused = browser.post("/api/v1/tokens", json={"name": "x"})
    assert refused.status_code == 403
    assert "reload the page" in refused.json()["message"]
    wrong = browser.post("/api/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    ok = browser.post("/api/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201


def test_sessions_are_listed_and_revocable(server, alice):
    laptop, csrf = open_browser_session(server, alice.email)
    phone, _ = open_browser_session(server, alice.email)
    listed = laptop.get("/api/v1/sessions").json()
    assert len(listed) == 2
    assert [s["current"] for s in listed].count(True) == 1
    assert all(s["user_agent"] == "test-agent" for s in listed)

    r = laptop.post("/api/v1/sessions/revoke-others", headers={"X-CSRF-Token": csrf})
    assert r.json() == {"revoked": 1}
    assert phone.get("/api/v1/me").status_code == 401
    assert laptop.get("/api/v1/me").status_code == 200

    mine = laptop.get("/api/v1/sessions").json()[0]["id"]
    assert (
        laptop.delete(f"/api/v1/sessions/{mine}", headers={"X-CSRF-Token": csrf}).status_code == 204
    )
    assert laptop.get("/api/v1/me").status_code == 401


def test_cannot_revoke_another_users_session(server, alice, bob):
    bob_browser, _ = open_browser_session(server, bob.email)
    bob_session = bob_browser.get("/api/v1/sessions").json()[0]["id"]
    assert alice.client.delete(f"/api/v1/sessions/{bob_session}").status_code == 404
    assert bob_browser.get("/api/v1/me").status_code == 200


def test_expired_or_garbage_cookie_is_anonymous(server):
    c = httpx.Client(base_url=server.url, cookies={"partage_session": "garbage"})
    assert c.get("/api/v1/me").status_code == 401
