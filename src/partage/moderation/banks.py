"""Staydown banks: named lists of fingerprints of content that must not come back.

An entry is an exact hash of a whole file (`sha256`, `md5`) or a perceptual one (`pdq`
for an image, `vpdq` for a video, in vPDQ's own text form). Entries come from moderators,
from imported hash lists, from a rights holder's reference files (fingerprinted, never
stored) and from decisions that ask for the content to be banked (`add_from_files`).

Who may: moderators and administrators manage every bank; the account that owns a bank (a
rights holder) manages its entries, nothing else. Every change is in the audit log.
Matching lives in `staydown` (uploads) and `screening` (stored blobs).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.db import iso
from partage.errors import BadRequest, Conflict, Forbidden, InvalidHashList, NotFound
from partage.files.models import Blob, File
from partage.moderation import audit
from partage.moderation.access import is_moderator
from partage.moderation.fingerprints import parse as parse_vpdq
from partage.moderation.models import Bank, BankEntry, BlobFingerprint, Decision, Notice

EXACT = ("sha256", "md5")
PERCEPTUAL = ("pdq", "vpdq")
KINDS = EXACT + PERCEPTUAL
HEX_LENGTH = {"sha256": 64, "md5": 32, "pdq": 64}
ON_MATCH = ("disable", "review")
# A vPDQ print: ~80 bytes a second (about 7 hours of video); a reference print, 7 hashes
# a second: ~560 bytes a second, so about an hour.
MAX_VALUE = 2_000_000
MAX_LABEL = 255
MAX_ENTRIES = 100_000  # in one import or one request
PAGE = 100


@dataclass
class EntryIn:
    kind: str
    value: str
    label: str = ""
    source_blob_id: int | None = None  # a blob's upload-time video print (see models)


# -- values ---------------------------------------------------------------------------------


def normalize(kind: str, value: str) -> tuple[str, str]:
    """(kind, canonical value); raises ValueError saying what is wrong."""
    kind = kind.strip().lower()
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    value = value.strip()
    if len(value) > MAX_VALUE:
        raise ValueError("value too long")
    if kind == "vpdq":
        video = parse_vpdq(value.replace(";", "\n"))  # one line in CSV: frames split by ';'
        if not video.frames:
            raise ValueError("a vPDQ print needs at least one frame")
        from partage.moderation.fingerprints import serialize

        return kind, serialize(video)
    value = value.lower()
    if len(value) != HEX_LENGTH[kind] or any(c not in "0123456789abcdef" for c in value):
        raise ValueError(f"a {kind} value is {HEX_LENGTH[kind]} hexadecimal digits")
    return kind, value


def value_key(kind: str, value: str) -> str:
    """What the (kind, value_key) index holds: the exact hash itself, or the first 64
    characters of a perceptual value (a PDQ hash whole; a vPDQ print's first frame)."""
    return value[:64]


def validate(items: Iterable[tuple[int, Any]]) -> list[EntryIn]:
    """Entries from (line number, {kind, value, label}) pairs; every bad line is named in
    one InvalidHashList (422), so a list is imported whole or not at all."""
    out: list[EntryIn] = []
    bad: dict[int, str] = {}
    for n, item in items:
        if len(out) + len(bad) >= MAX_ENTRIES:
            raise BadRequest("At most %(n)s entries at a time.", n=MAX_ENTRIES)
        if isinstance(item, str):  # what the reader found wrong with the line
            bad[n] = item
            continue
        if not isinstance(item, dict):
            bad[n] = "expected an object with kind, value and label"
            continue
        label = str(item.get("label") or "").strip()
        try:
            kind, value = normalize(str(item.get("kind") or ""), str(item.get("value") or ""))
            if len(label) > MAX_LABEL:
                raise ValueError(f"label longer than {MAX_LABEL} characters")
        except ValueError as e:
            bad[n] = str(e)
            continue
        out.append(EntryIn(kind, value, label))
    if bad:
        raise InvalidHashList(bad)
    return out


def parse_csv(text: str) -> list[EntryIn]:
    """`kind,value,label` lines (a header line naming those columns is allowed)."""
    rows: list[tuple[int, Any]] = []
    for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if n == 1 and [c.strip().lower() for c in row[:2]] == ["kind", "value"]:
            continue
        if len(row) < 2 or len(row) > 3:
            rows.append(
                (n, "expected 2 or 3 columns: kind, value, label (quote a value with commas)")
            )
            continue
        rows.append((n, {"kind": row[0], "value": row[1], "label": row[2] if len(row) > 2 else ""}))
    return validate(rows)


def parse_json(data: Any) -> list[EntryIn]:
    """A list of {kind, value, label}, or {"entries": [...]} (what the export gives)."""
    if isinstance(data, dict):
        data = data.get("entries")
    if not isinstance(data, list):
        raise BadRequest("Send a list of entries, or an object with an 'entries' list.")
    return validate(enumerate(data, start=1))


def parse_list(body: bytes, content_type: str) -> list[EntryIn]:
    """An imported hash list: JSON when it says so (or looks like it), CSV otherwise."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("A hash list is UTF-8 text (CSV or JSON).") from None
    if "json" in content_type or text.lstrip().startswith(("[", "{")):
        try:
            return parse_json(json.loads(text))
        except json.JSONDecodeError as e:
            raise BadRequest("Not valid JSON: %(error)s.", error=str(e)) from None
    return parse_csv(text)


# -- banks ----------------------------------------------------------------------------------


def bank_json(bank: Bank, entries: int | None = None, owner: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": bank.id,
        "name": bank.name,
        "source": bank.source,
        "on_match": bank.on_match,
        "owner_id": bank.owner_id,
        "created_at": iso(bank.created_at),
    }
    if owner is not None:
        out["owner"] = owner
    if entries is not None:
        out["entries"] = entries
    return out


def entry_json(e: BankEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "bank_id": e.bank_id,
        "kind": e.kind,
        "value": e.value,
        "label": e.label,
        "notice": _ref(e, "notice"),
        "decision": _ref(e, "decision"),
        "created_at": iso(e.created_at),
        "backfilled_at": iso(e.backfilled_at) if e.backfilled_at else None,
    }


def _ref(e: BankEntry, what: str) -> str | None:
    from sqlalchemy.orm import object_session

    s = object_session(e)
    if s is None:
        return None
    if what == "notice" and e.notice_id is not None:
        return s.scalar(select(Notice.ref).where(Notice.id == e.notice_id))
    if what == "decision" and e.decision_id is not None:
        return s.scalar(select(Decision.ref).where(Decision.id == e.decision_id))
    return None


def can_manage(user: User, bank: Bank) -> bool:
    return is_moderator(user) or (bank.owner_id is not None and bank.owner_id == user.id)


def get_bank(s: Session, user: User, bank_id: int) -> Bank:
    """The bank, if `user` may manage it; 404 otherwise (another owner's bank is not
    even confirmed to exist)."""
    bank = s.get(Bank, bank_id)
    if bank is None or not can_manage(user, bank):
        raise NotFound("No bank %(id)s.", id=bank_id)
    return bank


def list_banks(s: Session, user: User) -> list[tuple[Bank, int, str | None]]:
    """(bank, entry count, owner's e-mail) for every bank `user` may manage."""
    counts = (
        select(BankEntry.bank_id, func.count(BankEntry.id).label("n"))
        .group_by(BankEntry.bank_id)
        .subquery()
    )
    q = (
        select(Bank, func.coalesce(counts.c.n, 0), User.email)
        .outerjoin(counts, counts.c.bank_id == Bank.id)
        .outerjoin(User, User.id == Bank.owner_id)
        .order_by(Bank.name)
    )
    if not is_moderator(user):
        q = q.where(Bank.owner_id == user.id)
    return [(b, int(n), email) for b, n, email in s.execute(q)]


def create_bank(
    s: Session, actor: User, *, name: str, source: str = "", on_match: str = "review",
    owner_email: str | None = None,
) -> Bank:  # fmt: skip
    if not is_moderator(actor):
        raise Forbidden("Only a moderator can do this.")
    name = name.strip()
    if not name or len(name) > 100:
        raise BadRequest("name: 1 to 100 characters.")
    if on_match not in ON_MATCH:
        raise BadRequest("on_match: disable or review.")
    if s.scalar(select(Bank.id).where(Bank.name == name)) is not None:
        raise Conflict("A bank named %(name)s exists already.", name=name)
    owner_id = None
    if owner_email and owner_email.strip():
        owner_id = s.scalar(
            select(User.id).where(func.lower(User.email) == owner_email.strip().lower())
        )
        if owner_id is None:
            raise BadRequest("owner: no account with this e-mail address.")
    bank = Bank(name=name, source=source.strip()[:10_000], on_match=on_match, owner_id=owner_id)
    s.add(bank)
    s.flush()
    audit.record(s, actor, "bank.created", f"bank:{bank.id}", after=bank_json(bank))
    return bank


# -- entries --------------------------------------------------------------------------------


def list_entries(
    s: Session, bank: Bank, *, after: int = 0, limit: int = PAGE, kind: str | None = None
) -> list[BankEntry]:
    q = select(BankEntry).where(BankEntry.bank_id == bank.id, BankEntry.id > after)
    if kind:
        q = q.where(BankEntry.kind == kind)
    return list(s.scalars(q.order_by(BankEntry.id).limit(max(1, min(limit, 1000)))))


def add_entries(
    s: Session, actor: User | None, bank: Bank, entries: Sequence[EntryIn], *,
    how: str, notice_id: int | None = None, decision_id: int | None = None,
) -> list[BankEntry]:  # fmt: skip
    """Add the entries the bank does not hold yet (same kind and value); returns those
    added. `how` says where they came from in the audit log ("api", "import", …)."""
    added: list[BankEntry] = []
    seen: set[tuple[str, str]] = set()
    for e in entries:
        key = value_key(e.kind, e.value)
        if (e.kind, e.value) in seen:
            continue
        seen.add((e.kind, e.value))
        existing = s.scalars(
            select(BankEntry.value).where(
                BankEntry.bank_id == bank.id, BankEntry.kind == e.kind, BankEntry.value_key == key
            )
        )
        if e.value in existing:
            continue
        row = BankEntry(bank_id=bank.id, kind=e.kind, value=e.value, value_key=key,
                        label=e.label[:MAX_LABEL], notice_id=notice_id,
                        decision_id=decision_id, source_blob_id=e.source_blob_id)  # fmt: skip
        s.add(row)
        added.append(row)
    s.flush()
    if added:
        kinds: dict[str, int] = {}
        for row in added:
            kinds[row.kind] = kinds.get(row.kind, 0) + 1
        audit.record(
            s, actor, "bank.entries_added", f"bank:{bank.id}", reason=how,
            after={"entries": [r.id for r in added[:1000]], "count": len(added), "kinds": kinds},
        )  # fmt: skip
    return added


def delete_entry(s: Session, actor: User, bank: Bank, entry_id: int, reason: str = "") -> None:
    if not is_moderator(actor):
        raise Forbidden("Only a moderator can delete a bank entry.")
    entry = s.get(BankEntry, entry_id)
    if entry is None or entry.bank_id != bank.id:
        raise NotFound("No entry %(id)s in this bank.", id=entry_id)
    before = entry_json(entry)
    if before["kind"] == "vpdq":
        before["value"] = before["value"][:200]  # the print's start says enough
    s.delete(entry)
    s.flush()
    audit.record(s, actor, "bank.entry_deleted", f"bank:{bank.id}", reason=reason, before=before)


def blob_entries(s: Session, blob: Blob, label: str) -> list[EntryIn]:
    """What identifies a blob's content: its exact hashes and its perceptual prints."""
    out = [EntryIn("sha256", blob.sha256, label)]
    if blob.md5:
        out.append(EntryIn("md5", blob.md5, label))
    for kind, value in s.execute(
        select(BlobFingerprint.kind, BlobFingerprint.value).where(
            BlobFingerprint.blob_id == blob.id
        )
    ):
        out.append(EntryIn(kind, value, label, blob.id if kind == "vpdq" else None))
    return out


def add_from_files(
    s: Session, bank_id: int, files: Iterable[File], *, decision: Decision | None = None,
    notice: Notice | None = None,
) -> list[BankEntry]:  # fmt: skip
    """Bank the content of `files` (called by `decisions.decide` when the decision asks
    for it): each blob's SHA-256, its MD5 when known, and its perceptual fingerprints.
    A blob fingerprinted later is banked by `screening` (the decision's entries name it)."""
    bank = s.get(Bank, bank_id)
    if bank is None:
        raise BadRequest("No bank %(id)s.", id=bank_id)
    label = (notice.work or notice.ref) if notice is not None else ""
    if not label and decision is not None:
        label = decision.ref
    entries: list[EntryIn] = []
    blob_ids: set[int] = set()
    for f in files:
        if f.blob_id is None or f.blob_id in blob_ids:
            continue
        blob_ids.add(f.blob_id)
        blob = s.get(Blob, f.blob_id)
        if blob is not None:
            entries += blob_entries(s, blob, label[:MAX_LABEL])
    return add_entries(
        s, None, bank, entries, how=f"decision {decision.ref}" if decision else "decision",
        notice_id=notice.id if notice is not None else None,
        decision_id=decision.id if decision is not None else None,
    )  # fmt: skip


def export(s: Session, bank: Bank, fmt: str) -> tuple[str, str]:
    """(body, media type) of the whole bank as CSV (`kind,value,label`; a vPDQ print on one
    line, its frames split by ';') or JSON (what `parse_json` reads back)."""
    rows = s.scalars(select(BankEntry).where(BankEntry.bank_id == bank.id).order_by(BankEntry.id))
    if fmt == "json":
        entries = [{"kind": e.kind, "value": e.value, "label": e.label} for e in rows]
        return json.dumps({"bank": bank.name, "entries": entries}), "application/json"
    if fmt != "csv":
        raise BadRequest("format: csv or json.")
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["kind", "value", "label"])
    for e in rows:
        w.writerow([e.kind, e.value.replace("\n", ";"), e.label])
    return out.getvalue(), "text/csv; charset=utf-8"
