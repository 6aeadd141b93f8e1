"""`partage admin user …` calls the same service functions as the pages and the API."""

from __future__ import annotations

import json
from pathlib import Path

from tests.server.test_admin_cli import DB, partage
from tests.serverproc import new_database


def test_user_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    DB[data] = new_database()
    for email, extra in (("boss@example.org", ["--admin"]), ("carol@example.org", [])):
        r = partage("admin", "user", "create", email, "--password", "secret-pw-1", *extra,
                    data_dir=data)  # fmt: skip
        assert r.returncode == 0, r.stderr

    r = partage("admin", "user", "plan", "carol@example.org", "premium", data_dir=data)
    assert r.returncode == 0 and "premium" in r.stdout
    r = partage("admin", "user", "plan", "carol@example.org", "gold", data_dir=data)
    assert r.returncode == 1 and "No plan named 'gold'" in r.stderr

    r = partage("admin", "user", "suspend", "carol@example.org", "--reason", "spam", data_dir=data)
    assert r.returncode == 0, r.stderr
    listed = partage("admin", "user", "list", "--state", "suspended", data_dir=data).stdout
    assert "carol@example.org" in listed and "premium" in listed and "boss@" not in listed
    r = partage("admin", "user", "unsuspend", "carol@example.org", data_dir=data)
    assert r.returncode == 0
    listed = partage("admin", "user", "list", "--search", "CAROL", data_dir=data).stdout
    assert "carol@example.org" in listed and "suspended" not in listed

    # the last administrator can be neither suspended nor deleted
    r = partage("admin", "user", "suspend", "boss@example.org", "--reason", "x", data_dir=data)
    assert r.returncode == 1 and "last administrator" in r.stderr
    r = partage("admin", "user", "delete", "boss@example.org", "--yes", data_dir=data)
    assert r.returncode == 1 and "last administrator" in r.stderr

    r = partage("admin", "user", "delete", "carol@example.org", data_dir=data)
    assert r.returncode == 1 and "--yes" in r.stderr
    r = partage("admin", "user", "delete", "carol@example.org", "--yes", data_dir=data)
    assert r.returncode == 0 and "0 file(s)" in r.stdout
    assert "carol@" not in partage("admin", "user", "list", data_dir=data).stdout
    r = partage("admin", "user", "suspend", "carol@example.org", "--reason", "x", data_dir=data)
    assert r.returncode == 1 and "No account" in r.stderr


def test_operator_writes_are_audited_under_the_cli_operator(tmp_path: Path) -> None:
    """Accounts and tokens made with `partage admin`, and the other writes, are in the
    audit log like an administrator's web actions, with the operator as the actor."""
    data = tmp_path / "data"
    DB[data] = new_database()
    env = {"LOGNAME": "ops-anna", "USER": "ops-anna"}
    r = partage("admin", "user", "create", "dan@example.org", "--password", "secret-pw-1",
                data_dir=data, env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    user_id = int(r.stdout.split("(id ", 1)[1].split(",", 1)[0])
    r = partage("admin", "token", "create", "dan@example.org", "--name", "backup", data_dir=data,
                env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    secret = r.stdout.strip().splitlines()[-1]
    assert partage("admin", "user", "plan", "dan@example.org", "premium", data_dir=data,
                   env=env).returncode == 0  # fmt: skip
    assert partage("admin", "user", "suspend", "dan@example.org", "--reason", "test",
                   data_dir=data, env=env).returncode == 0  # fmt: skip

    r = partage("admin", "audit", "export", "--subject", f"user:{user_id}", data_dir=data)
    assert r.returncode == 0, r.stderr
    entries = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(e["action"], e["actor"]) for e in entries] == [
        ("user.create", "cli:ops-anna"),
        ("token.create", "cli:ops-anna"),
        ("user.plan", "cli:ops-anna"),
        ("user.suspend", "cli:ops-anna"),
    ]
    assert entries[0]["after"] == {"email": "dan@example.org", "plan": "free", "is_admin": False}
    assert entries[1]["after"]["name"] == "backup"
    assert secret not in r.stdout and entries[1]["after"]["prefix"] == secret[:10]
