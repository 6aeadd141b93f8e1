"""API tokens through the real server."""

import httpx
from sqlalchemy import text

from tests.conftest import db_context


def test_me_and_token_lifecycle(server, alice):
    me = alice.client.get("/api/v1/me").json()
    assert me["email"] == alice.email
    assert me["plan"]["name"] == "free"

    created = alice.client.post("/api/v1/tokens", json={"name": "laptop"})
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("ptg_")
    listed = alice.client.get("/api/v1/tokens").json()
    assert "laptop" in [t["name"] for t in listed]
    assert all("token" not in t for t in listed)  # shown once only

    other = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {secret}"})
    assert other.get("/api/v1/me").json()["email"] == alice.email
    assert alice.client.delete(f"/api/v1/tokens/{created.json()['id']}").status_code == 204
    r = other.get("/api/v1/me")
    assert r.status_code == 401
    assert r.json()["error"] == "not_authenticated"


def test_no_token_is_401_json(server):
    r = httpx.get(server.url + "/api/v1/me")
    assert r.status_code == 401
    assert "Authorization" in r.json()["message"]


def test_cannot_revoke_someone_elses_token(alice, bob):
    tok = bob.client.post("/api/v1/tokens", json={"name": "x"}).json()
    r = alice.client.delete(f"/api/v1/tokens/{tok['id']}")
    assert r.status_code == 404


def test_a_token_request_takes_no_write_lock(server, alice):
    """The token lookup used to run in a write transaction, so every API request queued
    for SQLite's one write lock (seconds under load, see docs/benchmarks.md). With the
    lock held by someone else, a read through the API must still answer at once."""
    assert alice.client.get("/api/v1/files").status_code == 200  # its last use is now noted
    ctx = db_context(server)
    try:
        with ctx.db.engine.connect() as conn, conn.begin():
            if conn.dialect.name == "sqlite":
                conn.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the database's write lock
            else:
                conn.execute(text("SELECT id FROM api_tokens FOR UPDATE"))
            r = alice.client.get("/api/v1/files", timeout=5)
            assert r.status_code == 200, r.text
    finally:
        ctx.close()
