"""Helpers for upload tests: tus headers, metadata, random files, blob counts."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import Account, db_context
from tests.serverproc import Server

TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_STREAM = {"Content-Type": "application/offset+octet-stream"}


def meta(**fields: str) -> str:
    return ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}" if v != "" else k for k, v in fields.items()
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def create(
    acc: Account, length: int | None, *, filename: str = "f.bin", headers: dict | None = None
) -> httpx.Response:
    h = {**TUS, "Upload-Metadata": meta(filename=filename)}
    if length is None:
        h["Upload-Defer-Length"] = "1"
    else:
        h["Upload-Length"] = str(length)
    h.update(headers or {})
    return acc.client.post("/api/v1/uploads", headers=h)


def patch(
    acc: Account, url: str, offset: int, data: bytes, headers: dict | None = None
) -> httpx.Response:
    h = {**TUS, **OFFSET_STREAM, "Upload-Offset": str(offset), **(headers or {})}
    return acc.client.patch(url, content=data, headers=h)


def head(acc: Account, url: str) -> httpx.Response:
    return acc.client.head(url, headers=TUS)


def blob_count(srv: Server) -> int:
    """Blobs in the server's store (local disk or object store alike)."""
    ctx = db_context(srv)
    try:
        return len(list(ctx.store.keys()))
    finally:
        ctx.close()


def staging_files(srv: Server) -> list[Path]:
    return sorted((srv.data_dir / "staging").iterdir())


@pytest.fixture
def random_file(tmp_path: Path) -> Callable[..., Path]:
    def make(size: int, name: str = "data.bin") -> Path:
        path = tmp_path / name
        with open(path, "wb") as f:
            left = size
            while left:
                n = min(left, 1 << 20)
                f.write(os.urandom(n))
                left -= n
        return path

    return make
