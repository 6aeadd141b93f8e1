"""Bank matches queued for a person (banks with `on_match="review"`): the list moderators
see, and their decision on each: disable the content (a decision with source
"bank_match", not automated since a person took it) or dismiss the match."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.db import iso
from partage.errors import BadRequest, Conflict, NotFound
from partage.files.models import Blob, File, FileStatus
from partage.moderation import audit
from partage.moderation.decisions import DecisionIn, Outcome, decide
from partage.moderation.models import Action, Bank, BankEntry, BankMatch
from partage.moderation.screening import Hit, grounds
from partage.settings import Settings

PAGE = 100


@dataclass
class MatchView:
    match: BankMatch
    bank: Bank | None
    entry: BankEntry | None
    blob: Blob | None
    files: list[File]
    owner: str | None


def _view(s: Session, m: BankMatch) -> MatchView:
    files: list[File] = []
    if m.blob_id is not None:
        files = list(s.scalars(select(File).where(File.blob_id == m.blob_id,
                                                  File.status != FileStatus.deleted)
                               .order_by(File.id)))  # fmt: skip
    owner = s.scalar(select(User.email).where(User.id == m.user_id)) if m.user_id else None
    return MatchView(
        m,
        s.get(Bank, m.bank_id) if m.bank_id is not None else None,
        s.get(BankEntry, m.entry_id) if m.entry_id is not None else None,
        s.get(Blob, m.blob_id) if m.blob_id is not None else None,
        files,
        owner,
    )


def list_matches(
    s: Session, *, outcome: str | None = "queued", before: int | None = None, limit: int = PAGE
) -> list[MatchView]:
    """Newest first; `before` (a match id) pages backwards."""
    q = select(BankMatch).order_by(BankMatch.id.desc()).limit(max(1, min(limit, 500)))
    if outcome:
        q = q.where(BankMatch.outcome == outcome)
    if before is not None:
        q = q.where(BankMatch.id < before)
    return [_view(s, m) for m in s.scalars(q)]


def match_json(v: MatchView) -> dict[str, Any]:
    m = v.match
    return {
        "id": m.id,
        "outcome": m.outcome,
        "kind": m.kind,
        "score": m.score,
        "created_at": iso(m.created_at),
        "bank": {"id": v.bank.id, "name": v.bank.name, "on_match": v.bank.on_match}
        if v.bank
        else None,
        "entry": {"id": v.entry.id, "kind": v.entry.kind, "label": v.entry.label}
        if v.entry
        else None,
        "blob": {"id": v.blob.id, "sha256": v.blob.sha256, "mime": v.blob.mime, "size": v.blob.size}
        if v.blob
        else None,  # fmt: skip
        "files": [{"code": f.code, "name": f.name, "status": f.status.value} for f in v.files],
        "uploader": v.owner,
        "decision_id": m.decision_id,
    }


def get_match(s: Session, match_id: int) -> MatchView:
    m = s.get(BankMatch, match_id)
    if m is None:
        raise NotFound("No bank match %(id)s.", id=match_id)
    return _view(s, m)


def decide_match(
    s: Session, settings: Settings, actor: User, match_id: int, action: str, *,
    legal_ground: str = "", facts: str = "",
) -> Outcome | None:  # fmt: skip
    """A moderator's decision on a queued match: "disable" (returns the decision's
    outcome; the caller sends its mails after commit) or "dismiss" (returns None)."""
    m = s.get(BankMatch, match_id, with_for_update=True)
    if m is None:
        raise NotFound("No bank match %(id)s.", id=match_id)
    if m.outcome != "queued":
        raise Conflict("This match was decided already (%(outcome)s).", outcome=m.outcome)
    if action == "dismiss":
        m.outcome = "dismissed"
        audit.record(s, actor, "bank_match.dismissed", f"bank_match:{m.id}",
                     reason=facts.strip(), before={"outcome": "queued"},
                     after={"outcome": "dismissed"})  # fmt: skip
        return None
    if action != "disable":
        raise BadRequest("action: disable or dismiss.")
    files = list(s.scalars(select(File).where(File.blob_id == m.blob_id,
                                              File.status == FileStatus.active)))  # fmt: skip
    if not files:
        raise Conflict("The matched content is no longer online.")
    bank = s.get(Bank, m.bank_id) if m.bank_id is not None else None
    entry = s.get(BankEntry, m.entry_id) if m.entry_id is not None else None
    if bank is not None and entry is not None:
        ground, told = grounds(s, bank, entry, Hit(entry.id, m.kind, m.score or 0))
    else:
        ground, told = "", ""
    out = decide(
        s, settings, actor,
        DecisionIn(action=Action.disable_blob, ground="law",
                   legal_ground=legal_ground.strip() or ground, facts=facts.strip() or told,
                   automated=False, bank_id=bank.id if bank is not None else None),
        files=files, source="bank_match",
    )  # fmt: skip
    m.outcome, m.decision_id = "disabled", out.decision.id
    return out
