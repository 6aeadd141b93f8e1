"""Notifiers who misuse the notice procedure (DSA Art. 23(2)): counted by e-mail address,
warned, then their notices refused for a while. Thresholds are settings, published on /terms."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partage.db import iso, utcnow
from partage.moderation import audit
from partage.moderation.models import Notice, NoticeStatus, NotifierSanction
from partage.moderation.outbox import Mail, Outbox
from partage.settings import Settings
from partage.web import i18n
from partage.web.i18n import gettext as _


def unfounded_count(s: Session, settings: Settings, email: str) -> int:
    since = utcnow() - timedelta(days=settings.notifier_window_days)
    return int(
        s.scalar(
            select(func.count(Notice.id)).where(
                Notice.notifier_email == email,
                Notice.status == NoticeStatus.rejected,
                Notice.decided_at >= since,
            )
        )
        or 0
    )


def after_rejection(s: Session, settings: Settings, notice: Notice, outbox: Outbox) -> str | None:
    """Warn or suspend the notifier when their unfounded notices reach a threshold."""
    email = notice.notifier_email
    if not email:
        return None
    s.flush()
    n = unfounded_count(s, settings, email)
    kind: str | None = None
    until = None
    if n >= settings.notifier_suspension_at:
        kind = "suspension"
        until = utcnow() + timedelta(days=settings.notifier_suspension_days)
    elif n == settings.notifier_warning_at:
        kind = "warning"
    if kind is None:
        return None
    s.add(NotifierSanction(email=email, kind=kind, until=until))
    audit.record(
        s, None, f"notifier.{kind}", f"notifier:{email}",
        reason=f"{n} manifestly unfounded notices", after={"until": iso(until)},
    )  # fmt: skip
    lang = i18n.supported(notice.locale) or i18n.DEFAULT
    until_text = (iso(until) or "")[:10]

    def letter(base: str) -> Mail:
        with i18n.using(lang):
            if kind == "warning":
                subject = _("Warning: your notices were found manifestly unfounded")
                body = _(
                    "%(n)s of your notices were found manifestly unfounded. If this goes on, "
                    "we will stop processing your notices for a while."
                ) % {"n": n}
            else:
                subject = _("Your notices are suspended")
                body = _(
                    "After %(n)s manifestly unfounded notices, we will not process notices "
                    "from this address until %(until)s."
                ) % {"n": n, "until": until_text}
            return Mail(email, subject, body + "\n\n" + _("Our policy: %(url)s")
                        % {"url": f"{base}/terms"} + "\n")  # fmt: skip

    outbox.add(letter)
    return kind
