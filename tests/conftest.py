"""Shared fixtures: a real server process, real users with real API tokens."""

from __future__ import annotations

import itertools
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from partage.accounts import service as accounts
from partage.context import Context
from partage.settings import Settings
from tests.serverproc import Server

_n = itertools.count()


@dataclass
class Account:
    email: str
    password: str
    token: str
    client: httpx.Client


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The scaled-out run leaves no test database behind on the PostgreSQL server."""
    from tests.serverproc import drop_databases

    drop_databases()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Debian Chromium for the whole session (tests/browser.py)."""
    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(
            "Debian's chromium is not installed: run ./run test, or apt-get install chromium"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the session; tests isolate themselves with their own accounts."""
    srv = Server(tmp_path_factory.mktemp("srv") / "data").start()
    yield srv
    srv.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A server of the test's own, for tests that kill, restart or reconfigure it."""
    srv = Server(tmp_path / "data")
    yield srv
    srv.stop()


def db_context(srv: Server) -> Context:
    """The same database and store the server uses (real SQLite, no mock)."""
    storage = {k.removeprefix("PARTAGE_").lower(): v for k, v in srv.storage_env.items()}
    return Context.build(Settings(data_dir=srv.data_dir, database_url=srv.database_url, **storage))


def make_account(srv: Server, plan: str = "free", **plan_overrides: int | None) -> Account:
    """A new user with an API token, created directly in the server's database."""
    ctx = db_context(srv)
    email = f"user{next(_n)}-{secrets.token_hex(3)}@example.org"
    password = "pw-" + secrets.token_hex(8)
    with ctx.db.session() as s:
        user = accounts.create_user(s, email, password, plan=plan)
        if plan_overrides:
            from partage.accounts.models import Plan

            custom = Plan(name=f"custom-{secrets.token_hex(4)}", **plan_overrides)
            s.add(custom)
            s.flush()
            user.plan_id = custom.id
        _, token = accounts.create_token(s, user, "tests")
    ctx.close()
    client = httpx.Client(
        base_url=srv.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    )
    return Account(email, password, token, client)


@pytest.fixture
def account_factory(server: Server) -> Iterator[Callable[..., Account]]:
    made: list[Account] = []

    def factory(plan: str = "free", **overrides: int | None) -> Account:
        acc = make_account(server, plan, **overrides)
        made.append(acc)
        return acc

    yield factory
    for acc in made:
        acc.client.close()


@pytest.fixture
def alice(account_factory: Callable[..., Account]) -> Account:
    return account_factory()


@pytest.fixture
def bob(account_factory: Callable[..., Account]) -> Account:
    return account_factory()
