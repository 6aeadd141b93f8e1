"""`partage admin verify | gc | migrate-storage`, run as real commands against a real
server's data dir, and a whole switch-over from local disk to S3 with nodes serving."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

import httpx

from partage.storage.maintenance import media_areas
from tests.conftest import Account, db_context, make_account
from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY, s3_server
from tests.server.test_admin_cli import DB, partage
from tests.serverproc import Server
from tests.storage.test_maintenance import overwrite, put_media

JSON = {"Accept": "application/json"}


def upload(acc: Account, data: bytes) -> dict[str, Any]:
    r = acc.client.put(f"/api/v1/files/{secrets.token_hex(4)}.bin", content=data, headers=JSON)
    assert r.status_code == 201, r.text
    return dict(r.json())


def download(acc: Account, code: str) -> bytes:
    url = acc.client.get(f"/api/v1/files/{code}").json()["download_url"]
    r = httpx.get(url, timeout=60)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    return r.content


def run_json(*args: str, data_dir: Path, env: dict[str, str]) -> tuple[int, dict[str, Any]]:
    r = partage("admin", *args, "--json", data_dir=data_dir, env=env)
    assert r.returncode in (0, 1), r.stderr
    return r.returncode, json.loads(r.stdout)


def test_verify_and_gc_on_a_running_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv = Server(data).start(timeout=120)
    DB[data] = srv.database_url
    env = srv.storage_env  # the scaled run keeps its blobs on S3: so do the commands
    try:
        acc = make_account(srv)
        contents = [os.urandom(n) for n in (10, 20_000, 300_000)]
        files = [upload(acc, c) for c in contents]
        rc, report = run_json("verify", data_dir=data, env=env)
        assert rc == 0 and report["ok"] and report["checked"] == 3 and report["blobs"] == 3
        assert report["checked_bytes"] == 320_010

        ctx = db_context(srv)
        media = media_areas(ctx.store, ctx.settings)[0]
        rotten, lost, intact = (f["sha256"] for f in files)
        overwrite(ctx.store, rotten, b"\0" * 10)
        ctx.store.delete(lost)
        orphan = ctx.store.put_chunks([b"left behind by a crash"]).key
        dead = hashlib.sha256(b"deleted content").hexdigest()
        put_media(media, dead, {"poster.jpg": b"jpg"})  # type: ignore[attr-defined]

        rc, report = run_json("verify", "--all", data_dir=data, env=env)
        assert rc == 1 and not report["ok"]
        assert [p["key"] for p in report["missing"]] == [lost]
        assert [p["key"] for p in report["corrupt"]] == [rotten]
        assert report["orphan_count"] == 0 and report["recent_unreferenced"] == 1

        table = partage("admin", "verify", "--all", data_dir=data, env=env)
        assert table.returncode == 1 and "PROBLEMS FOUND" in table.stdout
        assert rotten in table.stdout and lost in table.stdout
        assert "1 missing, 1 corrupt" in table.stdout

        aged = partage("admin", "verify", "--grace", "0", data_dir=data, env=env)
        assert "Orphans: 1 object (22 bytes) and 1 media output directory" in aged.stdout

        kept = partage("admin", "gc", "--dry-run", data_dir=data, env=env)
        assert kept.returncode == 0, kept.stderr
        assert "Would remove 0 orphan blobs" in kept.stdout and "kept 1 newer than" in kept.stdout
        _, dry = run_json("gc", "--dry-run", "--grace", "0", data_dir=data, env=env)
        assert [o["key"] for o in dry["removed"]] == [orphan]
        assert [o["key"] for o in dry["media_removed"]] == [dead]
        assert ctx.store.exists(orphan)
        done = partage("admin", "gc", "--grace", "0", data_dir=data, env=env)
        assert done.returncode == 0 and orphan in done.stdout
        assert "Removed 1 orphan blob (22 bytes), 1 media output directory" in done.stdout
        assert not ctx.store.exists(orphan) and not list(media.files(dead))
        assert ctx.store.exists(intact) and download(acc, files[2]["code"]) == contents[2]
        ctx.close()
    finally:
        srv.stop()


def bucket_names(bucket: str, prefix: str) -> set[str]:
    client = s3_server().client()
    names: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        names.update(item["Key"] for item in page.get("Contents", []))
    return names


def blob_name(sha: str) -> str:
    return f"data/blobs/{sha[:2]}/{sha[2:4]}/{sha}"


def test_switch_over_from_local_disk_to_s3_while_serving(tmp_path: Path) -> None:
    """The documented procedure, step by step, with a real server answering throughout."""
    data = tmp_path / "data"
    server = s3_server()
    bucket = server.new_bucket()
    s3 = {k: v for k, v in server.env(bucket).items() if k != "PARTAGE_STORAGE_URL"}
    target = f"s3://{bucket}/data"
    old = f"file://{data}/blobs"
    # On local disk whatever the test run's storage; no media jobs: the outputs below
    # are made by hand (a job for these non-media uploads would clear its directory).
    srv = Server(data, storage_env={}, env={"PARTAGE_MEDIA_PROCESSING": "false"})
    DB[data] = srv.database_url
    srv.start(timeout=120)
    try:
        acc = make_account(srv)
        contents = [os.urandom(n) for n in (1, 70_000, 6 * 1024**2 + 1)]
        files = [upload(acc, c) for c in contents]
        video = files[1]["sha256"]  # media outputs, as a job leaves them
        outputs = data / "media" / video[:2] / video
        (outputs / "hls" / "v0").mkdir(parents=True)
        (outputs / "poster.jpg").write_bytes(b"jpeg" * 50)
        (outputs / "hls" / "v0" / "seg_1.m4s").write_bytes(os.urandom(5000))

        # (1) Copy everything to the new store while serving from the old one. This
        # target is named with its endpoint and credentials of its own (boto3's chain).
        other_provider = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        url = f"{target}?endpoint={server.endpoint}&region={REGION}&addressing=path"
        r = partage("admin", "migrate-storage", "--to", url, data_dir=data, env=other_provider)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Blobs: 3 copied (6.1 MiB), 0 already there" in r.stdout
        assert "Media files: 2 copied" in r.stdout
        names = bucket_names(bucket, "data/")
        assert {blob_name(f["sha256"]) for f in files} <= names
        assert f"data/media/{video[:2]}/{video}/hls/v0/seg_1.m4s" in names
        late = os.urandom(30_000)  # uploaded to the old store after the copy
        files.append(upload(acc, late))
        contents.append(late)

        # (2) Restart on the new store, falling back to the old one.
        srv.stop()
        srv.storage_env = {**s3, "PARTAGE_STORAGE_URL": target,
                           "PARTAGE_STORAGE_FALLBACK_URL": old}  # fmt: skip
        srv.start(timeout=120)
        assert blob_name(files[3]["sha256"]) not in bucket_names(bucket, "data/blobs/")
        for f, content in zip(files, contents, strict=True):
            assert download(acc, f["code"]) == content  # the late one through the fallback
        newest = os.urandom(40_000)
        files.append(upload(acc, newest))
        contents.append(newest)
        assert blob_name(files[4]["sha256"]) in bucket_names(bucket, "data/blobs/")
        assert not (data / "blobs" / shard_path(files[4]["sha256"])).exists()

        # The new store alone lacks the late upload: verify says so.
        node = srv.storage_env
        alone = {**node, "PARTAGE_STORAGE_FALLBACK_URL": ""}
        rc, report = run_json("verify", "--all", data_dir=data, env=alone)
        assert rc == 1 and [p["key"] for p in report["missing"]] == [files[3]["sha256"]]

        # (3) Copy what the old store got meanwhile (with the nodes' own settings).
        rc, report = run_json("migrate-storage", "--from", old, "--to", target,
                              data_dir=data, env=node)  # fmt: skip
        assert rc == 0 and report["ok"], report
        assert report["copied"] == 1 and report["skipped"] == 4 and report["blobs"] == 5
        rc, report = run_json("migrate-storage", "--from", old, "--to", target,
                              data_dir=data, env=node)  # fmt: skip
        assert rc == 0 and report["copied"] == 0 and report["skipped"] == 5

        # (4) Verify the new store alone, then drop the fallback; the old blobs are moved
        # away to prove nothing is read from them any more.
        rc, report = run_json("verify", "--all", data_dir=data, env=alone)
        assert rc == 0 and report["checked"] == 5, report
        assert report["store"] == f"{target} ({server.endpoint})"
        srv.stop()
        srv.storage_env = {**s3, "PARTAGE_STORAGE_URL": target}
        (data / "blobs").rename(tmp_path / "retired-blobs")
        srv.start(timeout=120)
        for f, content in zip(files, contents, strict=True):
            assert download(acc, f["code"]) == content
        rc, report = run_json("verify", "--all", data_dir=data, env=srv.storage_env)
        assert rc == 0 and report["checked"] == 5 and report["orphan_count"] == 0
        assert not any((data / "blobs").glob("??/??/*"))
    finally:
        srv.stop()


def shard_path(sha: str) -> str:
    return f"{sha[:2]}/{sha[2:4]}/{sha}"


def test_migrate_storage_refuses_bad_targets(tmp_path: Path) -> None:
    data = tmp_path / "data"
    r = partage("admin", "migrate-storage", "--to", "ftp://example.org/x", data_dir=data)
    assert r.returncode == 2 and "--to: unsupported storage URL" in r.stderr
    r = partage("admin", "migrate-storage", "--to", f"file://{data}/blobs", data_dir=data)
    assert r.returncode == 2 and "is the source itself" in r.stderr
    r = partage("admin", "migrate-storage", "--from", f"file://{tmp_path}/nothing-here",
                "--to", f"file://{tmp_path}/new", data_dir=data)  # fmt: skip
    assert r.returncode == 2 and "is not a directory" in r.stderr
    s3 = {k: v for k, v in s3_server().env("unused").items() if k != "PARTAGE_STORAGE_URL"}
    r = partage("admin", "migrate-storage", "--to", "s3://no-such-bucket/x", data_dir=data,
                env=s3)  # fmt: skip
    assert r.returncode == 2, r.stdout + r.stderr
    assert "cannot write to s3://no-such-bucket/x" in r.stderr
