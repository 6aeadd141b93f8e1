"""Where unfinished uploads remember their tus URL between runs.

A tuspy `Storage` (the interface its `store_url=True` resuming uses) kept as one
small file per upload in a directory. tuspy's own FileStorage keeps every URL in
one TinyDB JSON file with document ids cached per process, so two `partage
upload` running at once fail with "Document with ID … already exists" or tear the
file; here each entry is written to a temporary file and renamed, and different
uploads never touch the same file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from pathlib import Path

from tusclient.storage.interface import Storage

FORGET_AFTER = 14 * 86400  # servers expire abandoned uploads long before this


class UrlStore(Storage):  # type: ignore[misc]
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._forget_old()

    def _path(self, key: str) -> Path:
        return self.root / hashlib.sha256(key.encode()).hexdigest()

    def get_item(self, key: str) -> str | None:
        try:
            url = self._path(key).read_text(encoding="utf-8").strip()
        except (FileNotFoundError, UnicodeDecodeError):
            return None
        return url or None

    def set_item(self, key: str, value: str | None) -> None:
        if not value:  # tuspy stores whatever it looked up, None included
            self.remove_item(key)
            return
        path = self._path(key)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(value + "\n")
        os.replace(tmp, path)

    def remove_item(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def urls(self) -> list[str]:
        """Every stored URL (for tests and for a future `partage uploads` listing)."""
        out = []
        for p in sorted(self.root.iterdir()):
            if not p.name.endswith(".tmp"):
                with contextlib.suppress(OSError, UnicodeDecodeError):
                    out.append(p.read_text(encoding="utf-8").strip())
        return [u for u in out if u]

    def close(self) -> None:
        pass

    def _forget_old(self) -> None:
        now = time.time()
        for p in self.root.iterdir():
            age = FORGET_AFTER if not p.name.endswith(".tmp") else 3600  # torn writes
            with contextlib.suppress(OSError):
                if p.stat().st_mtime < now - age:
                    p.unlink()
