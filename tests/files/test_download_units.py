"""Pure helpers of the download path (no server): Range parsing, Content-Disposition."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from partage.files.http_semantics import content_disposition, parse_ranges


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        ("bytes=0-0", 10, [(0, 0)]),
        ("bytes=2-", 10, [(2, 9)]),
        ("bytes=-3", 10, [(7, 9)]),
        ("bytes=-0", 10, []),
        ("bytes=10-", 10, []),
        ("bytes=0-", 0, []),
        ("bytes=0-1,1-2,4-5", 10, [(0, 2), (4, 5)]),
        ("bytes=0-1,2-3", 10, [(0, 3)]),  # adjacent: one part
        ("bytes=8-9,0-1", 10, [(0, 1), (8, 9)]),
        (" BYTES = 1-2 ", 10, [(1, 2)]),
        ("bytes=1-2," + ",".join(["0-0"] * 64), 10, None),  # too many parts
        ("bytes=x-1", 10, None),
        ("bytes=-", 10, None),
        ("bytes=3-1", 10, None),
        ("lines=1-2", 10, None),
        ("bytes", 10, None),
    ],
)
def test_parse_ranges(header, size, expected):
    assert parse_ranges(header, size) == expected


@pytest.mark.parametrize(
    ("name", "fallback"),
    [
        ("report.pdf", "report.pdf"),
        ("résumé.pdf", "resume.pdf"),
        ('say "hi"\\now.txt', "say _hi__now.txt"),
        ("100% done.txt", "100_ done.txt"),
        ("日本語.txt", "download.txt"),
        ("📄", "download"),
    ],
)
def test_content_disposition(name, fallback):
    value = content_disposition(name).decode("latin-1")
    assert value.isascii()
    head, star = value.split("; filename*=")
    assert head == f'attachment; filename="{fallback}"'
    assert star.startswith("UTF-8''")
    encoded = star[len("UTF-8''") :]
    assert all(c.isalnum() or c in "!#$&+-.^_`|~%" for c in encoded)
    assert unquote(encoded, encoding="utf-8") == name
