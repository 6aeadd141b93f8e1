"""The transparency report on a server of its own, so every figure is known: the test makes
notices (public form intake and the API), decisions, reversals, complaints, suspensions,
bank matches and a quarantine, then reads the report as JSON, CSV and a page."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from partage.accounts.models import User
from partage.context import Context
from partage.files.models import Blob, File
from partage.moderation import decisions, notices
from partage.moderation.decisions import DecisionIn
from partage.moderation.models import (
    Action,
    BankMatch,
    Complaint,
    ComplaintStatus,
    Decision,
    Notice,
    NotifierSanction,
)
from partage.moderation.refs import new_ref
from partage.moderation.transparency import flatten
from tests.admin.conftest import make_admin, upload
from tests.conftest import Account, db_context, make_account
from tests.serverproc import Server

JSON = {"Accept": "application/json"}
HOUR = timedelta(hours=1)
OLD = datetime(2020, 3, 10, 10, tzinfo=UTC)


@dataclass
class World:
    srv: Server
    ctx: Context
    now: datetime


@pytest.fixture
def world(fresh_server: Server) -> Iterator[World]:
    fresh_server.start()
    ctx = db_context(fresh_server)
    yield World(fresh_server, ctx, datetime.now(UTC))
    ctx.close()


def _form_notice(ctx: Context, category: str, code: str, **more: str) -> str:
    data = notices.NoticeIn(
        category=category, locations=[code], explanation="It is not allowed.",
        notifier_name="Ann Notifier", notifier_email="ann@example.org", signature="Ann Notifier",
        good_faith=True, accurate=True, **more,
    )  # fmt: skip
    with ctx.db.session() as s:
        return notices.submit(s, data, source="form").ref


def _api_notice(acc: Account, category: str, code: str, **more: str) -> str:
    body = {"category": category, "locations": [code], "explanation": "Our catalogue.",
            "notifier_name": "Rights Ltd", "notifier_email": "rights@example.org",
            "good_faith": True, "accurate": True, "signature": "R. Holder", **more}  # fmt: skip
    r = acc.client.post("/api/v1/notices", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["ref"])


def _received(ctx: Context, ref: str, at: datetime) -> None:
    with ctx.db.session() as s:
        s.execute(update(Notice).where(Notice.ref == ref).values(created_at=at))


def _decide(ctx: Context, ref: str | None, action: Action, ground: str = "law", *,
            codes: list[str] | None = None, **more: Any) -> str:  # fmt: skip
    inp = DecisionIn(action=action, ground=ground, legal_ground="Art. 1", facts="Seen.", **more)
    with ctx.db.session() as s:
        notice = notices.get_by_ref(s, ref) if ref else None
        files = list(s.scalars(select(File).where(File.code.in_(codes)))) if codes else None
        out = decisions.decide(s, ctx.settings, None, inp, notice=notice, files=files,
                               source=None if ref else "bank_match")  # fmt: skip
        return out.decision.ref


def _reverse(ctx: Context, ref: str, source: str) -> None:
    with ctx.db.session() as s:
        decisions.reverse(s, ctx.settings, None, decisions.get_decision(s, ref),
                          reason="On review.", source=source)  # fmt: skip


def _complaint(ctx: Context, decision: str, kind: str, status: ComplaintStatus,
               at: datetime, took: timedelta | None) -> None:  # fmt: skip
    with ctx.db.session() as s:
        d = decisions.get_decision(s, decision)
        s.add(Complaint(ref=new_ref("C"), kind=kind, decision_id=d.id, status=status,
                        text="Please restore.", created_at=at,
                        decided_at=at + took if took is not None else None))  # fmt: skip


def _user_id(ctx: Context, email: str) -> int:
    with ctx.db.read() as s:
        return int(s.scalar(select(User.id).where(User.email == email)) or 0)


def _report(srv: Server, **params: str) -> dict[str, Any]:
    r = httpx.get(srv.url + "/transparency", params=params, headers=JSON)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return dict(r.json())


def test_figures_equal_what_happened(world: World) -> None:
    srv, ctx, now = world.srv, world.ctx, world.now
    u1, u2, u3, flagger = (make_account(srv) for _ in range(4))
    admin = make_admin(srv)
    f1, f2, f3, f4 = (upload(u1.client, f"{n}.bin", secrets.token_bytes(64))["code"]
                      for n in "abcd")  # fmt: skip
    g1 = upload(u2.client, "g.bin", secrets.token_bytes(64))["code"]
    r = admin.api.patch(f"/api/v1/admin/users/{_user_id(ctx, flagger.email)}",
                        json={"trusted_flagger": True})  # fmt: skip
    assert r.status_code == 200 and r.json()["trusted_flagger"] is True

    # six notices in the period: four by the form, two by a trusted flagger's token
    n1 = _form_notice(ctx, "copyright", f1, work="Song")
    n2 = _api_notice(flagger, "copyright", f2, work="Film")
    n3 = _form_notice(ctx, "terms", f4)
    n4 = _form_notice(ctx, "illegal", f4, legal_ground="Penal code 1")
    n5 = _api_notice(flagger, "child_safety", g1)
    _form_notice(ctx, "malware", f4)  # left open
    for ref, hours in ((n1, 1), (n2, 2), (n3, 3), (n4, 5), (n5, 4)):
        _received(ctx, ref, now - hours * HOUR)
    d1 = _decide(ctx, n1, Action.disable)
    _decide(ctx, n2, Action.disable_blob)
    _decide(ctx, n3, Action.keep)
    _decide(ctx, n4, Action.reject)
    _decide(ctx, n5, Action.suspend, "terms")  # suspends u2
    # found by a bank match, by automated means: u1's third strike closes the account
    d6 = _decide(ctx, None, Action.disable, "terms", codes=[f3], automated=True)
    _reverse(ctx, d1, "complaint")
    _reverse(ctx, d6, "counter_notice")
    _complaint(ctx, d1, "complaint", ComplaintStatus.reversed, now - 9 * HOUR, 2 * HOUR)
    _complaint(ctx, d1, "complaint", ComplaintStatus.upheld, now - 8 * HOUR, 4 * HOUR)
    _complaint(ctx, d6, "counter_notice", ComplaintStatus.open, now - HOUR, None)
    _complaint(ctx, d6, "counter_notice", ComplaintStatus.restored, now - 300 * HOUR, 240 * HOUR)
    r = admin.api.post(f"/api/v1/admin/users/{_user_id(ctx, u3.email)}/suspend",
                       json={"reason": "Spam."})  # fmt: skip
    assert r.status_code == 200

    with ctx.db.session() as s:
        s.add_all([NotifierSanction(email="x@example.org", kind="suspension", until=now + HOUR),
                   NotifierSanction(email="y@example.org", kind="warning")])  # fmt: skip
        for kind, outcome in (("sha256", "refused"), ("md5", "refused"), ("pdq", "disabled"),
                              ("vpdq", "queued")):  # fmt: skip
            s.add(BankMatch(kind=kind, outcome=outcome))
        s.add(BankMatch(kind="pdq", outcome="queued", created_at=OLD))
        blob_of = {c: s.scalar(select(File.blob_id).where(File.code == c)) for c in (g1, f4)}
        s.execute(update(Blob).where(Blob.id == blob_of[g1])
                  .values(scan_state="infected", scanned_at=now))  # fmt: skip
        s.execute(update(Blob).where(Blob.id == blob_of[f4])
                  .values(scan_state="infected", scanned_at=OLD))  # fmt: skip

    # one notice and its decision in March 2020
    old = _form_notice(ctx, "copyright", f4, work="Old song")
    _received(ctx, old, OLD)
    old_decision = _decide(ctx, old, Action.keep)
    with ctx.db.session() as s:
        s.execute(update(Decision).where(Decision.ref == old_decision)
                  .values(created_at=OLD + 24 * HOUR))  # fmt: skip

    report = _report(srv)
    today = now.date()
    assert report["period"]["to"] == today.isoformat()
    assert report["period"]["from"] == (today.replace(year=today.year - 1)
                                        + timedelta(days=1)).isoformat()  # fmt: skip
    n = report["notices"]
    assert n["total"] == 6
    assert n["by_category"] == {"copyright": 2, "illegal": 1, "terms": 1, "malware": 1,
                                "child_safety": 1}  # fmt: skip
    assert n["by_source"] == {"form": 4, "api": 2}
    assert n["trusted_flaggers"]["total"] == 2
    assert n["trusted_flaggers"]["by_category"]["copyright"] == 1
    assert n["trusted_flaggers"]["by_category"]["child_safety"] == 1
    # n1's decision was reversed: the notice ends "kept"
    assert n["by_outcome"] == {"open": 1, "actioned": 2, "kept": 2, "rejected": 1}

    d = report["decisions"]
    assert d["total"] == 6 and d["automated"] == 1
    assert d["by_ground"] == {"law": 4, "terms": 2}
    assert d["by_action"] == {"disable": 2, "disable_blob": 1, "keep": 1, "reject": 1,
                              "suspend": 1}  # fmt: skip
    assert d["by_source"] == {"notice": 5, "own_initiative": 0, "bank_match": 1,
                              "malware_scan": 0}  # fmt: skip
    # received 1, 2, 3, 5 and 4 hours before the decisions: the median is 3 hours
    assert 3 * 3600 <= d["median_seconds_notice_to_decision"] < 3 * 3600 + 120

    c = report["complaints"]
    assert c["total"] == 4
    complaint, counter = c["by_kind"]["complaint"], c["by_kind"]["counter_notice"]
    assert complaint["total"] == 2 and complaint["median_seconds_to_decide"] == 3 * 3600
    assert complaint["by_outcome"] == {"open": 0, "upheld": 1, "reversed": 1, "restored": 0,
                                       "court_action": 0}  # fmt: skip
    assert counter["total"] == 2 and counter["median_seconds_to_decide"] == 240 * 3600
    assert (counter["by_outcome"]["open"], counter["by_outcome"]["restored"]) == (1, 1)
    assert c["reversals"] == {"total": 2, "by_source": {"complaint": 1, "counter_notice": 1}}

    sus = report["suspensions"]
    assert sus["accounts"] == {"total": 3, "by_reason": {"admin": 1, "decision": 1,
                                                         "repeat_infringer": 1}}  # fmt: skip
    assert sus["upload_suspensions"] == 1
    assert sus["notifiers"] == {"suspended": 1, "warned": 1}
    assert report["bank_matches"] == {
        "total": 4,
        "by_outcome": {"refused": 2, "disabled": 1, "queued": 1},
        "by_kind": {"sha256": 1, "md5": 1, "pdq": 1, "vpdq": 1},
    }
    assert report["malware"] == {"quarantined": 1}

    # the CSV carries the same figures, one a row
    r = httpx.get(srv.url + "/transparency", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = {row["figure"]: row["value"] for row in csv.DictReader(io.StringIO(r.text))}
    figures = dict(flatten(report))
    assert rows.keys() == figures.keys()
    for key, value in figures.items():
        if key != "generated_at":
            assert rows[key] == ("" if value is None else str(value)), key
    again = httpx.get(srv.url + "/transparency.csv")
    assert again.status_code == 200 and "attachment" in again.headers["content-disposition"]
    assert {r["figure"]: r["value"] for r in csv.DictReader(io.StringIO(again.text))}[
        "notices.by_source.api"
    ] == "2"

    # March 2020 alone
    march = _report(srv, **{"from": "2020-03-01", "to": "2020-03-31"})
    assert march["period"] == {"from": "2020-03-01", "to": "2020-03-31"}
    assert march["notices"]["total"] == 1 and march["notices"]["by_category"]["copyright"] == 1
    assert march["decisions"]["total"] == 1 and march["decisions"]["by_action"]["keep"] == 1
    assert march["decisions"]["median_seconds_notice_to_decision"] == 24 * 3600
    assert march["bank_matches"]["by_kind"]["pdq"] == 1 and march["malware"]["quarantined"] == 1
    assert march["complaints"]["total"] == 0 and march["suspensions"]["accounts"]["total"] == 0
    assert _report(srv, **{"from": "2020-03-11", "to": "2020-03-11"})["notices"]["total"] == 0
    admin.api.close()
    for acc in (u1, u2, u3, flagger):
        acc.client.close()


def test_page_and_bad_periods(server: Server) -> None:
    srv = server  # the figures do not matter here: the shared server
    r = httpx.get(srv.url + "/transparency", params={"from": "2020-03-01", "to": "2020-03-31"},
                  headers={"Accept": "text/html"})  # fmt: skip
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "2020-03-01" in r.text and 'id="t-notices"' in r.text and 'id="t-malware"' in r.text
    assert 'href="/transparency.csv?from=2020-03-01&amp;to=2020-03-31"' in r.text
    assert "median time runs from the notice" in r.text  # each figure's definition is shown
    r = httpx.get(
        srv.url + "/transparency", headers={"Accept": "text/html", "Accept-Language": "fr"}
    )
    assert r.status_code == 200 and r.headers["content-language"] == "fr"
    # the page is public: no login, and a browser's Accept gets the page, not JSON
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = httpx.get(srv.url + "/transparency", headers={"Accept": browser})
    assert page.headers["content-type"].startswith("text/html")
    assert httpx.get(srv.url + "/transparency", params={"format": "json"}).json()["notices"]

    for params, words in (
        ({"from": "2020-13-01"}, "from: give a date as YYYY-MM-DD"),
        ({"to": "yesterday"}, "to: give a date as YYYY-MM-DD"),
        ({"from": "2021-01-02", "to": "2021-01-01"}, "comes after"),
        ({"format": "xml"}, "format: html, json or csv"),
    ):
        r = httpx.get(srv.url + "/transparency", params=params, headers=JSON)
        assert r.status_code == 400, params
        assert r.json()["error"] == "bad_request" and words in r.json()["message"]
    r = httpx.get(srv.url + "/transparency.csv", params={"to": "31/12/2020"})
    assert r.status_code == 400
    r = httpx.get(srv.url + "/transparency", params={"from": "x"}, headers={"Accept": "text/html"})
    assert r.status_code == 400 and "text/html" in r.headers["content-type"]
