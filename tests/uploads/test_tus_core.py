"""tus core, creation and their protocol errors, with raw HTTP requests."""

from __future__ import annotations

import base64
import os
from email.utils import parsedate_to_datetime

import httpx

from tests.uploads.conftest import TUS, create, head, meta, patch, sha256


def test_options_advertises_the_server(server, alice):
    r = httpx.options(server.url + "/api/v1/uploads")
    assert r.status_code == 204
    assert r.headers["Tus-Version"] == "1.0.0"
    ext = r.headers["Tus-Extension"].split(",")
    for name in (
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "termination",
        "checksum",
        "expiration",
        "concatenation",
    ):
        assert name in ext
    assert set(r.headers["Tus-Checksum-Algorithm"].split(",")) == {"sha1", "sha256"}
    site_max = int(r.headers["Tus-Max-Size"])
    assert site_max > 0


def test_options_max_size_is_the_users(account_factory):
    small = account_factory(max_file_size=5000)
    r = small.client.options("/api/v1/uploads")
    assert r.headers["Tus-Max-Size"] == "5000"


def test_upload_in_chunks_then_get_file(server, alice):
    data = os.urandom(300_000)
    r = create(alice, len(data), filename="report.pdf")
    assert r.status_code == 201
    url = r.headers["Location"]
    assert url.startswith(server.url + "/api/v1/uploads/")
    assert r.headers["Tus-Resumable"] == "1.0.0"
    assert parsedate_to_datetime(r.headers["Upload-Expires"])

    h = head(alice, url)
    assert h.status_code == 200
    assert h.headers["Upload-Offset"] == "0"
    assert h.headers["Upload-Length"] == str(len(data))
    assert h.headers["Cache-Control"] == "no-store"
    assert h.headers["Upload-Metadata"] == meta(filename="report.pdf")

    r = patch(alice, url, 0, data[:100_000])
    assert r.status_code == 204, r.text
    assert r.headers["Upload-Offset"] == "100000"
    assert "Partage-File-Code" not in r.headers
    assert head(alice, url).headers["Upload-Offset"] == "100000"

    progress = alice.client.get(url).json()
    assert progress == {**progress, "offset": 100000, "length": 300000, "complete": False}
    assert progress["file"] is None

    r = patch(alice, url, 100_000, data[100_000:])
    assert r.status_code == 204
    assert r.headers["Upload-Offset"] == str(len(data))
    code = r.headers["Partage-File-Code"]
    assert len(code) == 12

    done = alice.client.get(url).json()
    assert done["complete"] is True and done["offset"] == len(data)
    f = done["file"]
    assert f["code"] == code
    assert f["name"] == "report.pdf"
    assert f["size"] == len(data)
    assert f["sha256"] == sha256(data)
    assert f["url"] == f"{server.url}/{code}"
    assert f["download_url"].startswith(server.url + "/d/")
    assert head(alice, url).headers["Partage-File-Code"] == code
    # a complete upload: an empty PATCH at its end is answered again, more data is refused
    again = patch(alice, url, len(data), b"")
    assert again.status_code == 204 and again.headers["Partage-File-Code"] == code
    assert patch(alice, url, 0, b"x").status_code == 409
    assert patch(alice, url, len(data), b"x").status_code == 413


