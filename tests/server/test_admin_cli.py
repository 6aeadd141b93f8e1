"""Server-side commands: serve bootstraps an admin, admin user/token commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.serverproc import Server, new_database

DB: dict[Path, str | None] = {}


def partage(*args: str, data_dir: Path, env: dict[str, str] | None = None):
    full = {k: v for k, v in os.environ.items() if not k.startswith("PARTAGE_")}
    if DB.get(data_dir):  # the scaled-out run: this data dir's PostgreSQL database
        full["PARTAGE_DATABASE_URL"] = DB[data_dir]
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "partage.cli.main", *args, "--data-dir", str(data_dir)],
        capture_output=True, text=True, env=full, timeout=60,
    )  # fmt: skip


def test_user_and_token_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    DB[data] = new_database()
    r = partage("admin", "user", "create", "Carol@Example.org", "--password", "secret-pw-1",
                "--plan", "premium", data_dir=data)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "carol@example.org" in r.stdout

    dup = partage("admin", "user", "create", "carol@example.org", data_dir=data)
    assert dup.returncode == 1 and "exists already" in dup.stderr

    gen = partage("admin", "user", "create", "dave@example.org", "--admin", data_dir=data)
    assert gen.returncode == 0 and "password: " in gen.stdout

    bad = partage("admin", "user", "create", "not-an-email", data_dir=data)
    assert bad.returncode == 1 and "not a valid e-mail" in bad.stderr

    short = partage("admin", "user", "create", "e@example.org", "--password", "x", data_dir=data)
    assert short.returncode == 1 and "at least 8" in short.stderr

    listed = partage("admin", "user", "list", data_dir=data)
    assert "carol@example.org" in listed.stdout and "dave@example.org" in listed.stdout

    tok = partage("admin", "token", "create", "carol@example.org", "--name", "ci", data_dir=data)
    assert tok.returncode == 0, tok.stderr
    token = tok.stdout.strip().splitlines()[-1]
    assert token.startswith("ptg_")

    nouser = partage("admin", "token", "create", "nobody@example.org", data_dir=data)
    assert nouser.returncode == 1 and "No account" in nouser.stderr

    srv = Server(data, database_url=DB[data]).start()
    try:
        me = httpx.get(srv.url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["email"] == "carol@example.org"
        assert me.json()["plan"]["name"] == "premium"
    finally:
        srv.stop()


def test_first_start_creates_admin_and_prints_password(tmp_path: Path) -> None:
    DB[tmp_path / "data"] = new_database()
    srv = Server(tmp_path / "data", env={"PARTAGE_ADMIN_PASSWORD": ""},
                 database_url=DB[tmp_path / "data"])  # fmt: skip
    srv.start()
    srv.stop()
    log = (tmp_path / "server-data.log").read_text()
    assert "Admin account created" in log and "admin@example.org" in log
    password = log.split("password: ")[1].split()[0]
    listed = partage("admin", "user", "list", data_dir=tmp_path / "data")
    assert "admin@example.org" in listed.stdout and "yes" in listed.stdout
    # second start: no new admin, nothing printed again
    srv.start()
    srv.stop()
    assert (tmp_path / "server-data.log").read_text().count("Admin account created") == 1
    assert len(password) >= 12
