"""The `partage` client as a real process against a real server.

Each test gets its own HOME and XDG directories, so the stored login and the
resumable-upload store never leak between tests. Files that a test only needs to
exist (to list, move, share or download) are made straight in the server's
database and store, so those tests do not depend on the upload path.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from partage.accounts.models import User
from partage.context import Context
from partage.files.blobs import blob_from_staged
from partage.files.links import LinkOptions
from partage.files.service import create_file
from tests.conftest import Account, db_context
from tests.serverproc import Server


@dataclass
class Cli:
    """Runs `python -m partage.cli.main …` with an isolated home."""

    home: Path
    env: dict[str, str]

    def environ(self, **extra: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARTAGE_")}
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / "config"),
            XDG_CACHE_HOME=str(self.home / "cache"),
            COLUMNS="200",
        )
        env.update(self.env)
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "partage.cli.main", *args]

    def run(
        self, *args: str, input: str | None = None, cwd: Path | None = None, **env: str | None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args), capture_output=True, text=True, input=input, timeout=120,
            env=self.environ(**env), cwd=cwd or self.home,
        )  # fmt: skip

    def start(self, *args: str, stdin: int | None = None, **env: str | None) -> Any:
        return subprocess.Popen(
            self.argv(*args), stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=self.environ(**env), cwd=self.home,
        )  # fmt: skip

    def run_many(self, *calls: tuple[tuple[str, ...], dict[str, str | None]]) -> list[Any]:
        """Several invocations at once: each pays the interpreter's start-up."""
        return run_parallel(*((self, args, env, None) for args, env in calls))

    def stored_uploads(self) -> list[str]:
        """The tus URLs of unfinished uploads that the next run would resume."""
        root = self.home / "cache" / "partage" / "uploads"
        if not root.is_dir():
            return []
        return [p.read_text().strip() for p in root.iterdir() if not p.name.endswith(".tmp")]

    @property
    def config_file(self) -> Path:
        return self.home / "config" / "partage" / "config.toml"


def run_parallel(
    *calls: tuple[Cli, tuple[str, ...], dict[str, str | None], str | None],
) -> list[subprocess.CompletedProcess[str]]:
    """(cli, args, env, stdin text) for each; all started, then all awaited."""
    procs = [
        (c.start(*args, stdin=subprocess.PIPE if text is not None else subprocess.DEVNULL,
                 **env), text)
        for c, args, env, text in calls
    ]  # fmt: skip
    out = []
    for p, text in procs:
        stdout, stderr = p.communicate(text, timeout=120)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out


@pytest.fixture
def cli(tmp_path: Path, server: Server, alice: Account) -> Cli:
    """The CLI logged in as alice through PARTAGE_URL / PARTAGE_TOKEN."""
    home = tmp_path / "home"
    home.mkdir()
    return Cli(home, {"PARTAGE_URL": server.url, "PARTAGE_TOKEN": alice.token})


@dataclass
class Made:
    code: str
    name: str
    content: bytes
    sha256: str


class Maker:
    def __init__(self, server: Server) -> None:
        self.ctx: Context = db_context(server)

    def file(
        self, owner: Account, content: bytes, name: str = "hello.txt", *,
        password: str | None = None, public: bool = True,
    ) -> Made:  # fmt: skip
        sha = hashlib.sha256(content).hexdigest()
        fd, tmp = tempfile.mkstemp(dir=self.ctx.settings.staging_dir)
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        opts = LinkOptions(public=public)
        if password is not None:
            opts.password = password
        with self.ctx.db.session() as s:
            user = s.scalar(select(User).where(User.email == owner.email))
            assert user is not None
            blob = blob_from_staged(s, self.ctx.store, Path(tmp), sha, len(content), name)
            code = create_file(s, user, blob, name, options=opts).code
        return Made(code, name, content, sha)


@pytest.fixture(scope="session")
def maker(server: Server) -> Iterator[Maker]:
    m = Maker(server)
    yield m
    m.ctx.close()


def no_traceback(r: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in r.stderr, r.stderr
    assert "Traceback" not in r.stdout, r.stdout
