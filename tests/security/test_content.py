"""Uploaded HTML, SVG and XHTML are served inert: every way to open their bytes on our
origin (the download link, the preview link, the file page that frames the preview, a
shared folder's page) answers with `nosniff`, a sandboxing CSP and either an attachment
or a type that is not HTML, and a script inside them never runs in Chromium.

Header checks already made elsewhere, not repeated: tests/files/test_download.py::
test_html_upload_is_sandboxed, tests/files/test_previews.py (HTML preview as text/plain,
an SVG preview sandboxed)."""

from __future__ import annotations

import html
import re
import secrets

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.security.conftest import HTML, JSON

MARK = "OWNED-" + secrets.token_hex(4)
SCRIPT = f"console.log('{MARK}');alert('{MARK}')"
PAYLOADS = {
    "page.html": f"<!doctype html><html><body><script>{SCRIPT}</script>"
    f'<img src=x onerror="{SCRIPT}"></body></html>',
    "picture.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">'
    f'<script>{SCRIPT}</script><rect width="20" height="20" onload="{SCRIPT}"/></svg>',
    "doc.xhtml": '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body>'
    f"<script>{SCRIPT}</script></body></html>",
    "notes.txt": f"<html><script>{SCRIPT}</script></html>",  # HTML named as text
    "plain.html": "Only words here, no markup at all.",  # .html named, sniffed as text
    "noextension": f"<script>{SCRIPT}</script>",
}
INERT_INLINE = ("text/plain", "image/")  # what a preview may be served as


@pytest.fixture(scope="module")
def uploads(cast) -> dict[str, dict]:
    api = cast["alice"].api
    out = {}
    for name, text in PAYLOADS.items():
        r = api.put(f"/api/v1/files/{name}", content=text.encode(), headers=JSON)
        assert r.status_code == 201, r.text
        out[name] = r.json()
    folder = api.post("/api/v1/folders", json={"name": "Shared payloads"}).json()
    r = api.patch(f"/api/v1/folders/{folder['id']}", json={"shared": True})
    assert r.status_code == 200, r.text
    for f in out.values():
        api.patch(f"/api/v1/files/{f['code']}", json={"folder_id": folder["id"]})
    out["_share"] = {"url": r.json()["share_url"]}
    return out


def _links(page: str) -> list[str]:
    return [html.unescape(u) for u in re.findall(r'(?:src|href)="([^"]*/d/[^"]+)"', page)]


def _assert_inert(r, what: str) -> None:
    h = r.headers
    assert r.status_code == 200, (what, r.status_code)
    assert h["x-content-type-options"] == "nosniff", what
    csp = h.get("content-security-policy", "")
    assert "sandbox" in csp and "default-src 'none'" in csp, (what, csp)
    if h["content-disposition"].startswith("inline"):
        assert h["content-type"].startswith(INERT_INLINE), (what, h["content-type"])
        # an inline SVG is an image document: its scripts are off by the CSP sandbox
        assert "html" not in h["content-type"], what
    else:
        assert h["content-disposition"].startswith("attachment"), what


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_every_link_to_the_bytes_is_inert(uploads, anon, name):
    f = uploads[name]
    _assert_inert(anon.get(f["download_url"]), f"{name} owner link")
    page = anon.get(f"/{f['code']}", headers=HTML)
    assert page.status_code == 200
    links = _links(page.text)
    assert links, "the file page offers no link to the bytes"
    for link in links:
        _assert_inert(anon.get(link), f"{name} {link[-40:]}")


def test_shared_folder_links_are_inert(uploads, anon):
    page = anon.get(uploads["_share"]["url"], headers=HTML)
    assert page.status_code == 200
    links = _links(page.text)
    assert links
    for link in links:
        _assert_inert(anon.get(link), link[-40:])


def _watch(page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text))
    page.on("dialog", lambda d: (seen.append("dialog:" + d.message), d.dismiss()))
    return seen


def test_the_detector_sees_a_script_that_runs(browser):
    """The control: the same payload, run on a page of its own, is seen."""
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        seen = _watch(page)
        page.set_content(PAYLOADS["page.html"])
        page.wait_for_timeout(200)
        assert any(MARK in s for s in seen)
    finally:
        ctx.close()


def test_no_script_runs_in_chromium(browser, server, uploads, anon):
    ctx = browser.new_context(base_url=server.url, accept_downloads=True)
    ctx.set_default_timeout(30_000)
    ctx.add_cookies([{"name": "victim", "value": "secret", "url": server.url}])
    try:
        page = ctx.new_page()
        seen = _watch(page)
        opened = []
        for name in ("page.html", "picture.svg", "doc.xhtml", "notes.txt", "noextension"):
            f = uploads[name]
            page.goto(f"/{f['code']}")  # the file page, with its preview framed
            page.wait_for_load_state("load")
            targets = _links(page.content())
            for link in targets:
                if anon.head(link).headers["content-disposition"].startswith("attachment"):
                    with page.expect_download() as download:
                        try:
                            page.goto(link)
                        except PlaywrightError as e:  # what goto says of a download
                            assert "Download is starting" in str(e)
                    assert download.value.suggested_filename
                else:
                    page.goto(link)
                    page.wait_for_load_state("load")
                opened.append(link)
        page.goto(uploads["_share"]["url"])
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)  # let any late onload/onerror handler fire
        assert opened
        assert [s for s in seen if MARK in s] == []
    finally:
        ctx.close()
