"""The admin API against a real server: users (search, paging, plan, suspend, delete),
plans, figures and traffic, runtime settings."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import httpx

from partage.accounts import service as accounts
from tests.admin.conftest import HTML, JSON, Admin, make_admin, upload, web_login
from tests.conftest import Account, db_context, make_account
from tests.serverproc import Server


def _find(admin: Admin, email: str) -> dict:
    r = admin.api.get("/api/v1/admin/users", params={"search": email})
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    return item


def test_only_administrators(server: Server, alice: Account) -> None:
    assert httpx.get(server.url + "/api/v1/admin/users").status_code == 401
    calls = [("GET", "users"), ("GET", "figures"), ("POST", "plans"), ("PUT", "settings/x"),
             ("DELETE", "users/1"), ("GET", "jobs")]  # fmt: skip
    for method, where in calls:
        path = "/api/v1/admin/" + where
        r = alice.client.request(method, path, json={})
        assert r.status_code == 403, (path, r.text)
        assert r.json()["error"] == "forbidden"
    # and the pages: 403 for a user, the login page for a visitor
    user_web = web_login(server, alice.email, alice.password)
    assert user_web.get("/admin/users").status_code == 403
    r = httpx.get(server.url + "/admin/users", headers=HTML)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def test_search_paging_usage(server: Server, admin: Admin, alice: Account) -> None:
    tag = "find-" + secrets.token_hex(4)
    ctx = db_context(server)
    with ctx.db.session() as s:
        for i in range(3):
            accounts.create_user(s, f"{tag}-{i}@example.org", "pw-12345678")
    ctx.close()
    r = admin.api.get("/api/v1/admin/users", params={"search": tag.upper(), "per_page": 2})
    body = r.json()
    assert (body["total"], body["page"], body["per_page"]) == (3, 1, 2)
    assert [i["email"] for i in body["items"]] == [f"{tag}-0@example.org", f"{tag}-1@example.org"]
    page2 = admin.api.get("/api/v1/admin/users",
                          params={"search": tag, "per_page": 2, "page": 2}).json()  # fmt: skip
    assert [i["email"] for i in page2["items"]] == [f"{tag}-2@example.org"]
    none = admin.api.get("/api/v1/admin/users", params={"search": "no-such-" + tag}).json()
    assert none == {"items": [], "total": 0, "page": 1, "per_page": 50}
    # LIKE wildcards are plain characters
    assert admin.api.get("/api/v1/admin/users", params={"search": "%_%"}).json()["total"] == 0
    assert admin.api.get("/api/v1/admin/users", params={"state": "nope"}).status_code == 400
    assert admin.api.get("/api/v1/admin/users", params={"page": 0}).status_code == 422

    upload(alice.client, "a.bin", b"x" * 1000)
    upload(alice.client, "b.bin", b"y" * 500)
    one = _find(admin, alice.email)
    assert (one["storage_used"], one["files"], one["plan"], one["state"]) == (
        1500, 2, "free", "active",
    )  # fmt: skip
    assert one["created"].endswith("Z") and one["last_login"] is None


def test_change_plan(admin: Admin, alice: Account) -> None:
    me = _find(admin, alice.email)
    r = admin.api.patch(f"/api/v1/admin/users/{me['id']}", json={"plan": "premium"})
    assert r.status_code == 200 and r.json()["plan"] == "premium"
    assert alice.client.get("/api/v1/me").json()["plan"]["name"] == "premium"
    r = admin.api.patch(f"/api/v1/admin/users/{me['id']}", json={"plan": "gold"})
    assert r.status_code == 404 and "No plan named 'gold'" in r.json()["message"]
    assert admin.api.get("/api/v1/admin/users/999999").status_code == 404


def test_suspend_is_immediate_and_reversible(server: Server, admin: Admin, alice: Account) -> None:
    web = web_login(server, alice.email, alice.password)
    assert web.get("/files").status_code == 200
    user_id = _find(admin, alice.email)["id"]

    r = admin.api.post(f"/api/v1/admin/users/{user_id}/suspend", json={"reason": "  "})
    assert r.status_code == 400
    r = admin.api.post(f"/api/v1/admin/users/{user_id}/suspend", json={"reason": "Spam <b>"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["state"] == "suspended" and got["suspended_reason"] == "Spam <b>"
    assert got["suspended_at"]

    # API token revoked, web session ended, uploads refused, login refused
    assert alice.client.get("/api/v1/me").status_code == 401
    assert alice.client.put("/api/v1/files/x.txt", content=b"x").status_code == 401
    assert web.get("/files").status_code == 303
    login = httpx.post(server.url + "/login", headers=HTML,
                       data={"email": alice.email, "password": alice.password})  # fmt: skip
    assert login.status_code == 403 and "suspended" in login.text
    listed = admin.api.get("/api/v1/admin/users", params={"state": "suspended"}).json()
    assert user_id in [i["id"] for i in listed["items"]]

    r = admin.api.post(f"/api/v1/admin/users/{user_id}/unsuspend")
    assert r.status_code == 200 and r.json()["state"] == "active"
    assert r.json()["suspended_reason"] is None
    again = web_login(server, alice.email, alice.password)
    assert again.get("/files").status_code == 200
    assert alice.client.get("/api/v1/me").status_code == 401  # tokens stay revoked


def test_cannot_suspend_or_delete_yourself(server: Server, admin: Admin) -> None:
    me = _find(admin, admin.email)
    r = admin.api.post(f"/api/v1/admin/users/{me['id']}/suspend", json={"reason": "x"})
    assert r.status_code == 409 and "your own account" in r.json()["message"]
    r = admin.api.delete(f"/api/v1/admin/users/{me['id']}")
    assert r.status_code == 409 and "your own account" in r.json()["message"]
    # another administrator can go (the server's first admin remains)
    other = make_admin(server)
    other_id = _find(admin, other.email)["id"]
    assert admin.api.delete(f"/api/v1/admin/users/{other_id}").status_code == 200
    assert other.api.get("/api/v1/me").status_code == 401


def test_delete_user_files_and_shared_blob(
    server: Server, admin: Admin, account_factory: Callable[..., Account]
) -> None:
    doomed, keeper = account_factory(), account_factory()
    shared = b"shared content " + secrets.token_bytes(64)
    own = b"own content " + secrets.token_bytes(64)
    f_shared = upload(doomed.client, "shared.bin", shared)
    f_own = upload(doomed.client, "own.bin", own)
    f_keep = upload(keeper.client, "keep.bin", shared)
    before = admin.api.get("/api/v1/admin/figures").json()

    user_id = _find(admin, doomed.email)["id"]
    r = admin.api.delete(f"/api/v1/admin/users/{user_id}")
    assert r.status_code == 200 and r.json() == {"id": user_id, "deleted_files": 2}

    anon = httpx.Client(base_url=server.url, timeout=30, headers=JSON)
    for f in (f_shared, f_own):
        r = anon.get(f"/{f['code']}")
        assert r.status_code == 410 and r.json()["error"] == "file_deleted"
    kept = anon.get(f"/{f_keep['code']}")  # the other owner's copy of the same bytes
    assert kept.status_code == 200
    assert httpx.get(kept.json()["download_url"]).content == shared

    after = admin.api.get("/api/v1/admin/figures").json()
    assert after["blobs"] == before["blobs"] - 1  # only the unshared content went
    assert after["blobs_bytes"] == before["blobs_bytes"] - len(own)
    assert after["files"] == before["files"] - 2
    assert admin.api.get(f"/api/v1/admin/users/{user_id}").status_code == 404
    assert (
        admin.api.get("/api/v1/admin/users", params={"search": doomed.email}).json()["total"] == 0
    )
    assert doomed.client.get("/api/v1/me").status_code == 401
    # the address is free again
    form = {"email": doomed.email, "password": "pw-123456789", "password_again": "pw-123456789"}
    r = httpx.post(server.url + "/register", headers=HTML, data=form)
    assert r.status_code == 303, r.text


def test_plans_crud(admin: Admin, account_factory: Callable[..., Account]) -> None:
    name = "p-" + secrets.token_hex(3)
    r = admin.api.post("/api/v1/admin/plans", json={
        "name": name, "storage_quota": 10 * 1024**3, "max_file_size": None, "download_wait": 30,
    })  # fmt: skip
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["storage_quota"] == 10 * 1024**3 and plan["max_file_size"] is None
    assert plan["download_wait"] == 30 and plan["users"] == 0
    assert admin.api.post("/api/v1/admin/plans", json={"name": name}).status_code == 409
    assert admin.api.post("/api/v1/admin/plans", json={"name": "Bad Name!"}).status_code == 400
    r = admin.api.post("/api/v1/admin/plans", json={"name": name + "x", "retention_days": -1})
    assert r.status_code == 422

    r = admin.api.patch(f"/api/v1/admin/plans/{plan['id']}",
                        json={"storage_quota": None, "retention_days": 90})  # fmt: skip
    assert r.status_code == 200
    assert (r.json()["storage_quota"], r.json()["retention_days"], r.json()["download_wait"]) == (
        None, 90, 30,
    )  # fmt: skip

    acc = account_factory()
    admin.api.patch(f"/api/v1/admin/users/{_find(admin, acc.email)['id']}", json={"plan": name})
    listed = {p["name"]: p for p in admin.api.get("/api/v1/admin/plans").json()["items"]}
    assert listed[name]["users"] == 1 and {"free", "premium", "anonymous"} <= set(listed)
    r = admin.api.delete(f"/api/v1/admin/plans/{plan['id']}")
    assert r.status_code == 409 and "1 account(s)" in r.json()["message"]
    admin.api.patch(f"/api/v1/admin/users/{_find(admin, acc.email)['id']}", json={"plan": "free"})
    assert admin.api.delete(f"/api/v1/admin/plans/{plan['id']}").status_code == 204
    assert admin.api.delete(f"/api/v1/admin/plans/{plan['id']}").status_code == 404
    free = listed["free"]["id"]
    assert admin.api.delete(f"/api/v1/admin/plans/{free}").status_code == 409


def test_figures_traffic_and_settings(fresh_server: Server) -> None:
    """On a server of its own: exact figures, and settings that change what everyone sees."""
    srv = fresh_server
    srv.env["PARTAGE_COUNTER_FLUSH_INTERVAL"] = "0.2"
    srv.start()
    admin = make_admin(srv)
    acc = make_account(srv)
    content = secrets.token_bytes(3000)
    f1 = upload(acc.client, "one.bin", content)
    upload(acc.client, "two.bin", content)  # dedup: one blob
    fig = admin.api.get("/api/v1/admin/figures").json()
    assert (fig["users"], fig["files"], fig["blobs"]) == (3, 2, 1)  # with the first admin
    assert (fig["files_bytes"], fig["blobs_bytes"]) == (6000, 3000)
    assert len(fig["traffic"]) == 30 and fig["traffic_downloads"] == 0

    with httpx.Client(base_url=srv.url, headers=JSON, timeout=30) as anon:
        for _ in range(2):
            link = anon.get(f"/{f1['code']}").json()["download_url"]
            assert anon.get(link).content == content
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        fig = admin.api.get("/api/v1/admin/figures").json()
        if fig["traffic_downloads"] == 2:
            break
        time.sleep(0.2)
    assert (fig["traffic_downloads"], fig["traffic_bytes"]) == (2, 6000)
    assert fig["traffic"][-1]["downloads"] == 2 and fig["downloads_total"] == 2

    # runtime settings
    items = {i["key"]: i for i in admin.api.get("/api/v1/admin/settings").json()["items"]}
    assert items["registration_open"] == {
        "key": "registration_open", "type": "bool", "value": True, "default": True,
        "overridden": False,
    }  # fmt: skip
    r = admin.api.put("/api/v1/admin/settings/registration_open", json={"value": False})
    assert r.json() == {"key": "registration_open", "value": False}
    r = admin.api.put("/api/v1/admin/settings/site_notice",
                      json={"value": "Maintenance <tonight> & tomorrow"})  # fmt: skip
    assert r.status_code == 200
    r = admin.api.put("/api/v1/admin/settings/secret_key", json={"value": "x"})
    assert r.status_code == 400
    r = admin.api.put("/api/v1/admin/settings/site_notice", json={"value": "x" * 501})
    assert r.status_code == 400

    with httpx.Client(base_url=srv.url, headers=HTML, timeout=30) as anon:
        assert anon.get("/register").status_code == 404
        r = anon.post("/register", data={"email": "new@example.org", "password": "pw-12345678",
                                         "password_again": "pw-12345678"})  # fmt: skip
        assert r.status_code == 404
        home = anon.get("/login").text
        assert 'href="/register"' not in home
        assert "Maintenance &lt;tonight&gt; &amp; tomorrow" in home

        assert admin.api.delete("/api/v1/admin/settings/registration_open").status_code == 204
        assert admin.api.delete("/api/v1/admin/settings/site_notice").status_code == 204
        assert anon.get("/register").status_code == 200
        assert "Maintenance" not in anon.get("/login").text
