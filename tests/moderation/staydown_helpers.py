"""Helpers for the staydown tests: moderators and rights holders, generated media, tus
uploads over plain httpx, and reads of the server's database."""

from __future__ import annotations

import base64
import hashlib
import secrets
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg
from sqlalchemy import text

from tests.conftest import Account, db_context, make_account
from tests.serverproc import Server

JSON = {"Accept": "application/json"}


def make_moderator(srv: Server) -> Account:
    acc = make_account(srv)
    sql(srv, "UPDATE users SET is_moderator = :t WHERE email = :e", t=True, e=acc.email)
    return acc


def sql(srv: Server, query: str, **params: Any) -> list[Any]:
    """Run SQL on the server's own database; rows as a list (empty for writes)."""
    ctx = db_context(srv)
    try:
        with ctx.db.engine.begin() as conn:
            res = conn.execute(text(query), params)
            return list(res) if res.returns_rows else []
    finally:
        ctx.close()


def user_id(srv: Server, acc: Account) -> int:
    return int(sql(srv, "SELECT id FROM users WHERE email = :e", e=acc.email)[0][0])


def wait_for(what: Callable[[], Any], timeout: float = 60, step: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = what()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"still {got!r} after {timeout} s")
        time.sleep(step)


def ffmpeg(*args: str | Path) -> None:
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error",
         *map(str, args)],
        check=True, timeout=120,
    )  # fmt: skip


def video(path: Path, seed: int = 0) -> Path:
    """A 6 s 240p clip with plenty of motion and detail (vPDQ needs texture)."""
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=426x240:rate=25:duration=6,hue=h={seed * 40}",
           "-f", "lavfi", "-i", f"mandelbrot=size=426x240:rate=25:start_scale={0.3 + seed / 10}",
           "-filter_complex", "[0][1]blend=all_mode=average,format=yuv420p", "-t", "6",
           "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", path)  # fmt: skip
    return path


def reencode(src: Path, dst: Path) -> Path:
    """The copy an uploader would make: smaller, at a low bitrate, another codec setting."""
    ffmpeg("-i", src, "-vf", "scale=320:180", "-c:v", "libx264", "-preset", "ultrafast",
           "-b:v", "150k", "-an", dst)  # fmt: skip
    return dst


def image(path: Path, seed: int = 0) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"mandelbrot=size=640x480:start_scale={0.5 + seed / 7}",
           "-frames:v", "1", path)  # fmt: skip
    return path


def recompress(src: Path, dst: Path) -> Path:
    """Resized to 60 % and saved as a low-quality JPEG."""
    ffmpeg("-i", src, "-vf", "scale=384:288", "-q:v", "20", "-frames:v", "1", dst)
    return dst


def upload_form(acc: Account, name: str, data: bytes) -> httpx.Response:
    return acc.client.post("/api/v1/files", files={"file": (name, data)}, headers=JSON)


def upload_put(acc: Account, name: str, data: bytes) -> httpx.Response:
    return acc.client.put(f"/api/v1/files/{name}", content=data, headers=JSON)


def upload_tus(
    acc: Account, name: str, data: bytes, chunk: int = 1 << 20
) -> tuple[str, httpx.Response]:
    """A tus 1.0 upload in chunks; (upload id, the last PATCH's response)."""
    meta = "filename " + base64.b64encode(name.encode()).decode()
    tus = {"Tus-Resumable": "1.0.0"}
    r = acc.client.post("/api/v1/uploads", headers={**tus, "Upload-Length": str(len(data)),
                                                    "Upload-Metadata": meta})  # fmt: skip
    assert r.status_code == 201, r.text
    upload_id = r.headers["location"].rstrip("/").rsplit("/", 1)[1]
    offset = 0
    while True:
        part = data[offset : offset + chunk]
        r = acc.client.patch(
            f"/api/v1/uploads/{upload_id}", content=part,
            headers={**tus, "Upload-Offset": str(offset),
                     "Content-Type": "application/offset+octet-stream"},
        )  # fmt: skip
        offset += len(part)
        if r.status_code != 204 or offset >= len(data):
            return upload_id, r


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def unique_bytes(label: str, size: int = 300_000) -> bytes:
    return label.encode() + secrets.token_bytes(size)


def file_state(srv: Server, code: str) -> tuple[str, str | None, str | None]:
    row = sql(
        srv, "SELECT status, disabled_ref, disabled_reason FROM files WHERE code = :c", c=code
    )
    return (str(row[0][0]), row[0][1], row[0][2])


def new_bank(mod: Account, name: str, on_match: str, owner: str | None = None) -> int:
    body = {"name": f"{name}-{secrets.token_hex(3)}", "source": "tests", "on_match": on_match}
    if owner:
        body["owner"] = owner
    r = mod.client.post("/api/v1/banks", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])
