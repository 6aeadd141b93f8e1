"""Notices through the real server: intake (API and form), the moderators' queue and
decisions, 451 everywhere a disabled file is reached, statements of reasons, mails, strikes,
notifier sanctions, reversal and the audit trail."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from partage.accounts.models import User
from partage.moderation.models import AuditEvent, Notice, Statement, Strike
from tests.accounts.conftest import Inbox, csrf_of, mail_env, web_login
from tests.conftest import Account, db_context, make_account
from tests.serverproc import Server


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, inbox: Inbox) -> Iterator[Server]:
    server = Server(
        Path(tmp_path_factory.mktemp("moderation")) / "data",
        env={
            **mail_env(inbox),
            "PARTAGE_NOTIFIER_WARNING_AT": "1",
            "PARTAGE_NOTIFIER_SUSPENSION_AT": "2",
            "PARTAGE_DISPUTE_SETTLEMENT": "Example ODS body, https://ods.example.org",
        },
    ).start()
    yield server
    server.stop()


def upload(acc: Account, content: bytes, name: str = "work.txt") -> str:
    r = acc.client.put(
        f"/api/v1/files/{name}", content=content, headers={"Accept": "application/json"}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def make_role(srv: Server, *, moderator: bool = False, trusted: bool = False) -> Account:
    acc = make_account(srv)
    ctx = db_context(srv)
    with ctx.db.session() as s:
        user = s.scalar(select(User).where(User.email == acc.email))
        assert user is not None
        user.is_moderator = moderator
        user.trusted_flagger = trusted
    ctx.close()
    return acc


def notice_body(*locations: str, **over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "category": "copyright",
        "locations": list(locations),
        "explanation": "This is a full copy of our film, uploaded without permission.",
        "work": "The Example Film (2026), Example Studios",
        "notifier_name": "Rita Holder",
        "notifier_email": f"rights-{secrets.token_hex(3)}@studio.example",
        "good_faith": True,
        "accurate": True,
        "signature": "Rita Holder",
    }
    body.update(over)
    return body


DISABLE = {
    "action": "disable",
    "ground": "law",
    "legal_ground": "Copyright: Directive 2001/29/EC Art. 3; CPI L.122-4",
    "facts": "The file is a complete copy of the notified film.",
}


def test_an_incomplete_notice_names_each_missing_field(srv: Server) -> None:
    r = httpx.post(f"{srv.url}/api/v1/notices", json={})
    assert r.status_code == 422
    fields = r.json()["fields"]
    for name in ("category", "locations", "explanation", "notifier_name", "notifier_email",
                 "good_faith", "accurate", "signature"):  # fmt: skip
        assert name in fields, name
    assert r.json()["error"] == "incomplete_notice"

    acc = make_account(srv)
    code = upload(acc, b"some bytes " + secrets.token_bytes(8))
    r = httpx.post(f"{srv.url}/api/v1/notices", json=notice_body(code, work=""))
    assert r.status_code == 422 and list(r.json()["fields"]) == ["work"]
    r = httpx.post(
        f"{srv.url}/api/v1/notices",
        json=notice_body(code, category="illegal", legal_ground="", good_faith=False),
    )
    assert r.status_code == 422 and set(r.json()["fields"]) == {"legal_ground", "good_faith"}
    r = httpx.post(
        f"{srv.url}/api/v1/notices",
        json=notice_body(code, "https://elsewhere.example/zzzzzzzzzzzz", "not-a-code"),
    )
    assert r.status_code == 422
    assert "not-a-code" in r.json()["fields"]["locations"]
    # A child-safety report may be anonymous.
    r = httpx.post(
        f"{srv.url}/api/v1/notices",
        json=notice_body(
            code,
            category="child_safety",
            notifier_name="",
            notifier_email="",
            signature="",
            work="",
        ),  # fmt: skip
    )
    assert r.status_code == 201, r.text
    assert r.json()["ref"].startswith("N-")


def test_notice_to_decision_to_451_with_statement_and_strike(srv: Server, inbox: Inbox) -> None:
    uploader = make_account(srv)
    holder = make_role(srv)
    moderator = make_role(srv, moderator=True)
    content = b"the film " + secrets.token_bytes(16)
    code = upload(uploader, content, "film.txt")
    other = upload(uploader, b"unrelated " + secrets.token_bytes(8), "mine.txt")

    body = notice_body(f"{srv.url}/{code}", f"{srv.url}/v/{code}")
    r = holder.client.post("/api/v1/notices", json=body)
    assert r.status_code == 201, r.text
    receipt = r.json()
    ref = receipt["ref"]
    assert receipt["status"] == "open" and receipt["files"] == 1
    assert r.headers["location"] == f"/api/v1/notices/{ref}"
    mail = inbox.wait(str(body["notifier_email"]))
    assert ref in mail["Subject"] and f"/report/{ref}" in mail.get_content()

    # The notifier follows it without an account; the page says the same.
    assert httpx.get(f"{srv.url}/api/v1/notices/{ref}").json()["status"] == "open"
    page = httpx.get(f"{srv.url}/report/{ref}")
    assert page.status_code == 200 and ref in page.text

    # Only moderators see the queue.
    assert uploader.client.get("/api/v1/moderation/notices").status_code == 403
    queue = moderator.client.get("/api/v1/moderation/notices").json()["notices"]
    assert ref in [n["ref"] for n in queue]
    detail = moderator.client.get(f"/api/v1/moderation/notices/{ref}").json()
    [named] = detail["files"]
    assert named["code"] == code and named["owner"]["email"] == uploader.email
    assert named["same_content"] == [] and named["owner_strikes"] == 0

    link = httpx.get(f"{srv.url}/{code}", headers={"Accept": "application/json"})
    direct = link.json()["download_url"]
    assert httpx.get(direct).content == content

    r = moderator.client.post(f"/api/v1/moderation/notices/{ref}/decide", json=DISABLE)
    assert r.status_code == 200, r.text
    decision = r.json()
    assert decision["action"] == "disable" and decision["files"] == [code]
    assert not decision["automated"]

    # 451 on the page, the API, the download and the player, with reason and reference.
    page = httpx.get(f"{srv.url}/{code}", headers={"Accept": "text/html"})
    assert page.status_code == 451
    assert decision["ref"] in page.text and "Directive 2001/29/EC" in page.text
    assert ref in page.text  # the notice behind it
    api = httpx.get(f"{srv.url}/{code}", headers={"Accept": "application/json"})
    assert api.status_code == 451
    assert api.json()["decision"] == decision["ref"]
    assert "Directive 2001/29/EC" in api.json()["message"]
    assert httpx.get(f"{srv.url}/v/{code}").status_code == 451
    gone = httpx.get(direct)  # a direct link handed out before the decision
    assert gone.status_code == 451 and gone.json()["decision"] == decision["ref"]
    assert gone.json()["notice"] == ref and ref in gone.json()["message"]
    # The owner still sees it, marked and explained; the other file is untouched.
    mine = uploader.client.get(f"/api/v1/files/{code}").json()
    assert mine["status"] == "disabled"
    assert mine["unavailable"] == {
        "reason": DISABLE["legal_ground"], "decision": decision["ref"], "notice": ref}  # fmt: skip
    assert httpx.get(f"{srv.url}/{other}").status_code == 200

    # The statement of reasons: stored, with what Art. 17(3) asks, and e-mailed.
    ctx = db_context(srv)
    with ctx.db.session() as s:
        user = s.scalar(select(User).where(User.email == uploader.email))
        assert user is not None
        [st] = s.scalars(select(Statement).where(Statement.user_id == user.id)).all()
        c = st.content
        assert c["decision"] == decision["ref"] and c["files"][0]["code"] == code
        assert c["source"] == "notice" and c["notice"] == ref
        assert c["automated_detection"] is False and c["automated_decision"] is False
        assert c["ground"] == "law" and c["legal_ground"] == DISABLE["legal_ground"]
        assert c["facts"] == DISABLE["facts"] and c["until"] is None
        assert st.complaint_until > st.created_at
        strikes = s.scalars(select(Strike).where(Strike.user_id == user.id)).all()
        assert len(strikes) == 1
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert "notice.received" in actions and "decision.disable" in actions
        assert s.scalar(select(Notice.status).where(Notice.ref == ref)) == "actioned"
    ctx.close()
    inbox.wait(uploader.email, count=2)  # the statement and the strike, in either order
    [statement_mail] = [m for m in inbox.to(uploader.email) if st.ref in m["Subject"]]
    text = statement_mail.get_content()
    for part in (decision["ref"], "film.txt", DISABLE["facts"], "Not detected by automated means",
                 "Decided by a person", "Example ODS body", "court"):  # fmt: skip
        assert part in text, part
    assert any("strike" in m["Subject"].lower() for m in inbox.to(uploader.email))
    decided = inbox.wait(str(body["notifier_email"]), count=2)
    assert "Decision" in decided["Subject"] and "disabled" in decided.get_content()
    assert httpx.get(f"{srv.url}/api/v1/notices/{ref}").json()["decision"]["action"] == "disable"

    # A decided notice cannot be decided twice.
    again = moderator.client.post(f"/api/v1/moderation/notices/{ref}/decide", json=DISABLE)
    assert again.status_code == 409

    # Reversal restores at once and voids the strike.
    r = moderator.client.post(
        f"/api/v1/moderation/decisions/{decision['ref']}/reverse",
        json={"reason": "The uploader showed a licence."},
    )
    assert r.status_code == 200, r.text
    assert httpx.get(f"{srv.url}/{code}").status_code == 200
    ctx = db_context(srv)
    with ctx.db.session() as s:
        user = s.scalar(select(User).where(User.email == uploader.email))
        assert user is not None
        [strike] = s.scalars(select(Strike).where(Strike.user_id == user.id)).all()
        assert strike.voided_at is not None
    ctx.close()


def test_disable_every_copy_of_the_content(srv: Server) -> None:
    a, b = make_account(srv), make_account(srv)
    moderator = make_role(srv, moderator=True)
    content = b"shared content " + secrets.token_bytes(16)
    code_a, code_b = upload(a, content, "a.bin"), upload(b, content, "b.bin")
    ref = httpx.post(f"{srv.url}/api/v1/notices", json=notice_body(code_a)).json()["ref"]
    detail = moderator.client.get(f"/api/v1/moderation/notices/{ref}").json()
    assert detail["files"][0]["same_content"] == [code_b]
    r = moderator.client.post(
        f"/api/v1/moderation/notices/{ref}/decide", json={**DISABLE, "action": "disable_blob"}
    )
    assert r.status_code == 200, r.text
    assert sorted(r.json()["files"]) == sorted([code_a, code_b])
    for code in (code_a, code_b):
        assert httpx.get(f"{srv.url}/{code}").status_code == 451


def test_restricting_decisions_need_their_grounds(srv: Server) -> None:
    acc = make_account(srv)
    moderator = make_role(srv, moderator=True)
    code = upload(acc, b"x" + secrets.token_bytes(8))
    ref = httpx.post(f"{srv.url}/api/v1/notices", json=notice_body(code)).json()["ref"]
    url = f"/api/v1/moderation/notices/{ref}/decide"
    r = moderator.client.post(url, json={"action": "disable"})
    assert r.status_code == 400 and "law or the terms clause" in r.json()["message"]
    r = moderator.client.post(url, json={**DISABLE, "action": "obliterate"})
    assert r.status_code == 400 and "action" in r.json()["message"]
    r = moderator.client.post(url, json={**DISABLE, "until": "2001-01-01T00:00:00Z"})
    assert r.status_code == 400
    assert httpx.get(f"{srv.url}/{code}").status_code == 200


def test_trusted_flaggers_go_first(srv: Server) -> None:
    acc = make_account(srv)
    moderator = make_role(srv, moderator=True)
    trusted = make_role(srv, trusted=True)
    code = upload(acc, b"y" + secrets.token_bytes(8))
    plain = httpx.post(f"{srv.url}/api/v1/notices", json=notice_body(code)).json()["ref"]
    first = trusted.client.post("/api/v1/notices", json=notice_body(code)).json()["ref"]
    refs = [n["ref"] for n in moderator.client.get("/api/v1/moderation/notices").json()["notices"]]
    assert refs.index(first) < refs.index(plain)
    detail = moderator.client.get(f"/api/v1/moderation/notices/{first}").json()
    assert detail["trusted"] is True and detail["source"] == "api"


def test_unfounded_notices_warn_then_suspend_the_notifier(srv: Server, inbox: Inbox) -> None:
    acc = make_account(srv)
    moderator = make_role(srv, moderator=True)
    code = upload(acc, b"z" + secrets.token_bytes(8))
    email = f"troll-{secrets.token_hex(3)}@example.org"
    for n in (1, 2):
        ref = httpx.post(f"{srv.url}/api/v1/notices",
                         json=notice_body(code, notifier_email=email)).json()["ref"]  # fmt: skip
        r = moderator.client.post(
            f"/api/v1/moderation/notices/{ref}/decide",
            json={"action": "reject", "facts": "The notifier owns no right in this file."},
        )
        assert r.status_code == 200, r.text
        assert r.json()["action"] == "reject"
    inbox.wait(email, count=6)  # two receipts, two decisions, a warning, a suspension
    subjects = [m["Subject"] for m in inbox.to(email)]
    assert any("Warning" in x for x in subjects) and any("suspended" in x for x in subjects)
    r = httpx.post(f"{srv.url}/api/v1/notices", json=notice_body(code, notifier_email=email))
    assert r.status_code == 403 and "suspended until" in r.json()["message"]
    assert httpx.get(f"{srv.url}/{code}").status_code == 200  # rejected: nothing happened


def test_the_report_form_and_the_moderators_pages(srv: Server, inbox: Inbox) -> None:
    uploader = make_account(srv)
    code = upload(uploader, b"form " + secrets.token_bytes(8), "form.txt")
    # The report link on the file's page opens the form with the location filled in.
    page = httpx.get(f"{srv.url}/{code}", headers={"Accept": "text/html"})
    m = re.search(r'href="(/report\?location=[^"]+)"', page.text)
    assert m, "no report link on the download page"
    form = httpx.get(f"{srv.url}{m.group(1).replace('&amp;', '&')}")
    assert form.status_code == 200 and code in form.text

    visitor = httpx.Client(base_url=srv.url, timeout=30)
    r = visitor.post("/report", data={"locations": code, "category": "copyright"})
    assert r.status_code == 422
    assert 'id="explanation-error"' in r.text and 'id="work-error"' in r.text
    assert 'aria-invalid="true"' in r.text and code in r.text  # what was typed is kept
    email = f"visitor-{secrets.token_hex(3)}@example.org"
    r = visitor.post(
        "/report",
        data={"locations": f"{srv.url}/{code}", "category": "terms",
              "explanation": "Spam links everywhere.", "notifier_name": "Vic Visitor",
              "notifier_email": email, "good_faith": "true", "accurate": "true",
              "signature": "Vic Visitor"},
    )  # fmt: skip
    assert r.status_code == 303, r.text
    receipt_url = r.headers["location"]
    ref = receipt_url.split("/")[2].split("?")[0]
    receipt = visitor.get(receipt_url)
    assert receipt.status_code == 200 and ref in receipt.text and email in receipt.text
    assert inbox.wait(email)
    # Another site cannot post the form.
    r = visitor.post(
        "/report", data={"locations": code}, headers={"Origin": "https://evil.example"}
    )
    assert r.status_code == 403

    # A moderator's pages: the queue, the notice, the decision form.
    mod = make_role(srv, moderator=True)
    assert httpx.get(f"{srv.url}/moderation").status_code == 303  # to the login page
    plain = web_login(srv, uploader.email, uploader.password)
    assert plain.get("/moderation").status_code == 403
    web = web_login(srv, mod.email, mod.password)
    queue = web.get("/moderation")
    assert queue.status_code == 200 and ref in queue.text
    notice_page = web.get(f"/moderation/notices/{ref}")
    assert notice_page.status_code == 200 and "form.txt" in notice_page.text
    token = csrf_of(notice_page.text)
    r = web.post(
        f"/moderation/notices/{ref}/decide", data={"csrf_token": token, "action": "disable"}
    )
    assert r.status_code == 400 and 'id="decide-error"' in r.text
    r = web.post(f"/moderation/notices/{ref}/decide", data={"csrf_token": "wrong", **DISABLE})
    assert r.status_code == 403
    r = web.post(
        f"/moderation/notices/{ref}/decide",
        data={"csrf_token": token, **DISABLE, "ground": "terms", "legal_ground": "Terms §4 spam"},
    )
    assert r.status_code == 303, r.text
    assert httpx.get(f"{srv.url}/{code}").status_code == 451
    done = web.get(r.headers["location"])
    assert 'id="decided"' in done.text
    assert "Action taken" in httpx.get(f"{srv.url}{receipt_url.split('?')[0]}").text


def test_a_moderator_acts_on_its_own_initiative(srv: Server) -> None:
    acc = make_account(srv)
    moderator = make_role(srv, moderator=True)
    code = upload(acc, b"own " + secrets.token_bytes(8))
    r = moderator.client.post("/api/v1/moderation/decisions", json={**DISABLE, "files": [code]})
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "own_initiative"
    assert httpx.get(f"{srv.url}/{code}").status_code == 451
    r = moderator.client.post("/api/v1/moderation/decisions", json={**DISABLE, "files": ["nope"]})
    assert r.status_code == 400
    assert acc.client.post("/api/v1/moderation/decisions", json=DISABLE).status_code == 403
