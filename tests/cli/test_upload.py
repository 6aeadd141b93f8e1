"""`partage upload`: tus through tuspy, links on stdout, SHA-256 checked, resumable
across runs."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.cli.conftest import Cli, no_traceback

MiB = 1024 * 1024


def _code(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[1]


def test_upload_prints_links_and_sets_link_options(cli: Cli, alice, tmp_path: Path):
    one = tmp_path / "one.txt"
    one.write_bytes(b"first file\n")
    two = tmp_path / "deux été.bin"
    two.write_bytes(os.urandom(3 * MiB + 5))
    empty = tmp_path / "empty"
    empty.write_bytes(b"")

    plain, protected = (
        cli.start("upload", str(one), str(empty)),
        cli.start("upload", str(two), "--folder", "docs/2024", "--password", "pw-1",
                  "--expires", "7d", "--max-downloads", "3", "--private"),
    )  # fmt: skip
    out1, err1 = plain.communicate(timeout=120)
    out2, err2 = protected.communicate(timeout=120)
    assert plain.returncode == 0, err1
    assert protected.returncode == 0, err2

    links = out1.splitlines() + out2.splitlines()
    assert len(links) == 3 and all(link.startswith(cli.env["PARTAGE_URL"]) for link in links)
    for link, path in zip(links, (one, empty, two), strict=True):
        info = alice.client.get(f"/api/v1/files/{_code(link)}").json()
        assert info["name"] == path.name
        assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert info["url"] == link

    info = alice.client.get(f"/api/v1/files/{_code(links[2])}").json()
    assert info["has_password"] is True
    assert info["public"] is False
    assert info["max_downloads"] == 3
    expires = datetime.fromisoformat(info["expires"].replace("Z", "+00:00"))
    assert abs(expires - (datetime.now(UTC) + timedelta(days=7))) < timedelta(minutes=5)
    folder = alice.client.get(f"/api/v1/folders/{info['folder_id']}").json()
    assert [p["name"] for p in folder["path"]] == ["docs", "2024"]
    assert cli.stored_uploads() == []  # finished uploads are forgotten: nothing to resume


def test_upload_resumes_after_the_client_is_killed(cli: Cli, alice, tmp_path: Path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(60 * MiB))
    size = big.stat().st_size

    proc = cli.start("upload", str(big), "--limit-rate", "12M")
    offset, url = 0, None
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            url = url or next(iter(cli.stored_uploads()), None)
            if url:
                head = alice.client.head(url, headers={"Tus-Resumable": "1.0.0"})
                offset = int(head.headers.get("upload-offset", 0))
                if offset >= 8 * MiB:
                    break
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    assert url is not None and 0 < offset < size, (offset, proc.returncode)

    time.sleep(0.2)  # the server notices the dropped connection and keeps what it got
    kept = int(alice.client.head(url, headers={"Tus-Resumable": "1.0.0"}).headers["upload-offset"])
    assert 0 < kept < size

    again = cli.run("upload", str(big))
    no_traceback(again)
    assert again.returncode == 0, again.stderr
    assert f"resuming big.bin at {kept:,} of {size:,} bytes" in again.stderr
    link = again.stdout.strip()
    status = alice.client.get(url).json()  # the same tus upload finished: not a new one
    assert status["complete"] is True
    assert status["file"]["code"] == _code(link)
    assert status["file"]["sha256"] == hashlib.sha256(big.read_bytes()).hexdigest()


def test_upload_refused_by_the_server_reads_as_one_line(cli: Cli, account_factory, tmp_path):
    small = account_factory(storage_quota=1000)
    f = tmp_path / "too-big.bin"
    f.write_bytes(b"x" * 5000)
    r = cli.run("upload", str(f), PARTAGE_TOKEN=small.token)
    no_traceback(r)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "storage" in lines[-1].lower(), r.stderr
    assert r.stdout == ""
