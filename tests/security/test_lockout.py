"""An attacker slows himself, never the owner (docs/configuration.md, "Rate limits").

A real server on 127.0.0.1 and clients bound to other loopback addresses
(127.12.3.x: nothing else in the suite uses them), so the server sees a guesser and
the owner as different addresses, as it would on the Internet. The server's own
record of a session's address proves it does. The limits are the defaults scaled
down (each wrong password costs an Argon2 hash: CPU on a shared CI box), so the cases of
issue 12 (defect 3) are replayed with smaller numbers; tokens are cheap, so theirs is
replayed at the default 60 a minute.
"""

from __future__ import annotations

import itertools
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest
import redis
from sqlalchemy import select

from partage.accounts.models import User
from partage.ratelimit import HOT_TRIES  # wrong tries per address on a subject under attack
from tests.conftest import Account, db_context, make_account
from tests.serverproc import Server

REDIS_URL = os.environ.get("PARTAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html"}
_hosts = itertools.count(1)
PER_ACCOUNT, PER_ADDRESS = 4, 8  # failed logins (defaults: 10 and 30)
LINK_PER_ADDRESS, LINK_PER_FILE = 4, 12  # wrong link passwords (defaults: 10 and 30)


def new_address() -> str:
    """A loopback address no other test of the session uses."""
    return f"127.12.3.{next(_hosts)}"


def client_from(srv: Server, address: str, **kw: object) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=srv.url, transport=transport, timeout=60, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Small limits; a notifier is suspended after two unfounded notices."""
    server = Server(
        Path(tmp_path_factory.mktemp("lockout")) / "data",
        env={
            "PARTAGE_LOGIN_RATE_PER_ACCOUNT": f"{PER_ACCOUNT}/15minutes",
            "PARTAGE_LOGIN_RATE_PER_ADDRESS": f"{PER_ADDRESS}/15minutes",
            "PARTAGE_LINK_PASSWORD_RATE_PER_ADDRESS": f"{LINK_PER_ADDRESS}/5minutes",
            "PARTAGE_LINK_PASSWORD_RATE_PER_FILE": f"{LINK_PER_FILE}/5minutes",
            "PARTAGE_NOTIFIER_WARNING_AT": "1",
            "PARTAGE_NOTIFIER_SUSPENSION_AT": "2",
        },
    ).start()
    yield server
    server.stop()


def login(c: httpx.Client, email: str, password: str) -> httpx.Response:
    return c.post("/login", data={"email": email, "password": password})


def assert_slowed(r: httpx.Response, text: str) -> None:
    assert r.status_code == 429, r.text
    assert int(r.headers["Retry-After"]) > 0
    assert text in r.text


def session_addresses(acc: Account) -> set[str]:
    r = acc.client.get("/api/v1/sessions")
    assert r.status_code == 200, r.text
    return {s["address"] for s in r.json()}


def locked_file(acc: Account, password: str) -> str:
    r = acc.client.put(
        f"/api/v1/files/locked-{secrets.token_hex(3)}.txt",
        params={"password": password},
        content=b"the owner's bytes",
        headers=JSON,
    )
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


# -- the three cases of the issue --------------------------------------------------------------


def test_link_opens_for_the_right_password_after_three_guessers(srv: Server) -> None:
    """Wrong guesses from three addresses, each to its own limit, using up the per-file
    allowance, used to lock the link for everyone; the right password from a fourth
    address now opens it."""
    owner = make_account(srv)
    code = locked_file(owner, "open sesame")
    for _ in range(3):
        with client_from(srv, new_address(), headers=JSON) as guesser:
            statuses = [
                guesser.post(f"/{code}", json={"password": f"guess {i}"}).status_code
                for i in range(LINK_PER_ADDRESS)
            ]
            assert statuses == [403] * LINK_PER_ADDRESS
            # The guesser himself is slowed: further guesses (even right ones) wait.
            r = guesser.post(f"/{code}", json={"password": "guess again"})
            assert_slowed(r, "Too many failed password attempts from your address")
            r = guesser.post(f"/{code}", json={"password": "open sesame"})
            assert r.status_code == 429
    with client_from(srv, new_address(), headers=JSON) as visitor:
        r = visitor.post(f"/{code}", json={"password": "open sesame"})
        assert r.status_code == 200, r.text
        assert visitor.get(r.json()["download_url"]).content == b"the owner's bytes"
    with client_from(srv, new_address()) as browser:  # the page too: a signed direct link
        r = browser.post(f"/{code}", data={"password": "open sesame"}, headers=HTML)
        assert r.status_code == 303 and "/d/" in r.headers["location"]
        assert browser.get(r.headers["location"]).content == b"the owner's bytes"
    owner.client.close()


def test_owner_logs_in_from_another_address_after_guessing(srv: Server) -> None:
    """Bad logins on an account from one address, to the per-account allowance, used to
    refuse the owner's right password from another address."""
    owner = make_account(srv)
    home = new_address()
    with client_from(srv, new_address()) as guesser:
        statuses = [login(guesser, owner.email, f"w{i}").status_code for i in range(PER_ACCOUNT)]
        assert statuses == [401] * PER_ACCOUNT
        assert_slowed(login(guesser, owner.email, "wrong again"), "Too many failed logins")
        # From the failing address even the right password waits: it is not even checked.
        assert login(guesser, owner.email, owner.password).status_code == 429
    with client_from(srv, home) as c:
        r = login(c, owner.email, owner.password)
        assert r.status_code == 303, r.text
    assert session_addresses(owner) == {home}  # the server saw the owner's own address
    # Re-authentication (the current password before a change) counts on the same account:
    # it is not locked either.
    with client_from(srv, home, headers={"Authorization": f"Bearer {owner.token}"}) as c:
        r = c.post(
            "/api/v1/me/password",
            json={"current_password": owner.password, "new_password": owner.password + "-new"},
        )
        assert r.status_code == 200, r.text
    owner.client.close()


