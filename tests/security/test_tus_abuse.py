"""tus abuse the core tests (tests/uploads) do not try: overflowing and non-ASCII
numbers, another user's upload ids and partial uploads, a terminated upload, huge
metadata, unknown checksum algorithms, a crowd of PATCHes racing on one upload. Every
answer is a clear JSON error, never a 500, and the upload's state is unchanged."""

from __future__ import annotations

import base64
import os
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.uploads.conftest import OFFSET_STREAM, TUS, meta, sha256

HUGE = ["18446744073709551616", "9" * 30, "9" * 5000, "-1", "+1", "1e3", "0x10"]


def _create(c: httpx.Client, length: int, **headers: str) -> str:
    h = {**TUS, "Upload-Length": str(length), "Upload-Metadata": meta(filename="t.bin")}
    r = c.post("/api/v1/uploads", headers={**h, **headers})
    assert r.status_code == 201, r.text
    return r.headers["Location"]


def _patch(c: httpx.Client, url: str, offset: int | str | bytes, data: bytes, **headers: str):
    sent = offset if isinstance(offset, bytes | str) else str(offset)
    h = {**TUS, **OFFSET_STREAM, "Upload-Offset": sent, **headers}
    return c.patch(url, content=data, headers=h)


def _offset(c: httpx.Client, url: str) -> int:
    r = c.head(url, headers=TUS)
    assert r.status_code == 200
    return int(r.headers["Upload-Offset"])


def _error(r: httpx.Response, status: int, word: str = "") -> None:
    assert r.status_code == status, (r.status_code, r.text[:300])
    body = r.json()
    assert set(body) >= {"error", "message"}
    assert word in body["message"]


@pytest.mark.parametrize("value", [*HUGE, b"\xb2"])  # latin-1 "²": str.isdigit() says yes
def test_lengths_and_offsets_that_are_not_byte_counts(cast, value):
    c = cast["alice"].api
    r = c.post(
        "/api/v1/uploads",
        headers={**TUS, "Upload-Length": value, "Upload-Metadata": meta(filename="x")},
    )
    _error(r, 400, "Upload-Length")
    url = _create(c, 10)
    _error(_patch(c, url, value, b"ab"), 400, "Upload-Offset")
    _error(_patch(c, url, 0, b"ab", **{"Upload-Length": value}), 400, "Upload-Length")
    assert _offset(c, url) == 0


def test_offsets_that_do_not_match_and_data_past_the_end(cast):
    c = cast["alice"].api
    url = _create(c, 10)
    assert _patch(c, url, 0, b"abcd").status_code == 204
    for wrong in (0, 3, 5, 10, 11):
        _error(_patch(c, url, wrong, b"x"), 409, "offset 4")
    _error(_patch(c, url, 4, b"x" * 7), 413, "past its end")
    _error(_patch(c, url, 4, b"x", **{"Upload-Length": "99"}), 400, "cannot change")
    assert _offset(c, url) == 4
    r = _patch(c, url, 4, b"efghij")
    assert r.status_code == 204 and r.headers["Partage-File-Code"]


@pytest.mark.parametrize(
    ("folder", "status"),
    [("18446744073709551616", 404), ("9" * 40, 404), ("\u00b2", 201), ("999999", 404)],
)
def test_folder_metadata_that_overflows(cast, folder, status):
    """A numeric folder is an id (not found past 64 bits); "²" is a name, not a number."""
    r = cast["alice"].api.post(
        "/api/v1/uploads",
        headers={**TUS, "Upload-Length": "3", "Upload-Metadata": meta(filename="f", folder=folder)},
    )
    assert r.status_code == status, r.text
    if status == 404:
        assert r.json()["error"] == "not_found"


def test_wrong_content_type_is_415(cast):
    c = cast["alice"].api
    url = _create(c, 10)
    for ctype in ("text/plain", "application/octet-stream", "multipart/form-data; boundary=x"):
        r = c.patch(
            url, content=b"ab", headers={**TUS, "Upload-Offset": "0", "Content-Type": ctype}
        )
        _error(r, 415, "application/offset+octet-stream")
    assert _offset(c, url) == 0


