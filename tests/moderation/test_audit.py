"""The audit log through a real server: admin actions recorded with before and after, roles
given through the admin API and page, the viewer page and API (filters, paging), the
streamed exports and the CLI export, and entries that neither the database nor any route
lets anyone change."""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from partage.moderation import audit
from partage.moderation.models import AuditEvent
from tests.admin.conftest import HTML, Admin, csrf_of, make_admin, upload, web_login
from tests.conftest import Account, db_context
from tests.serverproc import Server

AUDIT = "/api/v1/moderation/audit"


@pytest.fixture
def admin(server: Server) -> Iterator[Admin]:
    made = make_admin(server)
    yield made
    made.api.close()


def _entries(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    r = client.get(AUDIT, params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def _user_id(admin: Admin, email: str) -> int:
    (item,) = admin.api.get("/api/v1/admin/users", params={"search": email}).json()["items"]
    return int(item["id"])


def test_admin_actions_are_audited(server: Server, admin: Admin, alice: Account) -> None:
    uid = _user_id(admin, alice.email)
    code = upload(alice.client, "a.txt", b"hello")["code"]  # before the suspension
    api = admin.api
    assert api.patch(f"/api/v1/admin/users/{uid}", json={"plan": "premium"}).status_code == 200
    r = api.post(f"/api/v1/admin/users/{uid}/suspend", json={"reason": "spam links"})
    assert r.status_code == 200
    assert api.post(f"/api/v1/admin/users/{uid}/unsuspend").status_code == 200
    name = "audited-" + secrets.token_hex(3)
    plan = api.post("/api/v1/admin/plans", json={"name": name, "storage_quota": 1000}).json()
    r = api.patch(f"/api/v1/admin/plans/{plan['id']}", json={"storage_quota": 2000})
    assert r.status_code == 200
    assert api.delete(f"/api/v1/admin/plans/{plan['id']}").status_code == 204
    assert api.put("/api/v1/admin/settings/site_notice", json={"value": "Hi"}).status_code == 200
    assert api.delete("/api/v1/admin/settings/site_notice").status_code == 204

    by_action = {e["action"]: e for e in _entries(api, subject=f"user:{uid}")}
    assert by_action["user.plan"]["before"] == {"plan": "free"}
    assert by_action["user.plan"]["after"] == {"plan": "premium"}
    suspended = by_action["user.suspend"]
    assert suspended["actor"] == admin.email and suspended["reason"] == "spam links"
    assert suspended["before"]["active"] is True
    assert suspended["after"] == {"active": False, "suspended_reason": "spam links",
                                  "cause": "admin"}  # fmt: skip
    assert by_action["user.unsuspend"]["before"]["suspended_reason"] == "spam links"
    assert by_action["user.unsuspend"]["after"]["active"] is True

    # Newest first; SQLite may give a new plan the id of one deleted earlier: its entries
    # come after this plan's three.
    plan_log = _entries(api, subject=f"plan:{plan['id']}")[:3]
    assert [e["action"] for e in plan_log] == ["plan.delete", "plan.update", "plan.create"]
    assert plan_log[1]["before"]["storage_quota"] == 1000
    assert plan_log[1]["after"]["storage_quota"] == 2000
    assert plan_log[0]["before"]["name"] == name and plan_log[0]["after"] is None
    settings_log = _entries(api, subject="setting:site_notice")[:2]
    assert [e["action"] for e in settings_log] == ["setting.reset", "setting.set"]
    assert settings_log[1]["after"] == {"value": "Hi"}
    assert settings_log[0]["before"] == {"value": "Hi"}
    assert {e["actor"] for e in settings_log} == {admin.email}

    # a media job retried by an administrator
    r = api.post(f"/api/v1/admin/media/{code}/retry")
    assert r.status_code == 200, r.text
    (retry,) = _entries(api, subject=f"file:{code}", action="media.retry")
    assert retry["before"] == {"state": None} and retry["after"]["state"] == "queued"

    # deletion: recorded without the deleted account's e-mail address
    bob = make_admin(server)
    bob_id = _user_id(admin, bob.email)
    assert api.delete(f"/api/v1/admin/users/{bob_id}").status_code == 200
    (gone,) = _entries(api, subject=f"user:{bob_id}", action="user.delete")
    assert gone["before"]["is_admin"] is True and gone["after"]["deleted"] is True
    assert bob.email not in json.dumps(gone)
    bob.api.close()


def test_roles_through_api_and_page(server: Server, admin: Admin, alice: Account) -> None:
    uid = _user_id(admin, alice.email)
    assert alice.client.get(AUDIT).status_code == 403  # not a moderator yet
    r = admin.api.patch(f"/api/v1/admin/users/{uid}", json={"is_moderator": True})
    assert r.status_code == 200
    assert (r.json()["is_moderator"], r.json()["trusted_flagger"]) == (True, False)
    assert alice.client.get(AUDIT).status_code == 200  # a moderator reads the log
    r = admin.api.patch(f"/api/v1/admin/users/{uid}", json={"trusted_flagger": True})
    assert (r.json()["is_moderator"], r.json()["trusted_flagger"]) == (True, True)
    assert admin.api.patch(f"/api/v1/admin/users/{uid}", json={"role": "x"}).status_code == 422
    # a moderator is not an administrator
    assert (
        alice.client.patch(f"/api/v1/admin/users/{uid}", json={"is_moderator": False}).status_code
        == 403
    )  # noqa: E501

    roles = _entries(admin.api, subject=f"user:{uid}", action="user.roles")
    assert [e["after"] for e in roles] == [
        {"is_moderator": True, "trusted_flagger": True},
        {"is_moderator": True, "trusted_flagger": False},
    ]
    assert roles[1]["before"] == {"is_moderator": False, "trusted_flagger": False}

    web = web_login(server, admin.email, admin.password)
    listing = web.get("/admin/users", params={"q": alice.email}).text
    assert "role-moderator" in listing and "role-trusted" in listing
    page = web.get(f"/admin/users/{uid}").text
    assert 'id="role-moderator" name="is_moderator" checked' in page
    token = csrf_of(page)
    assert web.post(f"/admin/users/{uid}/roles", data={"is_moderator": "on"}).status_code == 403
    r = web.post(f"/admin/users/{uid}/roles", data={"csrf_token": token, "is_moderator": "on"})
    assert r.status_code == 303 and r.headers["location"] == f"/admin/users/{uid}?done=roles"
    page = web.get(r.headers["location"]).text
    assert 'id="user-trusted">no<' in page and 'id="user-moderator">yes<' in page
    assert admin.api.get(f"/api/v1/admin/users/{uid}").json()["trusted_flagger"] is False
    (latest, *_) = _entries(admin.api, subject=f"user:{uid}", action="user.roles")
    assert latest["actor"] == admin.email
    assert latest["after"] == {"is_moderator": True, "trusted_flagger": False}


def _seed(server: Server, tag: str, n: int, at: datetime | None = None) -> None:
    ctx = db_context(server)
    try:
        with ctx.db.session() as s:
            for i in range(n):
                e = audit.record(s, None, f"test.{tag}", f"test:{tag}", reason=f"r{i},\"q\"",
                                 after={"i": i})  # fmt: skip
                if at is not None:
                    e.at = at
    finally:
        ctx.close()


def test_viewer_api_page_and_exports(server: Server, admin: Admin) -> None:
    tag = secrets.token_hex(4)
    _seed(server, tag, 60)
    _seed(server, tag + "old", 3, at=datetime(2020, 1, 15, 12, tzinfo=UTC))
    api = admin.api

    page1 = api.get(AUDIT, params={"action": f"test.{tag}", "limit": 25}).json()
    assert len(page1["items"]) == 25 and page1["items"][0]["after"] == {"i": 59}
    page2 = api.get(AUDIT, params={"action": f"test.{tag}", "limit": 25,
                                   "before_id": page1["next_before_id"]}).json()  # fmt: skip
    assert [e["after"]["i"] for e in page2["items"]] == list(range(34, 9, -1))
    page3 = api.get(AUDIT, params={"action": f"test.{tag}", "limit": 25,
                                   "before_id": page2["next_before_id"]}).json()  # fmt: skip
    assert [e["after"]["i"] for e in page3["items"]] == list(range(9, -1, -1))
    assert page3["next_before_id"] is None
    old = _entries(api, subject=f"test:{tag}old", since="2020-01-15", until="2020-01-15")
    assert len(old) == 3 and old[0]["at"] == "2020-01-15T12:00:00Z"
    assert _entries(api, subject=f"test:{tag}old", until="2020-01-14") == []
    assert _entries(api, subject=f"test:{tag}old", since="2020-01-15T12:00:01Z") == []
    r = api.get(AUDIT, params={"since": "15/01/2020"})
    assert r.status_code == 400 and "YYYY-MM-DD" in r.json()["message"]
    assert api.get(AUDIT, params={"since": "2021-01-02", "until": "2021-01-01"}).status_code == 400
    assert api.get(AUDIT, params={"limit": 0}).status_code == 422

    # exports: the whole period, oldest first, streamed
    r = api.get(AUDIT + ".jsonl", params={"action": f"test.{tag}"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/jsonl")
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert [x["after"]["i"] for x in lines] == list(range(60))
    r = api.get(AUDIT + ".csv", params={"action": f"test.{tag}"})
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 60 and rows[0]["reason"] == 'r0,"q"' and rows[0]["actor"] == "system"
    assert json.loads(rows[59]["after"]) == {"i": 59} and rows[0]["before"] == ""
    assert [int(x["id"]) for x in rows] == [x["id"] for x in lines]

    # the page: filters, 50 a page, older entries
    web = web_login(server, admin.email, admin.password)
    r = web.get("/moderation/audit", params={"action": f"test.{tag}"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert r.text.count('class="audit-entry"') == 50 and 'aria-current="page"' in r.text
    older = re.search(r'<a href="([^"]+)" rel="next" id="audit-older"', r.text)
    assert older is not None
    r2 = web.get(older.group(1).replace("&amp;", "&"))
    assert r2.text.count('class="audit-entry"') == 10 and 'id="audit-older"' not in r2.text
    r = web.get("/moderation/audit", params={"subject": f"test:{tag}old", "since": "2020-01-01",
                                             "until": "2020-01-31"})  # fmt: skip
    assert r.text.count('class="audit-entry"') == 3
    assert f"/api/v1/moderation/audit.csv?subject=test%3A{tag}old" in r.text
    assert web.get("/moderation/audit", params={"since": "yesterday"}).status_code == 400
    assert httpx.get(server.url + "/moderation/audit", headers=HTML).status_code == 303


def test_cli_export(server: Server, admin: Admin, tmp_path: Any) -> None:
    tag = secrets.token_hex(4)
    _seed(server, tag, 3)
    out = tmp_path / "audit.csv"
    env = server.full_env()
    r = subprocess.run(
        [sys.executable, "-m", "partage.cli.main", "admin", "audit", "export", "--format", "csv",
         "--action", f"test.{tag}", "--since", "2000-01-01", "--output", str(out),
         "--data-dir", str(server.data_dir)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "3 entries exported" in r.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    assert [json.loads(x["after"]) for x in rows] == [{"i": 0}, {"i": 1}, {"i": 2}]
    r = subprocess.run(
        [sys.executable, "-m", "partage.cli.main", "admin", "audit", "export", "--format", "xml",
         "--data-dir", str(server.data_dir)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert r.returncode == 1 and "csv or jsonl" in r.stderr


def test_entries_cannot_be_changed(server: Server, admin: Admin) -> None:
    tag = secrets.token_hex(4)
    _seed(server, tag, 1)
    ctx = db_context(server)
    try:
        # the database refuses, whatever the client (raw SQL, no ORM guard involved)
        for statement in ("UPDATE audit_events SET reason = 'rewritten' WHERE subject = :s",
                          "DELETE FROM audit_events WHERE subject = :s"):  # fmt: skip
            with pytest.raises(DBAPIError, match="append-only"), ctx.db.engine.begin() as c:
                c.execute(text(statement), {"s": f"test:{tag}"})
        # and so does the session
        with pytest.raises(audit.AuditLogIsAppendOnly), ctx.db.session() as s:
            s.query(AuditEvent).filter_by(subject=f"test:{tag}").one().reason = "x"
        with pytest.raises(audit.AuditLogIsAppendOnly), ctx.db.session() as s:
            s.delete(s.query(AuditEvent).filter_by(subject=f"test:{tag}").one())
        with ctx.db.read() as s:
            (entry,) = s.query(AuditEvent).filter_by(subject=f"test:{tag}").all()
            assert entry.reason == 'r0,"q"'
    finally:
        ctx.close()

    # no route writes to the log: every audit path answers GET only
    spec = httpx.get(server.url + "/api/v1/openapi.json").json()
    audit_paths = {p: set(m) for p, m in spec["paths"].items() if "audit" in p}
    assert audit_paths == {AUDIT: {"get"}, AUDIT + ".csv": {"get"}, AUDIT + ".jsonl": {"get"}}
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in (AUDIT, "/moderation/audit"):
            assert admin.api.request(method, path, json={}).status_code == 405
