"""Without SMTP the links go to the server log; a broken SMTP server never breaks the
page; a malformed PARTAGE_SMTP_URL stops the start with one clear line."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import httpx
import pytest

from partage.mail import MailConfigError, parse_smtp_url
from tests.accounts.conftest import path_of, web_login
from tests.conftest import make_account
from tests.serverproc import free_port


def log_of(srv) -> str:
    return (srv.data_dir.parent / f"server-{srv.data_dir.name}.log").read_text()


def wait_in_log(srv, pattern: str, timeout: float = 15) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if m := re.search(pattern, log_of(srv)):
            return m
        time.sleep(0.1)
    raise AssertionError(f"{pattern!r} not in the server log:\n{log_of(srv)[-2000:]}")


def test_without_smtp_the_link_is_in_the_log(fresh_server):
    fresh_server.env["PARTAGE_PASSWORD_RESET_RATE_PER_ADDRESS"] = "3/hour"
    fresh_server.env["PARTAGE_LOG_FORMAT"] = "json"  # to see the level
    fresh_server.start()
    acc = make_account(fresh_server)
    r = httpx.post(fresh_server.url + "/password/forgot", data={"email": acc.email})
    assert r.status_code == 200
    m = wait_in_log(fresh_server, r"\{[^\n]*no PARTAGE_SMTP_URL[^\n]*\}")
    line = json.loads(m.group(0))
    assert (line["level"], line["logger"]) == ("WARNING", "partage.mail")
    assert f"mail to {acc.email} not sent" in line["message"]
    link = re.search(r"pass on this link: (http\S+/password/reset/[\w-]+)", line["message"])[1]
    r = httpx.post(
        fresh_server.url + path_of(link),
        data={"password": "from-the-log-1", "password_again": "from-the-log-1"},
    )
    assert r.status_code == 303
    web_login(fresh_server, acc.email, "from-the-log-1")

    # The limit per address: every request counts, whichever e-mail it names.
    others = [httpx.post(fresh_server.url + "/password/forgot", data={"email": f"x{i}@ex.org"})
              for i in range(3)]  # fmt: skip
    assert [o.status_code for o in others] == [200, 200, 429]
    assert "Too many password-reset requests from your address" in others[-1].text


def test_unreachable_smtp_server_is_logged_not_shown(fresh_server):
    fresh_server.env["PARTAGE_SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nobody there
    fresh_server.start()
    acc = make_account(fresh_server)
    started = time.monotonic()
    r = httpx.post(fresh_server.url + "/password/forgot", data={"email": acc.email})
    assert r.status_code == 200
    assert time.monotonic() - started < 5
    assert 'id="reset-sent"' in r.text
    wait_in_log(fresh_server, rf"mail to {re.escape(acc.email)} \(Reset your partage password\) "
                r"not sent: .*via 127\.0\.0\.1")  # fmt: skip


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://mail.example.org", "use smtp://, smtps:// or smtp+starttls://"),
        ("smtp://user:secret@mail.example.org:99999", "the port is not a number"),
        ("smtps://", "no host name"),
    ],
)
def test_malformed_smtp_url_stops_the_start(tmp_path, url, why):
    env = {"PARTAGE_DATA_DIR": str(tmp_path / "data"), "PARTAGE_SMTP_URL": url, "PATH": "/usr/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "partage.cli.main", "migrate"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("partage: PARTAGE_SMTP_URL=")
    assert why in line
    assert "secret" not in line  # the password is not echoed


def test_smtp_without_base_url_stops_the_start(tmp_path):
    """Mailed links are built from PARTAGE_BASE_URL only (never the request's Host, which
    whoever asks for someone's reset chooses): SMTP without it is refused up front."""
    env = {"PARTAGE_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin",
           "PARTAGE_SMTP_URL": "smtp://user:secret@127.0.0.1:2525"}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "partage.cli.main", "migrate"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("partage:")]
    assert lines == [proc.stderr.strip().splitlines()[-1]], proc.stderr
    assert lines[0].startswith("partage: PARTAGE_SMTP_URL is set but PARTAGE_BASE_URL is not")
    assert "secret" not in proc.stderr
    env["PARTAGE_BASE_URL"] = "https://files.example.org"  # the control: now it starts
    proc = subprocess.run(
        [sys.executable, "-m", "partage.cli.main", "migrate"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


def test_mailed_links_ignore_the_requests_host(mail_server, inbox):
    acc = make_account(mail_server)
    r = httpx.post(mail_server.url + "/password/forgot", data={"email": acc.email},
                   headers={"Host": "evil.example"})  # fmt: skip
    assert r.status_code == 200
    assert inbox.link(acc.email).startswith(mail_server.url + "/password/reset/")


def test_smtp_url_forms():
    c = parse_smtp_url("smtp+starttls://me%40example.org:p%3Ass@mail.example.org")
    assert (c.scheme, c.host, c.port, c.username, c.password) == (
        "smtp+starttls", "mail.example.org", 587, "me@example.org", "p:ss",
    )  # fmt: skip
    assert parse_smtp_url("smtps://mail.example.org").port == 465
    assert parse_smtp_url("smtp://localhost:2525").port == 2525
    assert parse_smtp_url("smtp://localhost").username is None
    with pytest.raises(MailConfigError):
        parse_smtp_url("smtp://localhost/path")
