"""Exact staydown at upload completion: bytes whose SHA-256 or MD5 is in a bank are refused
(451) before a blob is stored.

The upload path knows each staged file's SHA-256 already, so that check is one indexed
lookup. MD5 costs a read of the staged bytes, so it is computed only while some bank
holds MD5 entries (lists exchanged between platforms often have only those). A refusal
is recorded (a `BankMatch` with outcome "refused" and an audit entry) in a transaction of
its own, since the upload's transaction never happens.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.context import Context
from partage.errors import ContentBlocked
from partage.moderation import audit
from partage.moderation.models import BankEntry, BankMatch, Decision, Notice
from partage.storage import primary_of

log = logging.getLogger("partage.moderation.staydown")


@dataclass
class Candidate:
    """One finished upload: its SHA-256, and how to get its MD5 if it is needed."""

    sha256: str
    md5_of: Callable[[], str]
    name: str = ""
    md5: str | None = None  # filled when computed, so the new blob can keep it


def _find(s: Session, kind: str, values: set[str]) -> dict[str, BankEntry]:
    if not values:
        return {}
    rows = s.scalars(
        select(BankEntry)
        .where(BankEntry.kind == kind, BankEntry.value_key.in_(values))
        .order_by(BankEntry.id)
    )
    found: dict[str, BankEntry] = {}
    for e in rows:
        found.setdefault(e.value, e)
    return found


def has_md5_entries(s: Session) -> bool:
    return bool(s.scalar(select(exists().where(BankEntry.kind == "md5"))))


def check(ctx: Context, user: User, candidates: Sequence[Candidate]) -> ContentBlocked | None:
    """The error to raise when one of the uploads is banked (after recording the refusal),
    else None. Computes `md5` of each candidate while MD5 entries exist."""
    with ctx.db.read() as s:
        hits = _find(s, "sha256", {c.sha256 for c in candidates})
        hit = next(((c, hits[c.sha256], "sha256") for c in candidates if c.sha256 in hits), None)
        md5_wanted = hit is None and has_md5_entries(s)
    if md5_wanted:
        for c in candidates:
            c.md5 = c.md5_of()
        with ctx.db.read() as s:
            hits = _find(s, "md5", {c.md5 for c in candidates if c.md5})
        hit = next(((c, hits[c.md5], "md5") for c in candidates if c.md5 in hits), None)
    if hit is None:
        return None
    cand, entry, kind = hit
    return _refuse(ctx, user, cand, entry.id, kind)


def _refuse(ctx: Context, user: User, cand: Candidate, entry_id: int, kind: str) -> ContentBlocked:
    with ctx.db.session() as s:
        entry = s.get(BankEntry, entry_id)
        bank_id = entry.bank_id if entry is not None else None
        ref = None
        if entry is not None and entry.notice_id is not None:
            ref = s.scalar(select(Notice.ref).where(Notice.id == entry.notice_id))
        if ref is None and entry is not None and entry.decision_id is not None:
            ref = s.scalar(select(Decision.ref).where(Decision.id == entry.decision_id))
        s.add(BankMatch(entry_id=entry_id, bank_id=bank_id, kind=kind, outcome="refused",
                        user_id=user.id, score=0))  # fmt: skip
        audit.record(
            s, None, "bank_match.refused", f"user:{user.id}",
            reason=f"upload of {cand.name!r} matched bank entry {entry_id} ({kind})",
            after={"sha256": cand.sha256, "md5": cand.md5, "entry": entry_id,
                   "bank": bank_id, "ref": ref},
        )  # fmt: skip
    log.info("upload by user %s refused: %s matched bank entry %s", user.id, kind, entry_id)
    if ref:
        return ContentBlocked(
            "This content was removed following a notice and may not be uploaded again "
            "(reference %(ref)s).",
            ref=ref,
        )
    return ContentBlocked(
        "This content was removed following a notice and may not be uploaded again."
    )


CHUNK = 1 << 20


def md5_of_file(path: str | Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def md5_of_object(ctx: Context, name: str) -> str:
    """MD5 of an upload staged in the object store (`uploads.objectstaging`), streamed."""
    store = primary_of(ctx.store)
    h = hashlib.md5(usedforsecurity=False)
    body = store.client.get_object(Bucket=store.bucket, Key=store.full(name))["Body"]  # type: ignore[attr-defined]
    with body:
        for chunk in body.iter_chunks(CHUNK):
            h.update(chunk)
    return h.hexdigest()
