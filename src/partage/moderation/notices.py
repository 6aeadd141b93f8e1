"""Notices: what the law asks of them, the locations they name, and their intake.

One intake for the public form and the API: `NoticeIn` carries the fields as sent, `submit`
checks every one of them (each problem named, `IncompleteNotice` → 422), resolves each
location to the files it names, records the notice and its audit entry, and sends the receipt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.accounts.service import EMAIL_RE
from partage.db import iso, utcnow
from partage.errors import Forbidden, IncompleteNotice, NotFound
from partage.files import codes
from partage.files.folder_share import PREFIX as FOLDER_PREFIX
from partage.files.models import File, FileStatus, Folder
from partage.moderation import audit
from partage.moderation.models import Category, Notice, NoticeItem, NoticeStatus, NotifierSanction
from partage.moderation.refs import new_ref
from partage.web.i18n import N_

MAX_LOCATIONS = 1000
MAX_TEXT = 10_000
MAX_LINE = 255
# The paths a file is reached by: its page, the player and embed pages.
_FILE_PATH = re.compile(r"^/(?:v/|embed/)?([a-z0-9]{12})/?$")


class Problem(str):
    """What is wrong with one field: English text (the API's), with its template and params
    kept for the form, which shows it in the reader's language."""

    template: str
    params: dict[str, object]

    def __new__(cls, template: str, **params: object) -> Problem:
        self = super().__new__(cls, template % params if params else template)
        self.template, self.params = template, params
        return self


@dataclass
class NoticeIn:
    """The fields of a notice as sent (form or JSON); nothing checked yet."""

    category: str | None = None
    locations: list[str] = field(default_factory=list)
    explanation: str = ""
    work: str = ""
    legal_ground: str = ""
    notifier_name: str = ""
    notifier_email: str = ""
    good_faith: bool = False
    accurate: bool = False
    signature: str = ""


def _clean(text: Any) -> str:
    return text.strip() if isinstance(text, str) else ""


def from_json(body: Any) -> NoticeIn:
    if not isinstance(body, dict):
        raise IncompleteNotice({"body": "a JSON object with the notice's fields"})
    locations = body.get("locations")
    if isinstance(locations, str):
        locations = [locations]
    return NoticeIn(
        category=_clean(body.get("category")) or None,
        locations=[_clean(x) for x in locations] if isinstance(locations, list) else [],
        explanation=_clean(body.get("explanation")),
        work=_clean(body.get("work")),
        legal_ground=_clean(body.get("legal_ground")),
        notifier_name=_clean(body.get("notifier_name")),
        notifier_email=_clean(body.get("notifier_email")),
        good_faith=body.get("good_faith") is True,
        accurate=body.get("accurate") is True,
        signature=_clean(body.get("signature")),
    )


def split_locations(text: str) -> list[str]:
    """The form's box: one location per line (commas and spaces separate too)."""
    return [x for x in re.split(r"[\s,]+", text) if x]


@dataclass
class Resolved:
    location: str
    file_ids: list[int]


def _folder_files(s: Session, folder: Folder) -> list[int]:
    ids: list[int] = []
    pending = [folder.id]
    while pending and len(ids) <= MAX_LOCATIONS:
        fid = pending.pop()
        ids += s.scalars(
            select(File.id).where(File.folder_id == fid, File.status != FileStatus.deleted)
        )
        pending += s.scalars(select(Folder.id).where(Folder.parent_id == fid))
    return ids


def resolve_location(s: Session, location: str) -> list[int] | None:
    """The files a location names: a file's code or any of its addresses, or a shared folder's
    address (every file in it). None when it names nothing on this site."""
    text = location.strip()
    if codes.is_code(text.lower()):
        path = f"/{text.lower()}"
    else:
        parts = urlsplit(text if "://" in text else f"https://host/{text.lstrip('/')}")
        path = parts.path
    m = _FILE_PATH.match(path)
    if m:
        fid = s.scalar(
            select(File.id).where(File.code == m.group(1), File.status != FileStatus.deleted)
        )
        return [fid] if fid is not None else None
    if path.startswith(FOLDER_PREFIX):
        share_hash = path[len(FOLDER_PREFIX) :].split("/", 1)[0]
        folder = (
            s.scalar(select(Folder).where(Folder.share_hash == share_hash)) if share_hash else None
        )
        return _folder_files(s, folder) if folder is not None else None
    return None


def _sanction(s: Session, email: str) -> datetime | None:
    """Until when this notifier's notices are suspended, if they are."""
    now = utcnow()
    return s.scalar(
        select(NotifierSanction.until).where(
            NotifierSanction.email == email.lower(),
            NotifierSanction.kind == "suspension",
            NotifierSanction.until > now,
        )
    )


def validate(s: Session, data: NoticeIn) -> tuple[Category, list[Resolved]]:
    """Every problem at once, by field, as the notifier must fix them."""
    problems: dict[str, Problem] = {}
    category: Category | None = None
    try:
        category = Category(data.category or "")
    except ValueError:
        problems["category"] = Problem(
            N_("required: one of %(choices)s")
            if not data.category
            else N_("unknown category: use one of %(choices)s"),
            choices=", ".join(c.value for c in Category),
        )
    if not data.explanation:
        problems["explanation"] = Problem(
            N_("required: why the content is illegal or against the terms")
        )
    elif len(data.explanation) > MAX_TEXT:
        problems["explanation"] = Problem(N_("%(n)s characters at most"), n=MAX_TEXT)
    if category == Category.copyright and not data.work:
        problems["work"] = Problem(N_("required for copyright: the work you say is infringed"))
    if category == Category.illegal and not data.legal_ground:
        problems["legal_ground"] = Problem(N_("required for illegal content: the law it breaks"))
    for name in ("work", "legal_ground"):
        if len(getattr(data, name)) > MAX_TEXT:
            problems[name] = Problem(N_("%(n)s characters at most"), n=MAX_TEXT)
    # Child safety reports may be anonymous (DSA Art. 16(2)(c)).
    anonymous_ok = category == Category.child_safety
    if not data.notifier_name and not anonymous_ok:
        problems["notifier_name"] = Problem(N_("required: your name"))
    if data.notifier_email and not EMAIL_RE.match(data.notifier_email):
        problems["notifier_email"] = Problem(N_("not an e-mail address"))
    elif not data.notifier_email and not anonymous_ok:
        problems["notifier_email"] = Problem(
            N_("required: where we send the receipt and the decision")
        )
    if not data.signature and not anonymous_ok:
        problems["signature"] = Problem(N_("required: type your full name as your signature"))
    for name in ("notifier_name", "signature"):
        if len(getattr(data, name)) > MAX_LINE:
            problems[name] = Problem(N_("%(n)s characters at most"), n=MAX_LINE)
    if not data.good_faith:
        problems["good_faith"] = Problem(
            N_("must be true: you believe in good faith that the use is not authorised")
        )
    if not data.accurate:
        problems["accurate"] = Problem(
            N_("must be true: the notice is accurate and you may act for the rights holder")
        )
    resolved: list[Resolved] = []
    if not data.locations:
        problems["locations"] = Problem(N_("required: the links or codes of the content"))
    elif len(data.locations) > MAX_LOCATIONS:
        problems["locations"] = Problem(N_("%(n)s locations at most per notice"), n=MAX_LOCATIONS)
    else:
        bad = []
        for loc in dict.fromkeys(data.locations):
            ids = resolve_location(s, loc) if len(loc) <= 2048 else None
            if not ids:
                bad.append(loc[:100])
            else:
                resolved.append(Resolved(loc, ids))
        if bad:
            problems["locations"] = Problem(
                N_("not a file or shared folder of this site: %(locations)s"),
                locations=", ".join(bad),
            )
    if problems:
        raise IncompleteNotice(problems)
    assert category is not None
    return category, resolved


def submit(
    s: Session,
    data: NoticeIn,
    *,
    source: str,
    notifier: User | None = None,
    locale: str | None = None,
) -> Notice:
    category, resolved = validate(s, data)
    email = data.notifier_email.lower()
    if email and (until := _sanction(s, email)) is not None:
        raise Forbidden(
            "Notices from this address are suspended until %(until)s, after too many "
            "manifestly unfounded notices.",
            until=until.strftime("%Y-%m-%d"),
        )
    notice = Notice(
        ref=new_ref("N"),
        category=category,
        explanation=data.explanation,
        work=data.work,
        legal_ground=data.legal_ground,
        notifier_name=data.notifier_name,
        notifier_email=email,
        signature=data.signature,
        good_faith=data.good_faith,
        accurate=data.accurate,
        source=source,
        notifier_id=notifier.id if notifier is not None else None,
        trusted=bool(notifier is not None and notifier.trusted_flagger),
        locale=locale,
    )
    s.add(notice)
    s.flush()
    seen: set[int] = set()
    for r in resolved:
        for fid in r.file_ids:
            if fid not in seen:
                seen.add(fid)
                s.add(NoticeItem(notice_id=notice.id, location=r.location, file_id=fid))
    audit.record(
        s,
        notifier,
        "notice.received",
        f"notice:{notice.ref}",
        after={"category": category.value, "files": len(seen), "source": source,
               "trusted": notice.trusted},
    )  # fmt: skip
    s.flush()
    s.refresh(notice)
    return notice


def get_by_ref(s: Session, ref: str) -> Notice:
    notice = s.scalar(select(Notice).where(Notice.ref == ref.strip().upper()))
    if notice is None:
        raise NotFound("No notice with this reference.")
    return notice


def queue(s: Session, *, status: NoticeStatus | None = NoticeStatus.open, limit: int = 100,
          offset: int = 0) -> list[Notice]:  # fmt: skip
    """Trusted flaggers' notices first, then child safety, then the oldest."""
    q = select(Notice)
    if status is not None:
        q = q.where(Notice.status == status)
    urgent = case((Notice.category == Category.child_safety, 0), else_=1)
    q = q.order_by(Notice.trusted.desc(), urgent, Notice.created_at, Notice.id)
    return list(s.scalars(q.limit(limit).offset(offset)))


def notice_json(n: Notice, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ref": n.ref,
        "category": n.category.value,
        "status": n.status.value,
        "received_at": iso(n.created_at),
        "decided_at": iso(n.decided_at),
        "locations": sorted({i.location for i in n.items}),
        "files": len(n.items),
    }
    if full:
        out.update(
            explanation=n.explanation,
            work=n.work,
            legal_ground=n.legal_ground,
            notifier_name=n.notifier_name,
            notifier_email=n.notifier_email,
            signature=n.signature,
            source=n.source,
            trusted=n.trusted,
        )
    return out
