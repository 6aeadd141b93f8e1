"""The security module's shared cast, made once per session on the session's server:
alice (the owner), bob (another ordinary user), a moderator and an administrator, each
with an API token and, where the test needs one, a web session (cookie + CSRF token)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from partage.accounts.models import User
from tests.conftest import Account, db_context, make_account
from tests.serverproc import Server

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html"}
EVIL = "https://evil.example"


@dataclass
class Person:
    account: Account
    web: httpx.Client  # a web session: cookie, no CSRF token sent unless asked
    csrf: str

    @property
    def api(self) -> httpx.Client:
        return self.account.client

    @property
    def email(self) -> str:
        return self.account.email


def csrf_of(html: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def web_login(srv: Server, email: str, password: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=srv.url, timeout=60, headers=HTML)
    r = c.post("/login", data={"email": email, "password": password})
    assert r.status_code == 303, r.text
    return c, csrf_of(c.get("/account").text)


def person(srv: Server, *, moderator: bool = False, admin: bool = False) -> Person:
    acc = make_account(srv)
    if moderator or admin:
        ctx = db_context(srv)
        with ctx.db.session() as s:
            s.execute(
                update(User)
                .where(User.email == acc.email)
                .values(is_moderator=moderator, is_admin=admin)
            )
        ctx.close()
    web, csrf = web_login(srv, acc.email, acc.password)
    return Person(acc, web, csrf)


def user_id(srv: Server, email: str) -> int:
    ctx = db_context(srv)
    with ctx.db.read() as s:
        uid = s.scalar(select(User.id).where(User.email == email))
    ctx.close()
    assert uid is not None
    return int(uid)


@pytest.fixture(scope="session")
def cast(server: Server) -> Iterator[dict[str, Person]]:
    people = {
        "alice": person(server),
        "bob": person(server),
        "mod": person(server, moderator=True),
        "admin": person(server, admin=True),
    }
    yield people
    for p in people.values():
        p.api.close()
        p.web.close()


@pytest.fixture(scope="session")
def anon(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def app_routes(srv: Server) -> list[tuple[str, str]]:
    """(method, path) of every route the application answers, walked from the app itself
    (built on the server's settings, never started), so a new route shows up here."""
    from partage.app import create_app
    from partage.settings import Settings

    storage = {k.removeprefix("PARTAGE_").lower(): v for k, v in srv.storage_env.items()}
    app = create_app(Settings(data_dir=srv.data_dir, database_url=srv.database_url, **storage))
    found: list[tuple[str, str]] = []

    def walk(routes: list, path_for: Any) -> None:
        for r in routes:
            if hasattr(r, "original_router"):  # FastAPI's lazily included routers
                walk(r.original_router.routes, r.include_context.path_for)
            elif getattr(r, "methods", None):
                found.extend((m, path_for(r)) for m in sorted(r.methods))

    walk(app.routes, lambda r: r.path)
    app.state.ctx.close()
    return found


@pytest.fixture(scope="session")
def routes(server: Server) -> list[tuple[str, str]]:
    return app_routes(server)
