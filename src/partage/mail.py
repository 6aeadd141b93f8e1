"""Outgoing mail: password-reset and address-confirmation links.

With `PARTAGE_SMTP_URL` the message goes through that SMTP server, from a background
thread with a short timeout, so a slow or broken server never holds a request; a
failure is logged. Without it nothing is sent and the link is written to the server
log at WARNING, for the operator to pass on.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from partage.settings import Settings

log = logging.getLogger("partage.mail")

TIMEOUT = 10.0  # seconds for each SMTP step; the request never waits for it
SCHEMES = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}


class MailConfigError(ValueError):
    """`PARTAGE_SMTP_URL=<redacted>: why`, one line for the operator."""


@dataclass(frozen=True)
class SmtpConfig:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None


def _redact(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"


def parse_smtp_url(url: str) -> SmtpConfig:
    name = f"PARTAGE_SMTP_URL={_redact(url)}"
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise MailConfigError(
            f"{name}: use smtp://, smtps:// or smtp+starttls:// (user:password@host:port)"
        )
    try:
        port = parts.port or SCHEMES[parts.scheme]
    except ValueError as e:
        raise MailConfigError(f"{name}: the port is not a number from 1 to 65535") from e
    if not parts.hostname:
        raise MailConfigError(f"{name}: no host name")
    if parts.path not in ("", "/") or parts.query:
        raise MailConfigError(f"{name}: nothing may follow host:port")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return SmtpConfig(parts.scheme, parts.hostname, port, user, password)


def check_settings(settings: Settings) -> None:
    """Raise MailConfigError for a malformed `PARTAGE_SMTP_URL`, or one set without
    `PARTAGE_BASE_URL` (run by the preflight): mailed links never take the request's
    Host header, which whoever asks for a password reset chooses."""
    if not settings.smtp_url:
        return
    parse_smtp_url(settings.smtp_url)
    if not settings.base_url:
        raise MailConfigError(
            "PARTAGE_SMTP_URL is set but PARTAGE_BASE_URL is not: set PARTAGE_BASE_URL to "
            "this server's public address (e.g. https://files.example.org) for the links "
            "in the mail it sends"
        )


def sender(settings: Settings) -> str:
    if settings.mail_from:
        return settings.mail_from
    host = urlsplit(settings.base_url).hostname if settings.base_url else None
    return f"partage <partage@{host or 'localhost'}>"


def build(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender(settings)
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="partage")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    return msg


def deliver(config: SmtpConfig, msg: EmailMessage) -> None:
    """Send now (blocking, bounded by TIMEOUT per step)."""
    smtp: smtplib.SMTP
    if config.scheme == "smtps":
        ctx = ssl.create_default_context()
        smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=TIMEOUT, context=ctx)
    else:
        smtp = smtplib.SMTP(config.host, config.port, timeout=TIMEOUT)
    with smtp:
        if config.scheme == "smtp+starttls":
            smtp.starttls(context=ssl.create_default_context())
        if config.username:
            smtp.login(config.username, config.password or "")
        smtp.send_message(msg)


def _deliver_logged(config: SmtpConfig, msg: EmailMessage) -> None:
    try:
        deliver(config, msg)
    except (OSError, smtplib.SMTPException) as e:
        log.error(
            "mail to %s (%s) not sent: %s via %s:%s", msg["To"], msg["Subject"], e,
            config.host, config.port,
        )  # fmt: skip
    else:
        log.info("mail to %s sent: %s", msg["To"], msg["Subject"])


def send(settings: Settings, to: str, subject: str, body: str, *, link: str | None) -> None:
    """Send in the background; without SMTP, log `link` for the operator instead."""
    if not settings.smtp_url:
        if link is None:
            log.info("no PARTAGE_SMTP_URL: mail to %s not sent (%s)", to, subject)
            return
        # A path, not a URL: the request's host was not trusted (partage.deps.mail_base_url)
        relative = "://" not in link
        hint = " (prefix it with this server's address, or set PARTAGE_BASE_URL)" * relative
        log.warning(
            "no PARTAGE_SMTP_URL: mail to %s not sent (%s); pass on this link: %s%s",
            to, subject, link, hint,
        )  # fmt: skip
        return
    try:
        config = parse_smtp_url(settings.smtp_url)
    except MailConfigError as e:  # the preflight stops `serve` first; in case it did not
        log.error("mail to %s not sent: %s", to, e)
        return
    msg = build(settings, to, subject, body)
    threading.Thread(target=_deliver_logged, args=(config, msg), daemon=True).start()
