"""Previews on the public file page: which files get one, and how their bytes are served
(signed inline links: sandboxed, forced text type, never counted)."""

from __future__ import annotations

import html
import re
import struct
import zlib

import pytest

from partage.files.preview import TEXT_LIMIT, inline_type, preview_kind
from tests.files.conftest import set_fields

HTML = {"Accept": "text/html"}
EVIL = b"<html><script>document.cookie='owned=1';parent.document.title='owned'</script>hi</html>"


def png(width: int = 4, height: int = 3) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\xd0\x30\x30" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))  # fmt: skip


def _src(page: str, cls: str) -> str | None:
    m = re.search(r'class="' + cls + r'"[^>]*?\ssrc="([^"]+)"', page)
    return html.unescape(m.group(1)) if m else None


def _check_inline(r, content_type: str) -> None:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == content_type
    csp = r.headers["content-security-policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith("inline;")


def test_html_file_is_previewed_as_plain_text_in_a_sandbox(owner, maker, anon):
    made = maker.file(owner, EVIL, "page.html")
    page = anon.get(f"/{made.code}", headers=HTML).text
    frame = re.search(r"<iframe[^>]*preview-frame[^>]*>", page)
    assert frame is not None
    tag = frame.group(0)
    assert re.search(r"\ssandbox(\s|>)", tag) and "allow-" not in tag
    src = _src(page, "preview-frame")
    assert src and "/d/" in src
    r = anon.get(src)
    _check_inline(r, "text/plain; charset=utf-8")
    assert r.content == EVIL
    # The download button is still a plain download.
    link = html.unescape(page.split('public-file-download" href="')[1].split('"')[0])
    d = anon.get(link)
    assert d.headers["content-disposition"].startswith("attachment;")
    assert d.headers["content-type"].startswith("text/html")
    # A report button, linking to the report form with the file's code.
    assert f'href="/report?location={made.code}"' in page


def test_previews_are_not_counted(owner, maker, anon):
    made = maker.file(owner, b"some text\n", "notes.txt")
    src = _src(anon.get(f"/{made.code}", headers=HTML).text, "preview-frame")
    assert src
    # Made capped behind the link's back (same link version): a counted GET would use
    # the one download up and the next would be refused.
    set_fields(maker, made.code, max_downloads=1)
    for _ in range(3):
        assert anon.get(src).content == b"some text\n"
    assert maker.sql("select downloads from files where code = :c", c=made.code)[0][0] == 0
    # A range request works too (media and PDF viewers seek).
    r = anon.get(src, headers={"Range": "bytes=5-8"})
    assert r.status_code == 206 and r.content == b"text"


def test_image_svg_pdf_audio(owner, maker, anon):
    image = maker.file(owner, png(), "dot.png")
    page = anon.get(f"/{image.code}", headers=HTML).text
    src = _src(page, "preview-image")
    assert src
    r = anon.get(src)
    _check_inline(r, "image/png")
    assert r.content == png()

    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    made = maker.file(owner, svg, "x.svg")
    src = _src(anon.get(f"/{made.code}", headers=HTML).text, "preview-image")
    assert src
    r = anon.get(src)
    _check_inline(r, "image/svg+xml")  # sandboxed: no script, even opened on its own

    pdf = maker.file(owner, b"%PDF-1.4\n%%EOF\n", "doc.pdf")
    page = anon.get(f"/{pdf.code}", headers=HTML).text
    # Framed without the sandbox attribute (Chromium's viewer refuses it), sandboxed by
    # the response's CSP alone; a link to open it in a tab as the fallback.
    frame = re.search(r"<iframe[^>]*preview-pdf[^>]*>", page)
    assert frame is not None and "allow-" not in frame.group(0)
    src = _src(page, "preview-frame preview-pdf")
    assert src and f'class="preview-open" href="{html.escape(src)}"' in page
    _check_inline(anon.get(src), "application/pdf")

    audio = maker.file(owner, b"ID3" + b"\0" * 64, "song.mp3")
    page = anon.get(f"/{audio.code}", headers=HTML).text
    assert re.search(r"<audio[^>]*controls", page)


def test_no_preview(owner, maker, anon):
    capped = maker.file(owner, b"text", "capped.txt", max_downloads=5)
    page = anon.get(f"/{capped.code}", headers=HTML).text
    assert "data-preview" not in page and "/d/" in page
    binary = maker.file(owner, b"\x00\x01\x02binary", "blob.bin")
    assert "data-preview" not in anon.get(f"/{binary.code}", headers=HTML).text
    # The owner's own page previews a capped file (the owner is never counted).
    assert "data-preview" in owner.client.get(f"/{capped.code}", headers=HTML).text


def test_password_protected_preview(owner, maker, anon):
    made = maker.file(owner, b"secret notes", "locked.txt", password="pw")
    r = anon.get(f"/{made.code}", headers=HTML)
    assert r.status_code == 401 and "Unlock and preview" in r.text
    r = anon.post(f"/{made.code}", data={"password": "nope", "action": "view"}, headers=HTML)
    assert r.status_code == 403 and "data-preview" not in r.text
    r = anon.post(f"/{made.code}", data={"password": "pw", "action": "view"}, headers=HTML)
    assert r.status_code == 200
    src = _src(r.text, "preview-frame")
    assert src
    assert anon.get(src).content == b"secret notes"
    # Changing the password revokes the preview link like the download link.
    owner.client.patch(f"/api/v1/files/{made.code}", json={"password": "other"})
    assert anon.get(src).status_code == 403


@pytest.mark.parametrize(
    ("mime", "size", "kind"),
    [
        ("text/html", 10, "text"),
        ("application/json", 10, "text"),
        ("image/svg+xml", 10, "image"),
        ("text/plain", TEXT_LIMIT + 1, None),
        ("video/mp4", 50 * 2**30, "video"),
        ("application/pdf", 10, "pdf"),
        ("application/zip", 10, None),
    ],
)
def test_preview_kinds(mime, size, kind):
    assert preview_kind(mime, size) == kind
    assert preview_kind(mime, 10, capped=True) is None


def test_inline_types():
    assert inline_type("text/html") == "text/plain; charset=utf-8"
    assert inline_type("application/javascript") == "text/plain; charset=utf-8"
    assert inline_type("image/png") == "image/png"
    assert inline_type("application/octet-stream") is None


def test_video_page_has_the_player(owner, maker, anon):
    made = maker.file(owner, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "clip.mp4")
    page = anon.get(f"/{made.code}", headers=HTML)
    assert page.status_code == 200
    assert 'data-preview="video"' in page.text
    assert 'id="player"' in page.text and "/static/player.js" in page.text
    assert "/static/player.css" in page.text
