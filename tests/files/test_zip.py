"""`/s/<hash>?format=zip`: a shared folder as one zip, streamed as it is made."""

from __future__ import annotations

import io
import os
import zipfile

from partage.files.folder_share import _Names, zip_name
from partage.files.models import FileStatus
from tests.files.conftest import set_fields


def _folder(acc, name, parent_id=None):
    r = acc.client.post("/api/v1/folders", json={"name": name, "parent_id": parent_id})
    assert r.status_code == 201, r.text
    return r.json()


def test_zip_of_a_tree(account_factory, maker, anon):
    alice = account_factory()
    top = _folder(alice, "Project: 2024")
    sub = _folder(alice, "docs", top["id"])
    deeper = _folder(alice, "deeper", sub["id"])
    _folder(alice, "empty", top["id"])
    big = os.urandom(1024 * 1024 + 12345)
    want = {
        "readme.txt": maker.file(alice, b"hello\n", "readme.txt", folder_id=top["id"]).content,
        "big.bin": maker.file(alice, big, "big.bin", folder_id=top["id"]).content,
        "private.txt": maker.file(
            alice, b"private", "private.txt", folder_id=top["id"], public=False
        ).content,
        "docs/a.txt": maker.file(alice, b"first a", "a.txt", folder_id=sub["id"]).content,
        "docs/A (2).txt": maker.file(alice, b"second A", "A.txt", folder_id=sub["id"]).content,
        "docs/what_.md": maker.file(alice, b"q?", "what?.md", folder_id=sub["id"]).content,
        "docs/deeper/empty.dat": maker.file(
            alice, b"", "empty.dat", folder_id=deeper["id"]
        ).content,
    }
    capped = maker.file(alice, b"capped", "capped.txt", folder_id=top["id"], max_downloads=1)
    want["capped.txt"] = b"capped"
    maker.file(alice, b"pw", "protected.txt", folder_id=top["id"], password="pw")
    disabled = maker.file(alice, b"no", "disabled.txt", folder_id=sub["id"])
    set_fields(maker, disabled.code, status=FileStatus.disabled)
    deleted = maker.file(alice, b"no", "deleted.txt", folder_id=sub["id"])
    assert alice.client.delete(f"/api/v1/files/{deleted.code}").status_code == 204

    r = alice.client.patch(f"/api/v1/folders/{top['id']}", json={"shared": True})
    url = r.json()["share_url"]
    with anon.stream("GET", url + "?format=zip") as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "application/zip"
        assert "attachment" in resp.headers["content-disposition"]
        assert "Project_ 2024.zip" in resp.headers["content-disposition"]
        length = int(resp.headers["content-length"])
        body = b"".join(resp.iter_raw())
    assert len(body) == length

    z = zipfile.ZipFile(io.BytesIO(body))
    assert z.testzip() is None
    files = {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}
    dirs = {i.filename for i in z.infolist() if i.is_dir()}
    assert files == want
    assert "empty/" in dirs
    for info in z.infolist():
        assert not info.filename.startswith("/") and ".." not in info.filename.split("/")

    # The zip counted as a download: the capped file's one download is used up, so the
    # next zip leaves it out.
    row = maker.sql("select downloads from files where code = :c", c=capped.code)
    assert row[0][0] == 1
    again = zipfile.ZipFile(io.BytesIO(anon.get(url + "?format=zip").content))
    assert "capped.txt" not in again.namelist() and "big.bin" in again.namelist()

    # A subfolder's zip holds that subfolder only.
    sub_zip = zipfile.ZipFile(io.BytesIO(anon.get(url + "/docs?format=zip").content))
    assert sorted(sub_zip.namelist()) == [
        "A (2).txt", "a.txt", "deeper/empty.dat", "what_.md"
    ]  # fmt: skip


def test_zip_names():
    assert zip_name('a/b\\c:d*e?f"g<h>i|j') == "a_b_c_d_e_f_g_h_i_j"
    assert zip_name("..") == "_" and zip_name(" . ") == "_"
    assert zip_name("line\nbreak") == "line_break"
    names = _Names()
    assert [names.take(n) for n in ("x.txt", "X.TXT", "x.txt", "noext", "NoExt")] == [
        "x.txt", "X (2).TXT", "x (3).txt", "noext", "NoExt (2)"
    ]  # fmt: skip
