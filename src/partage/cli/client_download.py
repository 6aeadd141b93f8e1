"""`partage download`: stream a direct link to `PATH.part`, resume it with
`Range` + `If-Range`, check the SHA-256 the server gives as the ETag, then rename
the file into place."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import unicodedata
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit

import httpx

from partage.cli.client_api import TIMEOUT, error_from_response, transport_error, user_agent
from partage.cli.client_errors import ClientError, warn
from partage.cli.client_progress import progress_bar, status

BLOCK = 1024 * 1024
ETAG_XATTR = "user.partage.etag"  # where a .part remembers the version it holds
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def safe_name(raw: str) -> str:
    """A file name from the link, never a path: no separators, no control characters."""
    name = unicodedata.normalize("NFC", raw).strip()
    name = "".join("_" if c in "/\\" or unicodedata.category(c) == "Cc" else c for c in name)
    return name if name not in ("", ".", "..") else "download"


def destination(link: str, output: Path | None) -> Path:
    name = safe_name(unquote(urlsplit(link).path.rstrip("/").rpartition("/")[2]))
    if output is None:
        return Path.cwd() / name
    if output.is_dir() or str(output).endswith(("/", os.sep)):
        return output / name
    return output


def _get_xattr(path: Path) -> str | None:
    try:
        return os.getxattr(path, ETAG_XATTR).decode()
    except (AttributeError, OSError, UnicodeDecodeError):
        return None  # no xattrs on this platform or file system: resume without If-Range


def _set_xattr(path: Path, etag: str | None) -> None:
    with contextlib.suppress(AttributeError, OSError):
        if etag:
            os.setxattr(path, ETAG_XATTR, etag.encode())
        else:
            os.removexattr(path, ETAG_XATTR)


def _hash_prefix(path: Path, size: int) -> hashlib._Hash:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        left = size
        while left and (block := fh.read(min(BLOCK, left))):
            h.update(block)
            left -= len(block)
    return h


def expected_sha256(etag: str | None) -> str | None:
    if not etag:
        return None
    value = etag.strip().removeprefix("W/").strip('"').lower()
    return value if _SHA256.match(value) else None


def download(link: str, dest: Path, *, force: bool) -> Path:
    if dest.exists() and not force:
        raise ClientError(f"{dest} exists already: use --force to overwrite it")
    if dest.is_dir():
        raise ClientError(f"{dest} is a directory")
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    headers = {"User-Agent": user_agent(), "Accept-Encoding": "identity"}
    with httpx.Client(timeout=TIMEOUT, follow_redirects=True, headers=headers) as http:
        for _ in range(2):  # a second pass only when the .part turned out to be unusable
            done = _fetch(http, link, part)
            if done:
                break
        else:
            raise ClientError(f"could not download {link}")
    os.replace(part, dest)
    _set_xattr(dest, None)
    return dest


def _fetch(http: httpx.Client, link: str, part: Path) -> bool:
    """Download into `part` (resuming it); False when it must be started over."""
    offset = part.stat().st_size if part.exists() else 0
    request_headers: dict[str, str] = {}
    if offset:
        request_headers["Range"] = f"bytes={offset}-"
        if etag := _get_xattr(part):
            request_headers["If-Range"] = etag
    try:
        with http.stream("GET", link, headers=request_headers) as r:
            if r.status_code == 416:
                return _already_complete(http, link, r, part, offset)
            if r.status_code >= 400:
                r.read()
                raise error_from_response(r, hint_login=False)
            if r.status_code == 206:
                m = _CONTENT_RANGE.match(r.headers.get("content-range", ""))
                if not m or int(m.group(1)) != offset:
                    part.unlink()
                    return False
                total = int(m.group(3)) if m.group(3) != "*" else None
                hasher = _hash_prefix(part, offset)
                mode = "ab"
            else:  # 200: the whole file, because it changed or the server ignores Range
                offset = 0
                length = r.headers.get("content-length")
                total = int(length) if length is not None else None
                hasher = hashlib.sha256()
                mode = "wb"
            etag = r.headers.get("etag")
            with part.open(mode) as fh:
                if etag:
                    _set_xattr(part, etag)  # so that a later resume can send If-Range
                _stream(r, fh, hasher, part.name.removesuffix(".part"), offset, total)
    except httpx.HTTPError as exc:
        size = part.stat().st_size if part.exists() else 0
        if size:
            raise ClientError(
                f"download interrupted at {size:,} bytes ({exc or type(exc).__name__}): "
                "run the same command again to resume"
            ) from None
        raise transport_error(str(httpx.URL(link).copy_with(path="/", query=None)), exc) from None
    written = part.stat().st_size
    if total is not None and written != total:
        raise ClientError(
            f"the connection closed at {written:,} of {total:,} bytes: "
            "run the same command again to resume"
        )
    _verify(part, hasher.hexdigest(), etag)
    return True


def _stream(
    r: httpx.Response, fh: IO[bytes], hasher: hashlib._Hash, name: str, start: int,
    total: int | None,
) -> None:  # fmt: skip
    with progress_bar() as progress:
        if start:
            status(progress, f"resuming {name} at {start:,} bytes")
        task = progress.add_task(name, total=total, completed=start)
        for block in r.iter_raw(BLOCK):
            fh.write(block)
            hasher.update(block)
            progress.advance(task, len(block))
        fh.flush()
        os.fsync(fh.fileno())


def _already_complete(
    http: httpx.Client, link: str, r: httpx.Response, part: Path, offset: int
) -> bool:
    """416 to `Range: bytes=N-`: the .part holds everything, or more than the file has."""
    m = re.match(r"bytes \*/(\d+)", r.headers.get("content-range", ""))
    if m and int(m.group(1)) == offset:
        etag = r.headers.get("etag") or _get_xattr(part) or http.head(link).headers.get("etag")
        _verify(part, _hash_prefix(part, offset).hexdigest(), etag)
        return True
    part.unlink()
    return False


def _verify(part: Path, got: str, etag: str | None) -> None:
    want = expected_sha256(etag)
    if want is None:
        warn(f"the server sent no SHA-256 to check the download against (ETag {etag!r})")
        return
    if got != want:
        part.unlink()
        raise ClientError(
            f"SHA-256 mismatch: the download is corrupt (got {got}, expected {want}); "
            "the partial file was deleted: run the same command again to start over"
        )
