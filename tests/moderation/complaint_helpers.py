"""Helpers for the complaint tests: accounts with roles, uploads, notices and decisions
through the real API, and the operator CLI run against a test server's database."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from typing import Any

import httpx
from sqlalchemy import select

from partage.accounts.models import User
from tests.conftest import Account, db_context, make_account
from tests.serverproc import Server

DISABLE = {
    "action": "disable",
    "ground": "law",
    "legal_ground": "Copyright: Directive 2001/29/EC Art. 3",
    "facts": "The file is a complete copy of the notified work.",
}
COUNTER = {
    "signature": "Ada Uploader",
    "identification": "my-holiday.mp4, at /abc before its removal",
    "name": "Ada Uploader",
    "address": "1 Example Street, 75001 Paris, France",
    "phone": "+33 1 23 45 67 89",
    "good_faith": True,
    "jurisdiction": True,
    "service": True,
}


def set_user(srv: Server, email: str, **values: Any) -> None:
    ctx = db_context(srv)
    try:
        with ctx.db.session() as s:
            user = s.scalar(select(User).where(User.email == email))
            assert user is not None
            for k, v in values.items():
                setattr(user, k, v)
    finally:
        ctx.close()


def moderator(srv: Server) -> Account:
    acc = make_account(srv)
    set_user(srv, acc.email, is_moderator=True)
    return acc


def upload(acc: Account, name: str = "work.txt") -> str:
    r = acc.client.put(
        f"/api/v1/files/{name}",
        content=b"bytes " + secrets.token_bytes(16),
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def notify(srv: Server, code: str, category: str = "copyright") -> tuple[str, str]:
    """A notice about `code`: its tracking ref and the notifier's e-mail."""
    email = f"rights-{secrets.token_hex(3)}@studio.example"
    body = {
        "category": category, "locations": [code], "work": "The Example Film (2026)",
        "legal_ground": "Penal code art. 1", "explanation": "A full copy of our film.",
        "notifier_name": "Rita Holder", "notifier_email": email, "good_faith": True,
        "accurate": True, "signature": "Rita Holder",
    }  # fmt: skip
    r = httpx.post(f"{srv.url}/api/v1/notices", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["ref"]), email


def decide(mod: Account, notice_ref: str, **body: Any) -> dict[str, Any]:
    r = mod.client.post(f"/api/v1/moderation/notices/{notice_ref}/decide", json={**DISABLE, **body})
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def disabled_file(srv: Server, mod: Account, owner: Account, category: str = "copyright"):
    """A file of `owner` disabled on a notice: (code, notice ref, notifier e-mail,
    the owner's statement as the API shows it)."""
    code = upload(owner)
    ref, email = notify(srv, code, category)
    decide(mod, ref)
    items = owner.client.get("/api/v1/statements").json()["items"]
    st = next(i for i in items if any(f["code"] == code for f in i["files"]))
    return code, ref, email, st


def partage_cli(srv: Server, *args: str) -> subprocess.CompletedProcess[str]:
    """`partage …` on the server's data dir, database and store, as an operator runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTAGE_")}
    if srv.database_url:
        env["PARTAGE_DATABASE_URL"] = srv.database_url
    env.update(srv.storage_env)
    return subprocess.run(
        [sys.executable, "-m", "partage.cli.main", *args, "--data-dir", str(srv.data_dir)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
