"""The account e-mails: what they say, and the links in them."""

from __future__ import annotations

from partage import mail
from partage.settings import Settings


def reset_link(base: str, secret: str) -> str:
    return f"{base}/password/reset/{secret}"


def email_link(base: str, secret: str) -> str:
    return f"{base}/account/email/confirm/{secret}"


def send_reset(settings: Settings, base: str, to: str, secret: str) -> None:
    link = reset_link(base, secret)
    body = (
        f"Someone (you, we hope) asked to reset the password of your account on {base}.\n\n"
        f"Choose a new password here, within one hour:\n\n{link}\n\n"
        "The link works once. If you did not ask for it, ignore this message: "
        "your password stays as it is.\n"
    )
    mail.send(settings, to, "Reset your partage password", body, link=link)


def send_email_confirmation(settings: Settings, base: str, to: str, secret: str) -> None:
    link = email_link(base, secret)
    body = (
        f"Someone (you, we hope) asked to use this address for their account on {base}.\n\n"
        f"Confirm it here, within 24 hours:\n\n{link}\n\n"
        "If you did not ask for it, ignore this message: nothing changes.\n"
    )
    mail.send(settings, to, "Confirm your new partage e-mail address", body, link=link)


def send_email_changed(settings: Settings, base: str, old: str, new: str) -> None:
    """Tell the old address, so a hijacked account does not change hands silently."""
    body = (
        f"The e-mail address of your account on {base} is now {new}.\n\n"
        "If you did not make this change, reset your password and contact the operator.\n"
    )
    mail.send(settings, old, "Your partage e-mail address changed", body, link=None)
