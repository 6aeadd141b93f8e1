"""The admin pages without JavaScript: plain forms with CSRF tokens, against a real server."""

from __future__ import annotations

import secrets
import time

import httpx

from tests.admin.conftest import Admin, csrf_of, make_admin, upload, web_login
from tests.conftest import Account, make_account
from tests.serverproc import Server


def _row_id(html: str, email: str) -> int:
    return int(html.split(f'data-email="{email}"')[0].rsplit('data-user-id="', 1)[1].split('"')[0])


def test_users_page_search_and_suspend_form(server: Server, admin: Admin, alice: Account) -> None:
    web = web_login(server, admin.email, admin.password)
    page = web.get("/admin/users", params={"q": alice.email})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert alice.email in page.text and 'id="users-total"' in page.text
    user_id = _row_id(page.text, alice.email)
    token = csrf_of(page.text)

    r = web.post(f"/admin/users/{user_id}/suspend", data={"reason": "abuse"})
    assert r.status_code == 403  # no CSRF token
    back = f"/admin/users?q={alice.email}"
    r = web.post(f"/admin/users/{user_id}/suspend",
                 data={"csrf_token": token, "reason": "abuse", "back": back})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == back + "&done=suspended"
    shown = web.get(r.headers["location"]).text
    assert 'id="admin-notice"' in shown and "admin-suspended" in shown
    assert alice.client.get("/api/v1/me").status_code == 401

    detail = web.get(f"/admin/users/{user_id}").text
    assert 'id="user-reason">abuse<' in detail
    r = web.post(f"/admin/users/{user_id}/unsuspend",
                 data={"csrf_token": token, "back": "https://evil.example/"})  # fmt: skip
    assert r.headers["location"] == f"/admin/users/{user_id}?done=unsuspended"

    r = web.post(f"/admin/users/{user_id}/plan", data={"csrf_token": token, "plan": "premium"})
    assert r.status_code == 303
    assert 'id="user-plan">premium<' in web.get(f"/admin/users/{user_id}").text

    r = web.post(f"/admin/users/{user_id}/delete", data={"csrf_token": token})
    assert r.status_code == 403  # not confirmed
    r = web.post(f"/admin/users/{user_id}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert r.status_code == 303 and r.headers["location"] == "/admin/users?done=deleted"
    assert web.get(f"/admin/users/{user_id}").status_code == 404


def test_escaping_and_paging(server: Server, admin: Admin) -> None:
    web = web_login(server, admin.email, admin.password)
    r = web.get("/admin/users", params={"q": '"><script>x</script>', "page": 2})
    assert r.status_code == 200
    assert "<script>x</script>" not in r.text and "&lt;script&gt;" in r.text
    assert 'id="no-users"' in r.text


def test_plans_page_forms(server: Server, admin: Admin) -> None:
    web = web_login(server, admin.email, admin.password)
    page = web.get("/admin/plans")
    assert page.status_code == 200 and 'data-plan="free"' in page.text
    assert 'value="50 GiB"' in page.text  # the free plan's quota, as typed
    token = csrf_of(page.text)
    name = "web-" + secrets.token_hex(3)
    r = web.post("/admin/plans", data={
        "csrf_token": token, "name": name, "storage_quota": "5 GiB", "max_file_size": "1.5 MiB",
        "bandwidth_cap": "", "daily_download_quota": "1000", "download_wait": "10",
        "retention_days": "",
    })  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/admin/plans?done=plan-created"
    plans = {p["name"]: p for p in admin.api.get("/api/v1/admin/plans").json()["items"]}
    got = plans[name]
    assert (got["storage_quota"], got["max_file_size"], got["bandwidth_cap"]) == (
        5 * 1024**3, int(1.5 * 1024**2), None,
    )  # fmt: skip
    assert (got["daily_download_quota"], got["download_wait"], got["retention_days"]) == (
        1000, 10, None,
    )  # fmt: skip

    r = web.post(f"/admin/plans/{got['id']}", data={
        "csrf_token": token, "name": name, "storage_quota": "lots", "max_file_size": "",
        "bandwidth_cap": "", "daily_download_quota": "", "download_wait": "0", "retention_days": "",
    })  # fmt: skip
    assert r.status_code == 400 and "storage_quota must be a size" in r.text
    r = web.post(f"/admin/plans/{got['id']}/delete", data={"csrf_token": token})
    assert r.status_code == 303
    assert name not in web.get("/admin/plans").text


def test_overview_jobs_and_settings_pages(fresh_server: Server) -> None:
    """A failed media job shows with its error and can be retried from the page; the
    settings page closes sign-up and sets the site notice."""
    srv = fresh_server
    srv.env["PARTAGE_MEDIA_MAX_ATTEMPTS"] = "1"
    srv.start()
    admin = make_admin(srv)
    acc = make_account(srv)
    fake = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + secrets.token_bytes(2000)
    code = upload(acc.client, "broken.mp4", fake)["code"]

    web = web_login(srv, admin.email, admin.password)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        jobs = admin.api.get("/api/v1/admin/jobs").json()
        if jobs["by_state"]["failed"] == 1:
            break
        time.sleep(0.3)
    assert jobs["by_state"]["failed"] == 1, jobs
    (failure,) = jobs["failures"]
    assert failure["code"] == code and failure["last_error"]

    overview = web.get("/admin")
    assert overview.status_code == 200
    assert 'id="fig-files">1<' in overview.text and 'id="fig-failed">1<' in overview.text
    page = web.get("/admin/jobs").text
    assert 'id="failed-jobs"' in page and f'action="/admin/jobs/{code}/retry"' in page
    token = csrf_of(page)
    r = web.post(f"/admin/jobs/{code}/retry", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/admin/jobs?done=retried"
    after = admin.api.get("/api/v1/admin/jobs").json()
    # queued again, or already run and failed again (a later finish)
    again = after["failures"][0]["finished_at"] if after["failures"] else None
    assert again is None or again > failure["finished_at"], after

    settings = web.get("/admin/settings").text
    assert 'id="registration_open"' in settings and "checked" in settings
    r = web.post("/admin/settings", data={"csrf_token": token, "site_notice": "Back <soon>"})
    assert r.status_code == 303  # the unticked box closes sign-up
    with httpx.Client(base_url=srv.url, headers={"Accept": "text/html"}) as anon:
        home = anon.get("/login").text
        assert "Back &lt;soon&gt;" in home and 'href="/register"' not in home
        assert anon.get("/register").status_code == 404
    r = web.post("/admin/settings", data={
        "csrf_token": token, "reset_registration_open": "1", "reset_site_notice": "1",
    })  # fmt: skip
    assert r.status_code == 303
    items = {i["key"]: i for i in admin.api.get("/api/v1/admin/settings").json()["items"]}
    assert not items["registration_open"]["overridden"] and not items["site_notice"]["overridden"]
    assert httpx.get(srv.url + "/register").status_code == 200
