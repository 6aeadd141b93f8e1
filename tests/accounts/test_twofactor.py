"""TOTP two-factor through the real pages and API: set-up with a first code, recovery
codes, the second log-in step (no session before it), replay refused, turning it off."""

from __future__ import annotations

import html as htmllib
import re
import time

import httpx
import pyotp
from sqlalchemy import select, update

from partage.accounts.models import RecoveryCode, User
from tests.accounts.conftest import csrf_of, web_login
from tests.conftest import db_context, make_account


def fresh_step() -> None:
    """Start early in a 30-second step, so the codes computed below stay in the window."""
    if time.time() % 30 > 20:
        time.sleep(30 - time.time() % 30 + 0.2)


def code_at(secret: str, steps: int) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def enable_2fa(srv, email: str, password: str) -> tuple[str, list[str]]:
    """Set-up through the pages; returns (secret, recovery codes)."""
    c = web_login(srv, email, password)
    token = csrf_of(c.get("/account").text)
    r = c.post("/account/2fa/setup", data={"csrf_token": token})
    assert r.status_code == 303
    page = c.get("/account/2fa").text
    secret = re.search(r'<code id="totp-secret" class="secret">([A-Z2-7]+)</code>', page).group(1)
    uri = htmllib.unescape(
        re.search(r'<code class="secret" id="totp-uri">([^<]+)</code>', page).group(1)
    )
    assert (
        uri.startswith("otpauth://totp/") and "issuer=partage" in uri and f"secret={secret}" in uri
    )
    assert "<svg" in page and "QR code for your authenticator app" in page
    r = c.post("/account/2fa/enable", data={"csrf_token": token, "code": "000000"})
    assert r.status_code == 400
    assert "This code is wrong" in r.text
    r = c.post("/account/2fa/enable", data={"csrf_token": token, "code": code_at(secret, 0)})
    assert r.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", r.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    return secret, codes


def password_step(srv, email: str, password: str) -> httpx.Client:
    c = httpx.Client(base_url=srv.url, timeout=30)
    r = c.post("/login", data={"email": email, "password": password, "next": "/account"})
    assert r.status_code == 303
    assert r.headers["location"] == "/login/2fa"
    assert "partage_session" not in c.cookies  # no session before the second factor
    assert c.get("/api/v1/me").status_code == 401
    return c


def test_enable_login_replay_recovery_and_disable(mail_server):
    acc = make_account(mail_server)
    fresh_step()
    secret, codes = enable_2fa(mail_server, acc.email, acc.password)
    ctx = db_context(mail_server)
    with ctx.db.read() as s:
        hashes = list(s.scalars(select(RecoveryCode.code_hash)))
    assert not set(codes) & set(hashes)  # only hashes are stored

    c = password_step(mail_server, acc.email, acc.password)
    assert "6-digit code" in c.get("/login/2fa").text
    r = c.post("/login/2fa", data={"code": "123456"})
    assert r.status_code == 401
    assert "This code is wrong or was used already." in r.text
    # The code that turned 2FA on was spent then: it cannot log in.
    assert c.post("/login/2fa", data={"code": code_at(secret, 0)}).status_code == 401
    r = c.post("/login/2fa", data={"code": code_at(secret, 1)})
    assert r.status_code == 303
    assert r.headers["location"] == "/account"
    assert c.get("/api/v1/me").json()["two_factor"] is True
    with ctx.db.read() as s:
        assert s.scalar(select(User.last_login_at).where(User.email == acc.email)) is not None

    # Replay of the same code in another browser: refused; the next one in the window works.
    other = password_step(mail_server, acc.email, acc.password)
    assert other.post("/login/2fa", data={"code": code_at(secret, 1)}).status_code == 401
    assert other.post("/login/2fa", data={"code": code_at(secret, -1)}).status_code == 303

    # A recovery code works once (typed with spaces and capitals, even).
    third = password_step(mail_server, acc.email, acc.password)
    typed = codes[0].upper().replace("-", " ")
    assert third.post("/login/2fa", data={"code": typed}).status_code == 303
    fourth = password_step(mail_server, acc.email, acc.password)
    assert fourth.post("/login/2fa", data={"code": codes[0]}).status_code == 401
    assert "9 recovery codes left" in third.get("/account").text

    # API tokens keep working without the second factor.
    assert acc.client.get("/api/v1/me").status_code == 200

    # Turning it off needs the password and a code.
    token = csrf_of(third.get("/account/2fa").text)
    form = {"csrf_token": token, "password": "wrong", "code": codes[1]}
    assert third.post("/account/2fa/disable", data=form).status_code == 401
    form = {"csrf_token": token, "password": acc.password, "code": "999999"}
    assert third.post("/account/2fa/disable", data=form).status_code == 401
    form = {"csrf_token": token, "password": acc.password, "code": codes[1]}
    r = third.post("/account/2fa/disable", data=form)
    assert r.status_code == 303
    assert "Two-factor authentication is off." in third.get(r.headers["location"]).text
    with ctx.db.read() as s:
        user = s.scalar(select(User).where(User.email == acc.email))
        assert user.totp_secret is None and user.totp_enabled_at is None
        assert s.scalar(select(RecoveryCode.id).where(RecoveryCode.user_id == user.id)) is None
    ctx.close()
    web_login(mail_server, acc.email, acc.password)  # one step again


