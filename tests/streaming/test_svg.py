"""SVG uploads are documents, not pictures: no media job (so nothing in the failures
list), no perceptual fingerprint and no decoder error logged; the file is stored and
downloads as it was."""

from __future__ import annotations

import re
import time
from pathlib import Path

from sqlalchemy import func, select

from partage.files.models import Blob
from partage.moderation.models import BlobFingerprint
from tests.conftest import db_context
from tests.streaming.conftest import Stream, make_admin

SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
    b'<rect width="64" height="64" fill="teal"/><script>alert(1)</script></svg>\n'
)


def _logs(stream: Stream) -> str:
    d = stream.server.data_dir
    return "".join(
        p.read_text(errors="replace") for p in d.parent.glob(f"*-{d.name}.log") if p.is_file()
    )


def _screened(stream: Stream, sha256: str, timeout: float = 60) -> None:
    """Wait until the staydown screening has looked at the blob (it fills the MD5)."""
    ctx = db_context(stream.server)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with ctx.db.read() as s:
                if s.scalar(select(Blob.md5).where(Blob.sha256 == sha256)):
                    printed = s.scalar(
                        select(func.count(BlobFingerprint.id))
                        .join(Blob, Blob.id == BlobFingerprint.blob_id)
                        .where(Blob.sha256 == sha256)
                    )
                    assert printed == 0
                    return
            time.sleep(0.2)
        raise AssertionError("the SVG was never screened")
    finally:
        ctx.close()


def test_svg_is_skipped_cleanly(stream: Stream, tmp_path: Path) -> None:
    acc = stream.account()
    src = tmp_path / "logo.svg"
    src.write_bytes(SVG)
    code = stream.upload(acc, src)
    made = acc.client.get(f"/api/v1/files/{code}").json()
    view = stream.wait(acc, code)
    assert (view["state"], view["kind"]) == ("not_media", "other"), view
    _screened(stream, made["sha256"])

    admin = make_admin(stream)
    failed = admin.get("/api/v1/admin/media", params={"state": "failed"}).json()["items"]
    assert made["sha256"] not in {m["sha256"] for m in failed}
    assert made["sha256"] not in {
        m["sha256"] for m in admin.get("/api/v1/admin/media").json()["items"]
    }
    # The server is shared with other tests (corrupt videos log decoder errors): only the
    # lines about this blob count, by its MIME type (fingerprints) or its id (media jobs).
    ctx = db_context(stream.server)
    with ctx.db.read() as s:
        blob_id = s.scalar(select(Blob.id).where(Blob.sha256 == made["sha256"]))
    ctx.close()
    ours = [
        line
        for line in _logs(stream).splitlines()
        if "image/svg+xml" in line or re.search(rf"media job {blob_id}\b", line)
    ]
    assert not [line for line in ours if "fingerprint" in line or "failed" in line], ours
    assert acc.client.get(f"/api/v1/files/{code}").json()["mime"] == "image/svg+xml"
