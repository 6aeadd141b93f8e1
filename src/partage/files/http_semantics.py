"""HTTP semantics of file responses: byte ranges (RFC 9110 §14), validators and
conditional requests (§13), and Content-Disposition (RFC 6266 / RFC 8187)."""

from __future__ import annotations

import unicodedata
from email.utils import parsedate_to_datetime
from urllib.parse import quote

MAX_RANGES = 64  # more parts than this is abuse, not a client: serve the whole file
# Positions beyond any file's size mean "past the end": clamped before int() so a
# thousand-digit position costs nothing (and never hits Python's 4300-digit limit).
_BEYOND = 1 << 63


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()  # str.isdigit alone admits "²" (latin-1 0xb2)


def _position(digits: str) -> int:
    return _BEYOND if len(digits) > 19 else min(int(digits), _BEYOND)


def content_disposition(name: str) -> bytes:
    """RFC 6266 with an RFC 8187 UTF-8 name and a plain ASCII fallback."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = "".join(
        "_" if c in '"\\%' or ord(c) < 32 or ord(c) == 127 else c for c in ascii_name
    ).strip()
    if not ascii_name or ascii_name.startswith("."):
        ascii_name = "download" + (ascii_name if ascii_name.startswith(".") else "")
    encoded = quote(name, safe="!#$&+-.^_`|~")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}".encode()


def parse_ranges(header: str, size: int) -> list[tuple[int, int]] | None:
    """`bytes=…` → inclusive (start, end) pairs, sorted and merged when they overlap.

    None: ignore the header (malformed, another unit, too many parts): serve 200.
    []: syntactically fine but nothing satisfiable: 416."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec.strip():
        return None
    parts = spec.split(",")
    if len(parts) > MAX_RANGES:
        return None
    ranges: list[tuple[int, int]] = []
    for part in parts:
        first, dash, last = part.strip().partition("-")
        if not dash:
            return None
        first, last = first.strip(), last.strip()
        if (first and not _ascii_digits(first)) or (last and not _ascii_digits(last)):
            return None
        if not first:
            if not last:
                return None
            n = _position(last)
            if n == 0 or size == 0:
                continue
            ranges.append((max(0, size - n), size - 1))
            continue
        start = _position(first)
        end = _position(last) if last else size - 1
        if last and end < start:
            return None
        if start >= size:
            continue
        ranges.append((start, min(end, size - 1)))
    if len(ranges) <= 1:
        return ranges
    ranges.sort()
    merged = [ranges[0]]
    for start, end in ranges[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end + 1:
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def etag_list(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


def weak_match(header: str, etag: str) -> bool:
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in etag_list(header))


def strong_match(header: str, etag: str) -> bool:
    return any(tag == "*" or tag == etag for tag in etag_list(header))


def http_date(value: str) -> int | None:
    try:
        return int(parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def if_range_ok(value: str, etag: str, last_modified: str) -> bool:
    value = value.strip()
    if value.startswith('"') or value.startswith("W/"):
        return value == etag  # strong comparison: a weak tag never matches
    return value == last_modified  # a date matches only the exact Last-Modified
