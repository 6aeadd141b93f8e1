"""A real SMTP server (aiosmtpd) on a loopback port, and a partage server sending to it."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests.serverproc import Server, free_port

LINK = re.compile(r"https?://\S+/(?:password/reset|account/email/confirm)/[\w-]+")


class Inbox:
    """What the SMTP server received, by recipient."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's hook)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        msg["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self.lock:
            self.messages.append(msg)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address in m["X-Envelope-To"].split(", ")]

    def wait(self, address: str, count: int = 1, timeout: float = 15) -> EmailMessage:
        """The `count`-th message to `address`, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.to(address)
            if len(got) >= count:
                return got[count - 1]
            time.sleep(0.05)
        raise AssertionError(f"no message #{count} to {address} within {timeout} s")

    def link(self, address: str, count: int = 1) -> str:
        body = self.wait(address, count).get_content()
        found = LINK.findall(body)
        assert found, body
        return found[0]


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port  # type: ignore[attr-defined]
    yield box
    controller.stop()


def mail_env(inbox: Inbox) -> dict[str, str]:
    """A test server's settings for sending its mail to `inbox`."""
    return {
        "PARTAGE_SMTP_URL": f"smtp://127.0.0.1:{inbox.port}",  # type: ignore[attr-defined]
        "PARTAGE_MAIL_FROM": "partage <noreply@example.org>",
    }


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory: pytest.TempPathFactory, inbox: Inbox) -> Iterator[Server]:
    """A server sending its mail to `inbox`; the reset limit per address is loose (every
    test asks from 127.0.0.1), the one per e-mail is the default."""
    srv = Server(
        Path(tmp_path_factory.mktemp("mail")) / "data",
        env={**mail_env(inbox), "PARTAGE_PASSWORD_RESET_RATE_PER_ADDRESS": "1000/hour"},
    ).start()
    yield srv
    srv.stop()


def web_login(srv: Server, email_: str, password: str) -> httpx.Client:
    """A client holding a web session, logged in through the form (no second factor)."""
    c = httpx.Client(base_url=srv.url, timeout=30)
    r = c.post("/login", data={"email": email_, "password": password})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/files"
    return c


def csrf_of(html: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def path_of(link: str) -> str:
    return "/" + link.split("://", 1)[1].split("/", 1)[1]
