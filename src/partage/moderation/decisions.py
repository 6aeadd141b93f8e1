"""Decisions on notices and on content found by our own means, and their reversal.

`decide` is the one place content is disabled or restored by moderation: it changes the
files, issues a statement of reasons to each affected account, counts strikes, applies the
repeat-infringer policy, answers the notice and writes the audit log, in the caller's
transaction. Mails go after commit (`Outbox`), so nobody is told of a decision that did not
happen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.db import utcnow
from partage.errors import BadRequest, Conflict, NotFound
from partage.files.models import File, FileStatus
from partage.moderation import audit, strikes
from partage.moderation.models import (
    Action,
    BankEntry,
    Decision,
    DecisionTarget,
    Notice,
    NoticeStatus,
    Statement,
)
from partage.moderation.outbox import Outbox
from partage.moderation.refs import new_ref
from partage.moderation.statements import issue_statement
from partage.settings import Settings

MAX_TEXT = 10_000
RESTRICTING = frozenset({Action.disable, Action.disable_blob, Action.suspend})
NOTICE_OUTCOME = {
    Action.disable: NoticeStatus.actioned,
    Action.disable_blob: NoticeStatus.actioned,
    Action.suspend: NoticeStatus.actioned,
    Action.keep: NoticeStatus.kept,
    Action.reject: NoticeStatus.rejected,
}


@dataclass
class DecisionIn:
    """What a moderator decided. `file_ids`: which of the notice's files (default: all)."""

    action: Action
    ground: str = "law"  # "law" or "terms"
    legal_ground: str = ""  # the law relied on, or the terms clause
    facts: str = ""  # the facts and circumstances
    file_ids: list[int] | None = None
    until: datetime | None = None
    bank_id: int | None = None  # add the content to this bank (staydown)
    automated: bool = False


@dataclass
class Outcome:
    decision: Decision
    statements: list[Statement] = field(default_factory=list)
    outbox: Outbox = field(default_factory=Outbox)


def parse_action(value: Any) -> Action:
    try:
        return Action(str(value))
    except ValueError:
        raise BadRequest(
            "action: one of %(choices)s.", choices=", ".join(a.value for a in Action)
        ) from None


def check(inp: DecisionIn) -> None:
    if inp.ground not in ("law", "terms"):
        raise BadRequest("ground: law or terms.")
    if inp.action in RESTRICTING:
        if not inp.legal_ground.strip():
            raise BadRequest("Name the law or the terms clause the decision relies on.")
        if not inp.facts.strip():
            raise BadRequest("State the facts and circumstances the decision relies on.")
    for name in ("legal_ground", "facts"):
        if len(getattr(inp, name)) > MAX_TEXT:
            raise BadRequest("%(field)s: %(n)s characters at most.", field=name, n=MAX_TEXT)
    if inp.until is not None and inp.until <= utcnow():
        raise BadRequest("The end of the restriction must be in the future.")


def _file_state(f: File) -> dict[str, Any]:
    return {"code": f.code, "status": f.status.value, "reason": f.disabled_reason}


def _reason_text(inp: DecisionIn) -> str:
    return inp.legal_ground.strip()


def _disable(
    files: Iterable[File], decision: Decision, reason: str, notice_ref: str | None
) -> list[File]:
    done = []
    for f in files:
        if f.status != FileStatus.active:
            continue
        f.status = FileStatus.disabled
        f.disabled_reason = reason
        f.disabled_ref = decision.ref  # every download path checks the status: 451 at once
        f.disabled_notice = notice_ref
        done.append(f)
    return done


def _sharing_blob(s: Session, files: list[File]) -> list[File]:
    blob_ids = {f.blob_id for f in files if f.blob_id is not None}
    if not blob_ids:
        return files
    more = s.scalars(select(File).where(File.blob_id.in_(blob_ids)))
    return list({f.id: f for f in (*files, *more)}.values())


