"""Helpers for the files tests: files created straight in the server's database and
store (the upload API is tested elsewhere), and links fetched the way clients do."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from partage.accounts.models import User
from partage.context import Context
from partage.files.blobs import blob_from_staged
from partage.files.links import LinkOptions, parse_expires
from partage.files.service import create_file
from tests.conftest import Account, db_context
from tests.serverproc import Server


@dataclass
class Made:
    code: str
    name: str
    size: int
    sha256: str
    content: bytes | None


class Maker:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.ctx: Context = db_context(server)

    def close(self) -> None:
        self.ctx.close()

    def file(
        self,
        owner: Account,
        content: bytes | Iterable[bytes] = b"hello world\n",
        name: str = "hello.txt",
        *,
        folder_id: int | None = None,
        public: bool = True,
        password: str | None = None,
        expires: str | None = None,
        max_downloads: int | None = None,
    ) -> Made:
        chunks = [content] if isinstance(content, bytes) else content
        h = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self.ctx.settings.staging_dir)
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                h.update(chunk)
                out.write(chunk)
                size += len(chunk)
        sha = h.hexdigest()
        opts = LinkOptions(public=public)
        if password is not None:
            opts.password = password
        if expires is not None:
            opts.expires = parse_expires(expires)
        if max_downloads is not None:
            opts.max_downloads = max_downloads
        with self.ctx.db.session() as s:
            user = s.scalar(select(User).where(User.email == owner.email))
            assert user is not None
            blob = blob_from_staged(s, self.ctx.store, Path(tmp), sha, size, name)
            f = create_file(s, user, blob, name, folder_id=folder_id, options=opts)
            code = f.code
        return Made(code, name, size, sha, content if isinstance(content, bytes) else None)

    def sql(self, statement: str, **params: Any) -> list[Any]:
        """Raw access to the server's database, for setting up states and checking counts."""
        from sqlalchemy import text

        with self.ctx.db.engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result) if result.returns_rows else []

    def owner_link(self, owner: Account, code: str) -> str:
        r = owner.client.get(f"/api/v1/files/{code}")
        assert r.status_code == 200, r.text
        return str(r.json()["download_url"])

    def visitor_link(self, code: str, password: str | None = None, **kw: Any) -> str:
        """The signed link a visitor gets from the public page (as JSON)."""
        with httpx.Client(base_url=self.server.url, timeout=30, **kw) as c:
            if password is None:
                r = c.get(f"/{code}", headers={"Accept": "application/json"})
            else:
                r = c.post(f"/{code}", json={"password": password},
                           headers={"Accept": "application/json"})  # fmt: skip
        assert r.status_code == 200, r.text
        return str(r.json()["download_url"])


@pytest.fixture(scope="session")
def maker(server: Server) -> Iterator[Maker]:
    m = Maker(server)
    yield m
    m.close()


@pytest.fixture
def anon(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def set_fields(maker: Maker, code: str, **values: Any) -> None:
    """Change a file's row directly (states the API cannot reach: past expiry, disabled)."""
    from sqlalchemy import update

    from partage.files.models import File

    with maker.ctx.db.session() as s:
        s.execute(update(File).where(File.code == code).values(**values))


def server_rss(pid: int) -> int:
    """Resident memory of a server process and its web workers (granian), in bytes.

    Descendants running another program are left out: the session's server runs media
    jobs in-process, and an ffmpeg started for an earlier test's video is not memory
    the request under measure holds."""
    total = 0
    todo = [pid]
    program = os.readlink(f"/proc/{pid}/exe")
    while todo:
        p = todo.pop()
        try:
            if os.readlink(f"/proc/{p}/exe") != program:
                continue
            status = Path(f"/proc/{p}/status").read_text()
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{p}/task").iterdir():
                children = (task / "children").read_text().split()
                todo.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


@pytest.fixture(scope="module")
def owner(server: Server) -> Iterator[Account]:
    """One account for a whole module, where tests do not need an empty account."""
    from tests.conftest import make_account

    acc = make_account(server)
    yield acc
    acc.client.close()
