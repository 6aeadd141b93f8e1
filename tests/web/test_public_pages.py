"""The shared folder page and the public file page's previews, in Debian's Chromium,
opened by a visitor in a fresh browser context."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.files.conftest import Maker
from tests.files.test_previews import EVIL, png
from tests.web.conftest import shot

LOADED = "img => img.complete && img.naturalWidth === 40"


@pytest.fixture(scope="module")
def maker(server) -> Iterator[Maker]:
    m = Maker(server)
    yield m
    m.close()


def _folder(acc, name, parent_id=None):
    r = acc.client.post("/api/v1/folders", json={"name": name, "parent_id": parent_id})
    assert r.status_code == 201, r.text
    return r.json()


def test_shared_folder(new_context, account_factory, maker, server):
    alice = account_factory()
    top = _folder(alice, "Trip <2024>")
    day = _folder(alice, "Day 1", top["id"])
    big = os.urandom(1024 * 1024 + 4321)
    maker.file(alice, png(40, 30), "photo.png", folder_id=top["id"])
    maker.file(alice, b"packing list\n", "notes.txt", folder_id=top["id"])
    maker.file(alice, big, "video-raw.bin", folder_id=top["id"], public=False)
    maker.file(alice, b"day one\n", "day1.txt", folder_id=day["id"])
    url = alice.client.patch(f"/api/v1/folders/{top['id']}", json={"shared": True}).json()[
        "share_url"
    ]

    page = new_context(accept_downloads=True).new_page()
    page.goto(url)
    assert page.get_by_role("heading", level=1).inner_text() == "Trip <2024>"
    thumb = page.locator('li[data-kind="image"] img.shared-thumb')
    thumb.wait_for()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 40", arg=thumb.element_handle()
    )
    assert page.locator("li.shared-file").count() == 3
    assert page.get_by_role("link", name="Download video-raw.bin").count() == 1
    shot(page, "public-folder")

    # Into the subfolder and back by the breadcrumbs, which start at the shared folder.
    page.get_by_role("link", name="Day 1").click()
    page.wait_for_url(url + "/Day%201")
    crumbs = page.get_by_role("navigation", name="Folder path")
    assert crumbs.get_by_role("link").all_inner_texts() == ["Trip <2024>", "Day 1"]
    assert page.locator("li.shared-file").all_inner_texts()[0].startswith("day1.txt")
    crumbs.get_by_role("link", name="Trip <2024>").click()
    page.wait_for_url(url)

    with page.expect_download() as dl:
        page.get_by_role("link", name="Download all as zip").click()
    assert dl.value.suggested_filename == "Trip _2024_.zip"
    z = zipfile.ZipFile(io.BytesIO(Path(dl.value.path()).read_bytes()))
    assert sorted(z.namelist()) == ["Day 1/day1.txt", "notes.txt", "photo.png", "video-raw.bin"]
    assert hashlib.sha256(z.read("video-raw.bin")).hexdigest() == hashlib.sha256(big).hexdigest()
    assert z.read("Day 1/day1.txt") == b"day one\n"

    # Unshared: the same address now says so.
    alice.client.patch(f"/api/v1/folders/{top['id']}", json={"shared": False})
    page.goto(url)
    assert page.get_by_role("heading", level=1).inner_text() == "Folder not found"


def test_public_file_previews(new_context, account_factory, maker):
    alice = account_factory()
    image = maker.file(alice, png(40, 30), "photo.png")
    evil = maker.file(alice, EVIL, "evil.html")

    page = new_context().new_page()
    page.goto(f"/{image.code}")
    img = page.locator("img.preview-image")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 40", arg=img.element_handle()
    )
    assert page.get_by_role("link", name="Report this file").get_attribute("href") == (
        f"/report?location={image.code}"
    )

    page.goto(f"/{evil.code}")
    title = page.title()
    assert title.startswith("evil.html")
    frame = page.frame_locator("iframe.preview-frame")
    # The HTML is shown as its source, in a frame that runs nothing.
    frame.locator("body").get_by_text("document.cookie", exact=False).wait_for()
    page.wait_for_timeout(300)
    assert page.title() == title
    assert page.evaluate("document.cookie").find("owned") == -1
    assert all(c["name"] != "owned" for c in page.context.cookies())
    assert page.locator("iframe.preview-frame").get_attribute("sandbox") == ""
    shot(page, "public-file")


def test_pdf_preview_renders(new_context, account_factory, maker):
    alice = account_factory()
    made = maker.file(alice, _pdf(), "doc.pdf")
    page = new_context().new_page()
    page.goto(f"/{made.code}")
    page.locator("iframe.preview-pdf").wait_for()
    page.wait_for_timeout(1000)
    urls = [f.url for f in page.frames]
    # Chromium's viewer runs (it would show chrome-error:// in a sandbox-attribute frame).
    assert not any(u.startswith("chrome-error:") for u in urls), urls
    assert any("/d/" in u for u in urls), urls


def _pdf() -> bytes:
    """A one-page PDF saying hello."""
    text = b"BT /F1 24 Tf 40 100 Td (Hello PDF) Tj ET"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out
