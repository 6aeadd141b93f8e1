"""Staydown after storage: each new blob is fingerprinted and matched against every bank,
and every new bank entry is matched against what is stored already (the backfill).

A match acts per bank: `on_match="disable"` takes an automated decision (every file on
the blob disabled, statements of reasons saying automated means were used); "review"
queues a `BankMatch` for a moderator (`bank_review`). Both are idempotent, so a blob may
be screened again (every upload of it, dedup included, is) without double decisions;
a later upload of content disabled before is disabled in its turn.

The PDQ and vPDQ indexes are built from the database once per process and kept while
the entries of their kind stay the same (count and highest id).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partage.context import Context
from partage.db import utcnow
from partage.files.blobs import is_document_image
from partage.files.models import Blob, File, FileStatus
from partage.moderation.fingerprints import fingerprint, parse
from partage.moderation.matching import PdqIndex, VideoIndex
from partage.moderation.models import (
    Action,
    Bank,
    BankEntry,
    BankMatch,
    BlobFingerprint,
    Notice,
)

log = logging.getLogger("partage.moderation.screening")

PERCEPTUAL_MIMES = ("image/", "video/")
BATCH = 200
CHUNK = 1 << 20


@dataclass(frozen=True)
class Hit:
    entry_id: int
    kind: str
    score: int  # exact: 0; pdq: distance in bits (of 256); vpdq: % of the video matched

    def better_than(self, other: Hit) -> bool:
        rank = {"sha256": 0, "md5": 0, "pdq": 1, "vpdq": 1}
        if rank[self.kind] != rank[other.kind]:
            return rank[self.kind] < rank[other.kind]
        return self.score > other.score if self.kind == "vpdq" else self.score < other.score


def enqueue(ctx: Context, blob_ids: list[int]) -> None:
    """Screen these blobs in a worker; call only after their transaction committed."""
    from partage.moderation.screening_tasks import screen_blob_task

    for blob_id in blob_ids:
        try:
            screen_blob_task(blob_id)
        except Exception:  # the queue is down: the periodic backfill does not cover this
            log.exception("could not enqueue the screening of blob %s", blob_id)


def enqueue_backfill(ctx: Context) -> None:
    """Check new bank entries against stored content soon (the minute sweep would too)."""
    from partage.moderation.screening_tasks import backfill_task

    try:
        backfill_task()
    except Exception:
        log.exception("could not enqueue the bank backfill")


# -- the blob's bytes -----------------------------------------------------------------------


@contextmanager
def blob_file(ctx: Context, key: str, size: int) -> Iterator[Path]:
    """A local path holding the blob: the store's own file on local disk, else a temp copy."""
    path = ctx.store.local_path(key)
    if path is not None:
        yield Path(path)
        return
    from partage.moderation.malware import blob_chunks

    ctx.settings.ensure_dirs()
    fd, name = tempfile.mkstemp(prefix="screen-", dir=ctx.settings.staging_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in blob_chunks(ctx.store, key, size):
                out.write(chunk)
        yield Path(name)
    finally:
        os.unlink(name)


def blob_md5(ctx: Context, key: str, size: int) -> str:
    import hashlib

    from partage.moderation.malware import blob_chunks

    h = hashlib.md5(usedforsecurity=False)
    for chunk in blob_chunks(ctx.store, key, size):
        h.update(chunk)
    return h.hexdigest()


# -- indexes --------------------------------------------------------------------------------


@dataclass
class _Cached:
    signature: tuple[int, int | None]
    index: PdqIndex | VideoIndex


_cache: dict[tuple[str, str], _Cached] = {}
_cache_lock = threading.Lock()


def _signature(s: Session, kind: str) -> tuple[int, int | None]:
    n, top = s.execute(
        select(func.count(BankEntry.id), func.max(BankEntry.id)).where(BankEntry.kind == kind)
    ).one()
    return int(n), top


def build_index(rows: list[tuple[int, str]], kind: str) -> PdqIndex | VideoIndex:
    index: PdqIndex | VideoIndex
    if kind == "pdq":
        index = PdqIndex()
        for entry_id, value in rows:
            index.add(entry_id, value)
    else:
        index = VideoIndex()
        for entry_id, value in rows:
            try:
                index.add(entry_id, parse(value))
            except ValueError:
                log.warning("bank entry %s: unreadable vPDQ print, skipped", entry_id)
    index.build()
    return index


def index_for(ctx: Context, kind: str) -> PdqIndex | VideoIndex:
    """Every bank's entries of `kind`, indexed; rebuilt only when they changed."""
    key = (str(ctx.db.engine.url), kind)
    with ctx.db.read() as s:
        sig = _signature(s, kind)
        with _cache_lock:
            cached = _cache.get(key)
            if cached is not None and cached.signature == sig:
                return cached.index
            q = select(BankEntry.id, BankEntry.value).where(BankEntry.kind == kind)
            rows = [(int(i), str(v)) for i, v in s.execute(q)]
            index = build_index(rows, kind)
            _cache[key] = _Cached(sig, index)
            return index


def search(index: PdqIndex | VideoIndex, kind: str, value: str) -> list[Hit]:
    if kind == "pdq" and isinstance(index, PdqIndex):
        return [Hit(int(e), kind, d) for e, d in index.search(value)]  # type: ignore[call-overload]
    if kind == "vpdq" and isinstance(index, VideoIndex):
        try:
            video = parse(value)
        except ValueError:
            return []
        return [
            Hit(int(m.entry_id), kind, round(max(m.query_match, m.reference_match)))  # type: ignore[call-overload]
            for m in index.search(video)
        ]
    return []


# -- screening one blob ---------------------------------------------------------------------


def screen_blob(ctx: Context, blob_id: int) -> list[int]:
    """Fill the blob's MD5 and fingerprints if missing, match it against every bank and
    act on the matches; returns the ids of the BankMatch rows made."""
    with ctx.db.read() as s:
        blob = s.get(Blob, blob_id)
        if blob is None:
            return []
        key, size, mime, md5 = blob.storage_key, blob.size, blob.mime, blob.md5
        printed = s.scalar(select(func.count(BlobFingerprint.id)).where(
            BlobFingerprint.blob_id == blob_id))  # fmt: skip
    perceptual = mime.startswith(PERCEPTUAL_MIMES) and not is_document_image(mime)
    want_prints = perceptual and not printed
    prints: list[tuple[str, str]] = []
    try:
        if want_prints:
            from partage.media.ffmpeg import ffmpeg_path

            with blob_file(ctx, key, size) as path:
                if md5 is None:
                    from partage.moderation.staydown import md5_of_file

                    md5 = md5_of_file(path)
                prints = fingerprint(path, mime, ffmpeg=ffmpeg_path(ctx.settings))
        elif md5 is None:
            md5 = blob_md5(ctx, key, size)
    except FileNotFoundError:
        log.error("screening of blob %s: its bytes are missing from storage", blob_id)
        return []
    with ctx.db.session() as s:
        row = s.get(Blob, blob_id)
        if row is None:
            return []
        if row.md5 is None:
            row.md5 = md5
        if prints and not s.scalar(select(func.count(BlobFingerprint.id)).where(
                BlobFingerprint.blob_id == blob_id)):  # fmt: skip
            for kind, value in prints:
                s.add(BlobFingerprint(blob_id=blob_id, kind=kind, value=value))
    return act(ctx, blob_id, match_blob(ctx, blob_id))


def match_blob(ctx: Context, blob_id: int) -> list[Hit]:
    """Every bank entry the blob matches: exact hashes, then its perceptual prints."""
    hits: list[Hit] = []
    with ctx.db.read() as s:
        blob = s.get(Blob, blob_id)
        if blob is None:
            return []
        for kind, value in (("sha256", blob.sha256), ("md5", blob.md5)):
            if value:
                hits += [Hit(i, kind, 0) for i in s.scalars(select(BankEntry.id).where(
                    BankEntry.kind == kind, BankEntry.value_key == value))]  # fmt: skip
        prints = list(s.execute(select(BlobFingerprint.kind, BlobFingerprint.value).where(
            BlobFingerprint.blob_id == blob_id)))  # fmt: skip
    for kind, value in prints:
        hits += search(index_for(ctx, kind), kind, value)
    return hits


# -- acting on matches ----------------------------------------------------------------------


def grounds(s: Session, bank: Bank, entry: BankEntry, hit: Hit) -> tuple[str, str]:
    notice = s.get(Notice, entry.notice_id) if entry.notice_id is not None else None
    ground = (notice.legal_ground if notice is not None else "") or entry.label or bank.source
    ground = ground or f"Content listed in the staydown bank {bank.name}"
    how = {"sha256": "identical file (SHA-256)", "md5": "identical file (MD5)",
           "pdq": f"perceptual image match (PDQ distance {hit.score} of 256)",
           "vpdq": f"perceptual video match (vPDQ, {hit.score}% matched)"}[hit.kind]  # fmt: skip
    facts = f"The content matched entry {entry.id} of the staydown bank {bank.name!r}: {how}."
    if notice is not None:
        facts += f" The entry comes from notice {notice.ref}."
    return ground, facts


def best_per_bank(s: Session, hits: list[Hit]) -> dict[int, tuple[BankEntry, Hit]]:
    out: dict[int, tuple[BankEntry, Hit]] = {}
    for hit in hits:
        entry = s.get(BankEntry, hit.entry_id)
        if entry is None:
            continue
        now = out.get(entry.bank_id)
        if now is None or hit.better_than(now[1]):
            out[entry.bank_id] = (entry, hit)
    return out


def act(ctx: Context, blob_id: int, hits: list[Hit]) -> list[int]:
    """Per bank matched: disable the blob's live files (automated decision) or queue the
    match for review, unless it was queued or dismissed before. Returns BankMatch ids."""
    if not hits:
        return []
    from partage.moderation.decisions import DecisionIn, decide

    made: list[int] = []
    with ctx.db.read() as s:
        banks = list(best_per_bank(s, hits))
    for bank_id in banks:
        outbox = None
        with ctx.db.session() as s:
            bank = s.get(Bank, bank_id)
            blob = s.get(Blob, blob_id, with_for_update=True)
            found = best_per_bank(s, hits).get(bank_id)
            if bank is None or blob is None or found is None:
                continue
            entry, hit = found
            live = select(File).where(File.blob_id == blob_id, File.status == FileStatus.active)
            files = list(s.scalars(live.order_by(File.id)))
            if not files:
                continue
            if bank.on_match == "disable":
                ground, facts = grounds(s, bank, entry, hit)
                out = decide(
                    s, ctx.settings, None,
                    DecisionIn(action=Action.disable_blob, ground="law", legal_ground=ground,
                               facts=facts, automated=True, bank_id=bank.id),
                    files=files, source="bank_match",
                )  # fmt: skip
                m = BankMatch(entry_id=entry.id, bank_id=bank.id, kind=hit.kind,
                              outcome="disabled", blob_id=blob_id, user_id=files[0].owner_id,
                              score=hit.score, decision_id=out.decision.id)  # fmt: skip
                outbox = out.outbox
            else:
                seen = s.scalar(select(BankMatch.id).where(
                    BankMatch.blob_id == blob_id, BankMatch.bank_id == bank.id,
                    BankMatch.outcome.in_(("queued", "dismissed", "disabled"))))  # fmt: skip
                if seen is not None:
                    continue
                m = BankMatch(entry_id=entry.id, bank_id=bank.id, kind=hit.kind,
                              outcome="queued", blob_id=blob_id, user_id=files[0].owner_id,
                              score=hit.score)  # fmt: skip
            s.add(m)
            s.flush()
            made.append(m.id)
        if outbox is not None:  # after the commit: nobody hears of a decision not taken
            try:
                outbox.send(ctx.settings, ctx.settings.base_url)
            except Exception:
                log.exception("could not send the mails of a bank-match decision")
    return made


# -- backfill -------------------------------------------------------------------------------


def _fill_md5s(ctx: Context, deadline: float) -> bool:
    """Compute missing MD5s of stored blobs in batches; True when none is left."""
    while time.monotonic() < deadline:
        with ctx.db.read() as s:
            q = select(Blob.id, Blob.storage_key, Blob.size).where(Blob.md5.is_(None))
            rows = list(s.execute(q.order_by(Blob.id).limit(BATCH)))
        if not rows:
            return True
        for blob_id, key, size in rows:
            try:
                md5 = blob_md5(ctx, key, size)
            except FileNotFoundError:
                md5 = "0" * 32  # bytes lost: nothing to match, do not retry forever
            with ctx.db.session() as s:
                blob = s.get(Blob, blob_id)
                if blob is not None and blob.md5 is None:
                    blob.md5 = md5
            if time.monotonic() > deadline:
                return False
    return False


def densify(ctx: Context, *, deadline: float) -> int:
    """Replace video prints banked from a stored blob (its upload-time print, one frame a
    second) by the blob's reference print (denser, with crop variants: what a reference
    file gets), as a new entry, so the index cache sees the change and the backfill checks
    it again. Returns how many were replaced."""
    from partage.media.ffmpeg import ffmpeg_path
    from partage.moderation import audit
    from partage.moderation.banks import value_key
    from partage.moderation.fingerprints import reference_print, serialize

    done = 0
    while time.monotonic() < deadline:
        with ctx.db.read() as s:
            row = s.execute(
                select(BankEntry.id, Blob.storage_key, Blob.size)
                .join(Blob, Blob.id == BankEntry.source_blob_id)
                .where(BankEntry.kind == "vpdq").order_by(BankEntry.id).limit(1)
            ).first()  # fmt: skip
        if row is None:
            break
        entry_id, key, size = row
        dense = None
        try:
            with blob_file(ctx, key, size) as path:
                made = reference_print(path, ffmpeg=ffmpeg_path(ctx.settings))
                dense = serialize(made) if made is not None else None
        except FileNotFoundError:
            dense = None
        with ctx.db.session() as s:
            old = s.get(BankEntry, entry_id)
            if old is None:
                continue
            if dense is None:  # undecodable or gone: keep the print it has
                old.source_blob_id = None
                continue
            new = BankEntry(
                bank_id=old.bank_id, kind="vpdq", value=dense, value_key=value_key("vpdq", dense),
                label=old.label, notice_id=old.notice_id, decision_id=old.decision_id,
            )  # fmt: skip
            s.add(new)
            s.delete(old)
            s.flush()
            audit.record(s, None, "bank.entry_densified", f"bank:{new.bank_id}",
                         before={"entry": entry_id}, after={"entry": new.id})  # fmt: skip
        done += 1
    return done


def backfill(ctx: Context, *, budget: float = 50.0) -> int:
    """Match entries never checked against stored content; returns how many were checked.
    MD5 entries wait until every stored blob has its MD5 (computed here, in batches)."""
    deadline = time.monotonic() + budget
    densify(ctx, deadline=deadline)
    done = 0
    while time.monotonic() < deadline:
        with ctx.db.read() as s:
            entries = [(e.id, e.kind, e.value) for e in s.scalars(
                select(BankEntry).where(BankEntry.backfilled_at.is_(None))
                .order_by(BankEntry.id).limit(BATCH))]  # fmt: skip
        if not entries:
            break
        if any(k == "md5" for _, k, _ in entries) and not _fill_md5s(ctx, deadline):
            break
        by_blob: dict[int, list[Hit]] = {}
        with ctx.db.read() as s:
            for entry_id, kind, value in entries:
                if kind in ("sha256", "md5"):
                    column = Blob.sha256 if kind == "sha256" else Blob.md5
                    for blob_id in s.scalars(select(Blob.id).where(column == value)):
                        by_blob.setdefault(blob_id, []).append(Hit(entry_id, kind, 0))
            for kind in ("pdq", "vpdq"):
                rows = [(i, v) for i, k, v in entries if k == kind]
                if not rows:
                    continue
                index = build_index(rows, kind)
                last = 0
                while True:
                    prints = list(s.execute(
                        select(BlobFingerprint.id, BlobFingerprint.blob_id, BlobFingerprint.value)
                        .where(BlobFingerprint.kind == kind, BlobFingerprint.id > last)
                        .order_by(BlobFingerprint.id).limit(BATCH)))  # fmt: skip
                    if not prints:
                        break
                    last = prints[-1][0]
                    for _, blob_id, value in prints:
                        for hit in search(index, kind, value):
                            by_blob.setdefault(blob_id, []).append(hit)
        for blob_id, hits in by_blob.items():
            act(ctx, blob_id, hits)
        with ctx.db.session() as s:
            now = utcnow()
            for entry_id, _, _ in entries:
                e = s.get(BankEntry, entry_id)
                if e is not None:
                    e.backfilled_at = now
        done += len(entries)
    return done
