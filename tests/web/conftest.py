"""Playwright (sync API) driving Debian's Chromium against a real server process
(the session's one `browser` is in tests/conftest.py)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser import SHOTS

WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}
VENDOR = Path(__file__).resolve().parents[2] / "src/partage/web/static/vendor/tus.min.js"


@pytest.fixture
def new_context(browser, server) -> Iterator[Callable[..., object]]:
    """Fresh browser contexts (own cookies and storage) on the test server."""
    made = []

    def make(**kw: object) -> object:
        ctx = browser.new_context(
            base_url=server.url, viewport={"width": 1280, "height": 800}, **kw
        )
        ctx.set_default_timeout(30_000)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture
def page(new_context) -> object:
    return new_context().new_page()


def shot(page, name: str) -> None:
    """Screenshots of the current page at desktop and phone widths, for people to review."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    for label, (w, h) in WIDTHS.items():
        page.set_viewport_size({"width": w, "height": h})
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(before)


@dataclass
class WebUser:
    email: str
    password: str


def new_web_user() -> WebUser:
    return WebUser(f"web-{secrets.token_hex(4)}@example.org", "pw-" + secrets.token_hex(8))


def register(page, user: WebUser) -> None:
    page.goto("/register")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password", exact=True).fill(user.password)
    page.get_by_label("Password again").fill(user.password)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/files")


def login(page, user: WebUser) -> None:
    page.goto("/login")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/files")


@pytest.fixture
def needs_assets() -> None:
    if not VENDOR.exists():
        pytest.fail("src/partage/web/static/vendor/tus.min.js is missing: run scripts/build-assets")
