"""What a finished upload becomes: name, declared type, folder, description, link options.

Built once from strings (tus metadata, form fields or query parameters) and
validated before any byte is stored; kept as JSON on the upload row until the
upload completes. The password is kept hashed, never as sent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from partage.accounts.models import User
from partage.db import iso
from partage.errors import BadRequest, NotFound
from partage.files.folders import get_folder
from partage.files.links import UNSET, LinkOptions, parse_bool, parse_expires, parse_max_downloads
from partage.files.names import clean_name
from partage.security import hash_password
from partage.web.i18n import N_

# Keys understood in tus Upload-Metadata, multipart form fields and PUT query parameters.
KEYS = frozenset(
    {"filename", "filetype", "folder", "password", "expires", "max_downloads", "public",
     "description"}
)  # fmt: skip


@dataclass
class FileSpec:
    name: str | None = None
    filetype: str | None = None
    folder_id: int | None = None
    folder_path: str | None = None
    description: str = ""
    public: bool | None = None
    password_hash: str | None = None
    expires: datetime | None = None
    max_downloads: int | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["expires"] = iso(self.expires)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> FileSpec:
        data = dict(data or {})
        if data.get("expires"):
            data["expires"] = datetime.fromisoformat(data["expires"])
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def link_options(self) -> LinkOptions:
        """Options for create_file; the password hash is set on the file separately."""
        return LinkOptions(
            public=UNSET if self.public is None else self.public,
            expires=UNSET if self.expires is None else self.expires,
            max_downloads=UNSET if self.max_downloads is None else self.max_downloads,
        )


def _folder(s: Session, user: User, raw: str, spec: FileSpec) -> None:
    text = raw.strip()
    if text.isascii() and text.isdigit():
        if len(text) > 18:  # no 64-bit id is that long: not found, not an overflow
            raise NotFound("No folder with id %(folder_id)s.", folder_id=text)
        spec.folder_id = get_folder(s, user, int(text)).id  # type: ignore[union-attr]
        return
    parts = [p for p in text.replace("\\", "/").split("/") if p.strip()]
    if len(parts) > 32:
        raise BadRequest("folder: 32 levels at most.")
    # Created only when the upload completes, so abandoned uploads leave no folders behind.
    spec.folder_path = "/".join(clean_name(p, what=N_("folder name")) for p in parts) or None


def build_spec(
    s: Session, user: User, fields: dict[str, str], *, name_required: bool = True
) -> FileSpec:
    spec = FileSpec()
    name = fields.get("filename")
    if name is None:
        if name_required:
            raise BadRequest(
                "The file name is missing: send it as 'filename' in Upload-Metadata "
                "(base64-encoded, like every metadata value)."
            )
    else:
        spec.name = clean_name(name)
    filetype = fields.get("filetype")
    if filetype:
        if len(filetype) > 255:
            raise BadRequest("filetype: 255 characters at most.")
        spec.filetype = filetype
    if fields.get("folder"):
        _folder(s, user, fields["folder"], spec)
    description = fields.get("description") or ""
    if len(description) > 10_000:
        raise BadRequest("description: 10,000 characters at most.")
    spec.description = description
    if fields.get("public", "") != "":
        spec.public = parse_bool(fields["public"], "public")
    password = fields.get("password")
    if password:
        if len(password) > 1024:
            raise BadRequest("password: 1024 characters at most.")
        spec.password_hash = hash_password(password)
    if "expires" in fields:
        spec.expires = parse_expires(fields["expires"])
    if "max_downloads" in fields:
        spec.max_downloads = parse_max_downloads(fields["max_downloads"])
    return spec