@pytest.mark.parametrize(
    ("header", "word"),
    [
        ("md5 " + base64.b64encode(b"x" * 16).decode(), "unsupported algorithm 'md5'"),
        ("crc32 AAAAAA==", "unsupported algorithm"),
        ("a" * 3000 + " AA==", "unsupported algorithm"),
        ("sha1", "<algorithm> <base64 digest>"),
        ("sha256 !!!", "base64"),
    ],
)
def test_unknown_or_malformed_checksum(cast, header, word):
    c = cast["alice"].api
    url = _create(c, 10)
    _error(_patch(c, url, 0, b"abc", **{"Upload-Checksum": header}), 400, word)
    assert _offset(c, url) == 0


def test_huge_metadata_is_refused_not_stored(cast):
    """Found by this module: a 200 KB Upload-Metadata was stored and echoed on every HEAD,
    which most clients cannot even read back ("Receive buffer too long")."""
    c = cast["alice"].api
    big = meta(filename="m.bin") + ",junk " + base64.b64encode(b"x" * 100_000).decode()
    r = c.post("/api/v1/uploads", headers={**TUS, "Upload-Length": "3", "Upload-Metadata": big})
    _error(r, 400, "Upload-Metadata")
    many = meta(filename="m.bin") + "," + ",".join(f"k{i} eA==" for i in range(12_000))
    r = c.post("/api/v1/uploads", headers={**TUS, "Upload-Length": "3", "Upload-Metadata": many})
    _error(r, 400, "Upload-Metadata")
    # a large but legitimate description still fits
    desc = "é" * 10_000
    url = _create(c, 3, **{"Upload-Metadata": meta(filename="d.bin", description=desc)})
    assert _patch(c, url, 0, b"abc").status_code == 204
    code = c.get(url).json()["file"]["code"]
    assert c.get(f"/api/v1/files/{code}").json()["description"] == desc


def test_another_users_upload_and_partials(cast, anon):
    alice, bob = cast["alice"].api, cast["bob"].api
    url = _create(alice, 10)
    assert _patch(alice, url, 0, b"abc").status_code == 204
    for client in (bob, anon):
        assert client.head(url, headers=TUS).status_code in (401, 404)
        for r in (
            _patch(client, url, 3, b"zzz"),
            client.delete(url, headers=TUS),
            client.get(url),
        ):
            assert r.status_code in (401, 404), r.text
            assert r.json()["error"] in ("not_found", "not_authenticated")
    # alice's partial as a part of bob's final upload
    part = alice.post(
        "/api/v1/uploads", headers={**TUS, "Upload-Length": "4", "Upload-Concat": "partial"}
    ).headers["Location"]
    assert _patch(alice, part, 0, b"ALIC").status_code == 204
    own = bob.post(
        "/api/v1/uploads", headers={**TUS, "Upload-Length": "3", "Upload-Concat": "partial"}
    ).headers["Location"]
    assert _patch(bob, own, 0, b"BOB").status_code == 204
    final = {**TUS, "Upload-Concat": f"final;{own} {part}", "Upload-Metadata": meta(filename="s")}
    _error(bob.post("/api/v1/uploads", headers=final), 404)
    assert _offset(alice, url) == 3
    assert _offset(alice, part) == 4
    assert bob.get("/api/v1/files", params={"all": "true"}).json()["total"] == 0


def test_a_terminated_upload_is_gone_for_every_method(cast):
    c = cast["alice"].api
    url = _create(c, 10)
    assert _patch(c, url, 0, b"abc").status_code == 204
    assert c.delete(url, headers=TUS).status_code == 204
    assert c.head(url, headers=TUS).status_code == 404
    for r in (_patch(c, url, 3, b"def"), _patch(c, url, 0, b"abc"), c.delete(url, headers=TUS),
              c.get(url)):  # fmt: skip
        _error(r, 404, "No upload")


def test_many_parallel_patches_to_one_upload(server, cast):
    """Twenty clients send the whole file at once: one wins, the others are refused
    (409 offset moved, or 423 busy), and the file is exactly the data, once."""
    acc = cast["alice"].account
    data = os.urandom(300_000)
    url = _create(acc.client, len(data))

    def send(_: int) -> int:
        headers = {"Authorization": f"Bearer {acc.token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as c:
            return _patch(c, url, 0, data).status_code

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(send, range(20)))
    assert statuses.count(204) == 1, statuses
    assert set(statuses) <= {204, 409, 423}, statuses
    got = acc.client.get(url).json()
    assert got["complete"] and got["file"]["sha256"] == sha256(data)
    assert got["file"]["size"] == len(data)
