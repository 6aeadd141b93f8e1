"""tus checksum, termination, creation-defer-length and concatenation; dedup; locking;
a client that goes away in the middle of a PATCH."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import threading
import time
from urllib.parse import urlsplit

from tests.uploads.conftest import TUS, blob_count, create, head, meta, patch, sha256

OFFSET = {"Content-Type": "application/offset+octet-stream"}


def checksum(algo: str, data: bytes) -> str:
    return f"{algo} {base64.b64encode(hashlib.new(algo, data).digest()).decode()}"


def test_checksum_sha1_and_sha256(alice):
    data = os.urandom(90_000)
    url = create(alice, len(data)).headers["Location"]
    r = patch(alice, url, 0, data[:30_000], {"Upload-Checksum": checksum("sha1", data[:30_000])})
    assert r.status_code == 204
    # a corrupted chunk is refused with 460 and discarded
    bad = b"\0" + data[30_001:60_000]
    r = patch(alice, url, 30_000, bad, {"Upload-Checksum": checksum("sha256", data[30_000:60_000])})
    assert r.status_code == 460
    assert r.json()["error"] == "checksum_mismatch"
    assert head(alice, url).headers["Upload-Offset"] == "30000"
    r = patch(
        alice,
        url,
        30_000,
        data[30_000:60_000],
        {"Upload-Checksum": checksum("sha256", data[30_000:60_000])},
    )
    assert r.status_code == 204
    r = patch(alice, url, 60_000, data[60_000:], {"Upload-Checksum": "md5 AAAA"})
    assert r.status_code == 400 and "sha1" in r.json()["message"]
    r = patch(alice, url, 60_000, data[60_000:], {"Upload-Checksum": "sha1 %%%"})
    assert r.status_code == 400
    r = patch(alice, url, 60_000, data[60_000:])
    assert r.status_code == 204
    # the running SHA-256 was restored after the refused chunk
    assert alice.client.get(url).json()["file"]["sha256"] == sha256(data)


def test_checksum_on_creation_with_upload(alice):
    data = os.urandom(20_000)
    h = {**TUS, **OFFSET, "Upload-Length": str(len(data)), "Upload-Metadata": meta(filename="c")}
    r = alice.client.post(
        "/api/v1/uploads", content=data, headers={**h, "Upload-Checksum": checksum("sha1", b"x")}
    )
    assert r.status_code == 460
    url = r.headers["Location"]  # the upload exists: the client can resume it
    assert head(alice, url).headers["Upload-Offset"] == "0"
    r = patch(alice, url, 0, data, {"Upload-Checksum": checksum("sha256", data)})
    assert r.status_code == 204 and r.headers["Partage-File-Code"]


def test_termination(server, alice):
    url = create(alice, 100).headers["Location"]
    assert patch(alice, url, 0, b"x" * 40).status_code == 204
    upload_id = url.rsplit("/", 1)[1]
    assert (server.data_dir / "staging" / upload_id).exists()
    r = alice.client.delete(url, headers=TUS)
    assert r.status_code == 204
    assert r.headers["Tus-Resumable"] == "1.0.0"
    assert head(alice, url).status_code == 404
    assert patch(alice, url, 40, b"x" * 60).status_code == 404
    assert not (server.data_dir / "staging" / upload_id).exists()
    # a finished upload is a file: terminating it is refused, clearly
    done = alice.client.post(
        "/api/v1/uploads",
        content=b"abc",
        headers={**TUS, **OFFSET, "Upload-Length": "3", "Upload-Metadata": meta(filename="t")},
    )
    r = alice.client.delete(done.headers["Location"], headers=TUS)
    assert r.status_code == 409 and "file" in r.json()["message"]


def test_defer_length(alice):
    data = os.urandom(70_000)
    r = create(alice, None)
    assert r.status_code == 201
    url = r.headers["Location"]
    h = head(alice, url)
    assert h.headers["Upload-Defer-Length"] == "1" and "Upload-Length" not in h.headers
    assert patch(alice, url, 0, data[:50_000]).status_code == 204
    r = patch(alice, url, 50_000, data[50_000:], {"Upload-Length": str(len(data))})
    assert r.status_code == 204
    assert r.headers["Partage-File-Code"]
    assert alice.client.get(url).json()["file"]["sha256"] == sha256(data)


def test_defer_length_declared_at_the_end(alice):
    url = create(alice, None).headers["Location"]
    assert patch(alice, url, 0, b"abc").status_code == 204
    r = patch(alice, url, 3, b"", {"Upload-Length": "2"})
    assert r.status_code == 400 and "less than" in r.json()["message"]
    r = patch(alice, url, 3, b"", {"Upload-Length": "3"})
    assert r.status_code == 204 and r.headers["Partage-File-Code"]
    assert head(alice, url).headers["Upload-Length"] == "3"


def test_defer_length_limits(account_factory):
    acc = account_factory(max_file_size=10_000)
    url = create(acc, None).headers["Location"]
    r = patch(acc, url, 0, os.urandom(10_001))
    assert r.status_code == 413 and r.json()["error"] == "file_too_large"
    assert patch(acc, url, 0, b"x" * 5000).status_code == 204
    r = patch(acc, url, 5000, b"", {"Upload-Length": "20000"})
    assert r.status_code == 413
    assert head(acc, url).headers["Upload-Offset"] == "5000"


def test_concatenation(server, alice):
    parts = [os.urandom(40_000), os.urandom(25_000), os.urandom(1)]
    urls = []
    for p in parts:
        r = alice.client.post(
            "/api/v1/uploads",
            headers={**TUS, "Upload-Length": str(len(p)), "Upload-Concat": "partial"},
        )
        assert r.status_code == 201, r.text
        urls.append(r.headers["Location"])
    assert head(alice, urls[0]).headers["Upload-Concat"] == "partial"
    # parallel PATCHes of the parts, in any order
    for url, p in reversed(list(zip(urls, parts, strict=True))):
        r = patch(alice, url, 0, p)
        assert r.status_code == 204 and "Partage-File-Code" not in r.headers
    # one URL absolute, one a path: both are accepted
    ref = f"{urls[0]} {urlsplit(urls[1]).path} {urls[2]}"
    r = alice.client.post(
        "/api/v1/uploads",
        headers={
            **TUS,
            "Upload-Concat": f"final;{ref}",
            "Upload-Metadata": meta(filename="whole.bin"),
        },
    )
    assert r.status_code == 201, r.text
    code = r.headers["Partage-File-Code"]
    whole = b"".join(parts)
    assert r.headers["Upload-Offset"] == str(len(whole))
    h = head(alice, r.headers["Location"])
    assert h.headers["Upload-Length"] == str(len(whole))
    assert h.headers["Upload-Concat"].startswith("final;")
    f = alice.client.get(r.headers["Location"]).json()["file"]
    assert f["code"] == code and f["sha256"] == sha256(whole) and f["size"] == len(whole)
    assert head(alice, urls[0]).status_code == 404  # the parts were used up
    assert patch(alice, r.headers["Location"], len(whole), b"x").status_code == 403


def test_concatenation_errors(alice, bob):
    def partial(acc, n):
        r = acc.client.post(
            "/api/v1/uploads", headers={**TUS, "Upload-Length": str(n), "Upload-Concat": "partial"}
        )
        return r.headers["Location"]

    def final(acc, *urls, **extra):
        return acc.client.post(
            "/api/v1/uploads",
            headers={
                **TUS,
                "Upload-Concat": "final;" + " ".join(urls),
                "Upload-Metadata": meta(filename="f"),
                **extra,
            },
        )

    a1, a2 = partial(alice, 10), partial(alice, 10)
    patch(alice, a1, 0, b"x" * 10)
    r = final(alice, a1, a2)
    assert r.status_code == 400 and "not complete" in r.json()["message"]
    b1 = partial(bob, 5)
    patch(bob, b1, 0, b"y" * 5)
    assert final(alice, a1, b1).status_code == 404
    assert final(alice, a1, "http://elsewhere/x").status_code == 400
    normal = create(alice, 5).headers["Location"]
    patch(alice, normal, 0, b"z" * 4)
    r = final(alice, a1, normal)
    assert r.status_code == 400
    assert final(alice, a1, a1).status_code == 400
    assert final(alice, a1, **{"Upload-Length": "10"}).status_code == 400
    r = alice.client.post("/api/v1/uploads", headers={**TUS, "Upload-Concat": "final;" + a1})
    assert r.status_code == 400 and "filename" in r.json()["message"]
    r = alice.client.post("/api/v1/uploads", headers={**TUS, "Upload-Concat": "sideways"})
    assert r.status_code == 400


def test_same_content_twice_stores_no_new_blob(server, alice, bob):
    data = os.urandom(200_000)
    r1 = alice.client.post(
        "/api/v1/uploads",
        content=data,
        headers={
            **TUS,
            **OFFSET,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": meta(filename="a"),
        },
    )
    assert r1.status_code == 201
    before = blob_count(server)
    url = create(bob, len(data), filename="b").headers["Location"]
    patch(bob, url, 0, data[:100_000])
    r2 = patch(bob, url, 100_000, data[100_000:])
    assert r2.status_code == 204
    assert blob_count(server) == before
    assert r2.headers["Partage-File-Code"] != r1.headers["Partage-File-Code"]
    assert not (server.data_dir / "staging" / url.rsplit("/", 1)[1]).exists()
    assert bob.client.get(url).json()["file"]["sha256"] == sha256(data)


def _raw_patch(server, acc, url: str, offset: int, total: int, send: bytes) -> socket.socket:
    """Start a PATCH announcing `total` bytes but send only `send`."""
    path = urlsplit(url).path
    sock = socket.create_connection(("127.0.0.1", server.port))
    head_ = (
        f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {acc.token}\r\n"
        f"Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Upload-Offset: {offset}\r\nContent-Length: {total}\r\n\r\n"
    )
    sock.sendall(head_.encode() + send)
    return sock


def wait_offset(acc, url: str, want: int, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while True:
        got = int(head(acc, url).headers["Upload-Offset"])
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_client_gone_mid_patch_keeps_what_arrived(server, alice):
    data = os.urandom(1_000_000)
    url = create(alice, len(data)).headers["Location"]
    sock = _raw_patch(server, alice, url, 0, len(data), data[:600_000])
    time.sleep(0.3)
    sock.close()
    assert wait_offset(alice, url, 600_000) == 600_000
    r = patch(alice, url, 600_000, data[600_000:])
    assert r.status_code == 204
    assert alice.client.get(url).json()["file"]["sha256"] == sha256(data)


def test_client_gone_mid_patch_with_checksum_discards_chunk(server, alice):
    data = os.urandom(500_000)
    url = create(alice, len(data)).headers["Location"]
    path = urlsplit(url).path
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(
        (
            f"PATCH {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {alice.token}\r\n"
            f"Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Upload-Checksum: {checksum('sha1', data)}\r\n"
            f"Upload-Offset: 0\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode()
        + data[:200_000]
    )
    time.sleep(0.3)
    sock.close()
    time.sleep(0.3)
    assert head(alice, url).headers["Upload-Offset"] == "0"
    assert patch(alice, url, 0, data).status_code == 204


def test_concurrent_patch_is_refused(server, alice):
    data = os.urandom(400_000)
    url = create(alice, len(data)).headers["Location"]
    sock = _raw_patch(server, alice, url, 0, len(data), data[:100_000])
    try:
        time.sleep(0.3)
        r = patch(alice, url, 0, data)
        assert r.status_code == 423
        assert "Another request" in r.json()["message"]
        sock.sendall(data[100_000:])
        reply = sock.recv(4096)
        assert reply.startswith(b"HTTP/1.1 204")
        assert b"partage-file-code" in reply.lower()
    finally:
        sock.close()
    assert alice.client.get(url).json()["file"]["sha256"] == sha256(data)


def test_parallel_uploads_of_one_user(alice):
    results = {}

    def one(i):
        data = os.urandom(150_000 + i)
        url = create(alice, len(data), filename=f"p{i}").headers["Location"]
        for off in range(0, len(data), 50_000):
            assert patch(alice, url, off, data[off : off + 50_000]).status_code == 204
        results[i] = (alice.client.get(url).json()["file"]["sha256"], sha256(data))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4
    assert all(a == b for a, b in results.values())