def decide(
    s: Session,
    settings: Settings,
    actor: User | None,
    inp: DecisionIn,
    *,
    notice: Notice | None = None,
    files: list[File] | None = None,
    source: str | None = None,
) -> Outcome:
    """Decide on a notice (its files) or on `files` found otherwise (`source` says how)."""
    check(inp)
    if notice is not None:
        if notice.status != NoticeStatus.open:
            raise Conflict("This notice was decided already (%(status)s).", status=notice.status)
        named = [s.get(File, i.file_id) for i in notice.items if i.file_id is not None]
        files = [f for f in named if f is not None]
        if inp.file_ids is not None:
            wanted = set(inp.file_ids)
            unknown = wanted - {f.id for f in files}
            if unknown:
                raise BadRequest("These files are not named by the notice: %(ids)s.",
                                 ids=", ".join(map(str, sorted(unknown))))  # fmt: skip
            files = [f for f in files if f.id in wanted]
    files = files or []
    if inp.action in RESTRICTING and not files:
        raise BadRequest("No file to act on: the files were deleted, or none was chosen.")
    if inp.action == Action.reject and notice is None:
        raise BadRequest("Only a notice can be rejected as unfounded.")
    decision = Decision(
        ref=new_ref("D"),
        action=inp.action,
        notice_id=notice.id if notice is not None else None,
        source=source or ("notice" if notice is not None else "own_initiative"),
        ground=inp.ground,
        legal_ground=inp.legal_ground.strip(),
        facts=inp.facts.strip(),
        automated=inp.automated,
        until=inp.until,
        moderator_id=actor.id if actor is not None else None,
    )
    s.add(decision)
    s.flush()
    out = Outcome(decision)
    before = [_file_state(f) for f in files]
    affected = files
    if inp.action == Action.disable_blob:
        affected = _sharing_blob(s, files)
    if inp.action in RESTRICTING:
        affected = _disable(
            affected, decision, _reason_text(inp), notice.ref if notice is not None else None
        )
    for f in affected if inp.action in RESTRICTING else files:
        s.add(DecisionTarget(decision_id=decision.id, file_id=f.id, user_id=f.owner_id))
    s.flush()
    if inp.action in RESTRICTING:
        by_owner: dict[int, list[File]] = {}
        for f in affected:
            by_owner.setdefault(f.owner_id, []).append(f)
        for owner_id, owned in by_owner.items():
            owner = s.get(User, owner_id)
            if owner is None:
                continue
            if inp.action == Action.suspend:
                from partage.admin.users import suspend

                if owner.is_active and not owner.is_admin:
                    suspend(s, None, owner.id, inp.legal_ground.strip()[:500], cause="decision")
            out.statements.append(issue_statement(s, settings, decision, owner, owned, out.outbox))
            strikes.add_strike(s, settings, owner, decision, out.outbox)
    if inp.bank_id is not None and inp.action in RESTRICTING:
        from partage.moderation.banks import add_from_files

        add_from_files(s, inp.bank_id, affected, decision=decision, notice=notice)
    if notice is not None:
        notice.status = NOTICE_OUTCOME[inp.action]
        notice.decided_at = utcnow()
        from partage.moderation.messages import notice_decided
        from partage.moderation.notifiers import after_rejection

        out.outbox.add(notice_decided(settings, notice, decision))
        if inp.action == Action.reject:
            after_rejection(s, settings, notice, out.outbox)
    audit.record(
        s, actor, f"decision.{inp.action.value}",
        f"notice:{notice.ref}" if notice is not None else f"decision:{decision.ref}",
        reason=decision.legal_ground or decision.facts,
        before={"files": before},
        after={"decision": decision.ref, "files": [_file_state(f) for f in affected],
               "automated": decision.automated, "source": decision.source},
    )  # fmt: skip
    s.flush()
    return out


def for_notice(s: Session, notice: Notice) -> list[Decision]:
    """The decisions taken on a notice, oldest first (a reversal follows what it reversed)."""
    return list(
        s.scalars(select(Decision).where(Decision.notice_id == notice.id).order_by(Decision.id))
    )


def get_decision(s: Session, ref: str) -> Decision:
    d = s.scalar(select(Decision).where(Decision.ref == ref.strip().upper()))
    if d is None:
        raise NotFound("No decision with this reference.")
    return d


def reverse(
    s: Session, settings: Settings, actor: User | None, decision: Decision, *, reason: str,
    source: str,
) -> Outcome:  # fmt: skip
    """Undo a restricting decision at once: its files come back, its strikes stop counting,
    an account it suspended is reopened; recorded as a `restore` decision."""
    if decision.action not in RESTRICTING:
        raise Conflict("Only a decision that restricted content can be reversed.")
    if decision.reversed_at is not None:
        raise Conflict("This decision was reversed already.")
    now = utcnow()
    restore = Decision(
        ref=new_ref("D"), action=Action.restore, notice_id=decision.notice_id, source=source,
        ground=decision.ground, legal_ground=decision.legal_ground, facts=reason.strip(),
        moderator_id=actor.id if actor is not None else None, reverses_id=decision.id,
    )  # fmt: skip
    s.add(restore)
    decision.reversed_at = now
    s.flush()
    out = Outcome(restore)
    files = list(
        s.scalars(
            select(File).where(
                File.disabled_ref == decision.ref, File.status == FileStatus.disabled
            )
        )
    )
    for f in files:
        f.status = FileStatus.active
        f.disabled_reason = None
        f.disabled_ref = None
        f.disabled_notice = None
        s.add(DecisionTarget(decision_id=restore.id, file_id=f.id, user_id=f.owner_id))
    strikes.void_for(s, settings, decision)
    # Content found lawful must not stay down: the bank entries this decision made go.
    removed = s.execute(
        delete(BankEntry).where(BankEntry.decision_id == decision.id).returning(BankEntry.id)
    ).all()
    owners = {t.user_id for t in decision.targets if t.user_id is not None}
    for owner_id in owners:
        owner = s.get(User, owner_id)
        if owner is None:
            continue
        if decision.action == Action.suspend and not owner.is_active and owner.deleted_at is None:
            from partage.admin.users import unsuspend

            unsuspend(s, owner.id, actor=actor, cause="reversal")
        owned = [f for f in files if f.owner_id == owner_id]
        out.statements.append(issue_statement(s, settings, restore, owner, owned, out.outbox))
    if decision.notice_id is not None:
        s.execute(
            update(Notice).where(Notice.id == decision.notice_id).values(status=NoticeStatus.kept)
        )
    audit.record(
        s, actor, "decision.reversed", f"decision:{decision.ref}", reason=reason,
        before={"files": [{"code": f.code, "status": "disabled"} for f in files]},
        after={"decision": restore.ref, "files": [_file_state(f) for f in files],
               "bank_entries_removed": len(removed)},
    )  # fmt: skip
    s.flush()
    return out
