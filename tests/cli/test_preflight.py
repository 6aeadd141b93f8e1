"""A wrong or unreachable URL stops the server-side commands at once, with one line
that names the setting and says why (and never shows a password)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.serverproc import Server, free_port

CLOSED = free_port()  # nothing listens there


def _serve(tmp_path: Path, command: str = "serve", **env: str) -> subprocess.CompletedProcess[str]:
    server = Server(tmp_path / "data", env=env)
    return subprocess.run(
        [sys.executable, "-m", "partage.cli.main", command, "--data-dir", str(server.data_dir),
         *(["--port", str(free_port())] if command == "serve" else [])],
        env=server.full_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        (
            "PARTAGE_QUEUE_URL",
            f"redis://127.0.0.1:{CLOSED}/0",
            f"PARTAGE_QUEUE_URL=redis://127.0.0.1:{CLOSED}/0: unreachable",
        ),
        ("PARTAGE_QUEUE_URL", "amqp://guest@127.0.0.1/", "unsupported queue URL"),
        ("PARTAGE_DATABASE_URL", "nosuchdb://somewhere/db", "not a database URL"),
        ("PARTAGE_STORAGE_URL", "ftp://files.example.org/blobs", "unsupported storage URL"),
    ],
    ids=["queue-unreachable", "queue-unsupported", "database-unknown", "storage-unsupported"],
)
def test_bad_url_stops_serve_with_one_line(
    tmp_path: Path, setting: str, value: str, says: str
) -> None:
    done = _serve(tmp_path, **{setting: value})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"partage: {setting}=") and says in lines[0], lines[0]


@pytest.mark.parametrize("command", ["worker", "migrate"])
def test_other_commands_check_too(tmp_path: Path, command: str) -> None:
    done = _serve(tmp_path, command, PARTAGE_QUEUE_URL=f"redis://127.0.0.1:{CLOSED}/0")
    assert done.returncode == 2 and "PARTAGE_QUEUE_URL" in done.stderr


def test_password_is_never_shown(tmp_path: Path) -> None:
    done = _serve(tmp_path, PARTAGE_QUEUE_URL=f"redis://:hunter2-secret@127.0.0.1:{CLOSED}/0")
    assert done.returncode == 2
    assert "hunter2" not in done.stderr and ":***@127.0.0.1" in done.stderr


def test_unwritable_blob_store(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the blob store should be")
    done = _serve(tmp_path, PARTAGE_STORAGE_URL=f"file://{blocked}/blobs")
    assert done.returncode == 2
    assert "PARTAGE_STORAGE_URL" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_unreachable_object_store_stops_serve(tmp_path: Path) -> None:
    done = _serve(
        tmp_path,
        PARTAGE_STORAGE_URL="s3://files/partage",
        PARTAGE_S3_ENDPOINT_URL=f"http://127.0.0.1:{CLOSED}",
        PARTAGE_S3_ACCESS_KEY_ID="k",
        PARTAGE_S3_SECRET_ACCESS_KEY="s",
        PARTAGE_S3_REGION="us-east-1",
    )
    assert done.returncode == 2
    line = done.stderr.strip()
    assert line.startswith("partage: PARTAGE_STORAGE_URL=s3://files/partage: unreachable"), line
    assert len(line.splitlines()) == 1


def test_missing_bucket_stops_serve(tmp_path: Path) -> None:
    from tests.s3server import s3_server

    env = s3_server().env("no-such-bucket")
    done = _serve(tmp_path, **env)
    assert done.returncode == 2
    line = done.stderr.strip()
    assert "PARTAGE_STORAGE_URL=s3://no-such-bucket/data: the bucket refused" in line, line
    assert "NoSuchBucket" in line and len(line.splitlines()) == 1
