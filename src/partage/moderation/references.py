"""Reference files of rights holders: fingerprinted in a temporary file, never stored.

What is kept of a reference is what identifies its content: its SHA-256 and MD5 (exact
copies), and its PDQ or vPDQ print (altered copies). The bytes are deleted as soon as the
prints are made, whatever happens."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from partage.errors import BadRequest, TooLarge
from partage.files.blobs import sniff_mime
from partage.humanize import size as hsize
from partage.moderation.banks import EntryIn
from partage.moderation.fingerprints import fingerprint
from partage.settings import Settings


class ReferenceFile:
    """A reference's bytes in a private temp file, hashed as they arrive."""

    def __init__(self, settings: Settings, limit: int) -> None:
        settings.ensure_dirs()
        self.path = settings.staging_dir / f"ref-{secrets.token_hex(16)}"
        self._f = open(self.path, "xb")  # noqa: SIM115 - closed in `close`/`discard`
        os.chmod(self.path, 0o600)
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0
        self.limit = limit
        self.head = b""

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise TooLarge("A reference file is %(limit)s at most.", limit=hsize(self.limit))
        if len(self.head) < 8192:
            self.head += chunk[: 8192 - len(self.head)]
        self._f.write(chunk)
        self.sha256.update(chunk)
        self.md5.update(chunk)

    async def receive(self, stream: AsyncIterator[bytes]) -> None:
        async for chunk in stream:
            self.write(chunk)

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()

    def discard(self) -> None:
        self.close()
        Path(self.path).unlink(missing_ok=True)

    def entries(
        self, settings: Settings, name: str, declared: str | None, label: str
    ) -> list[EntryIn]:
        """The reference's fingerprints (the caller then discards the file)."""
        self.close()
        if self.size == 0:
            raise BadRequest("The reference file is empty.")
        from partage.media.ffmpeg import ffmpeg_path

        mime = sniff_mime(self.head, name or "reference", declared)
        label = label or name
        out = [
            EntryIn("sha256", self.sha256.hexdigest(), label),
            EntryIn("md5", self.md5.hexdigest(), label),
        ]
        # A bank keeps the denser reference print of a video (see fingerprints).
        prints = fingerprint(self.path, mime, ffmpeg=ffmpeg_path(settings), reference=True)
        return out + [EntryIn(kind, value, label) for kind, value in prints]