def test_valid_token_is_accepted_after_bad_tokens_from_its_address(srv: Server) -> None:
    """60 bad tokens in a minute from one address (the default allowance) used to refuse
    a valid token from it."""
    owner = make_account(srv)
    with client_from(srv, new_address()) as c:
        statuses = [
            c.get("/api/v1/me", headers={"Authorization": f"Bearer ptg_guess{i}"}).status_code
            for i in range(60)
        ]
        assert statuses == [401] * 60
        r = c.get("/api/v1/me", headers={"Authorization": "Bearer ptg_guess-more"})
        assert_slowed(r, "Too many failed token checks")
        r = c.get("/api/v1/me", headers={"Authorization": f"Bearer {owner.token}"})
        assert r.status_code == 200, r.text
        assert r.json()["email"] == owner.email
        # ...and the guesser is still slowed after it.
        r = c.get("/api/v1/me", headers={"Authorization": "Bearer ptg_guess-after"})
        assert_slowed(r, "Too many failed token checks")
    owner.client.close()


def test_owner_passes_the_second_factor_after_code_guessing_elsewhere(srv: Server) -> None:
    """Someone who has the password guesses 2FA codes from his address: the account's
    count fills up, yet the owner's right code from his own address is accepted."""
    owner = make_account(srv)
    r = owner.client.post("/api/v1/me/2fa/setup")
    assert r.status_code == 200, r.text
    totp = pyotp.TOTP(r.json()["secret"])
    r = owner.client.post("/api/v1/me/2fa/enable", json={"code": totp.now()})
    assert r.status_code == 200, r.text
    with client_from(srv, new_address()) as guesser:
        assert login(guesser, owner.email, owner.password).headers["location"] == "/login/2fa"
        near = {totp.at(time.time() + 30 * k) for k in range(-2, 4)}  # never a right one
        wrong = [c for c in (f"{i:06d}" for i in range(20)) if c not in near][:PER_ACCOUNT]
        statuses = [guesser.post("/login/2fa", data={"code": c}).status_code for c in wrong]
        assert statuses == [401] * PER_ACCOUNT
        r = guesser.post("/login/2fa", data={"code": wrong[0]})
        assert_slowed(r, "Too many failed codes for this account")
    home = new_address()
    with client_from(srv, home) as c:
        assert login(c, owner.email, owner.password).headers["location"] == "/login/2fa"
        # The next time step: the current one was spent by the set-up.
        r = c.post("/login/2fa", data={"code": totp.at(time.time() + 30)})
        assert r.status_code == 303, r.text
    assert session_addresses(owner) == {home}
    owner.client.close()


# -- what still holds the guesser -----------------------------------------------------------


def test_password_checks_are_bounded_per_address(srv: Server) -> None:
    """One address gets PARTAGE_LOGIN_RATE_PER_ADDRESS password checks per window, however
    it spreads them over accounts: past that, no password of any account is checked for
    it (the right one is refused too, which shows no Argon2 hash ran)."""
    victims = [make_account(srv) for _ in range(3)]
    with client_from(srv, new_address()) as c:
        statuses = [
            login(c, v.email, f"w{i}").status_code for v in victims for i in range(PER_ACCOUNT)
        ]
        assert statuses == [401] * PER_ADDRESS + [429] * (3 * PER_ACCOUNT - PER_ADDRESS)
        r = login(c, victims[2].email, victims[2].password)
        assert_slowed(r, "Too many failed logins from your address")
    for v in victims:
        v.client.close()


