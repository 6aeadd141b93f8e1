"""Mails about complaints: a counter-notice forwarded to the notifier, and the answer to a
complaint sent to whoever made it. Letters are made now and sent after commit (`Outbox`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.moderation.models import Complaint, ComplaintStatus, Decision, Notice
from partage.moderation.outbox import Letter, Mail
from partage.web import i18n
from partage.web.i18n import N_
from partage.web.i18n import gettext as _

LABELS = {
    "name": N_("Name"),
    "address": N_("Address"),
    "phone": N_("Telephone"),
    "identification": N_("Material removed and its location before removal"),
    "signature": N_("Signature"),
}
ANSWER = {
    ComplaintStatus.upheld: N_("After review, the decision stands."),
    ComplaintStatus.reversed: N_("After review, the decision was reversed."),
}


def court_action_url(base: str, notice_ref: str) -> str:
    return f"{base}/report/{notice_ref}/court-action"


def counter_notice_forwarded(notice: Notice, decision: Decision, c: Complaint) -> Letter | None:
    """The counter-notice, as 512(g)(2)(B) asks, and how to stop the restoration."""
    if not notice.notifier_email:
        return None
    to, ref, lang = notice.notifier_email, notice.ref, i18n.supported(notice.locale) or "en"
    details, until = dict(c.details), c.restore_after
    until_text = until.strftime("%Y-%m-%d %H:%M UTC") if until else ""

    def letter(base: str) -> Mail:
        link = court_action_url(base, ref)
        with i18n.using(lang):
            subject = _("Counter-notice about your notice %(ref)s") % {"ref": ref}
            body = _("The uploader sent a counter-notice about the content removed after your "
                     "notice %(ref)s (decision %(decision)s):") % {
                "ref": ref, "decision": decision.ref}  # fmt: skip
            body += "\n\n" + "\n".join(
                f"{_(label)}: {details.get(key, '')}" for key, label in LABELS.items()
            )
            body += "\n\n" + _(
                "Under penalty of perjury, they state in good faith that the material was "
                "removed by mistake or misidentification; they consent to the jurisdiction of "
                "the competent court and will accept service of process from you."
            )
            body += "\n\n" + _(
                "We will restore the content after %(until)s unless you tell us before then "
                "that you filed an action seeking a court order against them. Report it here:"
            ) % {"until": until_text}
            body += f"\n{link}\n"
        return Mail(to, subject, body, link)

    return letter


def complaint_answered(s: Session, c: Complaint, decision: Decision) -> Letter | None:
    """The reasoned answer, to the account that complained or to the notifier."""
    to, lang, link_path = "", i18n.DEFAULT, ""
    if c.notice_id is not None:
        notice = s.get(Notice, c.notice_id)
        if notice is not None:
            to, lang = notice.notifier_email, i18n.supported(notice.locale) or i18n.DEFAULT
            link_path = f"/report/{notice.ref}"
    elif c.user_id is not None:
        user = s.get(User, c.user_id)
        if user is not None and user.deleted_at is None:
            to, lang = user.email, i18n.supported(user.locale) or i18n.DEFAULT
            link_path = f"/account/statements?decision={decision.ref}"
    if not to:
        return None
    ref, status, answer = c.ref, c.status, c.answer

    def letter(base: str) -> Mail:
        link = f"{base}{link_path}"
        with i18n.using(lang):
            subject = _("Answer to your complaint %(ref)s") % {"ref": ref}
            body = _(ANSWER.get(status, "")) + "\n\n" + _("Our reasons:") + "\n" + answer
            body += "\n\n" + _("This answer was decided by a person.") + "\n\n" + link + "\n"
        return Mail(to, subject, body, link)

    return letter