def test_new_recovery_codes_replace_the_old(mail_server):
    acc = make_account(mail_server)
    fresh_step()
    _secret, codes = enable_2fa(mail_server, acc.email, acc.password)
    c = password_step(mail_server, acc.email, acc.password)
    assert c.post("/login/2fa", data={"code": codes[0]}).status_code == 303
    token = csrf_of(c.get("/account/2fa").text)
    r = c.post("/account/2fa/recovery-codes", data={"csrf_token": token, "password": "bad"})
    assert r.status_code == 401
    r = c.post("/account/2fa/recovery-codes", data={"csrf_token": token, "password": acc.password})
    assert r.status_code == 200
    new = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", r.text)
    assert len(new) == 10 and not set(new) & set(codes)
    d = password_step(mail_server, acc.email, acc.password)
    assert d.post("/login/2fa", data={"code": codes[1]}).status_code == 401  # old set gone
    assert d.post("/login/2fa", data={"code": new[0]}).status_code == 303


def test_second_step_limits_and_refusals(mail_server):
    acc = make_account(mail_server)
    fresh_step()
    secret, _codes = enable_2fa(mail_server, acc.email, acc.password)

    # Without the pending cookie, or with a forged one: back to the password.
    anon = httpx.Client(base_url=mail_server.url)
    r = anon.post("/login/2fa", data={"code": code_at(secret, 1)})
    assert r.status_code == 401
    assert "log in again" in r.text
    forged = httpx.Client(base_url=mail_server.url, cookies={"partage_2fa": "e30.AAAA"})
    assert forged.post("/login/2fa", data={"code": code_at(secret, 1)}).status_code == 401

    # Wrong codes are limited (PARTAGE_LOGIN_RATE_PER_ACCOUNT, 10 per 15 minutes).
    c = password_step(mail_server, acc.email, acc.password)
    statuses = [c.post("/login/2fa", data={"code": "000000"}).status_code for _ in range(11)]
    assert statuses == [401] * 10 + [429]
    r = c.post("/login/2fa", data={"code": code_at(secret, 1)})
    assert r.status_code == 429
    assert "retry-after" in r.headers


def test_suspended_between_the_two_steps(mail_server):
    acc = make_account(mail_server)
    fresh_step()
    secret, _codes = enable_2fa(mail_server, acc.email, acc.password)
    c = password_step(mail_server, acc.email, acc.password)
    ctx = db_context(mail_server)
    with ctx.db.session() as s:
        s.execute(update(User).where(User.email == acc.email).values(is_active=False))
    ctx.close()
    r = c.post("/login/2fa", data={"code": code_at(secret, 1)})
    assert r.status_code == 403
    assert "This account is suspended." in r.text
    assert "partage_session" not in c.cookies
    r = httpx.post(mail_server.url + "/login", data={"email": acc.email, "password": acc.password})
    assert r.status_code == 403
    assert "This account is suspended." in r.text


def test_twofactor_through_the_api(mail_server):
    acc = make_account(mail_server)
    fresh_step()
    r = acc.client.post("/api/v1/me/2fa/setup")
    assert r.status_code == 200
    secret = r.json()["secret"]
    assert r.json()["uri"].startswith("otpauth://totp/partage:")
    assert acc.client.get("/api/v1/me").json()["two_factor"] is False
    r = acc.client.post("/api/v1/me/2fa/enable", json={"code": "000000"})
    assert r.status_code == 400
    r = acc.client.post("/api/v1/me/2fa/enable", json={"code": code_at(secret, 0)})
    assert r.status_code == 200
    codes = r.json()["recovery_codes"]
    assert len(codes) == 10
    assert acc.client.get("/api/v1/me").json()["two_factor"] is True
    assert acc.client.post("/api/v1/me/2fa/setup").status_code == 409  # on already
    body = {"password": acc.password, "code": code_at(secret, 1)}
    assert acc.client.post("/api/v1/me/2fa/disable", json=body).status_code == 204
    assert acc.client.get("/api/v1/me").json()["two_factor"] is False
