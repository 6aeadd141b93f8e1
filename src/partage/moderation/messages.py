"""Mails to notifiers: the receipt of a notice, then the decision and how to contest it."""

from __future__ import annotations

from partage.moderation.models import Action, Decision, Notice
from partage.moderation.outbox import Letter, Mail
from partage.settings import Settings
from partage.web import i18n
from partage.web.i18n import N_
from partage.web.i18n import gettext as _

OUTCOME = {
    Action.disable: N_("We disabled access to the content you reported."),
    Action.disable_blob: N_(
        "We disabled access to the content you reported, and to every copy of it."
    ),
    Action.suspend: N_("We disabled access to the content and suspended the account."),
    Action.keep: N_("After examination, we decided to keep the content available."),
    Action.reject: N_("We rejected the notice as manifestly unfounded."),
}


def receipt_url(base: str, ref: str) -> str:
    return f"{base}/report/{ref}"


def notice_received(notice: Notice) -> Letter | None:
    if not notice.notifier_email:
        return None
    to, ref, lang = notice.notifier_email, notice.ref, i18n.supported(notice.locale) or "en"

    def letter(base: str) -> Mail:
        link = receipt_url(base, ref)
        with i18n.using(lang):
            subject = _("We received your notice %(ref)s") % {"ref": ref}
            body = _(
                "We received your notice. Its tracking reference is %(ref)s. We will tell you "
                "our decision and how to contest it. Follow it here:\n\n%(link)s\n"
            ) % {"ref": ref, "link": link}
        return Mail(to, subject, body, link)

    return letter


def notice_decided(settings: Settings, notice: Notice, decision: Decision) -> Letter | None:
    if not notice.notifier_email:
        return None
    to, ref, lang = notice.notifier_email, notice.ref, i18n.supported(notice.locale) or "en"
    action, automated = decision.action, decision.automated
    dispute = settings.dispute_settlement

    def letter(base: str) -> Mail:
        link = receipt_url(base, ref)
        with i18n.using(lang):
            subject = _("Decision on your notice %(ref)s") % {"ref": ref}
            body = _(OUTCOME[action]) + "\n\n"
            body += (_("The decision was taken by automated means.") if automated
                     else _("The decision was taken by a person.")) + "\n\n"  # fmt: skip
            body += (
                _(
                    "If you disagree, you can complain free of charge within six months from the "
                    "notice's page:"
                )
                + f"\n{link}\n"
            )
            if dispute:
                body += "\n" + _("You can also turn to an out-of-court dispute settlement body: "
                                 "%(body)s.") % {"body": dispute} + "\n"  # fmt: skip
            body += "\n" + _("You can always take the matter to a court.") + "\n"
        return Mail(to, subject, body, link)

    return letter
