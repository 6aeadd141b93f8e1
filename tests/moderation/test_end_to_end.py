"""The whole chain of issue 6 on one server of its own, so every figure is known:

notice → receipt → decision → 451 on the page, the download and the stream → statement of
reasons → counter-notice → restoration after the waiting period (the clock given to the
operator command) → strikes → upload suspension → account closed; an exact re-upload of
banked content refused; a re-encoded re-upload caught; the transparency report's figures
equal to what the test did."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.accounts.conftest import Inbox, mail_env
from tests.conftest import Account, make_account
from tests.moderation.complaint_helpers import COUNTER, partage_cli
from tests.moderation.staydown_helpers import (
    file_state,
    make_moderator,
    new_bank,
    reencode,
    sql,
    video,
    wait_for,
)
from tests.serverproc import Server

JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html"}
DISABLE = {
    "action": "disable",
    "ground": "law",
    "legal_ground": "Copyright: Directive 2001/29/EC Art. 3",
    "facts": "A complete copy of the notified film.",
}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, inbox: Inbox) -> Iterator[Server]:
    server = Server(
        Path(tmp_path_factory.mktemp("e2e")) / "data",
        env={
            **mail_env(inbox),
        },
    ).start()
    yield server
    server.stop()


def put(acc: Account, name: str, data: bytes) -> httpx.Response:
    return acc.client.put(f"/api/v1/files/{name}", content=data, headers=JSON)


def notice(srv: Server, holder: Account, email: str, *locations: str) -> str:
    body = {
        "category": "copyright", "locations": list(locations),
        "explanation": "A full copy of our film.", "work": "The Example Film (2026)",
        "notifier_name": "Rita Holder", "notifier_email": email, "good_faith": True,
        "accurate": True, "signature": "Rita Holder",
    }  # fmt: skip
    r = holder.client.post("/api/v1/notices", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["ref"])


def decide(mod: Account, ref: str, **more: Any) -> dict[str, Any]:
    r = mod.client.post(f"/api/v1/moderation/notices/{ref}/decide", json={**DISABLE, **more})
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_notice_to_restoration_strikes_staydown_and_transparency(
    srv: Server, inbox: Inbox, tmp_path: Path
) -> None:
    mod = make_moderator(srv)
    holder = make_account(srv)
    holder_email = f"rights-{secrets.token_hex(3)}@studio.example"
    uploader = make_account(srv)
    bank = new_bank(mod, "films", "disable", owner=holder.email)

    # -- notice → receipt → decision → 451 everywhere ------------------------------------
    film = video(tmp_path / "film.mp4", seed=11).read_bytes()
    code = put(uploader, "film.mp4", film).json()["code"]
    media = wait_for(
        lambda: (
            (m := uploader.client.get(f"/api/v1/files/{code}/media").json()).get("direct_url") and m
        ),
        timeout=120,
    )
    stream = media["direct_url"]
    assert httpx.get(stream, headers={"Range": "bytes=0-99"}).status_code == 206
    ref1 = notice(srv, holder, holder_email, f"{srv.url}/v/{code}")
    receipt = inbox.wait(holder_email)
    assert ref1 in receipt["Subject"]
    d1 = decide(mod, ref1, bank_id=bank)
    assert httpx.get(f"{srv.url}/{code}", headers=HTML).status_code == 451
    assert httpx.get(f"{srv.url}/{code}", headers=JSON).json()["decision"] == d1["ref"]
    assert httpx.get(f"{srv.url}/v/{code}", headers=HTML).status_code == 451
    assert httpx.get(stream, headers={"Range": "bytes=0-99"}).status_code == 451
    assert httpx.get(f"{srv.url}/api/v1/notices/{ref1}").json()["status"] == "actioned"

    # -- statement of reasons → counter-notice → restored after 10 business days -------
    [st] = uploader.client.get("/api/v1/statements").json()["items"]
    assert st["decision"] == d1["ref"] and st["notice"] == ref1
    assert st["automated_detection"] is False and st["legal_ground"] == DISABLE["legal_ground"]
    r = uploader.client.post(f"/api/v1/statements/{st['ref']}/counter-notices", json=COUNTER)
    assert r.status_code == 201, r.text
    forwarded = inbox.wait(holder_email, count=3)  # receipt, decision, counter-notice
    assert COUNTER["address"] in forwarded.get_content()
    assert partage_cli(srv, "admin", "moderation", "restore-due").returncode == 0
    assert httpx.get(f"{srv.url}/{code}", headers=JSON).status_code == 451  # not yet
    later = (datetime.now(UTC) + timedelta(days=15)).isoformat()
    r = partage_cli(srv, "admin", "moderation", "restore-due", "--at", later)
    assert r.returncode == 0, r.stderr
    assert httpx.get(f"{srv.url}/{code}", headers=JSON).status_code == 200
    # Content found lawful does not stay down: the decision's bank entries went with it.
    assert put(make_account(srv), "film-again.mp4", film).status_code == 201

    # -- strikes: a warning, then no uploads, then the account is closed ---------------
    codes = [put(uploader, f"copy{i}.txt", secrets.token_bytes(64)).json()["code"]
             for i in range(3)]  # fmt: skip
    decide(mod, notice(srv, holder, holder_email, codes[0]))
    assert put(uploader, "still-fine.txt", b"ok").status_code == 201  # warning only
    decide(mod, notice(srv, holder, holder_email, codes[1]))
    r = put(uploader, "refused.txt", b"no")
    assert r.status_code == 403 and "upload" in r.json()["message"].lower()
    decide(mod, notice(srv, holder, holder_email, codes[2]))
    assert uploader.client.get("/api/v1/files").status_code in (401, 403)  # account closed
    assert sql(srv, "SELECT is_active FROM users WHERE email = :e", e=uploader.email)[0][0] in (
        False, 0)  # fmt: skip

    # -- staydown: exact re-upload refused, re-encoded re-upload caught ----------------
    other = make_account(srv)
    clip = video(tmp_path / "clip.mp4", seed=12).read_bytes()
    clip_code = put(other, "clip.mp4", clip).json()["code"]
    wait_for(lambda: sql(srv, "SELECT count(*) FROM blob_fingerprints f JOIN files x ON "
                              "x.blob_id = f.blob_id WHERE x.code = :c", c=clip_code)[0][0],
             timeout=120)  # fmt: skip
    decide(mod, notice(srv, holder, holder_email, clip_code), bank_id=bank)
    third = make_account(srv)
    blobs_before = sql(srv, "SELECT count(*) FROM blobs")[0][0]
    r = put(third, "clip-copy.mp4", clip)
    assert r.status_code == 451 and r.json()["error"] == "content_blocked"
    assert sql(srv, "SELECT count(*) FROM blobs")[0][0] == blobs_before  # nothing stored
    copy = reencode(tmp_path / "clip.mp4", tmp_path / "clip-small.mp4").read_bytes()
    caught = put(third, "holiday.mp4", copy).json()["code"]
    state = wait_for(lambda: (s := file_state(srv, caught))[0] == "disabled" and s, timeout=180)
    assert httpx.get(f"{srv.url}/{caught}", headers=JSON).status_code == 451
    [auto] = third.client.get("/api/v1/statements").json()["items"]
    assert auto["decision"] == state[1]
    assert auto["automated_detection"] is True and auto["automated_decision"] is True

    # -- the transparency report counts exactly this ------------------------------------
    report = httpx.get(f"{srv.url}/transparency", headers=JSON).json()
    notices = report["notices"]
    assert notices["total"] == 5 and notices["by_category"]["copyright"] == 5
    assert notices["by_source"]["api"] == 5
    decisions = report["decisions"]
    assert decisions["by_action"]["disable"] == 5 and decisions["automated"] == 1
    assert decisions["by_source"]["bank_match"] == 1
    complaints = report["complaints"]
    assert complaints["by_kind"]["counter_notice"]["total"] == 1
    assert complaints["by_kind"]["counter_notice"]["by_outcome"]["restored"] == 1
    matches = report["bank_matches"]
    assert matches["by_outcome"]["refused"] == 1 and matches["by_outcome"]["disabled"] == 1
    suspensions = report["suspensions"]
    assert suspensions["accounts"]["total"] == 1 and suspensions["upload_suspensions"] == 1
