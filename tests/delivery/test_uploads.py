"""Uploads through nginx (deploy/nginx.conf) to two partage nodes: tus in several PATCHes,
a large PUT, and the body limit everywhere else."""

from __future__ import annotations

import hashlib
import io
import os
import re

import httpx
from tusclient import client as tus_client

from tests.delivery.conftest import Edge, upload, visitor_link

MiB = 1024 * 1024


def test_tus_upload_in_several_patches(edge: Edge) -> None:
    acc, client = edge.account()
    data = os.urandom(5 * MiB + 12345)
    tus = tus_client.TusClient(
        edge.url + "/api/v1/uploads", headers={"Authorization": f"Bearer {acc.token}"}
    )
    up = tus.uploader(
        file_stream=io.BytesIO(data), chunk_size=MiB, metadata={"filename": "tus via nginx.bin"}
    )
    up.upload()
    code = up.request.response_headers.get("partage-file-code")
    assert code, up.request.response_headers
    info = client.get(f"/api/v1/files/{code}").json()
    assert (info["size"], info["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert httpx.get(visitor_link(edge.url, code)).content == data

    # Six PATCHes, all to one node (the uploads upstream hashes the upload's URI), and the
    # Location partage gave points at nginx (Host is passed through).
    assert up.url.startswith(edge.url + "/api/v1/uploads/")
    upload_id = up.url.rsplit("/", 1)[1]
    patches = edge.nginx.log_lines(f'"PATCH /api/v1/uploads/{upload_id} ')
    assert len(patches) == 6, patches
    assert all(" 204 " in ln for ln in patches), patches
    nodes = {re.search(r" node=(\S+) ", ln).group(1) for ln in patches}  # type: ignore[union-attr]
    assert len(nodes) == 1, patches


def test_large_put_streams_through(edge: Edge) -> None:
    """Bigger than the 16 MiB body limit of the other locations: uploads have none."""
    _, client = edge.account()
    data = os.urandom(24 * MiB)
    made = upload(client, "big put.bin", data)
    assert (made["size"], made["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())


def test_other_routes_keep_a_body_limit(edge: Edge) -> None:
    _, client = edge.account()
    r = client.post(
        "/api/v1/folders", content=b"x" * (17 * MiB), headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 413
    assert "413 Request Entity Too Large" in r.text  # nginx's page: no node was asked
    (line,) = edge.nginx.log_lines('"POST /api/v1/folders ')
    assert " 413 " in line and " node=- " in line, line
