"""Size and storage limits: refused before data, with 413 and a clear message."""

from __future__ import annotations

import os

from tests.uploads.conftest import TUS, create, meta, patch


def test_tus_over_max_file_size_refused_at_creation(server, account_factory):
    acc = account_factory(max_file_size=100_000)
    r = create(acc, 100_001)
    assert r.status_code == 413
    assert r.json()["error"] == "file_too_large"
    assert "allows files up to" in r.json()["message"]
    assert r.headers["Tus-Resumable"] == "1.0.0"
    assert create(acc, 100_000).status_code == 201


def test_tus_quota_counts_unfinished_uploads(account_factory):
    acc = account_factory(storage_quota=300_000)
    first = create(acc, 200_000)
    assert first.status_code == 201
    r = create(acc, 150_000)  # 200k promised to the first upload already
    assert r.status_code == 413 and r.json()["error"] == "quota_exceeded"
    assert "free" in r.json()["message"]
    # creation-with-upload over quota: refused before a byte is stored
    r = acc.client.post(
        "/api/v1/uploads",
        content=os.urandom(150_000),
        headers={
            **TUS,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Length": "150000",
            "Upload-Metadata": meta(filename="big"),
        },
    )
    assert r.status_code == 413 and "Location" not in r.headers
    # terminating the first frees its reservation
    acc.client.delete(first.headers["Location"], headers=TUS)
    assert create(acc, 150_000).status_code == 201


def test_tus_quota_counts_files(account_factory):
    acc = account_factory(storage_quota=100_000)
    data = os.urandom(60_000)
    url = create(acc, len(data)).headers["Location"]
    assert patch(acc, url, 0, data).status_code == 204
    assert create(acc, 50_000).status_code == 413
    # deduplicated content still counts at full size for its owner
    assert create(acc, 40_000).status_code == 201


def test_put_over_limits_refused_before_body(server, account_factory):
    acc = account_factory(max_file_size=50_000, storage_quota=80_000)
    r = acc.client.put(
        "/api/v1/files/big.bin", content=os.urandom(50_001), headers={"Accept": "application/json"}
    )
    assert r.status_code == 413 and r.json()["error"] == "file_too_large"
    assert acc.client.put("/api/v1/files/a.bin", content=os.urandom(45_000)).status_code == 201
    r = acc.client.put("/api/v1/files/b.bin", content=os.urandom(45_000))
    assert r.status_code == 413 and r.json()["error"] == "quota_exceeded"

    def chunks():  # no Content-Length: the limit is enforced while streaming
        for _ in range(10):
            yield os.urandom(10_000)

    r = acc.client.put("/api/v1/files/c.bin", content=chunks())
    assert r.status_code == 413
    assert not [p for p in (server.data_dir / "staging").iterdir() if p.name.startswith("in-")]


def test_multipart_over_limits(account_factory):
    acc = account_factory(max_file_size=50_000, storage_quota=120_000)
    r = acc.client.post("/api/v1/files", files={"file": ("big.bin", os.urandom(60_000))})
    assert r.status_code == 413 and r.json()["error"] == "file_too_large"
    r = acc.client.post(
        "/api/v1/files",
        files=[("file", ("a", os.urandom(40_000))), ("file", ("b", os.urandom(40_000)))],
    )
    assert r.status_code == 201
    r = acc.client.post("/api/v1/files", files={"file": ("c.bin", os.urandom(45_000))})
    assert r.status_code == 413 and r.json()["error"] == "quota_exceeded"
