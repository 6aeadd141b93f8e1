"""`partage download`: from a page or a direct link, resumed with Range, verified
against the SHA-256 ETag, and the password flow."""

from __future__ import annotations

import os
from pathlib import Path

from tests.cli.conftest import Cli, no_traceback

VISITOR: dict[str, str | None] = {"PARTAGE_URL": None, "PARTAGE_TOKEN": None}


def test_download_from_page_and_direct_link(cli: Cli, server, alice, maker, tmp_path: Path):
    made = maker.file(alice, os.urandom(2 * 1024 * 1024 + 17), "report été.bin")
    direct = alice.client.get(f"/api/v1/files/{made.code}").json()["download_url"]
    out = tmp_path / "out"
    out.mkdir()
    page, link, as_owner = cli.run_many(
        (("download", f"{server.url}/{made.code}", "-o", str(out)), VISITOR),
        (("download", direct, "-o", str(tmp_path / "direct.bin")), VISITOR),
        (("download", made.code, "-o", str(tmp_path / "owner.bin")), {}),  # a bare code
    )
    for r, path in (
        (page, out / made.name),
        (link, tmp_path / "direct.bin"),
        (as_owner, tmp_path / "owner.bin"),
    ):
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == str(path)
        assert path.read_bytes() == made.content
        assert not Path(str(path) + ".part").exists()

    target = str(tmp_path / "direct.bin")
    refused, forced = cli.run_many(
        (("download", direct, "-o", target), VISITOR),
        (("download", direct, "-o", target, "--force"), VISITOR),
    )
    assert refused.returncode == 1
    assert "exists already: use --force" in refused.stderr
    assert forced.returncode == 0, forced.stderr


def test_resume_a_partial_file_and_catch_corruption(cli: Cli, alice, maker, tmp_path: Path):
    content = os.urandom(3 * 1024 * 1024 + 1)
    made = maker.file(alice, content, "data.bin")
    direct = alice.client.get(f"/api/v1/files/{made.code}").json()["download_url"]
    good, bad = tmp_path / "good.bin", tmp_path / "bad.bin"
    cut = 1024 * 1024 + 3
    Path(f"{good}.part").write_bytes(content[:cut])
    Path(f"{bad}.part").write_bytes(b"\0" * 64 + content[64:cut])

    resumed, corrupt = cli.run_many(
        (("download", direct, "-o", str(good)), VISITOR),
        (("download", direct, "-o", str(bad)), VISITOR),
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming good.bin at {cut:,} bytes" in resumed.stderr
    assert good.read_bytes() == content
    assert not Path(f"{good}.part").exists()

    no_traceback(corrupt)
    assert corrupt.returncode == 1
    assert f"resuming bad.bin at {cut:,} bytes" in corrupt.stderr
    last = corrupt.stderr.strip().splitlines()[-1]
    assert last.startswith("error: SHA-256 mismatch"), corrupt.stderr
    assert made.sha256 in last
    assert not bad.exists() and not Path(f"{bad}.part").exists()


def test_password_protected_download(cli: Cli, server, alice, maker, tmp_path: Path):
    made = maker.file(alice, b"secret contents\n", "secret.txt", password="open-sesame")
    page = f"{server.url}/{made.code}"
    missing, wrong, right = cli.run_many(
        (("download", page, "-o", str(tmp_path / "a.txt")), VISITOR),
        (("download", page, "-o", str(tmp_path / "b.txt"), "--password", "nope"), VISITOR),
        (("download", page, "-o", str(tmp_path / "c.txt"), "--password", "open-sesame"), VISITOR),
    )
    for r in (missing, wrong):
        no_traceback(r)
        assert r.returncode == 1
        assert len(r.stderr.strip().splitlines()) == 1
    assert "password" in missing.stderr and "--password" in missing.stderr
    assert missing.stderr.startswith("error: ")
    assert wrong.stderr.startswith("error: Wrong password")
    assert right.returncode == 0, right.stderr
    assert (tmp_path / "c.txt").read_bytes() == made.content
    assert not (tmp_path / "a.txt").exists() and not (tmp_path / "b.txt").exists()
