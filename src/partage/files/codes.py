"""12-character public file codes, `[a-z0-9]{12}`, from a CSPRNG."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from partage.files.models import File
from partage.security import CODE_ALPHABET, random_code

# Top-level route names of the site: a code never shadows one of them.
RESERVED = frozenset(
    {
        "api", "d", "v", "f", "embed", "static", "login", "logout", "register", "files",
        "folder", "folders", "report", "admin", "terms", "transparency", "healthz", "readyz",
        "metrics", "account", "settings", "upload", "uploads", "favicon.ico", "robots.txt",
    }
)  # fmt: skip

CODE_LENGTH = 12


def is_code(text: str) -> bool:
    return len(text) == CODE_LENGTH and all(c in CODE_ALPHABET for c in text)


def new_code(s: Session) -> str:
    while True:
        code = random_code(CODE_LENGTH)
        if code in RESERVED:
            continue
        if s.scalar(select(File.id).where(File.code == code)) is None:
            return code
