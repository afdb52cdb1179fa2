"""The auditor's pages on the embedded default: an engagement run through the API up to a
decided proposal, then an auditor signed in through the sign-in form reads the trail (filtered,
paged, exported), follows the decision back to the rating that started it, and verifies the
hash chain — every visit recorded in the tenant's access log, as the API's are.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
import pytest
from litestar.routes import HTTPRoute

from domain.roles import Role
from services.persistence.env import tenant_store_name
from services.web.i18n import LANGUAGE_COOKIE, TIME_ZONE
from tests.http_harness import ADMIN, Person, Story, at, flat
from tests.web.conftest import sign_in_by_form

ROW = re.compile(r'<tr id="event-(\d+)">')


@dataclass
class Audited:
    """A tenant with an engagement run up to a decided proposal, its people and its ids."""

    tenant_id: str
    engagement_id: str
    manager: Person
    ids: dict[str, str]
    emails: dict[str, str]
    units: dict[str, str]
    rating_id: str
    card_id: str
    dialogue_id: str
    proposal_id: str
    decision_version: int

    @property
    def audit(self) -> str:
        return f"/t/{self.tenant_id}/audit"


@pytest.fixture
async def audited(site: Story) -> Audited:
    admin = await site.sign_in(ADMIN)
    tenant = await admin.post("/api/v1/tenants", {"name": "Ærø Kommune", "slug": "aeroe"})
    tenant_id = tenant["id"]
    ids, emails = {}, {}
    for key, platform_role, role in (
        ("consultant", "consultant", "consultant"),
        ("manager", None, "client_admin"),
        ("participant", None, "participant"),
        ("auditor", None, "auditor"),
    ):
        emails[key] = f"{key}@aeroe.dk"
        ids[key] = (await admin.enrol(tenant_id, emails[key], key.title(), platform_role, role))["id"]
    facilitator, manager, participant = [
        await site.sign_in(emails[k]) for k in ("consultant", "manager", "participant")
    ]
    for person in (facilitator, manager, participant):
        person.base = f"/api/v1/tenants/{tenant_id}"

    await manager.put("/organisation", {"name": "Ærø Kommune"}, **at("2025-01-06T08:00:00Z"))
    units = {}
    for name in ("Visitationen", "Hjemmeplejen", "Akutteamet"):
        units[name] = (
            await manager.post("/organisation/units", {"name": name}, **at("2025-01-06T09:00:00Z"))
        )["unit_id"]
    visit, home, acute = units.values()
    created = await manager.post(
        "/engagements",
        {"title": "Udskrivning 2025", "theme_day": "2025-03-11", "unit_ids": [visit, home, acute]},
        **at("2025-01-27T13:00:00Z"),
    )
    engagement = f"/engagements/{created['engagement_id']}"

    async def advance(phase: str, when: str) -> None:
        await facilitator.post(
            f"{engagement}/phase/advance", {"expected_phase": phase}, expect=200, **at(when)
        )

    await advance("prepared", "2025-03-11T08:00:00Z")
    await advance("theme_day_open", "2025-03-11T08:05:00Z")
    for rater, counterpart in ((visit, home), (home, visit), (acute, visit)):
        await participant.put(
            f"{engagement}/units/{rater}/relations",
            {"counterpart_ids": [counterpart]},
            **at("2025-03-11T08:30:00Z"),
        )
    ratings = {}
    for rater, counterpart, value in ((visit, home, 2), (home, visit, 4), (acute, visit, 3)):
        rated = await participant.post(
            f"{engagement}/ratings",
            {"unit_id": rater, "counterpart_id": counterpart, "scores": flat(value)},
            **at("2025-03-11T09:00:00Z"),
        )
        ratings[(rater, counterpart)] = rated["rating_id"]
    await advance("mapping", "2025-03-11T10:00:00Z")
    card = await participant.post(
        f"{engagement}/cards",
        {
            "from_unit": visit,
            "to_unit": home,
            "topic": "Overlevering ved udskrivning",
            "reason": "Vi mister tid",
            "motivating_rating_id": ratings[(visit, home)],
        },
        **at("2025-03-11T10:10:00Z"),
    )
    await participant.post(
        f"{engagement}/cards/{card['card_id']}/accept",
        {"unit_id": home},
        expect=200,
        **at("2025-03-11T10:20:00Z"),
    )
    await facilitator.post(f"{engagement}/schedule", expect=200, **at("2025-03-11T10:30:00Z"))
    await advance("dance_cards", "2025-03-11T11:00:00Z")
    outcome = await participant.post(
        f"{engagement}/dialogues",
        {
            "card_id": card["card_id"],
            "notes": "Overleveringen halter om fredagen",
            "agreements": [{"text": "Fælles tavlemøde hver tirsdag"}],
            "proposals": [{"text": "Elektronisk tavle"}],
        },
        **at("2025-03-11T11:30:00Z"),
    )
    await advance("dialogues", "2025-03-11T13:00:00Z")
    for unit_id in (visit, home, acute):
        await participant.put(
            f"{engagement}/wrap-ups/{unit_id}", {"summary": "Med hjem"}, **at("2025-03-11T13:45:00Z")
        )
    await advance("wrap_up", "2025-03-11T14:00:00Z")
    await facilitator.post(
        f"{engagement}/closing-plenary", {"notes": "En aftale"}, expect=200, **at("2025-03-11T14:30:00Z")
    )
    await advance("closing_plenary", "2025-03-11T15:00:00Z")
    proposal_id = outcome["proposal_ids"][0]
    decided = await manager.post(
        f"{engagement}/proposals/{proposal_id}/decision",
        {"outcome": "approved", "decided_by": "Direktionen", "rationale": "Der er budget"},
        expect=200,
        **at("2025-04-22T13:00:00Z"),
    )
    return Audited(
        tenant_id=tenant_id,
        engagement_id=created["engagement_id"],
        manager=manager,
        ids=ids,
        emails=emails,
        units=units,
        rating_id=ratings[(visit, home)],
        card_id=card["card_id"],
        dialogue_id=outcome["dialogue_id"],
        proposal_id=proposal_id,
        decision_version=decided["version"],
    )


async def api_positions(audited: Audited, **params: Any) -> list[int]:
    """The positions the API's trail gives for `params`, without the auditors' own accesses."""
    page = await audited.manager.get("/audit", params={**params, "limit": 500})
    return [r["position"] for r in page["items"] if r["aggregate_type"] != "AccessLog"]


def positions(page: httpx.Response) -> list[int]:
    return [int(p) for p in ROW.findall(page.text)]


def link(page: httpx.Response, element_id: str) -> str | None:
    found = re.search(rf'<a [^>]*href="([^"]+)"[^>]*id="{element_id}"', page.text)
    return unescape(found.group(1)) if found else None


async def as_auditor(site: Story, audited: Audited, language: str = "en") -> httpx.Response:
    answer = await sign_in_by_form(site.client, audited.emails["auditor"], language=language)
    assert answer.status_code == 303
    return answer


async def test_the_auditor_lands_on_the_trail_and_opens_every_audit_page(
    site: Story, audited: Audited
) -> None:
    answer = await as_auditor(site, audited, language="da")
    assert answer.headers["location"] == audited.audit

    trail = await site.client.get(audited.audit)
    assert trail.status_code == 200
    assert '<html lang="da">' in trail.text
    assert "Revisionsspor" in trail.text
    assert "Vurdering afgivet" in trail.text  # RatingSubmitted, in words
    assert positions(trail) == (await api_positions(audited))[:50]

    decisions = await site.client.get(f"{audited.audit}/decisions")
    assert decisions.status_code == 200
    assert "Elektronisk tavle" in decisions.text
    assert "Godkendt" in decisions.text

    verified = await site.client.get(f"{audited.audit}/verify")
    assert verified.status_code == 200
    assert "Kæden er intakt" in verified.text
    assert "verify_audit_export.py" in verified.text

    lineage = await site.client.get(f"{audited.audit}/lineage/rating/{audited.rating_id}")
    assert lineage.status_code == 200

    site.client.cookies.set(LANGUAGE_COOKIE, "en")
    english = await site.client.get(audited.audit)
    assert '<html lang="en">' in english.text
    assert "Audit trail" in english.text
    assert "Rating submitted" in english.text


async def test_the_auditor_cannot_open_other_pages_and_others_cannot_open_these(
    site: Story, audited: Audited
) -> None:
    await as_auditor(site, audited)
    consultant_pages = [
        route
        for route in site.client.app.routes
        if isinstance(route, HTTPRoute)
        and route.path.startswith("/t/{tenant_id:uuid}")
        and set(route.path_parameters) <= {"tenant_id", "engagement_id"}
        and any(
            "GET" in handler.http_methods and Role.AUDITOR not in handler.opt.get("roles", ())
            for handler in route.route_handlers
        )
    ]
    assert consultant_pages, "the consultants' pages are served"
    for route in consultant_pages:
        url = route.path_format.format(tenant_id=audited.tenant_id, engagement_id=audited.engagement_id)
        refused = await site.client.get(url)
        assert refused.status_code == 403, url
        assert "text/html" in refused.headers["content-type"]

    # A participant of the tenant may not read the audit pages.
    await sign_in_by_form(site.client, audited.emails["participant"])
    for path in ("", "/decisions", "/verify", f"/lineage/rating/{audited.rating_id}"):
        assert (await site.client.get(audited.audit + path)).status_code == 403, path
    # Someone not signed in is sent to sign in and back.
    site.client.cookies.clear()
    away = await site.client.get(audited.audit, follow_redirects=False)
    assert away.status_code == 303
    assert away.headers["location"].startswith("/login?next=")


async def test_the_auditors_page_visits_are_recorded_in_the_access_log(site: Story, audited: Audited) -> None:
    await as_auditor(site, audited)
    assert (await site.client.get(audited.audit, params={"event": "RatingSubmitted"})).status_code == 200
    assert (await site.client.get(f"{audited.audit}/decisions")).status_code == 200
    assert (await site.client.get(f"{audited.audit}/lineage/proposal/{audited.card_id}")).status_code == 404

    page = await audited.manager.get("/audit", params={"event_type": "AuditorAccessed", "limit": 500})
    seen = [
        (r["details"]["method"], r["details"]["path"], r["details"]["query"], r["details"]["status"])
        for r in page["items"]
    ]
    assert seen == [
        ("GET", audited.audit, "event=RatingSubmitted", 200),
        ("GET", f"{audited.audit}/decisions", "", 200),
        ("GET", f"{audited.audit}/lineage/proposal/{audited.card_id}", "", 404),
    ]
    assert {(r["actor_id"], r["actor_role"]) for r in page["items"]} == {(audited.ids["auditor"], "auditor")}


async def test_filters_narrow_the_rows_as_the_api_does(site: Story, audited: Audited) -> None:
    await as_auditor(site, audited)

    async def shown(**params: str) -> list[int]:
        page = await site.client.get(audited.audit, params={**params, "limit": "200"})
        assert page.status_code == 200, page.text
        return positions(page)

    everything = await shown()
    ratings = await shown(event="RatingSubmitted")
    assert len(ratings) == 3
    assert ratings == await api_positions(audited, event_type="RatingSubmitted")
    by_participant = await shown(actor=audited.ids["participant"])
    assert by_participant == await api_positions(audited, actor_id=audited.ids["participant"])
    assert 0 < len(by_participant) < len(everything)
    engagement = await shown(aggregate=audited.engagement_id)
    assert engagement == await api_positions(audited, aggregate_id=audited.engagement_id)
    # Dates are whole days in Copenhagen, the last one included.
    theme_day = await shown(**{"from": "2025-03-11", "to": "2025-03-11"})
    assert theme_day == await api_positions(
        audited, occurred_from="2025-03-11T00:00:00+01:00", occurred_to="2025-03-12T00:00:00+01:00"
    )
    assert 0 < len(theme_day) < len(engagement)
    decided = await shown(aggregate=audited.engagement_id, **{"from": "2025-04-22"})
    assert len(decided) == 1
    # Everything was recorded just now, whatever day it happened.
    yesterday = (datetime.now(ZoneInfo(TIME_ZONE)).date() - timedelta(days=1)).isoformat()
    assert await shown(aggregate=audited.engagement_id, dates="recorded", **{"from": yesterday}) == engagement
    assert await shown(dates="recorded", to="2025-01-01") == []
    assert await shown(event="RatingSubmitted", actor=audited.ids["manager"]) == []


async def test_bad_filters_are_named_next_to_their_fields(site: Story, audited: Audited) -> None:
    await as_auditor(site, audited)
    for params, field in (
        ({"from": "yesterday"}, "from"),
        ({"to": "2025-13-40"}, "to"),
        ({"from": "2025-03-12", "to": "2025-03-11"}, "to"),
        ({"actor": "nobody"}, "actor"),
        ({"aggregate": "123"}, "aggregate"),
        ({"event": "Rating submitted!"}, "event"),
        ({"from": "0001-01-01"}, "from"),
    ):
        page = await site.client.get(audited.audit, params=params)
        assert page.status_code == 400, params
        assert f'id="f-{field}-error"' in page.text, params
        assert not positions(page)
    page = await site.client.get(audited.audit, params={"after": "-3"})
    assert page.status_code == 400
    assert 'id="form-error"' in page.text


async def test_paging_walks_the_trail_and_back(site: Story, audited: Audited) -> None:
    await as_auditor(site, audited)
    expected = await api_positions(audited, aggregate_id=audited.engagement_id)
    pages: list[list[int]] = []
    address: str | None = f"{audited.audit}?aggregate={audited.engagement_id}&limit=5"
    while address is not None:
        page = await site.client.get(address)
        assert page.status_code == 200
        pages.append(positions(page))
        assert len(pages[-1]) <= 5
        address = link(page, "audit-newer")
        if address is not None:
            # The cursor is the API's: the position of the last row shown.
            assert parse_qs(urlsplit(address).query)["after"] == [str(pages[-1][-1])]
    assert [p for chunk in pages for p in chunk] == expected
    assert len(pages) == -(-len(expected) // 5)

    # From the third page, "Older" goes back to the second, and from there to the first.
    third = await site.client.get(f"{audited.audit}?aggregate={audited.engagement_id}&limit=5")
    for _ in range(2):
        newer = link(third, "audit-newer")
        assert newer
        third = await site.client.get(newer)
    assert positions(third) == pages[2]
    older = link(third, "audit-older")
    assert older
    second = await site.client.get(older)
    assert positions(second) == pages[1]
    older = link(second, "audit-older")
    assert older
    first = await site.client.get(older)
    assert positions(first) == pages[0]
    assert link(first, "audit-older") is None


async def test_the_export_buttons_download_what_the_filters_select(site: Story, audited: Audited) -> None:
    await as_auditor(site, audited)
    page = await site.client.get(audited.audit, params={"event": "RatingSubmitted", "from": "2025-03-11"})
    expected = await api_positions(audited, event_type="RatingSubmitted")

    csv_link = link(page, "export-csv")
    assert csv_link
    assert csv_link.startswith(f"/api/v1/tenants/{audited.tenant_id}/audit/export.csv?")
    # Downloaded with the browser's session cookie, as a click on the button does.
    exported = await site.client.get(csv_link)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert [int(r["position"]) for r in csv.DictReader(io.StringIO(exported.text))] == expected

    jsonl_link = link(page, "export-jsonl")
    assert jsonl_link
    exported = await site.client.get(jsonl_link)
    assert exported.status_code == 200
    assert [json.loads(line)["position"] for line in exported.text.splitlines()] == expected

    chain_link = link(page, "export-chain")
    assert chain_link == f"/api/v1/tenants/{audited.tenant_id}/audit/export/chain.jsonl"
    exported = await site.client.get(chain_link)
    assert exported.status_code == 200
    assert json.loads(exported.text.splitlines()[-1])["tenant_id"] == audited.tenant_id


async def test_the_lineage_page_draws_the_chain_from_the_decision_back_to_the_rating(
    site: Story, audited: Audited
) -> None:
    await as_auditor(site, audited)
    decisions = await site.client.get(f"{audited.audit}/decisions")
    decision = f"{audited.proposal_id}:{audited.decision_version}"
    address = f"{audited.audit}/lineage/proposal_decision/{decision}"
    assert f'href="{address}"' in decisions.text

    page = await site.client.get(address)
    assert page.status_code == 200
    text = page.text
    assert "<h1>Lineage: Decision on a proposal</h1>" in text
    # The picture: five steps and an arrow from each cause to what it led to.
    assert text.count('<g class="node') == 5
    assert text.count('<path class="arrow"') == 4
    assert 'role="img"' in text
    # The list: the decision, then back from the proposal to the rating, nearest first.
    back = text[text.index('id="lineage-back"') : text.index("</ol>", text.index('id="lineage-back"'))]
    kinds = re.findall(r"<h4>([^<]+)</h4>", back)
    assert kinds == ["Proposal", "Dialogue", "Dance card", "Rating"]
    assert "Elektronisk tavle" in back
    assert "Overlevering ved udskrivning (from Visitationen to Hjemmeplejen)" in back
    assert "Visitationen rates Hjemmeplejen" in back
    assert "Why: Vi mister tid" in text
    assert "Decided by Direktionen" in text
    assert "Recorded by Participant, Participant" in back
    assert "Nothing has come of this step yet." in text
    for step in (
        f"rating/{audited.rating_id}",
        f"dance_card/{audited.card_id}",
        f"dialogue/{audited.dialogue_id}",
    ):
        assert f'href="{audited.audit}/lineage/{step}"' in back

    # Forwards from the rating: what came of it, down to the decision.
    forwards = await site.client.get(f"{audited.audit}/lineage/rating/{audited.rating_id}")
    ahead = forwards.text[forwards.text.index('id="lineage-forwards"') :]
    kinds = re.findall(r"<h4>([^<]+)</h4>", ahead)
    assert kinds[0] == "Dance card"
    assert kinds[-1] == "Decision on a proposal"
    assert {"Answer to a dance card", "Dialogue", "Agreement", "Proposal"} <= set(kinds)

    # From the trail: the decision row links to the same lineage.
    trail = await site.client.get(audited.audit, params={"event": "ProposalDecided"})
    assert f'href="{address}"' in trail.text

    assert (await site.client.get(f"{audited.audit}/lineage/meeting/{audited.card_id}")).status_code == 404
    assert (await site.client.get(f"{audited.audit}/lineage/proposal/{audited.card_id}")).status_code == 404


async def test_a_broken_chain_names_the_first_event_that_does_not_match(
    site: Story, audited: Audited
) -> None:
    await as_auditor(site, audited)
    intact = await site.client.get(f"{audited.audit}/verify")
    assert "The chain is intact" in intact.text

    events = (
        site.container.settings.data_dir / "stores" / f"{tenant_store_name(UUID(audited.tenant_id))}.sqlite3"
    )
    with closing(sqlite3.connect(events, isolation_level=None)) as db:
        position, state = db.execute(
            "SELECT rowid, state FROM stored_events ORDER BY rowid LIMIT 1 OFFSET 9"
        ).fetchone()
        db.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = ?",
            (state[:7] + bytes([state[7] ^ 1]) + state[8:], position),
        )
    broken = await site.client.get(f"{audited.audit}/verify")
    assert broken.status_code == 200
    assert f"The chain does not match at position {position}" in broken.text
    assert "it was changed after it was recorded" in broken.text
    assert 'role="alert"' in broken.text
