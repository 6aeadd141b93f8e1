"""The audit log: who did what to what, when, why, and the state before and after.

Entries are only ever added. The session refuses to flush a change to or a deletion of an
`AuditEvent`, and the database refuses them too (triggers made by migration 0006), so a
bug or a hurried operator cannot rewrite history through partage.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.moderation.models import AuditEvent

SYSTEM = "system"
# Who acts when no account does: `system` (automated steps) unless the process is an
# operator's `partage admin …` command, which names itself with `acting_operator`.
_operator = SYSTEM


def acting_operator(name: str) -> None:
    """Record this process's actions that have no account as `name` (e.g. `cli:root`)."""
    global _operator
    _operator = name


class AuditLogIsAppendOnly(RuntimeError):
    pass


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditLogIsAppendOnly("audit events are never edited or deleted")


def record(
    s: Session,
    actor: User | None,
    action: str,
    subject: str,
    *,
    reason: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an entry in the caller's transaction: it commits with the action or not at all."""
    entry = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        actor=actor.email if actor is not None else _operator,
        action=action,
        subject=subject,
        reason=reason,
        before=before,
        after=after,
    )
    s.add(entry)
    return entry


def query(
    s: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    action: str | None = None,
    subject: str | None = None,
    limit: int | None = None,
    before_id: int | None = None,
) -> Iterator[AuditEvent]:
    """Newest first; `before_id` pages backwards."""
    q = select(AuditEvent).order_by(AuditEvent.id.desc())
    if since is not None:
        q = q.where(AuditEvent.at >= since)
    if until is not None:
        q = q.where(AuditEvent.at < until)
    if action:
        q = q.where(AuditEvent.action == action)
    if subject:
        q = q.where(AuditEvent.subject == subject)
    if before_id is not None:
        q = q.where(AuditEvent.id < before_id)
    if limit is not None:
        q = q.limit(limit)
    yield from s.scalars(q)


def entry_json(e: AuditEvent) -> dict[str, Any]:
    from partage.db import iso

    return {
        "id": e.id,
        "at": iso(e.at),
        "actor": e.actor,
        "actor_id": e.actor_id,
        "action": e.action,
        "subject": e.subject,
        "reason": e.reason,
        "before": e.before,
        "after": e.after,
    }
