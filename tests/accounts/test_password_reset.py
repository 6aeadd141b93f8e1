"""Forgotten password: a one-time link by e-mail (real SMTP server), the new password,
every session ended, the link spent; the same answer for unknown addresses; limits."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import httpx
from sqlalchemy import update

from partage.accounts.models import AccountToken, User
from partage.db import utcnow
from tests.accounts.conftest import path_of, web_login
from tests.conftest import db_context, make_account


def ask_reset(srv, email: str) -> httpx.Response:
    return httpx.post(srv.url + "/password/forgot", data={"email": email}, timeout=30)


def sent_text(html: str) -> str:
    m = re.search(r'<p class="flash ok" role="status" id="reset-sent">(.*?)</p>', html, re.S)
    assert m, html
    return m.group(1)


def test_reset_happy_path_ends_sessions_and_spends_the_link(mail_server, inbox):
    acc = make_account(mail_server)
    browser = web_login(mail_server, acc.email, acc.password)
    assert browser.get("/api/v1/me").status_code == 200

    r = ask_reset(mail_server, acc.email.upper())  # any case: addresses are kept lower-case
    assert r.status_code == 200
    msg = inbox.wait(acc.email)
    assert msg["From"] == "partage <noreply@example.org>"
    assert msg["Subject"] == "Reset your partage password"
    link = inbox.link(acc.email)
    assert link.startswith(mail_server.url + "/password/reset/")
    secret = link.rsplit("/", 1)[1]

    # Only the SHA-256 of the secret is stored.
    ctx = db_context(mail_server)
    with ctx.db.read() as s:
        rows = s.query(AccountToken).filter(AccountToken.purpose == "reset").all()
        assert all(secret not in (t.token_hash, t.new_email) for t in rows)
    ctx.close()

    c = httpx.Client(base_url=mail_server.url, timeout=30)
    page = c.get(path_of(link))
    assert page.status_code == 200
    assert acc.email in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"

    # A typo does not burn the link.
    r = c.post(path_of(link), data={"password": "new-password-1", "password_again": "other-1234"})
    assert r.status_code == 400
    assert "The two passwords differ." in r.text
    r = c.post(path_of(link), data={"password": "short", "password_again": "short"})
    assert r.status_code == 400

    r = c.post(
        path_of(link), data={"password": "new-password-1", "password_again": "new-password-1"}
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/login?done=reset"
    assert "log in with the new one" in c.get("/login?done=reset").text

    assert browser.get("/api/v1/me").status_code == 401  # the other session ended
    bad = httpx.post(
        mail_server.url + "/login", data={"email": acc.email, "password": acc.password}
    )
    assert bad.status_code == 401
    web_login(mail_server, acc.email, "new-password-1")
    assert acc.client.get("/api/v1/me").status_code == 200  # API tokens are not sessions

    # Spent: neither the form nor the change works again.
    again = c.get(path_of(link))
    assert again.status_code == 410
    assert "used already" in again.text
    r = c.post(path_of(link), data={"password": "third-pass-1", "password_again": "third-pass-1"})
    assert r.status_code == 410
    web_login(mail_server, acc.email, "new-password-1")


def test_unknown_address_gets_the_same_answer(mail_server, inbox):
    acc = make_account(mail_server)
    unknown = "nobody-" + acc.email
    known = ask_reset(mail_server, acc.email)
    other = ask_reset(mail_server, unknown)
    assert known.status_code == other.status_code == 200
    assert sent_text(known.text).replace(acc.email, "X") == sent_text(other.text).replace(
        unknown, "X"
    )
    inbox.wait(acc.email)
    time.sleep(1)
    assert inbox.to(unknown) == []


def test_expired_link_refused(mail_server, inbox):
    acc = make_account(mail_server)
    ask_reset(mail_server, acc.email)
    link = inbox.link(acc.email)
    ctx = db_context(mail_server)
    with ctx.db.session() as s:
        s.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)).where(
            AccountToken.purpose == "reset", AccountToken.used_at.is_(None)))  # fmt: skip
    ctx.close()
    r = httpx.get(mail_server.url + path_of(link))
    assert r.status_code == 410
    assert "expired" in r.text
    r = httpx.post(
        mail_server.url + path_of(link),
        data={"password": "new-password-1", "password_again": "new-password-1"},
    )
    assert r.status_code == 410
    web_login(mail_server, acc.email, acc.password)  # unchanged


def test_unknown_link_refused(mail_server):
    r = httpx.get(mail_server.url + "/password/reset/not-a-real-secret")
    assert r.status_code == 404
    assert "not valid" in r.text


def test_requests_limited_per_address_and_email(mail_server, inbox):
    acc = make_account(mail_server)
    for _ in range(3):  # PARTAGE_PASSWORD_RESET_RATE_PER_EMAIL: 3/hour by default
        assert ask_reset(mail_server, acc.email).status_code == 200
    r = ask_reset(mail_server, acc.email)
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert "Too many password-reset requests for this address" in r.text
    inbox.wait(acc.email, 3)
    time.sleep(0.5)
    assert len(inbox.to(acc.email)) == 3
    # The same for an address with no account: the limit tells nothing either.
    ghost = "ghost-" + acc.email
    assert [ask_reset(mail_server, ghost).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_suspended_account_cannot_reset(mail_server, inbox):
    acc = make_account(mail_server)
    ask_reset(mail_server, acc.email)
    link = inbox.link(acc.email)
    ctx = db_context(mail_server)
    with ctx.db.session() as s:
        s.execute(update(User).where(User.email == acc.email).values(is_active=False))
    ctx.close()
    r = httpx.get(mail_server.url + path_of(link))
    assert r.status_code == 403
    assert "This account is suspended." in r.text
    r = httpx.post(
        mail_server.url + path_of(link),
        data={"password": "new-password-1", "password_again": "new-password-1"},
    )
    assert r.status_code == 403


def test_reset_through_the_api(mail_server, inbox):
    acc = make_account(mail_server)
    r = httpx.post(mail_server.url + "/api/v1/password/forgot", json={"email": acc.email})
    assert r.status_code == 202
    assert r.json() == {"message": "If an account uses this address, a reset link was sent to it."}
    secret = inbox.link(acc.email).rsplit("/", 1)[1]
    r = httpx.post(
        mail_server.url + "/api/v1/password/reset", json={"token": secret, "password": "short"}
    )
    assert r.status_code == 400
    body = {"token": secret, "password": "api-password-1"}
    r = httpx.post(mail_server.url + "/api/v1/password/reset", json=body)
    assert r.status_code == 204
    r = httpx.post(mail_server.url + "/api/v1/password/reset", json=body)
    assert r.status_code == 410
    assert r.json()["error"] == "gone"
    web_login(mail_server, acc.email, "api-password-1")


def test_mails_are_in_the_readers_language(mail_server, inbox):
    """The request's language when the account has none saved, else the saved one."""
    acc = make_account(mail_server)
    r = httpx.post(
        mail_server.url + "/password/forgot", data={"email": acc.email},
        headers={"Accept-Language": "fr-FR,fr;q=0.9"}, timeout=30,
    )  # fmt: skip
    assert r.status_code == 200
    msg = inbox.wait(acc.email)
    assert msg["Subject"] == "Réinitialisez votre mot de passe partage"
    body = msg.get_content()
    assert "Choisissez un nouveau mot de passe ici" in body
    assert mail_server.url + "/password/reset/" in body

    ctx = db_context(mail_server)
    with ctx.db.session() as s:
        s.query(User).filter(User.email == acc.email).update({"locale": "en"})
    ctx.close()
    httpx.post(
        mail_server.url + "/password/forgot", data={"email": acc.email},
        headers={"Accept-Language": "fr"}, timeout=30,
    )  # fmt: skip
    assert inbox.wait(acc.email, count=2)["Subject"] == "Reset your partage password"