def test_creation_with_upload(alice):
    data = os.urandom(50_000)
    r = create(alice, len(data), headers={"Content-Type": "application/offset+octet-stream"})
    r = alice.client.post(
        "/api/v1/uploads",
        content=data,
        headers={
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": meta(filename="a.txt"),
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert r.status_code == 201, r.text
    assert r.headers["Upload-Offset"] == str(len(data))
    code = r.headers["Partage-File-Code"]
    assert alice.client.get(r.headers["Location"]).json()["file"]["code"] == code


def test_creation_with_partial_upload_then_patch(alice):
    data = os.urandom(40_000)
    r = alice.client.post(
        "/api/v1/uploads",
        content=data[:10_000],
        headers={
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": meta(filename="b"),
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert r.status_code == 201
    assert r.headers["Upload-Offset"] == "10000"
    assert "Partage-File-Code" not in r.headers
    r = patch(alice, r.headers["Location"], 10_000, data[10_000:])
    assert r.status_code == 204 and r.headers["Partage-File-Code"]


def test_empty_file(alice):
    r = create(alice, 0, filename="empty.txt")
    assert r.status_code == 201
    assert r.headers["Upload-Offset"] == "0"
    code = r.headers["Partage-File-Code"]
    f = alice.client.get(r.headers["Location"]).json()["file"]
    assert f["code"] == code and f["size"] == 0


def test_tus_resumable_required(server, alice):
    r = alice.client.post(
        "/api/v1/uploads", headers={"Upload-Length": "10", "Upload-Metadata": meta(filename="x")}
    )
    assert r.status_code == 412
    assert r.headers["Tus-Version"] == "1.0.0"
    assert "Tus-Resumable" in r.json()["message"]
    url = create(alice, 10).headers["Location"]
    r = alice.client.patch(
        url, content=b"x", headers={**OFFSET, "Tus-Resumable": "0.2.2", "Upload-Offset": "0"}
    )
    assert r.status_code == 412
    assert r.headers["Tus-Version"] == "1.0.0"


OFFSET = {"Content-Type": "application/offset+octet-stream"}


def test_patch_errors(alice):
    url = create(alice, 1000).headers["Location"]
    r = alice.client.patch(
        url, content=b"x" * 10, headers={**TUS, "Upload-Offset": "0", "Content-Type": "text/plain"}
    )
    assert r.status_code == 415
    assert "application/offset+octet-stream" in r.json()["message"]
    r = patch(alice, url, 5, b"x" * 10)
    assert r.status_code == 409
    assert r.json()["error"] == "offset_mismatch"
    assert "offset 0" in r.json()["message"]
    r = alice.client.patch(url, content=b"x", headers={**TUS, **OFFSET})
    assert r.status_code == 400 and "Upload-Offset" in r.json()["message"]
    r = patch(alice, url, 0, b"x", headers={"Upload-Offset": "-3"})
    assert r.status_code == 400
    r = patch(alice, url, 0, b"x" * 1001)
    assert r.status_code == 413
    assert "past its end" in r.json()["message"]
    # nothing of the refused chunks was kept
    assert head(alice, url).headers["Upload-Offset"] == "0"
    assert patch(alice, url, 0, b"y" * 1000).status_code == 204


def test_patch_past_length_chunked(alice):
    url = create(alice, 100).headers["Location"]
    assert patch(alice, url, 0, b"a" * 50).status_code == 204

    def body():
        yield b"b" * 30
        yield b"c" * 30

    r = patch(alice, url, 50, body())  # no Content-Length: refused while streaming
    assert r.status_code == 413
    assert head(alice, url).headers["Upload-Offset"] == "50"
    r = patch(alice, url, 50, b"d" * 50)
    assert r.status_code == 204 and r.headers["Partage-File-Code"]


def test_creation_errors(alice):
    def post(**h):
        return alice.client.post("/api/v1/uploads", headers={**TUS, **h})

    r = post(**{"Upload-Length": "10"})
    assert r.status_code == 400 and "filename" in r.json()["message"]
    r = post(**{"Upload-Metadata": meta(filename="x")})
    assert r.status_code == 400 and "Upload-Length" in r.json()["message"]
    r = post(
        **{"Upload-Length": "10", "Upload-Defer-Length": "1", "Upload-Metadata": meta(filename="x")}
    )
    assert r.status_code == 400
    r = post(**{"Upload-Length": "ten", "Upload-Metadata": meta(filename="x")})
    assert r.status_code == 400
    r = post(**{"Upload-Length": "10", "Upload-Metadata": "filename not*base64!"})
    assert r.status_code == 400 and "base64" in r.json()["message"]
    r = post(
        **{
            "Upload-Length": "10",
            "Upload-Metadata": "filename " + base64.b64encode(b"\xff\xfe").decode(),
        }
    )
    assert r.status_code == 400
    r = post(**{"Upload-Length": "10", "Upload-Metadata": meta(filename="a/b")})
    assert r.status_code == 400 and r.json()["error"] == "invalid_name"
    r = post(**{"Upload-Length": "10", "Upload-Metadata": meta(filename="x", expires="soon")})
    assert r.status_code == 400 and "expires" in r.json()["message"]
    r = post(**{"Upload-Length": "10", "Upload-Metadata": meta(filename="x", max_downloads="0")})
    assert r.status_code == 400 and "max_downloads" in r.json()["message"]
    r = post(**{"Upload-Length": "10", "Upload-Metadata": meta(filename="x", folder="999999")})
    assert r.status_code == 404
    # data with the wrong content type on creation
    r = alice.client.post(
        "/api/v1/uploads",
        content=b"abc",
        headers={
            **TUS,
            "Upload-Length": "3",
            "Upload-Metadata": meta(filename="x"),
            "Content-Type": "text/plain",
        },
    )
    assert r.status_code == 415


def test_metadata_options_reach_the_file(alice):
    data = b"hello options"
    r = alice.client.post(
        "/api/v1/uploads",
        content=data,
        headers={
            **TUS,
            **OFFSET,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": meta(
                filename="opts.txt",
                filetype="text/plain",
                folder="docs/2024",
                password="s3cret",
                expires="7d",
                max_downloads="3",
            ),
        },
    )
    assert r.status_code == 201, r.text
    h = head(alice, r.headers["Location"])
    assert "password" not in h.headers.get("Upload-Metadata", "")
    f = alice.client.get(r.headers["Location"]).json()["file"]
    assert f["has_password"] is True
    assert f["max_downloads"] == 3
    assert f["expires"] is not None
    assert f["folder_id"] is not None
    assert f["mime"] == "text/plain"
    # the folder path was created and reused
    r2 = alice.client.post(
        "/api/v1/uploads",
        content=b"x",
        headers={
            **TUS,
            **OFFSET,
            "Upload-Length": "1",
            "Upload-Metadata": meta(filename="b.txt", folder="docs/2024"),
        },
    )
    f2 = alice.client.get(r2.headers["Location"]).json()["file"]
    assert f2["folder_id"] == f["folder_id"]
    r3 = alice.client.post(
        "/api/v1/uploads",
        content=b"y",
        headers={
            **TUS,
            **OFFSET,
            "Upload-Length": "1",
            "Upload-Metadata": meta(filename="c.txt", folder=str(f["folder_id"])),
        },
    )
    assert alice.client.get(r3.headers["Location"]).json()["file"]["folder_id"] == f["folder_id"]


def test_other_users_upload_is_not_found(alice, bob):
    url = create(alice, 10).headers["Location"]
    assert head(bob, url).status_code == 404
    assert patch(bob, url, 0, b"x" * 10).status_code == 404
    assert bob.client.delete(url, headers=TUS).status_code == 404
    assert bob.client.get(url).status_code == 404
    assert head(alice, url).headers["Upload-Offset"] == "0"
    assert head(alice, url.rsplit("/", 1)[0] + "/" + "0" * 32).status_code == 404
    assert head(alice, url.rsplit("/", 1)[0] + "/../../x").status_code == 404


def test_unauthenticated(server):
    r = httpx.post(server.url + "/api/v1/uploads", headers={**TUS, "Upload-Length": "1"})
    assert r.status_code == 401
    assert r.headers["Tus-Resumable"] == "1.0.0"
