"""The file manager in Chromium: list and grid views, sort, search, server-side paging,
multi-select with bulk copy / delete / share, drag-and-drop moves, the folder tree, the
details panel, copying links and sharing a folder."""

from __future__ import annotations

import re
import struct
import zlib

import pytest

from tests.files.conftest import Maker
from tests.web.conftest import WebUser, login, shot


@pytest.fixture
def maker(server):
    m = Maker(server)
    yield m
    m.close()


def png(width: int = 64, height: int = 48) -> bytes:
    """A real PNG (a gradient), small enough to write by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(
        b"\x00" + b"".join(bytes((x * 4 % 256, y * 5 % 256, 160)) for x in range(width))
        for y in range(height)
    )
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))  # fmt: skip


def names(page) -> list[str]:
    return page.locator("#listing tr.file .fname").all_inner_texts()


def test_views_sort_search_and_paging(new_context, account_factory, maker):
    acc = account_factory()
    for i in range(120):
        maker.file(acc, f"row {i:03}".encode() * (i + 1) * 20, name=f"file-{i:03}.txt")
    maker.file(acc, png(), name="picture.png")
    page = new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, WebUser(acc.email, acc.password))

    # Server-side paging: one page of rows in the document, next and previous work.
    assert page.locator("#listing tr.file").count() == 100
    pager = page.get_by_role("navigation", name="Pages")
    assert pager.inner_text().count("Page 1 of 2 · 121 files") == 1
    assert names(page)[:2] == ["file-000.txt", "file-001.txt"]
    pager.get_by_role("link", name="Next").click()
    page.wait_for_url(re.compile(r"page=2"))
    assert page.locator("#listing tr.file").count() == 21
    assert names(page)[-1] == "picture.png"
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Previous").click()
    page.wait_for_url(re.compile(r"/files$"))
    assert page.locator("#listing tr.file").count() == 100

    # Sort: by the column headers (both directions) and the sort menu.
    page.locator("#listing th").get_by_role("link", name="Name").click()
    page.wait_for_url(re.compile(r"order=-name"))
    assert names(page)[0] == "picture.png"
    assert page.locator("th[aria-sort=descending]").inner_text().startswith("Name")
    page.get_by_label("Sort by").select_option("-size")
    page.get_by_role("button", name="Sort", exact=True).click()
    page.wait_for_url(re.compile(r"order=-size"))
    assert names(page)[0] == "file-119.txt"
    page.get_by_label("Sort by").select_option("size")
    page.get_by_role("button", name="Sort", exact=True).click()
    page.wait_for_url(re.compile(r"order=size"))
    assert names(page)[0] == "file-000.txt"

    # Search (in every folder), keeping the order; then clear it.
    page.get_by_role("searchbox", name="Search your files").fill("file-05")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_url(re.compile(r"q=file-05"))
    assert names(page) == [f"file-{i:03}.txt" for i in range(50, 60)]
    assert "Search: “file-05”" in page.get_by_role("navigation", name="Breadcrumbs").inner_text()
    page.get_by_role("link", name="Clear search").click()
    page.wait_for_url(re.compile(r"^(?!.*q=).*$"))
    assert page.locator("#listing tr.file").count() == 100
    shot(page, "file-manager-list")

    # Grid view, remembered across pages; the image gets a thumbnail.
    page.goto("/files?order=-name")
    page.get_by_role("button", name="Grid").click()
    assert "grid" in page.locator("#listing").get_attribute("class")
    assert page.get_by_role("button", name="Grid").get_attribute("aria-pressed") == "true"
    page.reload()
    assert "grid" in page.locator("#listing").get_attribute("class")
    img = page.locator('tr.file[data-kind="image"] td.thumb img')
    img.wait_for()
    page.wait_for_function(
        "() => document.querySelector('tr.file[data-kind=image] td.thumb img').naturalWidth > 0"
    )
    shot(page, "file-manager-grid")
    page.get_by_role("button", name="List").click()
    assert "grid" not in (page.locator("#listing").get_attribute("class") or "")
    assert errors == []


def test_select_bulk_drag_and_details(new_context, account_factory, maker):
    acc = account_factory()
    made = {n: maker.file(acc, f"content of {n}".encode(), name=n) for n in "abcde"}
    dest = acc.client.post("/api/v1/folders", json={"name": "dest"}).json()
    other = acc.client.post("/api/v1/folders", json={"name": "other"}).json()
    page = new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, WebUser(acc.email, acc.password))

    # Shift-click selects a range.
    page.get_by_label("Select a", exact=True).click()
    page.get_by_label("Select c", exact=True).click(modifiers=["Shift"])
    assert page.locator("#bulk-count").inner_text() == "3 files selected"
    assert page.locator("tr.file.picked").count() == 3

    # Bulk copy: new files on the same content in the destination, originals stay.
    page.get_by_role("button", name="Copy selected…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Destination folder").select_option(label="dest")
    dialog.get_by_role("button", name="Copy").click()
    page.get_by_role("status").get_by_text("3 files copied.").wait_for()
    copies = acc.client.get("/api/v1/files", params={"folder": dest["id"], "order": "name"}).json()
    assert [f["name"] for f in copies["items"]] == ["a", "b", "c"]
    assert copies["items"][0]["sha256"] == made["a"].sha256
    assert copies["items"][0]["code"] != made["a"].code

    # Bulk share: the links listed, and made public.
    acc.client.patch(f"/api/v1/files/{made['d'].code}", json={"public": False})
    page.reload()
    page.get_by_label("Select d", exact=True).check()
    page.get_by_label("Select e", exact=True).check()
    page.get_by_role("button", name="Share selected…").click()
    dialog = page.get_by_role("dialog")
    links = dialog.get_by_label("Links, one per line").input_value().splitlines()
    assert [u.rsplit("/", 1)[1] for u in links] == [made["d"].code, made["e"].code]
    dialog.get_by_role("button", name="Save").click()
    page.get_by_role("status").get_by_text("2 files are now public.").wait_for()
    assert acc.client.get(f"/api/v1/files/{made['d'].code}").json()["public"] is True

    # Select all, unselect two, bulk delete the rest.
    page.get_by_label("Select all files").check()
    page.get_by_label("Select d", exact=True).uncheck()
    page.get_by_label("Select e", exact=True).uncheck()
    page.get_by_role("button", name="Delete selected…").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    page.get_by_role("status").get_by_text("3 files deleted.").wait_for()
    assert names(page) == ["d", "e"]

    # Drag a row onto a folder row, then a folder onto the tree.
    page.locator('tr.file[data-name="e"]').drag_to(page.locator('tr.folder[data-name="dest"]'))
    page.get_by_role("status").get_by_text("1 file moved.").wait_for()
    assert names(page) == ["d"]
    got = acc.client.get(f"/api/v1/files/{made['e'].code}").json()
    assert got["folder_id"] == dest["id"]
    tree = page.get_by_role("navigation", name="Folders")
    page.locator('tr.folder[data-name="other"]').drag_to(tree.get_by_role("link", name="dest"))
    page.get_by_role("status").get_by_text("Folder moved.").wait_for()
    assert acc.client.get(f"/api/v1/folders/{other['id']}").json()["parent_id"] == dest["id"]
    nested = (
        f'details:has(> summary a[data-drop-folder="{dest["id"]}"]) '
        f'a[data-drop-folder="{other["id"]}"]'
    )
    tree.locator(nested).wait_for(state="attached")  # the tree shows it under dest

    # Details panel: the SHA-256 and the rest from the API.
    page.get_by_role("button", name="Details of d").click()
    panel = page.get_by_role("complementary", name="Details")
    panel.locator("#d-sha256").get_by_text(made["d"].sha256).wait_for()
    page.wait_for_function("() => document.getElementById('d-size').textContent === '12 bytes'")
    assert panel.locator("#d-downloads").inner_text() == "0"
    assert panel.locator("#d-last").inner_text() == "never"
    page.wait_for_function("() => document.getElementById('d-media').textContent !== '…'")
    shot(page, "file-manager-details")
    panel.get_by_role("button", name="Close").click()
    assert not panel.is_visible()
    assert errors == []


def test_copy_link_and_share_folder(new_context, account_factory, maker):
    acc = account_factory()
    f = maker.file(acc, b"share me", name="shared.txt")
    folder = acc.client.post("/api/v1/folders", json={"name": "Holiday <2024>"}).json()
    ctx = new_context(permissions=["clipboard-read", "clipboard-write"])
    page = ctx.new_page()
    login(page, WebUser(acc.email, acc.password))

    page.get_by_role("button", name="Link options of shared.txt").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Copy link").click()
    dialog.get_by_text("Link copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()").endswith(f"/{f.code}")
    dialog.get_by_role("button", name="Cancel").click()

    page.get_by_role("button", name="Share folder Holiday <2024>").click()
    dialog = page.get_by_role("dialog")
    box = dialog.get_by_label("Public link: anyone with it can list and download the folder")
    assert not box.is_checked()
    box.check()
    dialog.get_by_role("button", name="Save").click()
    url_box = dialog.get_by_label("Folder link")
    url_box.wait_for()
    url = url_box.input_value()
    assert url == acc.client.get(f"/api/v1/folders/{folder['id']}").json()["share_url"]
    dialog.get_by_role("button", name="Copy link").click()
    dialog.get_by_text("Link copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == url
    shot(page, "file-manager-share-folder")
    dialog.get_by_role("button", name="Close").click()
    page.locator("tr.folder", has_text="Holiday").locator(".badge", has_text="shared").wait_for()

    # Unshare: the API says so, the dialog opens unchecked next time.
    page.get_by_role("button", name="Share folder Holiday <2024>").click()
    dialog = page.get_by_role("dialog")
    box = dialog.get_by_label("Public link: anyone with it can list and download the folder")
    page.wait_for_function("() => document.getElementById('folder-shared').checked")
    box.uncheck()
    dialog.get_by_role("button", name="Save").click()
    dialog.get_by_label("Folder link").wait_for(state="hidden")
    assert acc.client.get(f"/api/v1/folders/{folder['id']}").json()["share_url"] is None
