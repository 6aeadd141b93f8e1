"""`partage mkdir`, `mv`, `ls`, `share`, `rm` against a real account."""

from __future__ import annotations

import json

from tests.cli.conftest import Cli, no_traceback


def test_mkdir_mv_ls(cli: Cli, alice, maker):
    a = maker.file(alice, b"a\n", "a.txt")
    b = maker.file(alice, b"b\n", "b.txt")
    stays = maker.file(alice, b"c\n", "stays.txt")

    made = cli.run("mkdir", "docs/2024")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "/docs/2024"
    again, moved, nowhere = cli.run_many(
        (("mkdir", "/docs/2024/"), {}),
        (("mv", a.code, b.code, "docs/2024"), {}),
        (("mv", stays.code, "no/such"), {}),
    )
    assert again.returncode == 0 and "exists already" in again.stderr
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.splitlines() == [f"moved {c} to /docs/2024" for c in (a.code, b.code)]
    no_traceback(nowhere)
    assert nowhere.returncode == 1
    assert nowhere.stderr.startswith("error: no folder /no")

    inner, table = cli.run_many((("ls", "docs/2024", "--json"), {}), (("ls",), {}))
    listing = json.loads(inner.stdout)
    assert listing["folder"]["path"] == "/docs/2024"
    assert sorted(f["code"] for f in listing["files"]) == sorted([a.code, b.code])
    assert [f["name"] for f in listing["folders"]] == []
    assert table.returncode == 0, table.stderr
    assert a.code not in table.stdout and b.code not in table.stdout
    lines = table.stdout.splitlines()
    docs_line = next(i for i, line in enumerate(lines) if "docs/" in line)
    stays_line = next(i for i, line in enumerate(lines) if stays.code in line)
    assert docs_line < stays_line  # folders first
    assert f"{cli.env['PARTAGE_URL']}/{stays.code}" in lines[stays_line]


def test_share_then_rm(cli: Cli, alice, maker):
    f = maker.file(alice, b"shared\n", "shared.txt")
    doomed = maker.file(alice, b"doomed\n", "doomed.txt")
    shared, gone = cli.run_many(
        (("share", f.code, "--password", "pw-2", "--expires", "2d", "--max-downloads", "5",
          "--private"), {}),
        (("rm", doomed.code, "zzzzzzzzzzzz"), {}),
    )  # fmt: skip
    assert shared.returncode == 0, shared.stderr
    assert shared.stdout.strip() == f"{cli.env['PARTAGE_URL']}/{f.code}"
    info = alice.client.get(f"/api/v1/files/{f.code}").json()
    assert (info["has_password"], info["public"], info["max_downloads"]) == (True, False, 5)
    assert info["expires"] is not None
    no_traceback(gone)
    assert gone.returncode == 1
    assert gone.stdout.splitlines() == [f"deleted {doomed.code}"]
    assert gone.stderr.startswith("error: zzzzzzzzzzzz: ")
    assert alice.client.get(f"/api/v1/files/{doomed.code}").status_code == 404

    cleared, conflicting = cli.run_many(
        (("share", f.code, "--no-password", "--expires", "never", "--max-downloads", "0",
          "--public"), {}),
        (("share", f.code, "--password", "x", "--no-password"), {}),
    )  # fmt: skip
    assert cleared.returncode == 0, cleared.stderr
    info = alice.client.get(f"/api/v1/files/{f.code}").json()
    assert (info["has_password"], info["public"], info["max_downloads"]) == (False, True, None)
    assert info["expires"] is None
    assert conflicting.returncode == 1 and conflicting.stderr.startswith("error: ")
