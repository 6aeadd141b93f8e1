"""Sign-ups are limited per address (each account costs storage)."""

import httpx

from tests.serverproc import Server


def test_signups_per_address_are_limited(fresh_server: Server) -> None:
    fresh_server.env = {"PARTAGE_REGISTRATION_RATE_PER_ADDRESS": "2/hour"}
    fresh_server.start()
    statuses = []
    for i in range(3):
        r = httpx.post(
            fresh_server.url + "/register",
            data={"email": f"new{i}@example.org", "password": "long-enough-1",
                  "password_again": "long-enough-1"},
        )  # fmt: skip
        statuses.append(r.status_code)
    assert statuses == [303, 303, 429]
    assert int(r.headers["Retry-After"]) > 0
    assert "Too many sign-ups from your address" in r.text
    # the refused sign-up created nothing
    r = httpx.post(fresh_server.url + "/login",
                   data={"email": "new2@example.org", "password": "long-enough-1"})  # fmt: skip
    assert r.status_code == 401
