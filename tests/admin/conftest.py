"""Administrators and web logins on a real server; helpers shared by the admin tests."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from partage.accounts import service as accounts
from tests.conftest import db_context
from tests.serverproc import Server
from tests.web.conftest import new_context  # noqa: F401  (the browser tests' fixture)

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html"}


@dataclass
class Admin:
    email: str
    password: str
    api: httpx.Client  # bearer token


def make_admin(srv: Server) -> Admin:
    """A second administrator (the server's first one is made on start), with a token."""
    ctx = db_context(srv)
    email = f"admin-{secrets.token_hex(4)}@example.org"
    password = "Admin-pw-" + secrets.token_hex(8)
    try:
        with ctx.db.session() as s:
            user = accounts.create_user(s, email, password, admin=True)
            _, token = accounts.create_token(s, user, "tests")
    finally:
        ctx.close()
    api = httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    return Admin(email, password, api)


def web_login(srv: Server, email: str, password: str) -> httpx.Client:
    """A browser-like client with a session cookie (no redirects followed)."""
    client = httpx.Client(base_url=srv.url, headers=HTML, timeout=60)
    r = client.post("/login", data={"email": email, "password": password})
    assert r.status_code == 303, r.text
    return client


def csrf_of(html: str) -> str:
    return html.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


def upload(client: httpx.Client, name: str, content: bytes) -> dict:
    r = client.put(f"/api/v1/files/{name}", content=content, headers=JSON)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def admin(server: Server) -> Iterator[Admin]:
    made = make_admin(server)
    yield made
    made.api.close()
