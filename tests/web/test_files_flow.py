"""My files in a real browser: upload through tus, folders, rename, move, link options,
the public link in a fresh context, delete."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx

from tests.web.conftest import login, new_web_user, register, shot


def test_file_manager_flow(new_context, server, tmp_path, needs_assets):
    ctx = new_context()
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    user = new_web_user()
    register(page, user)
    assert page.locator("#empty").is_visible()
    shot(page, "files-empty")

    # Upload through the page (tus-js-client) and see it listed with its link.
    data = bytes(range(256)) * 4000 + b"partage!"
    src = tmp_path / "report 2024 <draft>.bin"
    src.write_bytes(data)
    page.get_by_label("Upload files").set_input_files(str(src))
    item = page.locator(".upload-item", has_text=src.name)
    item.locator("a", has_text="Done").wait_for()
    row = page.locator("tr.file", has_text=src.name)
    row.wait_for()
    code = row.get_attribute("data-code")
    assert re.fullmatch(r"[a-z0-9]{12}", code)
    assert row.get_by_role("link", name=f"/{code}").get_attribute("href") == f"/{code}"
    assert row.locator(".size").inner_text() == "1000.0\xa0KiB"
    shot(page, "files-uploaded")

    # A folder, and the file moved into it.
    page.get_by_label("New folder").fill("Reports & <co>")
    page.get_by_role("button", name="Create folder").click()
    folder_row = page.locator("tr.folder", has_text="Reports & <co>")
    folder_row.wait_for()
    assert page.get_by_role("status").inner_text() == "Folder “Reports & <co>” created."
    row.get_by_role("button", name=f"Move {src.name}").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Destination folder").select_option(label="Reports & <co>")
    shot(page, "files-move-dialog")
    dialog.get_by_role("button", name="Move").click()
    row.wait_for(state="detached")
    assert page.locator("tr.file").count() == 0

    # In the folder: rename, then protect the link with a password.
    folder_row.get_by_role("link", name="Reports & <co>").click()
    page.wait_for_url(re.compile(r".*/files\?folder=\d+$"))
    crumbs = page.get_by_role("navigation", name="Breadcrumbs")
    assert crumbs.get_by_role("listitem").all_inner_texts() == ["My files", "Reports & <co>"]
    assert crumbs.locator("[aria-current=page]").inner_text() == "Reports & <co>"
    row = page.locator(f'tr.file[data-code="{code}"]')
    row.get_by_role("button", name=f"Rename {src.name}").click()  # inline: Enter saves
    row.get_by_label("New name").fill("final report.bin")
    row.get_by_label("New name").press("Enter")
    page.locator("tr.file", has_text="final report.bin").wait_for()

    row.get_by_role("button", name="Link options of final report.bin").click()
    dialog = page.get_by_role("dialog")
    assert dialog.get_by_label("Public: anyone with the link can download").is_checked()
    dialog.get_by_label("Password", exact=True).fill("open sesame")
    dialog.get_by_label("Maximum downloads (empty: no limit)").fill("5")
    shot(page, "files-link-dialog")
    dialog.get_by_role("button", name="Save").click()
    row.locator(".badge", has_text="password").wait_for()
    assert row.locator(".badge", has_text="0/5 downloads").is_visible()
    shot(page, "files-folder")

    # An API error is shown and the name stays in edition; Escape gives the old name back.
    row.get_by_role("button", name="Rename final report.bin").click()
    row.get_by_label("New name").fill("a/b")
    row.get_by_label("New name").press("Enter")
    page.get_by_role("status").get_by_text("cannot contain '/'").wait_for()
    assert "error" in page.get_by_role("status").get_attribute("class")
    row.get_by_label("New name").press("Escape")
    assert row.get_by_label("New name").count() == 0
    assert row.locator(".fname").inner_text() == "final report.bin"

    # Log out; a visitor in a fresh context needs the password, then downloads.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(server.url + "/")
    visitor = new_context(accept_downloads=True).new_page()
    visitor.goto(f"/{code}")
    visitor.get_by_label("Password").fill("wrong one")
    visitor.get_by_role("button", name="Unlock and download").click()
    assert visitor.get_by_role("alert").inner_text() == "Wrong password."
    visitor.get_by_label("Password").fill("open sesame")
    with visitor.expect_download() as dl:
        visitor.get_by_role("button", name="Unlock and download").click()
    got = Path(dl.value.path()).read_bytes()
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    assert dl.value.suggested_filename == "final report.bin"

    # Log in again and delete the file: its link answers 410.
    login(page, user)
    page.goto(page.url.split("/files")[0] + "/files")
    page.locator("#listing").get_by_role("link", name="Reports & <co>").click()
    row = page.locator(f'tr.file[data-code="{code}"]')
    row.get_by_role("button", name="Delete final report.bin").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    row.wait_for(state="detached")
    assert page.locator("#empty").inner_text() == "This folder is empty."
    assert httpx.get(f"{server.url}/{code}").status_code == 410
    assert errors == []


def test_upload_refused_shows_server_message(
    new_context, server, account_factory, tmp_path, needs_assets
):
    acc = account_factory(max_file_size=1000, storage_quota=10_000)
    ctx = new_context()
    page = ctx.new_page()
    from tests.web.conftest import WebUser

    login(page, WebUser(acc.email, acc.password))
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 5000)
    small = tmp_path / "small.txt"
    small.write_bytes(b"hello")
    page.get_by_label("Upload files").set_input_files([str(big), str(small)])
    bad = page.locator(".upload-item", has_text="big.bin")
    bad.locator("[role=alert]").wait_for()
    msg = bad.locator("[role=alert]").inner_text()
    assert "your plan allows files up to 1000 bytes" in msg, msg
    assert bad.get_by_role("button").count() == 0  # refused for good: no retry button
    page.locator(".upload-item", has_text="small.txt").locator("a", has_text="Done").wait_for()
    page.locator("tr.file", has_text="small.txt").wait_for()
    assert page.locator("tr.file", has_text="big.bin").count() == 0
    shot(page, "files-upload-refused")


def test_files_page_readable_without_javascript(new_context, server, alice):
    alice.client.post("/api/v1/folders", json={"name": "docs"})
    r = alice.client.put(
        "/api/v1/files/notes.txt", content=b"hi", headers={"Accept": "application/json"}
    )
    assert r.status_code in (200, 201), r.text
    ctx = new_context(java_script_enabled=False)
    page = ctx.new_page()
    from tests.web.conftest import WebUser

    login(page, WebUser(alice.email, alice.password))
    assert page.locator("tr.file", has_text="notes.txt").is_visible()
    assert page.locator("#listing").get_by_role("link", name="docs").is_visible()
    assert not page.get_by_role("button", name="Delete notes.txt").is_visible()
    assert (
        page.get_by_label("Upload files").count() == 0
        or not page.get_by_label("Upload files").is_visible()
    )
    shot(page, "files-nojs")


def test_other_users_folder_is_not_found(page, server, alice, bob):
    folder = bob.client.post("/api/v1/folders", json={"name": "secret"}).json()
    from tests.web.conftest import WebUser

    login(page, WebUser(alice.email, alice.password))
    resp = page.goto(f"/files?folder={folder['id']}")
    assert resp.status == 404
    assert "secret" not in page.content()


def test_dialogs_work_with_the_keyboard(new_context, server, alice):
    r = alice.client.put(
        "/api/v1/files/keys.txt", content=b"k", headers={"Accept": "application/json"}
    )
    assert r.status_code in (200, 201), r.text
    page = new_context().new_page()
    from tests.web.conftest import WebUser

    login(page, WebUser(alice.email, alice.password))
    rename = page.get_by_role("button", name="Rename keys.txt")
    rename.focus()
    page.keyboard.press("Enter")
    box = page.locator("tr.file").get_by_label("New name")
    assert box.evaluate("el => el === document.activeElement")
    assert (
        page.evaluate(
            "document.getSelection().toString() || "
            "document.activeElement.value.substring("
            "document.activeElement.selectionStart, "
            "document.activeElement.selectionEnd)"
        )
        == "keys"
    )
    page.keyboard.type("renamed")
    page.keyboard.press("Enter")
    page.locator("tr.file", has_text="renamed.txt").wait_for()
    assert page.get_by_role("dialog").count() == 0
    # F2 on a row renames too; Escape cancels.
    page.get_by_label("Select renamed.txt").focus()
    page.keyboard.press("F2")
    box = page.locator("tr.file").get_by_label("New name")
    assert box.evaluate("el => el === document.activeElement")
    page.keyboard.type("nope")
    page.keyboard.press("Escape")
    assert box.count() == 0
    assert page.locator("tr.file .fname").inner_text() == "renamed.txt"
    # Escape closes a dialog and gives the focus back to the button that opened it.
    opener = page.get_by_role("button", name="Move renamed.txt")
    opener.focus()
    page.keyboard.press("Enter")
    assert page.get_by_role("dialog").is_visible()
    page.keyboard.press("Escape")
    assert page.get_by_role("dialog").count() == 0
    assert opener.evaluate("el => el === document.activeElement")
    outline = opener.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none"  # visible focus


def test_folder_errors_and_bulk_actions(new_context, server, alice):
    for name in ("a.txt", "b.txt", "c.txt"):
        r = alice.client.put(
            f"/api/v1/files/{name}", content=name.encode(), headers={"Accept": "application/json"}
        )
        assert r.status_code in (200, 201), r.text
    alice.client.post("/api/v1/folders", json={"name": "box"})
    page = new_context().new_page()
    from tests.web.conftest import WebUser

    login(page, WebUser(alice.email, alice.password))
    page.get_by_label("New folder").fill("BOX")
    page.get_by_role("button", name="Create folder").click()
    status = page.get_by_role("status")
    status.get_by_text("exists already").wait_for()
    assert "error" in status.get_attribute("class")

    page.get_by_label("Select a.txt").check()
    page.get_by_label("Select b.txt").check()
    assert page.locator("#bulk-count").inner_text() == "2 files selected"
    page.get_by_role("button", name="Move selected…").click()
    page.get_by_role("dialog").get_by_label("Destination folder").select_option(label="box")
    page.get_by_role("dialog").get_by_role("button", name="Move").click()
    page.locator("tr.file", has_text="a.txt").wait_for(state="detached")
    assert page.locator("tr.file .fname").all_inner_texts() == ["c.txt"]
    assert page.locator("#bulk-count").inner_text() == "No file selected"

    page.locator("#listing").get_by_role("link", name="box").click()
    page.get_by_label("Select all files").check()
    page.get_by_role("button", name="Delete selected…").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    page.locator("#empty").wait_for()
    listed = alice.client.get("/api/v1/files", params={"all": "true"}).json()
    assert [f["name"] for f in listed["items"]] == ["c.txt"]
    shot(page, "files-empty-folder")

    page.get_by_role("link", name="My files").first.click()
    page.get_by_role("button", name="Delete folder box").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    page.locator("tr.folder", has_text="box").wait_for(state="detached")
