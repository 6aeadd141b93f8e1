"""Issue 5's "Done when", in English and in French, in one continuous flow in Chromium on a
real server: sign up → drop a folder → interrupt and resume an upload → share with a
password → a visitor fails once, then downloads the same bytes → move and delete → an
administrator suspends the user. Every label the test looks for comes from the real
catalogue (an untranslated French entry fails the test), and each main page is shot at
desktop and phone widths and must not scroll sideways on a phone."""

from __future__ import annotations

import functools
import os
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from partage.web import i18n
from tests.admin.conftest import make_admin
from tests.web.conftest import WebUser, new_web_user, shot
from tests.web.helpers import binary, drop, sha256, tamper_first_patch, tree, wait_half_sent

MiB = 1024 * 1024
LOCALES = {"en": "en-US", "fr": "fr-FR"}


@functools.cache
def _po(lang: str) -> Catalog:
    with (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


class Catalogue:
    """The page's texts in one language, as the templates render them."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, msgid: str, **kw: Any) -> str:
        """`_(msgid, **kw)` of a template (newstyle gettext: always %-formatted)."""
        return self.raw(msgid) % kw

    def raw(self, msgid: str) -> str:
        """The catalogue's entry itself (what the scripts get, with their {holes})."""
        with i18n.using(self.lang):
            text = i18n.gettext(msgid)
        if self.lang != i18n.DEFAULT:
            # Differs from the English, or is the same word on purpose ("Administration"):
            # an entry the translator has not filled in (or left fuzzy) fails either way.
            entry = _po(self.lang).get(msgid)
            assert entry is not None, f"not in the {self.lang!r} catalogue: {msgid!r}"
            done = bool(entry.string) and not entry.fuzzy
            assert done, f"not translated into {self.lang!r} yet: {msgid!r}"
            assert text != msgid or entry.string == msgid
        return text

    def js_count(self, singular: str, plural: str, n: int) -> str:
        """A script's text about a count (plural_forms in files_strings.html)."""
        with i18n.using(self.lang):
            text = i18n.ngettext(singular, plural, n)
        if self.lang != i18n.DEFAULT:
            entry = _po(self.lang).get(singular)
            assert entry is not None and all(entry.string) and not entry.fuzzy, singular
        return text.replace("{n}", str(n))

    def js(self, msgid: str, **kw: Any) -> str:
        """A script's text (files_strings.html): {name}-style holes filled in."""
        text = self(msgid)  # the template's % formatting turns %% into %
        for k, v in kw.items():
            text = text.replace("{" + k + "}", str(v))
        return text


def html_lang(page) -> str:
    return page.evaluate("document.documentElement.lang")


def fits_phone(page, width: int = 390) -> None:
    """No sideways scrolling at a phone's width (the element that sticks out is named)."""
    before = page.viewport_size
    page.set_viewport_size({"width": width, "height": 844})
    try:
        wide = page.evaluate(
            """() => {
              const w = window.innerWidth;
              if (document.documentElement.scrollWidth <= w) return null;
              const out = [...document.querySelectorAll("body *")].filter((el) => {
                const r = el.getBoundingClientRect();
                return r.right > w + 1 && getComputedStyle(el).position !== "fixed";
              }).slice(0, 5).map((el) => `${el.tagName.toLowerCase()}#${el.id}.${el.className}`
                + ` right=${Math.round(el.getBoundingClientRect().right)}`);
              return {scroll: document.documentElement.scrollWidth, w, out};
            }"""
        )
        assert wide is None, f"{page.url} overflows at {width} px: {wide}"
    finally:
        page.set_viewport_size(before)


def review(page, name: str, lang: str) -> None:
    """Screenshots for people to review, and the phone-width check, of a main page."""
    assert html_lang(page) == lang, page.url
    shot(page, f"e2e-{lang}-{name}")
    fits_phone(page)


def log_in(page, user: WebUser, _: Catalogue) -> None:
    page.goto("/login")
    page.get_by_label(_("E-mail"), exact=True).fill(user.email)
    page.get_by_label(_("Password"), exact=True).fill(user.password)
    page.locator("main").get_by_role("button", name=_("Log in"), exact=True).click()
    page.wait_for_url(re.compile(r".*/(files|admin)(\?.*)?$"))


def log_out(page, _: Catalogue) -> None:
    page.get_by_role("button", name=_("Log out"), exact=True).click()
    page.wait_for_url(re.compile(r".*/$"))


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_end_to_end(lang, server, new_context, tmp_path, needs_assets) -> None:
    _ = Catalogue(lang)
    ctx = new_context(locale=LOCALES[lang])
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    api = ctx.request  # the API with the page's own session cookie

    # -- 1. Sign up -------------------------------------------------------------------------
    user = new_web_user()
    page.goto("/register")
    assert page.get_by_role("heading", level=1).inner_text() == _("Create an account")
    review(page, "register", lang)
    page.get_by_label(_("E-mail"), exact=True).fill(user.email)
    page.get_by_label(_("Password"), exact=True).fill(user.password)
    page.get_by_label(_("Password again"), exact=True).fill(user.password)
    page.locator("main").get_by_role("button", name=_("Sign up"), exact=True).click()
    page.wait_for_url("**/files")
    assert page.locator("#empty").inner_text() == _(
        "No files yet: upload some with the button above."
    )
    review(page, "files-empty", lang)

    # -- 2. Drop a folder: a subfolder, text files and a few MiB of random bytes ----------------
    big = os.urandom(3 * MiB + 4321)
    top = f"holiday-{lang}"
    spec = {top: {"notes.txt": "packing list\n", "todo.txt": "tickets\n",
                  "photos": {"caption.txt": "day one\n", "raw.bin": binary(big)}}}  # fmt: skip
    want = {
        f"{top}/notes.txt": sha256(b"packing list\n"),
        f"{top}/todo.txt": sha256(b"tickets\n"),
        f"{top}/photos/caption.txt": sha256(b"day one\n"),
        f"{top}/photos/raw.bin": sha256(big),
    }
    drop(page, spec)
    for path in want:
        item = page.locator(".upload-item.done", has_text=path)
        link = item.locator("a")
        link.wait_for(timeout=90_000)
        code = link.inner_text().rsplit("/", 1)[1]
        assert link.inner_text() == _.js("Done: /{code}", code=code)
    total = _.js("{done} of {count} files", done=4, count=4) + " · 100%"
    assert page.locator("#upload-total").inner_text().startswith(total)
    assert tree(api) == want  # the structure, and every byte, on the server
    page.locator(f'#listing tr.folder[data-name="{top}"]').wait_for()
    review(page, "files-uploaded", lang)
    fits_phone(page, 360)  # the smallest phone the issue names, on the busiest page

    # -- 3. Interrupt an upload (the network drops mid-PATCH), and resume it -------------------
    data = os.urandom(3 * MiB + 777)
    src = tmp_path / f"report-{lang}.bin"
    src.write_bytes(data)
    seen = tamper_first_patch(page, data, then="hold")
    page.get_by_label(_("Upload files"), exact=True).set_input_files(str(src))
    wait_half_sent(page, seen)
    ctx.set_offline(True)
    seen["held"].abort("internetdisconnected")
    item = page.locator(".upload-item", has_text=src.name)
    item.get_by_text(_("Offline: the upload resumes when the network is back.")).wait_for()
    retry = _.js("Retry the upload of {name}", name=src.name)
    assert item.get_by_role("button", name=retry, exact=True).is_visible()
    review(page, "files-upload-interrupted", lang)
    ctx.set_offline(False)
    item.locator("a").wait_for(timeout=90_000)  # resumed by itself, once back online
    page.unroute("**/api/v1/uploads/*")
    assert seen["patch_offsets"] == [0, len(data) // 2]  # only the rest was sent again
    code = item.locator("a").inner_text().rsplit("/", 1)[1]
    meta = api.get(f"/api/v1/files/{code}").json()
    assert (meta["size"], meta["sha256"]) == (len(data), sha256(data))

    # -- 4. Share it with a password through the share dialog ---------------------------------
    row = page.locator(f'tr.file[data-code="{code}"]')
    row.get_by_role("button", name=_("Link options of %(name)s", name=src.name)).click()
    dialog = page.get_by_role("dialog")
    assert dialog.get_by_role("heading").inner_text() == _("Link options")
    assert dialog.get_by_label(_("Public: anyone with the link can download")).is_checked()
    link_password = "open " + secrets.token_hex(4)
    dialog.get_by_label(_("Password"), exact=True).fill(link_password)
    review(page, "share-dialog", lang)
    dialog.get_by_role("button", name=_("Save"), exact=True).click()
    row.locator(".badge", has_text=_("password")).wait_for()
    assert api.get(f"/api/v1/files/{code}").json()["has_password"] is True

    # -- 5. A visitor, in a fresh context: a wrong password once, then the same bytes ---------
    visitor = new_context(locale=LOCALES[lang], accept_downloads=True).new_page()
    visitor.on("pageerror", lambda e: errors.append(str(e)))
    assert visitor.context.cookies() == []
    visitor.goto(f"/{code}")
    assert visitor.get_by_role("heading", level=1).inner_text() == _("Password required")
    review(visitor, "public-password", lang)
    visitor.get_by_label(_("Password"), exact=True).fill("not " + link_password)
    visitor.get_by_role("button", name=_("Unlock and download"), exact=True).click()
    visitor.get_by_role("alert").wait_for()
    assert visitor.get_by_role("alert").inner_text() == _("Wrong password.")
    visitor.get_by_label(_("Password"), exact=True).fill(link_password)
    visitor.get_by_role("button", name=_("Unlock and preview"), exact=True).click()
    name_heading = visitor.get_by_role("heading", level=1, name=src.name)
    name_heading.wait_for()
    assert visitor.locator(".public-file-hash").inner_text() == sha256(data)
    review(visitor, "public-unlocked", lang)
    with visitor.expect_download(timeout=60_000) as dl:
        visitor.get_by_role("link", name=_("Download"), exact=True).click()
    got = Path(dl.value.path()).read_bytes()
    assert sha256(got) == sha256(data)
    assert dl.value.suggested_filename == src.name

    # -- 6. Back as the user: drag the file into the folder, delete another -------------------
    page.reload()
    folders = {f["name"]: f["id"] for f in api.get("/api/v1/folders").json()["items"]}
    row = page.locator(f'tr.file[data-code="{code}"]')
    row.drag_to(page.locator(f'tr.folder[data-name="{top}"]'))
    page.get_by_role("status").get_by_text(
        _.js_count("{n} file moved.", "{n} files moved.", 1)
    ).wait_for()
    row.wait_for(state="detached")
    assert api.get(f"/api/v1/files/{code}").json()["folder_id"] == folders[top]
    page.locator("#listing").get_by_role("link", name=top, exact=True).click()
    page.wait_for_url(f"**/files?folder={folders[top]}")
    page.get_by_role("button", name=_("Delete %(name)s", name="todo.txt"), exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name=_("Delete"), exact=True).click()
    page.get_by_role("status").get_by_text(_.js("“{name}” deleted.", name="todo.txt")).wait_for()
    page.locator('tr.file[data-name="todo.txt"]').wait_for(state="detached")
    del want[f"{top}/todo.txt"]
    assert tree(api) == want | {f"{top}/{src.name}": sha256(data)}
    review(page, "files-folder", lang)

    page.get_by_role("link", name=user.email, exact=True).click()
    page.wait_for_url("**/account")
    assert page.get_by_role("heading", level=1).inner_text() == _("Your account")
    review(page, "account", lang)

    ulang = lang  # the language the user's pages are in
    if lang == "en":
        ulang = "fr"
        _check_language_switch(page, user, new_context, _, Catalogue("fr"))
    u_ = Catalogue(ulang)

    # -- 7. An administrator suspends the user: their session ends, logging in is refused -----
    admin = make_admin(server)
    apage = new_context(locale=LOCALES[lang]).new_page()
    apage.on("pageerror", lambda e: errors.append(str(e)))
    log_in(apage, WebUser(admin.email, admin.password), _)
    apage.get_by_role("link", name=_("Admin"), exact=True).click()
    apage.wait_for_url("**/admin")
    nav = apage.get_by_role("navigation", name=_("Administration"))
    nav.get_by_role("link", name=_("Users"), exact=True).click()
    apage.wait_for_url("**/admin/users")
    apage.get_by_label(_("E-mail contains"), exact=True).fill(user.email)
    apage.locator("main").get_by_role("button", name=_("Search"), exact=True).click()
    apage.wait_for_url("**/admin/users?*")
    urow = apage.locator(f'tr[data-email="{user.email}"]')
    assert urow.count() == 1
    review(apage, "admin-users", lang)
    reason = _("Reason for suspending %(email)s", email=user.email)
    urow.get_by_label(reason, exact=True).fill("Spam links")
    urow.get_by_role("button", name=_("Suspend %(email)s", email=user.email), exact=True).click()
    apage.wait_for_url("**done=suspended")
    assert apage.locator("#admin-notice").inner_text() == _(
        "The account was suspended: its sessions ended, its API tokens were revoked."
    )
    assert urow.locator(".admin-suspended").inner_text() == _("Suspended")
    admin.api.close()

    assert api.get("/api/v1/files").status == 401  # the page's session is over
    page.goto("/files")
    page.wait_for_url("**/login?next=*")
    assert html_lang(page) == ulang
    page.get_by_label(u_("E-mail"), exact=True).fill(user.email)
    page.get_by_label(u_("Password"), exact=True).fill(user.password)
    page.locator("main").get_by_role("button", name=u_("Log in"), exact=True).click()
    assert page.locator("#login-error").inner_text() == u_("This account is suspended.")
    assert "/login" in page.url
    assert errors == []


def _check_language_switch(page, user: WebUser, new_context, en: Catalogue, fr: Catalogue):
    """The footer's switch, en → fr: kept on the next page, after logging out and in again
    (the cookie), and in a new browser that asks for English (the account's choice)."""
    assert html_lang(page) == "en"
    page.get_by_label(en("Language"), exact=True).select_option("fr")
    page.locator("footer").get_by_role("button", name=en("Change"), exact=True).click()
    page.wait_for_function("() => document.documentElement.lang === 'fr'")
    assert page.url.endswith("/account")
    assert page.get_by_role("heading", level=1).inner_text() == fr("Your account")
    page.get_by_role("link", name=fr("My files"), exact=True).first.click()
    page.wait_for_url("**/files")
    assert html_lang(page) == "fr"
    assert page.get_by_label(fr("Language"), exact=True).input_value() == "fr"
    log_out(page, fr)
    assert html_lang(page) == "fr"
    log_in(page, user, fr)
    assert html_lang(page) == "fr"
    elsewhere = new_context(locale="en-US").new_page()
    log_in(elsewhere, user, en)  # no cookie yet: the log-in page follows the browser
    assert html_lang(elsewhere) == "fr"  # then the account's saved choice
