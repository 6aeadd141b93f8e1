"""The upload queue in Chromium: whole folders (chosen or dropped) keep their structure,
pause and resume, total progress, and the server's own message when it refuses a file."""

from __future__ import annotations

import hashlib
import os

from tests.web.conftest import WebUser, login, shot
from tests.web.helpers import DROP_JS, tree
from tests.web.helpers import make_dir as _make_dir


def _login(new_context, acc):
    page = new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    login(page, WebUser(acc.email, acc.password))
    return page, errors


def _tree(acc, folder_id=None) -> dict[str, str]:
    """{path: sha256} of every file under a folder, through the API."""
    return tree(acc.client, folder_id)


def test_upload_folder_button_keeps_structure(new_context, account_factory, tmp_path, needs_assets):
    acc = account_factory()
    inbox = acc.client.post("/api/v1/folders", json={"name": "inbox"}).json()
    want = _make_dir(tmp_path, {
        "album/one.txt": b"one", "album/sub/two.txt": b"two" * 100,
        "album/sub/deeper/three.bin": os.urandom(5000),
    })  # fmt: skip
    page, errors = _login(new_context, acc)
    page.goto(f"/files?folder={inbox['id']}")
    page.get_by_label("Upload a folder").set_input_files(str(tmp_path / "album"))
    for rel in want:
        item = page.locator(".upload-item", has_text=rel)
        item.locator("a", has_text="Done").wait_for()
    assert page.locator("#upload-total").inner_text().startswith("3 of 3 files · 100%")
    assert _tree(acc, inbox["id"]) == want
    page.locator('#listing tr.folder[data-name="album"]').wait_for()
    assert errors == []


def test_drop_folders_and_files(new_context, account_factory, needs_assets):
    acc = account_factory()
    acc.client.post("/api/v1/folders", json={"name": "photos"})  # merged into, not doubled
    page, errors = _login(new_context, acc)
    spec = {"photos": {"a.txt": "A", "trip": {"b.txt": "BB", "empty": {}}}, "loose.txt": "L"}
    page.evaluate(DROP_JS, spec)
    for name in ("photos/a.txt", "photos/trip/b.txt", "loose.txt"):
        page.locator(".upload-item", has_text=name).locator("a", has_text="Done").wait_for()
    sha = lambda b: hashlib.sha256(b).hexdigest()  # noqa: E731
    assert _tree(acc) == {"loose.txt": sha(b"L"), "photos/a.txt": sha(b"A"),
                          "photos/trip/b.txt": sha(b"BB")}  # fmt: skip
    folders = acc.client.get("/api/v1/folders").json()["items"]
    assert [f["name"] for f in folders] == ["photos"]
    trip = acc.client.get("/api/v1/folders", params={"parent_id": folders[0]["id"]}).json()
    sub = acc.client.get("/api/v1/folders", params={"parent_id": trip["items"][0]["id"]}).json()
    assert [f["name"] for f in sub["items"]] == ["empty"]  # empty folders are kept too
    assert page.locator("#drop-overlay").is_hidden()
    assert errors == []


def test_pause_resume_and_cancel(new_context, account_factory, tmp_path, needs_assets):
    acc = account_factory()
    page, errors = _login(new_context, acc)
    chunk = 16 * 1024 * 1024
    data = os.urandom(chunk + 1_000_000)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    other = tmp_path / "other.bin"
    other.write_bytes(os.urandom(chunk + 10))
    patches: list[int] = []
    held: list = []

    def handle(route):
        req = route.request
        if req.method == "PATCH":
            patches.append(int(req.headers["upload-offset"]))
            if int(req.headers["upload-offset"]) > 0 and not held:
                held.append(route)  # the second chunk hangs: time to pause
                return
        route.continue_()

    page.route("**/api/v1/uploads/*", handle)
    page.get_by_label("Upload files").set_input_files(str(src))
    item = page.locator(".upload-item", has_text="big.bin")
    for _ in range(300):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the second PATCH never came"
    assert "/s" in item.locator(".up-info").inner_text() or patches == [0, chunk]
    item.get_by_role("button", name="Pause the upload of big.bin").click()
    item.get_by_text("Paused at").wait_for()
    assert page.evaluate("Object.keys(localStorage).some(k => k.startsWith('tus::'))")
    shot(page, "files-upload-queue")
    try:
        held[0].abort()
    except Exception:  # noqa: BLE001  (the page already gave the request up)
        pass
    item.get_by_role("button", name="Resume the upload of big.bin").click()
    item.locator("a", has_text="Done").wait_for()
    assert patches[0] == 0 and patches[-1] == chunk  # resumed where the server stopped
    code = item.locator("a", has_text="Done").inner_text().rsplit("/", 1)[1]
    assert acc.client.get(f"/api/v1/files/{code}").json()["sha256"] == (
        hashlib.sha256(data).hexdigest()
    )

    # Cancel: the upload is dropped on the server, and nothing is listed.
    held.clear()
    held.append(None)  # no more holding
    page.unroute("**/api/v1/uploads/*")
    slow: list = []
    page.route("**/api/v1/uploads/*", lambda r: slow.append(r) if r.request.method == "PATCH"
               else r.continue_())  # fmt: skip
    page.get_by_label("Upload files").set_input_files(str(other))
    row = page.locator(".upload-item", has_text="other.bin")
    cancel = row.get_by_role("button", name="Cancel the upload of other.bin")
    for _ in range(600):
        if slow:
            break
        page.wait_for_timeout(100)
    assert slow, f"the upload's PATCH never came: {row.inner_text()!r}"
    page.unroute("**/api/v1/uploads/*")
    cancel.click()
    row.get_by_text("Cancelled").wait_for()
    page.wait_for_function("() => !Object.keys(localStorage).some(k => k.startsWith('tus::'))")
    names = [f["name"] for f in acc.client.get("/api/v1/files").json()["items"]]
    assert names == ["big.bin"]
    assert errors == []


def test_over_quota_shows_the_server_message(new_context, account_factory, tmp_path, needs_assets):
    acc = account_factory(storage_quota=3000)
    page, _ = _login(new_context, acc)
    src = tmp_path / "toomuch.bin"
    src.write_bytes(b"z" * 5000)
    page.get_by_label("Upload files").set_input_files(str(src))
    alert = page.locator(".upload-item", has_text="toomuch.bin").locator("[role=alert]")
    alert.wait_for()
    assert alert.inner_text().startswith("Not enough storage left"), alert.inner_text()
    assert page.locator(".upload-item", has_text="toomuch.bin").get_by_role("button").count() == 0
