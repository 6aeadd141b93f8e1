"""A wrong or unreachable URL stops the server-side commands at once, with one line
that names the setting and says why (and never shows a password)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serverproc import Server, free_port

# A port bound for the whole module but never listening: connecting to it is refused,
# and no server started meanwhile by other tests can take it (a port merely found free
# at import time could be).
_HELD = socket.socket()
_HELD.bind(("127.0.0.1", 0))
CLOSED = _HELD.getsockname()[1]


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


# -- PARTAGE_CACHE_URL (rate limits shared through Redis) -------------------------------------


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (
            f"redis://127.0.0.1:{CLOSED}/0",
            f"PARTAGE_CACHE_URL=redis://127.0.0.1:{CLOSED}/0: unreachable",
        ),
        ("memcached://127.0.0.1:11211", "unsupported cache URL"),
        ("redis://127.0.0.1:notaport/0", "not a Redis URL"),
    ],
    ids=["unreachable", "unsupported", "malformed"],
)
def test_bad_cache_url_stops_serve_with_one_line(tmp_path: Path, value: str, says: str) -> None:
    done = _serve(tmp_path, PARTAGE_CACHE_URL=value)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("partage: PARTAGE_CACHE_URL=") and says in lines[0], lines[0]


def test_cache_password_is_never_shown(tmp_path: Path) -> None:
    done = _serve(tmp_path, PARTAGE_CACHE_URL=f"redis://:hunter2-secret@127.0.0.1:{CLOSED}/0")
    assert done.returncode == 2
    assert "hunter2" not in done.stderr and ":***@127.0.0.1" in done.stderr


def test_reachable_cache_lets_migrate_run(tmp_path: Path) -> None:
    """The check refuses only what is wrong: the tests' Redis passes it."""
    import os

    redis_url = os.environ.get("PARTAGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    done = _serve(tmp_path, "migrate", PARTAGE_CACHE_URL=redis_url)
    assert done.returncode == 0, done.stderr


def test_redirect_delivery_needs_object_storage(tmp_path: Path) -> None:
    blobs = f"file://{tmp_path}/blobs"
    done = _serve(tmp_path, PARTAGE_DELIVERY="redirect", PARTAGE_STORAGE_URL=blobs)
    assert done.returncode == 2
    line = done.stderr.strip()
    assert line.startswith("partage: PARTAGE_DELIVERY=redirect: needs object storage"), line
    assert "PARTAGE_STORAGE_URL=s3://" in line and blobs in line and len(line.splitlines()) == 1


def test_x_accel_delivery_needs_local_storage(tmp_path: Path) -> None:
    from tests.s3server import s3_server

    s3 = s3_server()
    done = _serve(tmp_path, PARTAGE_DELIVERY="x-accel", **s3.env(s3.new_bucket()))
    assert done.returncode == 2
    line = done.stderr.strip()
    assert line.startswith("partage: PARTAGE_DELIVERY=x-accel: needs blobs on a local disk"), line
    assert len(line.splitlines()) == 1


def test_delivery_url_must_be_an_origin(tmp_path: Path) -> None:
    from tests.s3server import s3_server

    s3 = s3_server()
    env = {**s3.env(s3.new_bucket()), "PARTAGE_DELIVERY": "redirect"}
    done = _serve(tmp_path, PARTAGE_DELIVERY_URL="cdn.example.org", **env)
    assert done.returncode == 2
    line = done.stderr.strip()
    assert line == (
        "partage: PARTAGE_DELIVERY_URL=cdn.example.org: not an http(s) origin such as "
        "https://cdn.example.org"
    ), line


def test_unreadable_fallback_store_stops_serve(tmp_path: Path) -> None:
    done = _serve(tmp_path, PARTAGE_STORAGE_FALLBACK_URL="ftp://old.example.org/blobs")
    assert done.returncode == 2
    line = done.stderr.strip()
    assert line.startswith("partage: PARTAGE_STORAGE_FALLBACK_URL=ftp://"), line
    assert "unsupported storage URL" in line and len(line.splitlines()) == 1


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_invalid_settings_give_one_line_each_and_status_2(tmp_path: Path, command: str) -> None:
    """A value that breaks a rule (not a traceback): one line per setting, naming it,
    the value and the rule."""
    done = _serve(
        tmp_path, command,
        PARTAGE_DIRECT_LINK_TTL="5", PARTAGE_STREAM_TOKEN_TTL="soon", PARTAGE_DELIVERY="ftp",
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "ValidationError" not in done.stderr
    assert sorted(done.stderr.strip().splitlines()) == [
        "partage: PARTAGE_DELIVERY=ftp: must be 'app', 'x-accel' or 'redirect'",
        "partage: PARTAGE_DIRECT_LINK_TTL=5: must be greater than or equal to 60",
        "partage: PARTAGE_STREAM_TOKEN_TTL=soon: must be a valid integer, unable to parse "
        "string as an integer",
    ]


def test_unparseable_list_setting_names_it(tmp_path: Path) -> None:
    done = _serve(tmp_path, "migrate", PARTAGE_TRUSTED_PROXIES="[10.0.0.1")
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("partage: PARTAGE_TRUSTED_PROXIES: not valid JSON"), line
