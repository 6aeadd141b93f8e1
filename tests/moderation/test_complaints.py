"""Complaints, counter-notices, restoration, statements in the account, /terms and upload
suspension, through the real server, its mails (aiosmtpd) and the operator CLI."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from partage.moderation import strikes
from partage.moderation.counter_notices import add_business_days
from partage.moderation.models import AuditEvent, Statement
from partage.settings import Settings
from tests.accounts.conftest import Inbox, csrf_of, mail_env, web_login
from tests.conftest import Account, db_context, make_account
from tests.moderation.complaint_helpers import (
    COUNTER,
    decide,
    disabled_file,
    moderator,
    notify,
    partage_cli,
    set_user,
    upload,
)
from tests.serverproc import Server


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, inbox: Inbox) -> Iterator[Server]:
    server = Server(
        Path(tmp_path_factory.mktemp("complaints")) / "data",
        env={
            **mail_env(inbox),
            # Every test's uploader gets one strike at most, except where it wants more.
            "PARTAGE_STRIKE_UPLOAD_SUSPENSION_AT": "2",
            "PARTAGE_STRIKE_TERMINATION_AT": "5",
        },
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mod(srv: Server) -> Account:
    return moderator(srv)


def active_strikes(srv: Server, email: str) -> int:
    from partage.accounts.models import User

    ctx = db_context(srv)
    try:
        with ctx.db.read() as s:
            user = s.scalar(select(User).where(User.email == email))
            assert user is not None
            return strikes.active_count(s, ctx.settings, user.id)
    finally:
        ctx.close()


def audit_actions(srv: Server, subject: str) -> list[str]:
    ctx = db_context(srv)
    try:
        with ctx.db.read() as s:
            return list(s.scalars(select(AuditEvent.action).where(AuditEvent.subject == subject)))
    finally:
        ctx.close()


def wait_subject(inbox: Inbox, address: str, subject: str, timeout: float = 15) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in inbox.to(address):
            if subject in m["Subject"]:
                return m
        time.sleep(0.05)
    raise AssertionError(f"no mail '{subject}' to {address}")


def reachable(srv: Server, code: str) -> int:
    return httpx.get(f"{srv.url}/{code}", headers={"Accept": "application/json"}).status_code


def test_statements_in_the_account_are_the_owners_only(srv: Server, mod: Account) -> None:
    alice, bob = make_account(srv), make_account(srv)
    code, notice_ref, _, st = disabled_file(srv, mod, alice)
    assert st["files"] == [{"code": code, "name": "work.txt"}]
    assert st["notice"] == notice_ref and st["legal_ground"].startswith("Copyright")
    assert st["can_complain"] and st["can_counter_notice"] and st["complaints"] == []
    one = alice.client.get(f"/api/v1/statements/{st['ref']}")
    assert one.status_code == 200 and one.json()["decision"] == st["decision"]

    # Anyone else: as if it did not exist, to read or to complain.
    assert bob.client.get(f"/api/v1/statements/{st['ref']}").status_code == 404
    assert bob.client.get("/api/v1/statements").json()["items"] == []
    r = bob.client.post(f"/api/v1/statements/{st['ref']}/complaints", json={"text": "mine!"})
    assert r.status_code == 404
    r = bob.client.post(f"/api/v1/statements/{st['ref']}/counter-notices", json=COUNTER)
    assert r.status_code == 404
    assert httpx.get(f"{srv.url}/api/v1/statements/{st['ref']}").status_code == 401

    # The files page marks the disabled file and links to its statement, which the page
    # resolves; the statement page shows the reasons and both forms.
    web = web_login(srv, alice.email, alice.password)
    files = web.get("/files").text
    assert "disabled: Copyright: Directive 2001/29/EC Art. 3" in files
    assert f"/account/statements?decision={st['decision']}" in files
    assert 'href="/account/statements"' in web.get("/account").text
    r = web.get(f"/account/statements?decision={st['decision']}")
    assert r.status_code == 303 and r.headers["location"] == f"/account/statements/{st['ref']}"
    page = web.get(f"/account/statements/{st['ref']}").text
    assert "The file is a complete copy of the notified work." in page
    assert 'action="/account/statements/' + st["ref"] + '/complaint"' in page
    assert 'id="counter-notice-form"' in page
    assert st["ref"] in web.get("/account/statements").text
    other = web_login(srv, bob.email, bob.password)
    assert other.get(f"/account/statements/{st['ref']}").status_code == 404
    assert httpx.get(f"{srv.url}/account/statements").status_code == 303  # to the login page


def test_complaint_reversed_by_a_person_restores_at_once(
    srv: Server, mod: Account, inbox: Inbox
) -> None:
    alice = make_account(srv)
    code, _, _, st = disabled_file(srv, mod, alice)
    assert reachable(srv, code) == 451 and active_strikes(srv, alice.email) == 1

    # From the statement page's form (web session, CSRF token).
    web = web_login(srv, alice.email, alice.password)
    page = web.get(f"/account/statements/{st['ref']}").text
    r = web.post(
        f"/account/statements/{st['ref']}/complaint", data={"csrf_token": csrf_of(page), "text": ""}
    )
    assert r.status_code == 422 and 'id="error-text"' in r.text
    r = web.post(
        f"/account/statements/{st['ref']}/complaint",
        data={"csrf_token": csrf_of(page), "text": "This is my own holiday video."},
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?done=complaint")
    shown = web.get(r.headers["location"]).text
    assert "open: waiting for a person" in shown and 'id="complaint-text"' not in shown
    # One open complaint per statement.
    again = alice.client.post(f"/api/v1/statements/{st['ref']}/complaints", json={"text": "x"})
    assert again.status_code == 409

    queue = mod.client.get("/api/v1/moderation/complaints").json()["items"]
    mine = next(c for c in queue if c["decision"] == st["decision"])
    assert mine["status"] == "open" and mine["text"] == "This is my own holiday video."
    assert queue.index(mine) < len([c for c in queue if c["status"] == "open"])  # open first
    ref = mine["ref"]
    assert alice.client.get("/api/v1/moderation/complaints").status_code == 403
    r = mod.client.post(f"/api/v1/moderation/complaints/{ref}/decide", json={"outcome": "undo"})
    assert r.status_code == 422 and "outcome" in r.json()["fields"]
    r = mod.client.post(f"/api/v1/moderation/complaints/{ref}/decide", json={"outcome": "reverse"})
    assert r.status_code == 422 and list(r.json()["fields"]) == ["answer"]
    r = mod.client.post(
        f"/api/v1/moderation/complaints/{ref}/decide",
        json={"outcome": "reverse", "answer": "The uploader's own recording: not the film."},
    )
    assert r.status_code == 200 and r.json()["status"] == "reversed"

    # Restored at once, strike voided, the complainant told why, all of it audited.
    assert reachable(srv, code) == 200
    assert alice.client.get(f"/api/v1/files/{code}").json()["status"] == "active"
    assert active_strikes(srv, alice.email) == 0
    mail = wait_subject(inbox, alice.email, "Answer to your complaint")
    assert "The uploader's own recording" in mail.get_content()
    assert "complaint.reversed" in audit_actions(srv, f"complaint:{ref}")
    assert "complaint.received" in audit_actions(srv, f"complaint:{ref}")
    after = alice.client.get(f"/api/v1/statements/{st['ref']}").json()
    assert after["complaints"][0]["status"] == "reversed" and not after["can_complain"]
    r = mod.client.post(
        f"/api/v1/moderation/complaints/{ref}/decide", json={"outcome": "uphold", "answer": "again"}
    )
    assert r.status_code == 409


def test_counter_notice_restores_after_the_waiting_period_unless_court_action(
    srv: Server, mod: Account, inbox: Inbox
) -> None:
    alice = make_account(srv)
    code1, n1, email1, st1 = disabled_file(srv, mod, alice)
    code2, n2, email2, st2 = disabled_file(srv, mod, alice)

    # Every missing field named at once.
    r = alice.client.post(f"/api/v1/statements/{st1['ref']}/counter-notices", json={})
    assert r.status_code == 422 and r.json()["error"] == "incomplete_complaint"
    assert set(r.json()["fields"]) == set(COUNTER)
    r = alice.client.post(
        f"/api/v1/statements/{st1['ref']}/counter-notices",
        json={**COUNTER, "phone": " ", "service": "yes"},
    )
    assert r.status_code == 422 and set(r.json()["fields"]) == {"phone", "service"}

    r = alice.client.post(f"/api/v1/statements/{st1['ref']}/counter-notices", json=COUNTER)
    assert r.status_code == 201, r.text
    cn1 = r.json()
    received = datetime.fromisoformat(cn1["received_at"].replace("Z", "+00:00"))
    expected = add_business_days(received, Settings().counter_notice_business_days)
    assert cn1["restore_after"] and abs(
        datetime.fromisoformat(cn1["restore_after"].replace("Z", "+00:00")) - expected
    ) < timedelta(seconds=1)
    assert expected - received >= timedelta(days=12)  # 10 business days span two weekends

    # The second through the statement page's form.
    web = web_login(srv, alice.email, alice.password)
    page = web.get(f"/account/statements/{st2['ref']}").text
    form = {k: ("yes" if v is True else v) for k, v in COUNTER.items()}
    bad = web.post(
        f"/account/statements/{st2['ref']}/counter-notice",
        data={**form, "jurisdiction": "", "csrf_token": csrf_of(page)},
    )
    assert bad.status_code == 422 and 'id="error-jurisdiction"' in bad.text
    assert "1 Example Street" in bad.text  # what was typed is kept
    r = web.post(
        f"/account/statements/{st2['ref']}/counter-notice",
        data={**form, "csrf_token": csrf_of(page)},
    )
    assert r.status_code == 303

    # Forwarded to each notifier with its content and how to report a court action.
    mail = wait_subject(inbox, email1, "Counter-notice")
    body = mail.get_content()
    assert "Counter-notice" in mail["Subject"] and "1 Example Street" in body
    assert "+33 1 23 45 67 89" in body and "penalty of perjury" in body
    link = re.search(r"https?://\S+/report/" + n1 + "/court-action", body)
    assert link, body
    body2 = wait_subject(inbox, email2, "Counter-notice").get_content()
    court = re.search(r"https?://\S+(/report/\S+/court-action)", body2)
    assert court

    # The second notifier reports a court action, through the linked form.
    page = httpx.get(f"{srv.url}{court.group(1)}")
    assert page.status_code == 200 and 'name="statement"' in page.text
    r = httpx.post(f"{srv.url}{court.group(1)}", data={"statement": ""})
    assert r.status_code == 422
    r = httpx.post(
        f"{srv.url}{court.group(1)}",
        data={"statement": "N.D. Cal., Studios v. Uploader, No. 3:26-cv-01234"},
    )
    assert r.status_code == 200 and "court action" in r.text
    again = httpx.post(f"{srv.url}/api/v1/notices/{n2}/court-action", json={"statement": "x"})
    assert again.status_code == 409

    # Nothing is due yet; 15 days on, the first comes back, the second stays down.
    r = partage_cli(srv, "admin", "moderation", "restore-due")
    assert r.returncode == 0, r.stderr
    assert cn1["ref"] not in r.stdout and reachable(srv, code1) == 451
    later = (datetime.now(UTC) + timedelta(days=15)).isoformat()
    r = partage_cli(srv, "admin", "moderation", "restore-due", "--at", later)
    assert r.returncode == 0, r.stderr
    assert cn1["ref"] in r.stdout
    assert reachable(srv, code1) == 200 and reachable(srv, code2) == 451
    assert active_strikes(srv, alice.email) == 1  # the first one's strike is voided
    s1 = alice.client.get(f"/api/v1/statements/{st1['ref']}").json()
    s2 = alice.client.get(f"/api/v1/statements/{st2['ref']}").json()
    assert s1["complaints"][0]["status"] == "restored"
    assert s2["complaints"][0]["status"] == "court_action"
    assert "counter_notice.restored" in audit_actions(srv, f"complaint:{cn1['ref']}")
    # A restore statement was issued and mailed to the uploader.
    items = alice.client.get("/api/v1/statements").json()["items"]
    assert any(i["action"] == "restore" and i["files"][0]["code"] == code1 for i in items)
    # A counter-notice answers copyright notices only.
    dave = make_account(srv)  # alice is at two strikes: her uploads are suspended
    code3, _, _, st3 = disabled_file(srv, mod, dave, category="illegal")
    assert not st3["can_counter_notice"] and st3["can_complain"]
    r = dave.client.post(f"/api/v1/statements/{st3['ref']}/counter-notices", json=COUNTER)
    assert r.status_code == 409 and reachable(srv, code3) == 451


def test_deadline_notifier_complaints_and_the_moderation_pages(
    srv: Server, mod: Account, inbox: Inbox
) -> None:
    alice = make_account(srv)
    code, _, _, st = disabled_file(srv, mod, alice)
    ctx = db_context(srv)
    try:
        with ctx.db.session() as s:
            s.execute(
                update(Statement)
                .where(Statement.ref == st["ref"])
                .values(complaint_until=datetime.now(UTC) - timedelta(minutes=1))
            )
    finally:
        ctx.close()
    r = alice.client.post(f"/api/v1/statements/{st['ref']}/complaints", json={"text": "late"})
    assert r.status_code == 403 and "ended on" in r.json()["message"]
    r = alice.client.post(f"/api/v1/statements/{st['ref']}/counter-notices", json=COUNTER)
    assert r.status_code == 403
    shown = alice.client.get(f"/api/v1/statements/{st['ref']}").json()
    assert not shown["can_complain"] and not shown["can_counter_notice"]

    # A notifier contests a decision to keep, from the receipt page's form.
    bob = make_account(srv)
    kept = upload(bob)
    ref, email = notify(srv, kept)
    decide(mod, ref, action="keep", legal_ground="", facts="")
    r = httpx.post(
        f"{srv.url}/report/{ref}/complaint",
        data={"text": "It is our film: compare the opening credits."},
    )
    assert r.status_code == 200 and 'id="complaint-sent"' in r.text
    r = httpx.post(f"{srv.url}/api/v1/notices/{ref}/complaints", json={"text": "again"})
    assert r.status_code == 409
    # ... but not a decision that acted on their notice.
    actioned = notify(srv, upload(bob))[0]
    decide(mod, actioned)
    r = httpx.post(f"{srv.url}/api/v1/notices/{actioned}/complaints", json={"text": "more"})
    assert r.status_code == 409

    # The moderator decides it on the pages: the queue, the complaint, the form.
    web = web_login(srv, mod.email, mod.password)
    queue = web.get("/moderation/complaints")
    assert queue.status_code == 200 and "from the notifier" in queue.text
    cref = next(
        c["ref"]
        for c in mod.client.get("/api/v1/moderation/complaints").json()["items"]
        if c["from_notifier"] and c["status"] == "open"
    )
    page = web.get(f"/moderation/complaints/{cref}")
    assert "compare the opening credits" in page.text and kept in page.text
    r = web.post(
        f"/moderation/complaints/{cref}/decide",
        data={"csrf_token": csrf_of(page.text), "outcome": "reverse", "answer": ""},
    )
    assert r.status_code == 422 and 'id="error-answer"' in r.text
    r = web.post(
        f"/moderation/complaints/{cref}/decide",
        data={
            "csrf_token": csrf_of(page.text),
            "outcome": "reverse",
            "answer": "The credits match: the notice goes back for a new decision.",
        },
    )
    assert r.status_code == 303
    assert "the decision was reversed" in web.get(r.headers["location"]).text
    # The notice is open again, and the notifier has the answer.
    assert httpx.get(f"{srv.url}/api/v1/notices/{ref}").json()["status"] == "open"
    answer = wait_subject(inbox, email, "Answer to your complaint")
    assert "The credits match" in answer.get_content()
    plain = web_login(srv, alice.email, alice.password)
    assert plain.get("/moderation/complaints").status_code == 403


def test_uploads_refused_while_suspended_by_strikes(srv: Server, mod: Account) -> None:
    carol = make_account(srv)
    tus_before = carol.client.post(
        "/api/v1/uploads",
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "5",
            "Upload-Metadata": "filename d29yay50eHQ=",
        },
    )
    assert tus_before.status_code == 201, tus_before.text
    disabled_file(srv, mod, carol)
    assert upload(carol)  # one strike: a warning, uploads go on
    disabled_file(srv, mod, carol)  # two: uploads suspended (PARTAGE_STRIKE_UPLOAD_…_AT=2)
    r = carol.client.put(
        "/api/v1/files/more.txt", content=b"hello", headers={"Accept": "application/json"}
    )
    assert r.status_code == 403
    message = r.json()["message"]
    until = (datetime.now(UTC) + timedelta(days=7)).strftime("%Y-%m-%d")
    assert "suspended until" in message and until in message
    r = carol.client.post("/api/v1/files", files={"file": ("a.txt", b"hello")})
    assert r.status_code == 403 and "suspended until" in r.json()["message"]
    r = carol.client.post(
        "/api/v1/uploads",
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "5",
            "Upload-Metadata": "filename d29yay50eHQ=",
        },
    )
    assert r.status_code == 403 and "suspended until" in r.json()["message"]
    # An upload begun before the suspension stops too.
    r = carol.client.patch(
        tus_before.headers["location"],
        content=b"hello",
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert r.status_code == 403
    # Once the suspension is over, uploads work again.
    set_user(srv, carol.email, uploads_suspended_until=datetime.now(UTC) - timedelta(seconds=1))
    assert upload(carol)


def test_terms_publish_the_settings(fresh_server: Server) -> None:
    fresh_server.env.update(
        PARTAGE_STRIKE_WINDOW_DAYS="200",
        PARTAGE_STRIKE_UPLOAD_SUSPENSION_AT="4",
        PARTAGE_STRIKE_UPLOAD_SUSPENSION_DAYS="9",
        PARTAGE_STRIKE_TERMINATION_AT="6",
        PARTAGE_NOTIFIER_WARNING_AT="7",
        PARTAGE_NOTIFIER_SUSPENSION_AT="11",
        PARTAGE_NOTIFIER_WINDOW_DAYS="90",
        PARTAGE_NOTIFIER_SUSPENSION_DAYS="45",
        PARTAGE_COMPLAINT_WINDOW_DAYS="190",
        PARTAGE_COUNTER_NOTICE_BUSINESS_DAYS="12",
        PARTAGE_DISPUTE_SETTLEMENT="Example ODS Board",
        PARTAGE_OPERATOR_NAME="Example SAS",
    )
    srv = fresh_server.start()
    r = httpx.get(f"{srv.url}/terms")
    assert r.status_code == 200
    text = re.sub(r"\s+", " ", r.text)
    for sentence in (
        "Strikes count for 200 days.",
        "At 4 strikes, you cannot upload for 9 days.",
        "At 6 strikes, the account is closed.",
        "At 7 such notices within 90 days, the sender is warned.",
        "At 11, their notices are not processed for 45 days.",
        "for 190 days after it",
        "restore the content 12 business days later",
        "Example ODS Board",
        "This service is run by Example SAS.",
    ):
        assert sentence in text, sentence
    fr = httpx.get(f"{srv.url}/terms", headers={"Accept-Language": "fr"})
    assert fr.status_code == 200 and fr.headers["content-language"] == "fr"


def _reverse_on_complaint(carol: Account, mod: Account, statement: dict) -> None:
    r = carol.client.post(
        f"/api/v1/statements/{statement['ref']}/complaints", json={"text": "My own recording."}
    )
    assert r.status_code == 201, r.text
    r = mod.client.post(
        f"/api/v1/moderation/complaints/{r.json()['ref']}/decide",
        json={"outcome": "reverse", "answer": "Not the notified work."},
    )
    assert r.status_code == 200 and r.json()["status"] == "reversed", r.text


def test_a_reversed_strike_lifts_the_suspension_it_caused(srv: Server, mod: Account) -> None:
    """Suspended at two strikes; a complaint reverses one: uploads work again at once.
    With three, reversing one leaves two in force: still suspended."""
    carol = make_account(srv)
    disabled_file(srv, mod, carol)
    *_, second = disabled_file(srv, mod, carol)
    refused = carol.client.put(
        "/api/v1/files/x.txt", content=b"x", headers={"Accept": "application/json"}
    )
    assert refused.status_code == 403
    _reverse_on_complaint(carol, mod, second)
    assert active_strikes(srv, carol.email) == 1
    assert upload(carol)
    assert "strike.suspension_recomputed" in audit_actions(srv, f"user:{make_user_id(srv, carol)}")

    dave = make_account(srv)
    codes = [upload(dave) for _ in range(3)]  # before the second strike stops uploads
    for code in codes:
        decide(mod, notify(srv, code)[0])
    items = dave.client.get("/api/v1/statements").json()["items"]
    third = next(i for i in items if any(f["code"] == codes[2] for f in i["files"]))
    _reverse_on_complaint(dave, mod, third)
    assert active_strikes(srv, dave.email) == 2
    r = dave.client.put("/api/v1/files/y.txt", content=b"y", headers={"Accept": "application/json"})
    assert r.status_code == 403 and "suspended until" in r.json()["message"]


def make_user_id(srv: Server, acc: Account) -> int:
    from partage.accounts.models import User

    ctx = db_context(srv)
    try:
        with ctx.db.read() as s:
            user = s.scalar(select(User).where(User.email == acc.email))
            assert user is not None
            return user.id
    finally:
        ctx.close()
