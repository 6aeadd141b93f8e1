"""Staydown through the real server: exact re-uploads refused (451, nothing stored) over
tus, PUT and forms; MD5-only entries; perceptual matches of a re-encoded video and of a
re-compressed image, disabled automatically or queued for review; hash-list import and
export; reference files (fingerprinted, not stored); the backfill; who may touch a bank."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from partage.context import Context
from partage.moderation import screening
from partage.uploads.objectstaging import object_store
from tests.accounts.conftest import csrf_of, web_login
from tests.conftest import Account, db_context, make_account
from tests.moderation.staydown_helpers import (
    JSON,
    ffmpeg,
    file_state,
    image,
    make_moderator,
    md5,
    new_bank,
    recompress,
    reencode,
    sha256,
    sql,
    unique_bytes,
    upload_form,
    upload_put,
    upload_tus,
    user_id,
    video,
    wait_for,
)
from tests.serverproc import Server

HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own: its banks must not reach other tests' uploads."""
    s = Server(tmp_path_factory.mktemp("staydown") / "data").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def ctx(srv: Server) -> Iterator[Context]:
    c = db_context(srv)
    yield c
    c.close()


@pytest.fixture(scope="module")
def mod(srv: Server) -> Iterator[Account]:
    acc = make_moderator(srv)
    yield acc
    acc.client.close()


def add_entries(acc: Account, bank: int, *entries: dict[str, str]) -> httpx.Response:
    return acc.client.post(f"/api/v1/banks/{bank}/entries", json={"entries": list(entries)})


def blobs_with(srv: Server, digest: str) -> int:
    return int(sql(srv, "SELECT count(*) FROM blobs WHERE sha256 = :h", h=digest)[0][0])


def staged_names(srv: Server) -> set[str]:
    d = srv.data_dir / "staging"
    return {p.name for p in d.iterdir()} if d.exists() else set()


# -- exact refusal at upload ----------------------------------------------------------------


def test_exact_reupload_refused_over_tus_and_form(srv: Server, ctx: Context, mod: Account) -> None:
    bank = new_bank(mod, "exact", "disable")
    banned = unique_bytes("banned", 2_500_000)  # several tus chunks
    r = add_entries(mod, bank, {"kind": "sha256", "value": sha256(banned), "label": "Work A"})
    assert r.status_code == 201 and r.json()["added"] == 1
    uploader = make_account(srv)
    before = staged_names(srv)

    upload_id, r = upload_tus(uploader, "again.bin", banned)
    assert r.status_code == 451, r.text
    assert r.json()["error"] == "content_blocked"
    assert "may not be uploaded again" in r.json()["message"]
    assert blobs_with(srv, sha256(banned)) == 0
    assert upload_id not in staged_names(srv) and staged_names(srv) <= before | {upload_id}
    store = object_store(ctx)
    if store is not None:  # staged in the object store: the assembled object went too
        assert store.object_size(f"uploads/{upload_id}") is None
        assert store.object_size(f"uploads/{upload_id}.tail") is None

    r = upload_form(uploader, "again.bin", banned)
    assert r.status_code == 451 and r.json()["error"] == "content_blocked"
    assert blobs_with(srv, sha256(banned)) == 0
    assert staged_names(srv) <= before
    assert uploader.client.get("/api/v1/files", params={"all": True}).json()["total"] == 0

    uid = user_id(srv, uploader)
    refused = sql(srv, "SELECT kind, bank_id, blob_id FROM bank_matches "
                       "WHERE user_id = :u AND outcome = 'refused'", u=uid)  # fmt: skip
    assert [tuple(x) for x in refused] == [("sha256", bank, None)] * 2
    audited = sql(srv, "SELECT actor, after FROM audit_events WHERE action = 'bank_match.refused'"
                       " AND subject = :s", s=f"user:{uid}")  # fmt: skip
    assert len(audited) == 2 and audited[0][0] == "system"
    # Other content still goes through.
    assert upload_form(uploader, "fine.bin", unique_bytes("fine")).status_code == 201


