"""Changing the e-mail address (confirmed from the new mailbox) and the password (the
current one required; the other sessions end), from the account page and the API."""

from __future__ import annotations

import httpx

from tests.accounts.conftest import csrf_of, path_of, web_login
from tests.conftest import make_account


def test_change_email_round_trip(mail_server, inbox):
    acc = make_account(mail_server)
    other = make_account(mail_server)
    c = web_login(mail_server, acc.email, acc.password)
    token = csrf_of(c.get("/account").text)
    new = "moved-" + acc.email

    r = c.post("/account/email", data={"csrf_token": token, "new_email": new, "password": "nope"})
    assert r.status_code == 401
    assert "The current password is wrong." in r.text
    form = {"csrf_token": token, "new_email": other.email, "password": acc.password}
    r = c.post("/account/email", data=form)
    assert r.status_code == 409
    assert "Another account uses this e-mail address." in r.text
    r = c.post("/account/email", data={**form, "new_email": "not an address"})
    assert r.status_code == 400
    assert c.post("/account/email", data={**form, "csrf_token": "x"}).status_code == 403

    r = c.post("/account/email", data={**form, "new_email": new})
    assert r.status_code == 303
    assert "confirmation link" in c.get(r.headers["location"]).text
    assert c.get("/api/v1/me").json()["email"] == acc.email  # not before the link is used

    link = inbox.link(new)
    assert "/account/email/confirm/" in link
    stranger = httpx.Client(base_url=mail_server.url)  # the link works in any browser
    page = stranger.get(path_of(link))
    assert page.status_code == 200
    assert new in page.text
    assert c.get("/api/v1/me").json()["email"] == acc.email  # a GET changes nothing
    r = stranger.post(path_of(link))
    assert r.status_code == 200
    assert "is now" in r.text
    assert c.get("/api/v1/me").json()["email"] == new

    notice = inbox.wait(acc.email)  # the old address is told
    assert new in notice.get_content()
    web_login(mail_server, new, acc.password)
    r = httpx.post(mail_server.url + "/login", data={"email": acc.email, "password": acc.password})
    assert r.status_code == 401
    assert stranger.post(path_of(link)).status_code == 410  # spent


def test_change_email_refused_when_taken_meanwhile(mail_server, inbox):
    acc = make_account(mail_server)
    new = "wanted-" + acc.email
    r = acc.client.post("/api/v1/me/email", json={"new_email": new, "password": acc.password})
    assert r.status_code == 202
    assert r.json()["new_email"] == new
    secret = inbox.link(new).rsplit("/", 1)[1]
    # Someone signs up with that address before the link is followed.
    r = httpx.post(
        mail_server.url + "/register",
        data={"email": new, "password": "pw-12345678", "password_again": "pw-12345678"},
    )
    assert r.status_code == 303
    r = httpx.post(mail_server.url + "/api/v1/email/confirm", json={"token": secret})
    assert r.status_code == 409
    assert acc.client.get("/api/v1/me").json()["email"] == acc.email


def test_change_password_needs_current_and_ends_other_sessions(mail_server):
    acc = make_account(mail_server)
    here = web_login(mail_server, acc.email, acc.password)
    elsewhere = web_login(mail_server, acc.email, acc.password)
    token = csrf_of(here.get("/account").text)
    form = {
        "csrf_token": token,
        "current_password": "wrong-password",
        "new_password": "brand-new-pw-1",
        "new_password_again": "brand-new-pw-1",
    }
    r = here.post("/account/password", data=form)
    assert r.status_code == 401
    assert "The current password is wrong." in r.text
    r = here.post("/account/password", data={**form, "current_password": acc.password,
                                              "new_password_again": "different-1"})  # fmt: skip
    assert r.status_code == 400
    r = here.post("/account/password", data={**form, "current_password": acc.password})
    assert r.status_code == 303
    assert "Your password was changed" in here.get(r.headers["location"]).text
    assert here.get("/api/v1/me").status_code == 200  # this session stays
    assert elsewhere.get("/api/v1/me").status_code == 401  # the other one ended
    web_login(mail_server, acc.email, "brand-new-pw-1")
    r = httpx.post(mail_server.url + "/login", data={"email": acc.email, "password": acc.password})
    assert r.status_code == 401


def test_change_password_through_the_api(mail_server):
    acc = make_account(mail_server)
    browser = web_login(mail_server, acc.email, acc.password)
    body = {"current_password": "wrong", "new_password": "api-new-pw-1"}
    r = acc.client.post("/api/v1/me/password", json=body)
    assert r.status_code == 401
    assert r.json()["error"] == "not_authenticated"
    r = acc.client.post("/api/v1/me/password", json={**body, "current_password": acc.password})
    assert r.status_code == 200
    assert r.json() == {"sessions_ended": 1}
    assert browser.get("/api/v1/me").status_code == 401
    assert acc.client.get("/api/v1/me").status_code == 200  # the token keeps working
    web_login(mail_server, acc.email, "api-new-pw-1")


def test_account_page_shows_plan_limits(mail_server):
    acc = make_account(mail_server, storage_quota=None, max_file_size=1024**2, download_wait=30,
                       retention_days=90, bandwidth_cap=None)  # fmt: skip
    c = web_login(mail_server, acc.email, acc.password)
    html = c.get("/account").text
    assert '<dd id="plan-quota"><span class="unlimited">unlimited</span></dd>' in html
    assert '<dd id="plan-max-file">1.0\xa0MiB</dd>' in html
    assert "30 seconds" in html
    assert "until nobody downloaded them for 90 days" in html
    assert "this browser" in html  # the sessions list
    assert 'id="account-2fa">' in html
