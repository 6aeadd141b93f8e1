"""Statements of reasons (DSA Art. 17): what an affected account is told of a decision.

The content is frozen when the statement is issued (a JSON document of facts, in the words
of the decision), so what the account was told stays provable whatever happens to the files
or the settings later. Pages and mails render it in the reader's language.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.db import iso, utcnow
from partage.errors import NotFound
from partage.files.models import File
from partage.moderation.models import Action, Decision, Notice, Statement
from partage.moderation.outbox import Mail, Outbox
from partage.moderation.refs import new_ref
from partage.settings import Settings
from partage.web import i18n
from partage.web.i18n import N_
from partage.web.i18n import gettext as _

# Sources the content was detected by automated means.
AUTOMATED_DETECTION = frozenset({"bank_match", "malware_scan"})

RESTRICTION = {
    Action.disable: N_("Access to the files below was disabled."),
    Action.disable_blob: N_(
        "Access to the files below, and to every other copy of the same content, was disabled."
    ),
    Action.suspend: N_("Access to the files below was disabled and the account was suspended."),
    Action.restore: N_("Access to the files below was restored."),
}
SOURCE = {
    "notice": N_("a notice from a third party"),
    "own_initiative": N_("our own initiative"),
    "bank_match": N_("an automated match against a list of content that must stay down"),
    "malware_scan": N_("an automated malware scan"),
    "complaint": N_("your complaint"),
    "counter_notice": N_("your counter-notice"),
}
GROUND = {"law": N_("illegal content"), "terms": N_("incompatible with our terms of service")}


def statement_url(base: str, ref: str) -> str:
    return f"{base}/account/statements/{ref}"


def build_content(
    s: Session, settings: Settings, decision: Decision, files: list[File]
) -> dict[str, Any]:
    notice = s.get(Notice, decision.notice_id) if decision.notice_id is not None else None
    return {
        "decision": decision.ref,
        "action": decision.action.value,
        "files": [{"code": f.code, "name": f.name} for f in files],
        "scope": "content" if decision.action == Action.disable_blob else "files",
        "account_suspended": decision.action == Action.suspend,
        "until": iso(decision.until),
        "facts": decision.facts,
        "source": decision.source,
        "notice": notice.ref if notice is not None else None,
        "notice_category": notice.category.value if notice is not None else None,
        "automated_detection": decision.source in AUTOMATED_DETECTION,
        "automated_decision": decision.automated,
        "ground": decision.ground,
        "legal_ground": decision.legal_ground,
        "dispute_settlement": settings.dispute_settlement,
        "decided_at": iso(decision.created_at or utcnow()),
    }


def issue_statement(
    s: Session,
    settings: Settings,
    decision: Decision,
    owner: User,
    files: list[File],
    outbox: Outbox,
) -> Statement:
    now = utcnow()
    st = Statement(
        ref=new_ref("S"),
        decision_id=decision.id,
        user_id=owner.id,
        content=build_content(s, settings, decision, files),
        created_at=now,
        complaint_until=now + timedelta(days=settings.complaint_window_days),
    )
    s.add(st)
    s.flush()
    email, lang, ref, content, until = (
        owner.email, i18n.supported(owner.locale) or i18n.DEFAULT, st.ref, st.content,
        st.complaint_until,
    )  # fmt: skip

    def letter(base: str) -> Mail:
        with i18n.using(lang):
            return Mail(email, *render_mail(base, ref, content, iso(until) or ""))

    if owner.deleted_at is None:
        outbox.add(letter)
    return st


def lines(content: dict[str, Any], complaint_until: str) -> list[tuple[str, str]]:
    """The statement as (label, text) pairs in the current language: Art. 17(3) (a) to (f)."""
    action = Action(content["action"])
    files = ", ".join(f"{f['name']} ({f['code']})" for f in content["files"]) or "—"
    source = _(SOURCE.get(content["source"], content["source"]))
    if content.get("notice"):
        source += " " + _("(notice %(ref)s, category: %(category)s)") % {
            "ref": content["notice"], "category": content["notice_category"]}  # fmt: skip
    automated = []
    automated.append(_("Detected by automated means.") if content["automated_detection"]
                     else _("Not detected by automated means."))  # fmt: skip
    automated.append(_("Decided by automated means.") if content["automated_decision"]
                     else _("Decided by a person."))  # fmt: skip
    redress = _(
        "You can complain free of charge from your account until %(until)s; if you think a "
        "copyright notice was a mistake, you can send a counter-notice there too."
    ) % {"until": complaint_until[:10]}
    if content.get("dispute_settlement"):
        redress += " " + _("You can also turn to an out-of-court dispute settlement body: "
                           "%(body)s.") % {"body": content["dispute_settlement"]}  # fmt: skip
    redress += " " + _("You can always take the matter to a court.")
    out = [
        (
            _("Decision"),
            _(RESTRICTION.get(action, content["action"]))
            + " "
            + _("Reference: %(ref)s.") % {"ref": content["decision"]},
        ),  # fmt: skip
        (_("Files"), files),
        (
            _("Duration"),
            content["until"][:10]
            if content.get("until")
            else _("Until further notice")
            if action != Action.restore
            else "—",
        ),  # fmt: skip
        (_("Facts and circumstances"), content["facts"] or "—"),
        (_("Prompted by"), source),
        (_("Automated means"), " ".join(automated)),
        (
            _("Ground"),
            f"{_(GROUND.get(content['ground'], content['ground']))}: "
            f"{content['legal_ground'] or '—'}",
        ),  # fmt: skip
    ]
    if action != Action.restore:
        out.append((_("How to contest"), redress))
    return out


def render_mail(base: str, ref: str, content: dict[str, Any], until: str) -> tuple[str, str, str]:
    link = statement_url(base, ref)
    subject = _("Statement of reasons %(ref)s: a decision about your files") % {"ref": ref}
    body = "\n\n".join(f"{label}:\n{text}" for label, text in lines(content, until))
    body = _("A decision was taken about content in your account.") + "\n\n" + body
    body += "\n\n" + _("Read this statement and contest the decision here:") + f"\n{link}\n"
    return subject, body, link


def for_user(s: Session, user: User) -> list[Statement]:
    return list(
        s.scalars(
            select(Statement)
            .where(Statement.user_id == user.id)
            .order_by(Statement.created_at.desc(), Statement.id.desc())
        )
    )


def get_for_user(s: Session, user: User, ref: str) -> Statement:
    st = s.scalar(select(Statement).where(Statement.ref == ref.strip().upper()))
    if st is None or st.user_id != user.id:
        raise NotFound("No statement of reasons with this reference in your account.")
    return st


def statement_json(st: Statement) -> dict[str, Any]:
    return {
        "ref": st.ref,
        "issued_at": iso(st.created_at),
        "complaint_until": iso(st.complaint_until),
        **st.content,
    }
