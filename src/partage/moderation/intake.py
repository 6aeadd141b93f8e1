"""Receiving a notice from the form or the API: the rate limit on anonymous senders, the
transaction, then the receipt mail."""

from __future__ import annotations

from partage.accounts.models import User
from partage.context import Context
from partage.moderation import notices
from partage.moderation.messages import notice_received
from partage.moderation.outbox import Outbox
from partage.web.i18n import N_

# Per address, for senders without a token: enough for a person, not for a flood.
ANONYMOUS_RATE = "20/hour"


def receive(
    ctx: Context,
    data: notices.NoticeIn,
    *,
    source: str,
    notifier: User | None,
    address: str,
    base: str,
    locale: str | None = None,
) -> str:
    """Record the notice and send its receipt; returns its tracking reference."""
    key = f"notice:address:{address}"
    if notifier is None:
        ctx.limiter.check(ANONYMOUS_RATE, key, what=N_("notices"), counted="all")
    outbox = Outbox()
    with ctx.db.session() as s:
        notice = notices.submit(s, data, source=source, notifier=notifier, locale=locale)
        outbox.add(notice_received(notice))
        ref = notice.ref
    if notifier is None:
        ctx.limiter.fail(ANONYMOUS_RATE, key)
    outbox.send(ctx.settings, base)
    return ref