def test_account_under_attack_gives_each_new_address_a_few_tries(srv: Server) -> None:
    """Once an account's allowance is used up, a guesser with many addresses gets a few
    wrong tries per address instead of his per-address allowance, and the owner still
    gets in."""
    owner = make_account(srv)
    with client_from(srv, new_address()) as first:
        statuses = [login(first, owner.email, f"w{i}").status_code for i in range(PER_ACCOUNT)]
        assert statuses == [401] * PER_ACCOUNT
    with client_from(srv, new_address()) as second:
        statuses = [login(second, owner.email, f"x{i}").status_code for i in range(HOT_TRIES)]
        assert statuses == [401] * HOT_TRIES
        r = login(second, owner.email, "x")
        assert_slowed(r, "Too many failed logins for this account")
    with client_from(srv, new_address()) as home:
        assert login(home, owner.email, owner.password).status_code == 303
    owner.client.close()


def test_link_under_attack_gives_each_new_address_a_few_tries(srv: Server) -> None:
    owner = make_account(srv)
    code = locked_file(owner, "right one")
    for _ in range(LINK_PER_FILE // LINK_PER_ADDRESS):
        with client_from(srv, new_address(), headers=JSON) as c:
            statuses = [
                c.post(f"/{code}", json={"password": "no"}).status_code
                for _ in range(LINK_PER_ADDRESS)
            ]
            assert statuses == [403] * LINK_PER_ADDRESS
    with client_from(srv, new_address(), headers=JSON) as c:
        statuses = [
            c.post(f"/{code}", json={"password": "no"}).status_code for _ in range(HOT_TRIES)
        ]
        assert statuses == [403] * HOT_TRIES  # fewer than the address's own allowance
        r = c.post(f"/{code}", json={"password": "no"})
        assert_slowed(r, "Too many failed password attempts for this file")
    with client_from(srv, new_address(), headers=JSON) as c:
        assert c.post(f"/{code}", json={"password": "right one"}).status_code == 200
    owner.client.close()


# -- notifiers -----------------------------------------------------------------------------------


def notice(code: str, email: str) -> dict[str, object]:
    return {
        "category": "copyright",
        "locations": [code],
        "explanation": "This is a full copy of our film, uploaded without permission.",
        "work": "The Example Film (2026), Example Studios",
        "notifier_name": "Rita Holder",
        "notifier_email": email,
        "good_faith": True,
        "accurate": True,
        "signature": "Rita Holder",
    }


def test_a_suspended_notifier_does_not_silence_others_behind_the_same_address(
    srv: Server,
) -> None:
    """Suspensions are keyed to the notifier (the e-mail of the notice), so another
    notifier behind the same address (an office, a NAT) still reports."""
    uploader, moderator = make_account(srv), make_account(srv)
    ctx = db_context(srv)
    with ctx.db.session() as s:
        user = s.scalar(select(User).where(User.email == moderator.email))
        assert user is not None
        user.is_moderator = True
    ctx.close()
    r = uploader.client.put("/api/v1/files/work.txt", content=secrets.token_bytes(16), headers=JSON)
    code = r.json()["code"]
    troll = f"troll-{secrets.token_hex(3)}@example.org"
    colleague = f"rights-{secrets.token_hex(3)}@example.org"
    with client_from(srv, new_address()) as office:
        for _ in range(2):
            r = office.post("/api/v1/notices", json=notice(code, troll))
            assert r.status_code == 201, r.text
            decided = moderator.client.post(
                f"/api/v1/moderation/notices/{r.json()['ref']}/decide",
                json={"action": "reject", "facts": "The notifier owns no right in this file."},
            )
            assert decided.status_code == 200, decided.text
        r = office.post("/api/v1/notices", json=notice(code, troll))
        assert r.status_code == 403 and "suspended until" in r.json()["message"]
        r = office.post("/api/v1/notices", json=notice(code, colleague))
        assert r.status_code == 201, r.text
    uploader.client.close()
    moderator.client.close()


# -- shared limits through Redis -------------------------------------------------------------


def test_the_policy_holds_with_limits_shared_in_redis(fresh_server: Server) -> None:
    name = f"partage-test-lockout-{secrets.token_hex(6)}"
    fresh_server.env = {
        "PARTAGE_CACHE_URL": REDIS_URL,
        "PARTAGE_QUEUE_NAME": name,
        "PARTAGE_LOGIN_RATE_PER_ACCOUNT": "4/15minutes",
        "PARTAGE_LOGIN_RATE_PER_ADDRESS": "6/15minutes",
    }
    fresh_server.start()
    keys = redis.Redis.from_url(REDIS_URL)
    try:
        owner = make_account(fresh_server)
        with client_from(fresh_server, new_address()) as guesser:
            assert [login(guesser, owner.email, f"w{i}").status_code for i in range(4)] == [401] * 4
            assert_slowed(login(guesser, owner.email, "w4"), "Too many failed logins")
        home = new_address()
        with client_from(fresh_server, home) as c:
            assert login(c, owner.email, owner.password).status_code == 303
        assert session_addresses(owner) == {home}
        assert list(keys.scan_iter(f"partage:{name}:limits:*")), "nothing counted in Redis"
        owner.client.close()
    finally:
        for key in keys.scan_iter(f"partage:{name}:*"):
            keys.delete(key)
        keys.close()