def test_md5_only_entry_refuses_a_put(srv: Server, mod: Account) -> None:
    bank = new_bank(mod, "md5", "review")
    banned = unique_bytes("md5 only")
    assert add_entries(mod, bank, {"kind": "md5", "value": md5(banned)}).status_code == 201
    uploader = make_account(srv)
    r = upload_put(uploader, "copy.bin", banned)
    assert r.status_code == 451 and r.json()["error"] == "content_blocked", r.text
    assert blobs_with(srv, sha256(banned)) == 0
    # An allowed upload gets its MD5 stored with the blob (computed for the check).
    ok = unique_bytes("allowed")
    assert upload_put(uploader, "ok.bin", ok).status_code == 201
    assert sql(srv, "SELECT md5 FROM blobs WHERE sha256 = :h", h=sha256(ok))[0][0] == md5(ok)


def test_decision_ref_in_refusal_and_backfill_of_exact_entry(srv: Server, mod: Account) -> None:
    """A file already stored is disabled when its hash is banked (the backfill); a later
    upload of the same bytes is refused."""
    uploader = make_account(srv)
    data = unique_bytes("stored first")
    r = upload_form(uploader, "early.bin", data)
    assert r.status_code == 201
    code = r.json()["files"][0]["code"]
    bank = new_bank(mod, "backfill", "disable")
    entry = {"kind": "sha256", "value": sha256(data), "label": "Directive 2001/29/EC, art. 3"}
    assert add_entries(mod, bank, entry).status_code == 201
    state = wait_for(lambda: (s := file_state(srv, code))[0] == "disabled" and s, timeout=90)
    assert state[1] is not None and state[1].startswith("D")
    assert state[2] == "Directive 2001/29/EC, art. 3"
    assert httpx.get(f"{srv.url}/{code}", headers=HTML).status_code == 451
    backfilled = sql(srv, "SELECT backfilled_at FROM bank_entries WHERE bank_id = :b", b=bank)
    assert backfilled[0][0] is not None
    r = upload_form(make_account(srv), "again.bin", data)
    assert r.status_code == 451


# -- perceptual matches ---------------------------------------------------------------------


