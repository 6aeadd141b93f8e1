"""Bad API tokens are rate-limited per address with 429 and Retry-After; a valid token is
never refused (tests/security/test_lockout.py replays the default 60 a minute)."""

import httpx

from tests.serverproc import Server


def test_token_guessing_is_rate_limited(fresh_server: Server) -> None:
    fresh_server.env = {"PARTAGE_TOKEN_FAILURE_RATE_PER_ADDRESS": "5/minute"}
    fresh_server.start()
    with httpx.Client(base_url=fresh_server.url) as c:
        codes = [
            c.get("/api/v1/me", headers={"Authorization": f"Bearer ptg_guess{i}"}).status_code
            for i in range(5)
        ]
        assert codes == [401] * 5
        r = c.get("/api/v1/me", headers={"Authorization": "Bearer ptg_guess-more"})
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) > 0
        assert r.json()["error"] == "rate_limited"
        assert "Try again in" in r.json()["message"]
