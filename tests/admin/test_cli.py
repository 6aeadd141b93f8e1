"""`partage admin user …` calls the same service functions as the pages and the API."""

from __future__ import annotations

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
