"""The main pages checked by axe-core (the accessibility engine browsers' own audit tools
use) against WCAG 2.1 A and AA — labels, names, contrast, landmarks, lang — at desktop
and phone widths; a visible focus on what the keyboard reaches; and reading and
downloading with JavaScript turned off."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from partage.accounts.models import User
from tests.conftest import Account, db_context
from tests.serverproc import Server
from tests.web.conftest import WIDTHS

AXE = Path(__file__).resolve().parents[2] / "node_modules/axe-core/axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page: Any) -> list[str]:
    if not AXE.exists():
        pytest.fail("node_modules/axe-core is missing: run scripts/build-assets")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(n["target"][0] if n["target"] else "?" for n in v["nodes"][:4])
        for v in result["violations"]
    ]


def focus_is_visible(page: Any, presses: int = 12) -> list[str]:
    """Tab through the page; every focused element must show an outline or a shadow."""
    hidden = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        state = page.evaluate(
            """() => { const el = document.activeElement;
                 if (!el || el === document.body) return null;
                 const s = getComputedStyle(el);
                 const shown = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                               || s.boxShadow !== 'none';
                 const name = el.textContent || el.getAttribute('aria-label') || '';
                 return [el.tagName + (el.id ? '#' + el.id : '') + ' ' +
                         name.trim().slice(0, 30), shown]; }"""
        )
        if state and not state[1]:
            hidden.append(state[0])
    return hidden


OVERFLOW = """() => {
  const out = [], doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth)
    out.push(`page is ${doc.scrollWidth}px wide in ${window.innerWidth}px`);
  const main = document.querySelector('main');
  for (const el of (main ? main.querySelectorAll('table, form, section') : [])) {
    const box = el.parentElement, r = el.getBoundingClientRect();
    const m = box.getBoundingClientRect();
    if (r.width && r.right > m.right + 1 && getComputedStyle(box).overflowX === 'visible')
      out.push(`${el.tagName}.${el.className} sticks out by ${Math.round(r.right - m.right)}px`);
  }
  return out; }"""


def overflow(page: Any) -> list[str]:
    """The page must not scroll sideways, nor anything stick out of its box."""
    return list(page.evaluate(OVERFLOW))


def put(acc: Account, name: str, body: bytes, **params: str) -> dict[str, Any]:
    r = acc.client.put(
        f"/api/v1/files/{name}", content=body, params=params, headers={"Accept": "application/json"}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def browser_login(page: Any, acc: Account) -> None:
    """Log in whatever the page's language (the form's fields by name)."""
    page.goto("/login")
    form = page.locator("main form").first
    form.locator("input[name=email]").fill(acc.email)
    form.locator("input[name=password]").fill(acc.password)
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/files")


@pytest.fixture
def content(server: Server, account_factory: Callable[..., Account]) -> dict[str, Any]:
    """An owner with a folder, a text file, a password-protected file and a shared
    folder; an admin."""
    owner = account_factory()
    folder = owner.client.post("/api/v1/folders", json={"name": "Holidays"}).json()
    text = put(owner, "notes.txt", b"Some notes\n" * 50)
    put(owner, "inside.txt", b"in the folder\n", folder=str(folder["id"]))
    locked = put(owner, "locked.bin", secrets.token_bytes(3000), password="open sesame")
    shared = owner.client.patch(f"/api/v1/folders/{folder['id']}", json={"shared": True})
    assert shared.status_code == 200, shared.text
    admin = account_factory()
    ctx = db_context(server)
    with ctx.db.session() as s:
        s.execute(update(User).where(User.email == admin.email).values(is_admin=True))
    ctx.close()
    reported = put(owner, "reported.txt", b"Reported text\n")
    notice = owner.client.post(
        "/api/v1/notices",
        json={"category": "terms", "locations": [reported["code"]], "explanation": "Spam.",
              "notifier_name": "Ann Reporter", "notifier_email": "ann@example.org",
              "good_faith": True, "accurate": True, "signature": "Ann Reporter"},
    )  # fmt: skip
    assert notice.status_code == 201, notice.text
    return {
        "notice": notice.json()["ref"],
        "owner": owner,
        "admin": admin,
        "text": text["code"],
        "locked": locked["code"],
        "folder": shared.json()["share_url"],
    }


def check_pages(page: Any, paths: list[str]) -> list[str]:
    problems = []
    for path in paths:
        for label, (w, h) in WIDTHS.items():
            page.set_viewport_size({"width": w, "height": h})
            page.goto(path)
            page.wait_for_load_state("networkidle")
            problems += [f"{path} [{label}] {v}" for v in axe_violations(page)]
            problems += [f"{path} [{label}] {o}" for o in overflow(page)]
        page.set_viewport_size({"width": 360, "height": 740})  # the smallest phone we serve
        page.goto(path)
        problems += [f"{path} [360 px] {o}" for o in overflow(page)]
        problems += [f"{path}: focus not visible on {el}" for el in focus_is_visible(page)]
    return problems


def test_the_checks_find_problems(new_context: Callable[..., Any]) -> None:
    page = new_context().new_page()
    page.set_content(
        '<html><body><main><img src="x.png"><input type="text">'
        '<p style="color:#bbb;background:#fff">faint</p>'
        '<a href="#" style="outline:none">link</a></main></body></html>'
    )
    found = " ".join(axe_violations(page))
    for rule in ("html-has-lang", "image-alt", "label", "color-contrast"):
        assert rule in found
    assert any("link" in el for el in focus_is_visible(page, presses=2))


def test_pages_meet_wcag_aa(new_context: Callable[..., Any], content: dict[str, Any]) -> None:
    # axe-core is injected as an inline script, which the site's CSP refuses (as it
    # should): these contexts let the test's own script in.
    visitor = new_context(bypass_csp=True).new_page()
    problems = check_pages(
        visitor,
        ["/", "/login", "/register", "/password/forgot", f"/{content['text']}",
         f"/{content['locked']}", content["folder"], "/zzzzzzzzzzzz", "/report",
         f"/report/{content['notice']}", "/terms", "/transparency"],
    )  # fmt: skip
    owner = new_context(bypass_csp=True).new_page()
    browser_login(owner, content["owner"])
    problems += check_pages(owner, ["/files", "/account", "/account/2fa", "/account/statements"])
    french = new_context(
        locale="fr-FR", bypass_csp=True
    ).new_page()  # longer words: the widest layout
    browser_login(french, content["owner"])
    problems += check_pages(french, ["/files", "/account"])
    admin = new_context(bypass_csp=True).new_page()
    browser_login(admin, content["admin"])
    problems += check_pages(
        admin,
        ["/admin", "/admin/users", "/admin/plans", "/admin/jobs", "/admin/settings",
         "/moderation", f"/moderation/notices/{content['notice']}", "/moderation/complaints",
         "/moderation/banks", "/moderation/matches", "/moderation/audit"],
    )  # fmt: skip
    assert problems == [], "\n".join(problems)


def test_reading_and_downloading_without_javascript(
    new_context: Callable[..., Any], content: dict[str, Any]
) -> None:
    page = new_context(java_script_enabled=False, accept_downloads=True).new_page()
    page.goto(f"/{content['text']}")
    with page.expect_download() as dl:
        page.locator("a.public-file-download").click()
    assert (
        hashlib.sha256(Path(dl.value.path()).read_bytes()).digest()
        == hashlib.sha256(b"Some notes\n" * 50).digest()
    )

    page.goto(f"/{content['locked']}")
    page.locator("input[name=password]").fill("open sesame")
    with page.expect_download() as dl:
        page.locator("form.public-file-password button[type=submit]").first.click()
    assert Path(dl.value.path()).stat().st_size == 3000

    page.goto(content["folder"])
    assert page.get_by_text("inside.txt").count() >= 1

    browser_login(page, content["owner"])  # a plain form post
    page.goto("/files")
    assert page.get_by_text("notes.txt").count() >= 1
    assert page.get_by_text("Holidays").count() >= 1
