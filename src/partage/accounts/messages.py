"""The account e-mails: what they say, in the reader's language, and the links in them.

The language is the account's saved choice, else that of the request that caused the
mail (`mail_language`); the texts are in the pages' catalogue like any other string."""

from __future__ import annotations

from fastapi import Request

from partage import mail
from partage.settings import Settings
from partage.web import i18n
from partage.web.i18n import gettext as _
from partage.web.templating import request_language


def mail_language(request: Request, saved: str | None) -> str:
    return i18n.supported(saved) or request_language(request)


def reset_link(base: str, secret: str) -> str:
    return f"{base}/password/reset/{secret}"


def email_link(base: str, secret: str) -> str:
    return f"{base}/account/email/confirm/{secret}"


def send_reset(settings: Settings, base: str, to: str, secret: str, lang: str) -> None:
    link = reset_link(base, secret)
    with i18n.using(lang):
        subject = _("Reset your partage password")
        body = _(
            "Someone (you, we hope) asked to reset the password of your account on "
            "%(site)s.\n\nChoose a new password here, within one hour:\n\n%(link)s\n\n"
            "The link works once. If you did not ask for it, ignore this message: your "
            "password stays as it is.\n"
        ) % {"site": base, "link": link}
    mail.send(settings, to, subject, body, link=link)


def send_email_confirmation(settings: Settings, base: str, to: str, secret: str, lang: str) -> None:
    link = email_link(base, secret)
    with i18n.using(lang):
        subject = _("Confirm your new partage e-mail address")
        body = _(
            "Someone (you, we hope) asked to use this address for their account on "
            "%(site)s.\n\nConfirm it here, within 24 hours:\n\n%(link)s\n\n"
            "If you did not ask for it, ignore this message: nothing changes.\n"
        ) % {"site": base, "link": link}
    mail.send(settings, to, subject, body, link=link)


def send_email_changed(settings: Settings, base: str, old: str, new: str, lang: str) -> None:
    """Tell the old address, so a hijacked account does not change hands silently."""
    with i18n.using(lang):
        subject = _("Your partage e-mail address changed")
        body = _(
            "The e-mail address of your account on %(site)s is now %(email)s.\n\n"
            "If you did not make this change, reset your password and contact the operator.\n"
        ) % {"site": base, "email": new}
    mail.send(settings, old, subject, body, link=None)