def test_reencoded_video_is_disabled_automatically(
    srv: Server, ctx: Context, mod: Account, tmp_path: Path
) -> None:
    holder = make_account(srv)
    bank = new_bank(mod, "films", "disable", owner=holder.email)
    original = video(tmp_path / "original.mp4", seed=1)
    raw = original.read_bytes()
    r = holder.client.post(
        f"/api/v1/banks/{bank}/references", params={"label": "Film X (2024)"},
        files={"file": ("original.mp4", raw, "video/mp4")},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert set(r.json()["kinds"]) == {"sha256", "md5", "vpdq"}
    assert blobs_with(srv, sha256(raw)) == 0  # fingerprinted, never stored
    assert not [p for p in staged_names(srv) if p.startswith("ref-")]

    copy = reencode(original, tmp_path / "copy.mp4").read_bytes()
    assert sha256(copy) != sha256(raw)
    uploader = make_account(srv)
    r = upload_form(uploader, "my holiday.mp4", copy)
    assert r.status_code == 201, r.text
    code = r.json()["files"][0]["code"]
    state = wait_for(lambda: (s := file_state(srv, code))[0] == "disabled" and s, timeout=120)
    decision_ref = state[1]
    row = sql(srv, "SELECT source, automated, moderator_id FROM decisions WHERE ref = :r",
              r=decision_ref)[0]  # fmt: skip
    assert tuple(row) == ("bank_match", True, None)
    match = sql(srv, "SELECT outcome, kind, score, bank_id FROM bank_matches "
                     "WHERE decision_id = (SELECT id FROM decisions WHERE ref = :r)",
                r=decision_ref)  # fmt: skip
    assert match[0][0] == "disabled" and match[0][1] == "vpdq" and match[0][3] == bank
    assert match[0][2] >= 80
    content = sql(srv, "SELECT content FROM statements WHERE user_id = :u",
                  u=user_id(srv, uploader))[0][0]  # fmt: skip
    content = json.loads(content) if isinstance(content, str) else content
    assert content["automated_detection"] is True and content["automated_decision"] is True
    assert content["source"] == "bank_match" and content["legal_ground"] == "Film X (2024)"
    page = httpx.get(f"{srv.url}/{code}", headers=HTML)
    assert page.status_code == 451 and decision_ref in page.text
    api = httpx.get(f"{srv.url}/{code}", headers=JSON)
    assert api.status_code == 451
    assert httpx.get(r.json()["files"][0]["download_url"]).status_code == 451
    # The exact bytes of the copy are banked with the decision: refused from now on.
    again = upload_form(make_account(srv), "again.mp4", copy)
    assert again.status_code == 451 and decision_ref in again.json()["message"]


def test_recompressed_image_queued_for_review(srv: Server, mod: Account, tmp_path: Path) -> None:
    bank = new_bank(mod, "photos", "review")
    original = image(tmp_path / "photo.png", seed=2)
    r = mod.client.post(f"/api/v1/banks/{bank}/references", content=original.read_bytes(),
                        params={"filename": "photo.png", "label": "Photo P"})  # fmt: skip
    assert r.status_code == 201 and "pdq" in r.json()["kinds"], r.text
    copy = recompress(original, tmp_path / "small.jpg").read_bytes()
    uploader = make_account(srv)
    r = upload_form(uploader, "small.jpg", copy)
    assert r.status_code == 201
    code = r.json()["files"][0]["code"]

    def queued() -> list[dict[str, object]]:
        got = mod.client.get("/api/v1/moderation/matches").json()["matches"]
        return [m for m in got if any(f["code"] == code for f in m["files"])]

    [m] = wait_for(queued, timeout=60)
    assert m["kind"] == "pdq" and m["bank"]["id"] == bank and m["outcome"] == "queued"
    assert isinstance(m["score"], int) and m["score"] <= 31
    assert m["uploader"] == uploader.email
    assert file_state(srv, code)[0] == "active"  # review: a person decides

    web = web_login(srv, mod.email, mod.password)
    page = web.get("/moderation/matches")
    assert page.status_code == 200 and code in page.text and f'data-match="{m["id"]}"' in page.text
    r = web.post(f"/moderation/matches/{m['id']}/decide",
                 data={"csrf_token": csrf_of(page.text), "action": "disable"})  # fmt: skip
    assert r.status_code == 303
    state = file_state(srv, code)
    assert state[0] == "disabled"
    row = sql(srv, "SELECT source, automated, moderator_id FROM decisions WHERE ref = :r",
              r=state[1])[0]  # fmt: skip
    assert row[0] == "bank_match" and row[1] is False or row[1] == 0
    assert row[2] == user_id(srv, mod)
    r = mod.client.post(f"/api/v1/moderation/matches/{m['id']}/decide", json={"action": "dismiss"})
    assert r.status_code == 409  # decided already
    web.close()


def test_review_match_dismissed_through_the_api(srv: Server, mod: Account, tmp_path: Path) -> None:
    bank = new_bank(mod, "review-api", "review")
    original = image(tmp_path / "p.png", seed=5)
    data = original.read_bytes()
    uploader = make_account(srv)
    code = upload_form(uploader, "p.png", data).json()["files"][0]["code"]
    # Banked after the upload: the backfill finds the stored copy by its PDQ print.
    printed = ("SELECT count(*) FROM blob_fingerprints f JOIN blobs b ON b.id = f.blob_id "
               "WHERE b.sha256 = :h")  # fmt: skip
    wait_for(lambda: sql(srv, printed, h=sha256(data))[0][0])
    ref = recompress(original, tmp_path / "r.jpg").read_bytes()
    r = mod.client.post(f"/api/v1/banks/{bank}/references", files={"file": ("ref.jpg", ref)})
    assert r.status_code == 201

    def queued() -> list[dict[str, object]]:
        got = mod.client.get("/api/v1/moderation/matches").json()["matches"]
        return [m for m in got if any(f["code"] == code for f in m["files"])]

    [m] = wait_for(queued, timeout=90)
    r = mod.client.post(f"/api/v1/moderation/matches/{m['id']}/decide", json={"action": "dismiss"})
    assert r.status_code == 200 and r.json()["outcome"] == "dismissed"
    assert file_state(srv, code)[0] == "active"
    assert not queued()


# -- hash lists -----------------------------------------------------------------------------


def test_import_export_round_trip(srv: Server, mod: Account, tmp_path: Path) -> None:
    a = new_bank(mod, "import-a", "review")
    vpdq = "0,100," + "ab" * 32 + ",0.000;25,90," + "cd" * 32 + ",1.000"
    csv_text = ("kind,value,label\n"
                f"sha256,{'1' * 64},Work 1\n"
                f"md5,{'2' * 32},\"Work, 2\"\n"
                f"pdq,{'3f' * 32},Photo 3\n"
                f'vpdq,"{vpdq}",Clip 4\n')  # fmt: skip
    r = mod.client.post(f"/api/v1/banks/{a}/import", content=csv_text,
                        headers={"Content-Type": "text/csv"})  # fmt: skip
    assert r.status_code == 201 and r.json() == {"added": 4, "skipped": 0}, r.text
    # Bad lines: all named, nothing imported.
    bad = f"sha256,{'1' * 63},short\nmd5,{'g' * 32},not hex\nsha1,{'0' * 40},kind\n"
    r = mod.client.post(f"/api/v1/banks/{a}/import", content=bad + f"md5,{'9' * 32},ok\n")
    assert r.status_code == 422 and r.json()["error"] == "invalid_hash_list"
    assert set(r.json()["lines"]) == {"1", "2", "3"}
    exported = mod.client.get(f"/api/v1/banks/{a}/export", params={"format": "csv"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.strip().splitlines()
    assert len(lines) == 5 and lines[0] == "kind,value,label"

    b = new_bank(mod, "import-b", "review")
    r = mod.client.post(f"/api/v1/banks/{b}/import",
                        files={"file": ("list.csv", exported.content, "text/csv")})  # fmt: skip
    assert r.status_code == 201 and r.json()["added"] == 4
    assert mod.client.get(f"/api/v1/banks/{b}/export").text == exported.text
    as_json = mod.client.get(f"/api/v1/banks/{b}/export", params={"format": "json"}).json()
    assert [e["kind"] for e in as_json["entries"]] == ["sha256", "md5", "pdq", "vpdq"]
    c = new_bank(mod, "import-c", "review")
    r = mod.client.post(f"/api/v1/banks/{c}/import", json=as_json)
    assert r.status_code == 201 and r.json()["added"] == 4
    again = mod.client.post(f"/api/v1/banks/{c}/import", json=as_json)
    assert again.json() == {"added": 0, "skipped": 4}
    entries = mod.client.get(f"/api/v1/banks/{c}/entries", params={"limit": 3}).json()
    assert len(entries["entries"]) == 3 and entries["next"] == entries["entries"][-1]["id"]
    rest = mod.client.get(f"/api/v1/banks/{c}/entries", params={"after": entries["next"]}).json()
    assert [e["kind"] for e in rest["entries"]] == ["vpdq"] and rest["next"] is None

    # The pages: the list, a bank, an import with a bad line, a deletion (audited).
    web = web_login(srv, mod.email, mod.password)
    page = web.get("/moderation/banks")
    assert page.status_code == 200 and f'data-bank="{c}"' in page.text
    page = web.get(f"/moderation/banks/{c}")
    assert page.status_code == 200 and "export?format=csv" in page.text
    token = csrf_of(page.text)
    r = web.post(f"/moderation/banks/{c}/import", data={"csrf_token": token},
                 files={"file": ("x.csv", b"pdq,zz,broken\n", "text/csv")})  # fmt: skip
    assert r.status_code == 422 and 'id="bad-lines"' in r.text
    entry_id = rest["entries"][0]["id"]
    r = web.post(f"/moderation/banks/{c}/entries/{entry_id}/delete", data={"csrf_token": token})
    assert r.status_code == 303
    assert sql(srv, "SELECT count(*) FROM audit_events WHERE action = 'bank.entry_deleted' "
                    "AND subject = :s", s=f"bank:{c}")[0][0] == 1  # fmt: skip
    web.close()


# -- who may --------------------------------------------------------------------------------


def test_rights_holders_manage_only_their_own_bank(srv: Server, mod: Account) -> None:
    alice, bob = make_account(srv), make_account(srv)
    mine = new_bank(mod, "alice", "review", owner=alice.email)
    theirs = new_bank(mod, "bob", "review", owner=bob.email)
    entry = {"kind": "sha256", "value": "a" * 64, "label": "A"}
    assert add_entries(alice, mine, entry).status_code == 201
    assert [b["id"] for b in alice.client.get("/api/v1/banks").json()["banks"]] == [mine]
    assert alice.client.get(f"/api/v1/banks/{theirs}").status_code == 404
    assert add_entries(alice, theirs, entry).status_code == 404
    assert alice.client.get(f"/api/v1/banks/{theirs}/export").status_code == 404
    assert alice.client.post(f"/api/v1/banks/{theirs}/references", content=b"x" * 100,
                             params={"filename": "x.bin"}).status_code == 404  # fmt: skip
    r = alice.client.post("/api/v1/banks", json={"name": "own", "on_match": "disable"})
    assert r.status_code == 403
    [e] = alice.client.get(f"/api/v1/banks/{mine}/entries").json()["entries"]
    assert alice.client.delete(f"/api/v1/banks/{mine}/entries/{e['id']}").status_code == 403
    assert alice.client.get("/api/v1/moderation/matches").status_code == 403
    assert mod.client.delete(f"/api/v1/banks/{mine}/entries/{e['id']}").status_code == 204
    assert make_account(srv).client.get("/api/v1/banks").json()["banks"] == []


def crop(src: Path, dst: Path) -> Path:
    """The centre 90 % of the picture: what upload-time prints alone do not catch."""
    ffmpeg("-i", src, "-vf", "crop=iw*0.9:ih*0.9", "-c:v", "libx264", "-preset", "ultrafast",
           "-an", dst)  # fmt: skip
    return dst


def test_a_decision_banks_a_dense_print_of_the_content(
    srv: Server, ctx: Context, mod: Account, tmp_path: Path
) -> None:
    """A decision that banks a video first banks its upload-time print; the backfill then
    replaces it with the reference print a reference file gets (denser, crop variants), so
    a cropped copy is caught too."""
    bank = new_bank(mod, "decided", "disable")
    original = video(tmp_path / "decided.mp4", seed=5)
    uploader = make_account(srv)
    code = upload_put(uploader, "decided.mp4", original.read_bytes()).json()["code"]
    wait_for(lambda: sql(srv, "SELECT count(*) FROM blob_fingerprints f JOIN files x ON "
                              "x.blob_id = f.blob_id WHERE x.code = :c", c=code)[0][0],
             timeout=120)  # fmt: skip
    notice = httpx.post(f"{srv.url}/api/v1/notices", json={
        "category": "copyright", "locations": [code], "explanation": "Our film.",
        "work": "Film D", "notifier_name": "Rita", "notifier_email": "rita@example.org",
        "good_faith": True, "accurate": True, "signature": "Rita"}).json()["ref"]  # fmt: skip
    r = mod.client.post(f"/api/v1/moderation/notices/{notice}/decide", json={
        "action": "disable", "legal_ground": "Copyright", "facts": "A copy of Film D.",
        "bank_id": bank})  # fmt: skip
    assert r.status_code == 200, r.text
    query = "SELECT source_blob_id, value FROM bank_entries WHERE bank_id = :b AND kind = 'vpdq'"
    [(source, sparse)] = sql(srv, query, b=bank)
    assert source is not None and ",c90" not in sparse

    screening.densify(ctx, deadline=time.monotonic() + 120)  # or the server's sweep did
    [(source, dense)] = wait_for(lambda: (rows := sql(srv, query, b=bank))[0][0] is None and rows)
    assert ",c90" in dense and len(dense) > 2 * len(sparse)
    assert sql(srv, "SELECT count(*) FROM audit_events WHERE action = 'bank.entry_densified'")

    copy = crop(original, tmp_path / "cropped.mp4").read_bytes()
    caught = upload_put(make_account(srv), "cropped.mp4", copy).json()["code"]
    state = wait_for(lambda: (s := file_state(srv, caught))[0] == "disabled" and s, timeout=120)
    assert sql(srv, "SELECT source FROM decisions WHERE ref = :r", r=state[1])[0][0] == "bank_match"
