"""tus-js-client in the page resumes interrupted uploads: after a network error mid-PATCH,
after the browser went offline, and after a page reload (its URL kept in localStorage)."""

from __future__ import annotations

import hashlib
import os

from tests.web.conftest import WebUser, login
from tests.web.helpers import tamper_first_patch, wait_half_sent

SIZE = 3 * 1024 * 1024 + 123
HALF = SIZE // 2


def _tamper_first_patch(page, data: bytes, *, then: str) -> dict:
    """The first PATCH delivers only the first half of the file (tests/web/helpers.py)."""
    return tamper_first_patch(page, data, then=then, half=HALF)


def _wait_half(page, seen: dict) -> None:
    wait_half_sent(page, seen, timeout_s=15)


def _check_file(acc, page, name: str, data: bytes) -> None:
    row = page.locator("tr.file", has_text=name)
    row.wait_for()
    meta = acc.client.get(f"/api/v1/files/{row.get_attribute('data-code')}").json()
    assert meta["size"] == len(data)
    assert meta["sha256"] == hashlib.sha256(data).hexdigest()


def _start(new_context, account_factory, tmp_path, name: str):
    acc = account_factory()
    page = new_context().new_page()
    login(page, WebUser(acc.email, acc.password))
    data = os.urandom(SIZE)
    src = tmp_path / name
    src.write_bytes(data)
    return acc, page, data, src


def test_resume_after_connection_reset(new_context, account_factory, tmp_path, needs_assets):
    acc, page, data, src = _start(new_context, account_factory, tmp_path, "reset.bin")
    seen = _tamper_first_patch(page, data, then="abort")
    page.get_by_label("Upload files").set_input_files(str(src))
    page.locator(".upload-item", has_text="reset.bin").locator("a", has_text="Done").wait_for()
    assert seen["patch_offsets"] == [0, HALF]  # the rest only, from where the server stopped
    assert seen["heads"] >= 1
    _check_file(acc, page, "reset.bin", data)


def test_resume_after_page_reload(new_context, account_factory, tmp_path, needs_assets):
    acc, page, data, src = _start(new_context, account_factory, tmp_path, "reload.bin")
    seen = _tamper_first_patch(page, data, then="hang")
    page.get_by_label("Upload files").set_input_files(str(src))
    _wait_half(page, seen)
    page.wait_for_function("() => Object.keys(localStorage).some(k => k.startsWith('tus::'))")
    page.reload()
    # The page lists what an earlier page left unfinished, and asks for the file again.
    interrupted = page.get_by_role("region", name="Interrupted uploads")
    assert interrupted.get_by_role("listitem").all_inner_texts() == ["reload.bin (3.0 MiB)"]
    page.get_by_label("Upload files").set_input_files(str(src))
    item = page.locator(".upload-item", has_text="reload.bin")
    item.locator("a", has_text="Done").wait_for()
    assert seen["patch_offsets"] == [0, HALF]
    assert interrupted.is_hidden()
    _check_file(acc, page, "reload.bin", data)
    # Finished: the resume entry is gone, a new upload of the same file starts afresh.
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('tus::'))") == []


def test_resume_after_going_offline(new_context, account_factory, tmp_path, needs_assets):
    acc, page, data, src = _start(new_context, account_factory, tmp_path, "offline.bin")
    seen = _tamper_first_patch(page, data, then="hold")
    page.get_by_label("Upload files").set_input_files(str(src))
    _wait_half(page, seen)
    # The network drops while the PATCH is in flight; tus-js-client does not retry while
    # the browser is offline, so the page waits for the "online" event.
    page.context.set_offline(True)
    seen["held"].abort("internetdisconnected")
    item = page.locator(".upload-item", has_text="offline.bin")
    item.get_by_text("Offline: the upload resumes when the network is back.").wait_for()
    assert item.get_by_role("button", name="Retry the upload of offline.bin").is_visible()
    page.context.set_offline(False)
    item.locator("a", has_text="Done").wait_for()
    assert seen["patch_offsets"] == [0, HALF]
    _check_file(acc, page, "offline.bin", data)
