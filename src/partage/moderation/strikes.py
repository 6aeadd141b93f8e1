"""Strikes and the repeat-infringer policy (DSA Art. 23, DMCA 512(i)).

A decision that restricts an account's content gives it one strike; a reversal voids it.
Counting the strikes within the window: the first is a warning, then uploads stop for a
while, then the account is closed. The thresholds are settings, and `/terms` publishes them
(`policy`), so what is applied is what is published.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.db import iso, utcnow
from partage.moderation import audit
from partage.moderation.models import Decision, Strike
from partage.moderation.outbox import Mail, Outbox
from partage.settings import Settings
from partage.web import i18n
from partage.web.i18n import gettext as _


def active_count(s: Session, settings: Settings, user_id: int) -> int:
    since = utcnow() - timedelta(days=settings.strike_window_days)
    return int(
        s.scalar(
            select(func.count(Strike.id)).where(
                Strike.user_id == user_id, Strike.voided_at.is_(None), Strike.created_at >= since
            )
        )
        or 0
    )


def add_strike(
    s: Session, settings: Settings, user: User, decision: Decision, outbox: Outbox
) -> str:
    """Count the strike and apply the policy; returns what it did: "warning",
    "upload_suspension" or "termination"."""
    s.add(Strike(user_id=user.id, decision_id=decision.id))
    s.flush()
    n = active_count(s, settings, user.id)
    step = "warning"
    if n >= settings.strike_termination_at:
        step = "termination"
        if user.is_active and not user.is_admin:
            from partage.admin.users import suspend

            suspend(s, None, user.id, f"Repeat infringer: {n} strikes.", cause="repeat_infringer")
    elif n >= settings.strike_upload_suspension_at:
        step = "upload_suspension"
        until = utcnow() + timedelta(days=settings.strike_upload_suspension_days)
        user.uploads_suspended_until = max(until, user.uploads_suspended_until or until)
    audit.record(
        s, None, f"strike.{step}", f"user:{user.id}", reason=f"decision {decision.ref}",
        after={"strikes": n, "uploads_suspended_until": iso(user.uploads_suspended_until),
               "active": user.is_active},
    )  # fmt: skip
    email, lang, until_text = (
        user.email, i18n.supported(user.locale) or i18n.DEFAULT,
        iso(user.uploads_suspended_until) or "",
    )  # fmt: skip

    def letter(base: str) -> Mail:
        with i18n.using(lang):
            subject = _("A strike was counted against your account")
            body = _(
                "Decision %(ref)s counts as a strike against your account: %(n)s within the "
                "last %(days)s days."
            ) % {"ref": decision.ref, "n": n, "days": settings.strike_window_days}
            body += (
                "\n\n"
                + {
                    "warning": _("This is a warning: nothing else changes for now."),
                    "upload_suspension": _("You cannot upload until %(until)s.")
                    % {"until": until_text[:10]},
                    "termination": _("Your account is closed under our repeat-infringer policy."),
                }[step]
            )
            body += "\n\n" + _("Our policy: %(url)s") % {"url": f"{base}/terms"}
            return Mail(email, subject, body + "\n")

    if user.deleted_at is None:
        outbox.add(letter)
    return step


def void_for(s: Session, settings: Settings, decision: Decision) -> None:
    """Void the decision's strikes, and recompute each struck account's upload
    suspension from the strikes still in force: a reversal must lift a suspension
    that the voided strike caused (and keep one that other strikes cause)."""
    voided = s.scalars(
        update(Strike)
        .where(Strike.decision_id == decision.id, Strike.voided_at.is_(None))
        .values(voided_at=utcnow())
        .returning(Strike.user_id)
    ).all()
    for user_id in set(voided):
        user = s.get(User, user_id)
        if user is None:
            continue
        before = user.uploads_suspended_until
        user.uploads_suspended_until = suspension_until(s, settings, user_id)
        if before != user.uploads_suspended_until:
            audit.record(
                s, None, "strike.suspension_recomputed", f"user:{user_id}",
                reason=f"decision {decision.ref} reversed",
                before={"uploads_suspended_until": iso(before)},
                after={"uploads_suspended_until": iso(user.uploads_suspended_until)},
            )  # fmt: skip


def suspension_until(s: Session, settings: Settings, user_id: int) -> datetime | None:
    """When uploads may resume, per the strikes not voided: each strike that was the
    `strike_upload_suspension_at`-th within the window before it suspends uploads for
    `strike_upload_suspension_days` from when it was counted; None when none does, or
    when every such suspension has ended."""
    window = timedelta(days=settings.strike_window_days)
    length = timedelta(days=settings.strike_upload_suspension_days)
    # A suspension still running began less than `length` ago, counting strikes of up
    # to `window` before that: older ones cannot matter.
    oldest = utcnow() - length - window
    times = list(
        s.scalars(
            select(Strike.created_at)
            .where(Strike.user_id == user_id, Strike.voided_at.is_(None))
            .where(Strike.created_at >= oldest)
            .order_by(Strike.created_at)
        )
    )
    until: datetime | None = None
    for i, at in enumerate(times):
        counted = sum(1 for t in times[: i + 1] if t >= at - window)
        if counted >= settings.strike_upload_suspension_at:
            end = at + length
            until = end if until is None else max(until, end)
    return until if until is not None and until > utcnow() else None


def policy(settings: Settings) -> list[str]:
    """The repeat-infringer policy in words, in the current language (for /terms)."""
    days = settings.strike_window_days
    return [
        _("Each decision that removes or disables content you uploaded counts as a strike. "
          "A decision reversed on complaint or counter-notice does not count."),
        _("Strikes count for %(days)s days.") % {"days": days},
        _("The first strike is a warning."),
        _("At %(n)s strikes, you cannot upload for %(days)s days.")
        % {"n": settings.strike_upload_suspension_at,
           "days": settings.strike_upload_suspension_days},
        _("At %(n)s strikes, the account is closed.") % {"n": settings.strike_termination_at},
    ]  # fmt: skip


def notifier_policy(settings: Settings) -> list[str]:
    return [
        _("A notice we find manifestly unfounded is recorded against the address that sent it."),
        _("At %(n)s such notices within %(days)s days, the sender is warned.")
        % {"n": settings.notifier_warning_at, "days": settings.notifier_window_days},
        _("At %(n)s, their notices are not processed for %(days)s days.")
        % {"n": settings.notifier_suspension_at, "days": settings.notifier_suspension_days},
    ]  # fmt: skip
