"""`partage login` / `logout`, the stored configuration, and how errors read."""

from __future__ import annotations

import json
import stat
import tomllib

from tests.cli.conftest import Cli, no_traceback, run_parallel
from tests.serverproc import free_port

NO_ENV: dict[str, str | None] = {"PARTAGE_URL": None, "PARTAGE_TOKEN": None}


def test_login_logout_and_stored_config(cli: Cli, server, alice):
    """Three logins at once (--token, the hidden prompt, a refused token), then the
    stored login in use, and logout."""
    flag, prompt, bad = (Cli(cli.home / n, {}) for n in ("flag", "prompt", "bad"))
    for c in (flag, prompt, bad):
        c.home.mkdir()
    ok_flag, ok_prompt, refused = run_parallel(
        (flag, ("login", server.url + "/", "--token", alice.token), NO_ENV, None),
        (prompt, ("login", server.url), NO_ENV, alice.token + "\n"),
        (bad, ("login", server.url, "--token", "ptg_bogus"), NO_ENV, None),
    )
    for r in (ok_flag, ok_prompt):
        assert r.returncode == 0, r.stderr
        assert alice.email in r.stderr
        assert alice.token not in r.stdout + r.stderr  # hidden input, never echoed
    for c in (flag, prompt):
        assert stat.S_IMODE(c.config_file.stat().st_mode) == 0o600
        assert tomllib.loads(c.config_file.read_text()) == {"url": server.url, "token": alice.token}
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"error: {server.url} refused the token")
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not bad.config_file.exists()

    listed, logout = run_parallel(
        (flag, ("ls", "--json"), NO_ENV, None), (prompt, ("logout",), NO_ENV, None)
    )
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["folder"]["path"] == "/"
    assert logout.returncode == 0, logout.stderr
    assert not prompt.config_file.exists()


def test_errors_are_one_line_without_traceback(cli: Cli, server):
    down = f"http://127.0.0.1:{free_port()}"
    results = cli.run_many(
        (("ls",), NO_ENV),
        (("ls",), {"PARTAGE_TOKEN": "ptg_not-a-real-token"}),
        (("ls",), {"PARTAGE_URL": down}),
        (("download", f"{server.url}/aaaaaaaaaaaa"), NO_ENV),
        (("upload", "no-such-file.bin"), {}),
        (("upload", "x", "--expires", "yesterday"), {}),
        (("upload", __file__), {"PARTAGE_URL": down}),
    )
    expected = [
        "not logged in: run `partage login URL`",
        "token",
        f"cannot reach {down}",
        "No file at this address",
        "no-such-file.bin: no such file",
        "--expires 'yesterday'",
        f"cannot reach {down}",
    ]
    for r, text in zip(results, expected, strict=True):
        no_traceback(r)
        assert r.returncode == 1, (r.args, r.stdout, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (r.args, r.stderr)
        assert text in lines[0], (r.args, lines[0])
