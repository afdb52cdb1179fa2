"""The audit trail and decision lineage through the HTTP API, on the embedded default and on
PostgreSQL + Redis: a small engagement run up to a decision on a proposal, every step dated,
then the trail read whole, filtered, paged and exported, and the decision followed back to the
rating that started it and the rating on to the decision.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from tests.http_harness import ADMIN, Person, Story, at, flat


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def walk(person: Person, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """Every row `params` select, page by page with keyset pagination."""
    rows: list[dict[str, Any]] = []
    after = None
    while True:
        page = await person.get(
            "/audit", params={**params, "limit": limit, **({"after": after} if after is not None else {})}
        )
        assert len(page["items"]) <= limit
        rows += page["items"]
        after = page["next_after"]
        if after is None:
            return rows
        assert after == page["items"][-1]["position"]


async def test_the_audit_trail_and_lineage_of_a_decision(story: Story) -> None:
    started = datetime.now(UTC)
    # -- Two tenants and their people (unique names: PostgreSQL runs share one control plane) -----
    tag = secrets.token_hex(4)
    admin = await story.sign_in(ADMIN)
    tenant = await admin.post("/api/v1/tenants", {"name": f"Ærø Kommune {tag}", "slug": f"aeroe-{tag}"})
    other = await admin.post("/api/v1/tenants", {"name": f"Fanø Kommune {tag}", "slug": f"fanoe-{tag}"})
    tenant_id = tenant["id"]
    ids: dict[str, str] = {}
    for key, platform_role, role, where in (
        ("consultant", "consultant", "consultant", tenant_id),
        ("manager", None, "client_admin", tenant_id),
        ("participant", None, "participant", tenant_id),
        ("auditor", None, "auditor", tenant_id),
        ("outsider", None, "client_admin", other["id"]),
    ):
        email = f"{key}-{tag}@aeroe.dk"
        user = await admin.enrol(where, email, key, platform_role, role)
        ids[key] = user["id"]
    facilitator, manager, participant, auditor, outsider = [
        await story.sign_in(f"{key}-{tag}@aeroe.dk") for key in ids
    ]
    for person in (facilitator, manager, participant, auditor, outsider):
        person.base = f"/api/v1/tenants/{tenant_id}"
    role_of = {ids[k]: r for k, r in (("consultant", "consultant"), ("manager", "client_admin"))}
    role_of[ids["participant"]] = "participant"
    # The consultancy admin gave everyone their role, and every membership is in the trail too.
    role_of[(await admin.get("/api/v1/me"))["user_id"]] = "consultancy_admin"

    # -- An engagement up to a decision on a proposal, every step dated ----------------------------
    await manager.put("/organisation", {"name": "Ærø Kommune"}, **at("2025-01-06T08:00:00Z"))
    unit = {}
    for name in ("Visitationen", "Hjemmeplejen", "Akutteamet"):
        created = await manager.post("/organisation/units", {"name": name}, **at("2025-01-06T09:00:00Z"))
        unit[name] = created["unit_id"]
    visit, home, acute = unit.values()
    created = await manager.post(
        "/engagements",
        {"title": "Udskrivning 2025", "theme_day": "2025-03-11", "unit_ids": [visit, home, acute]},
        **at("2025-01-27T13:00:00Z"),
    )
    engagement_id = created["engagement_id"]
    engagement = f"/engagements/{engagement_id}"

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
    weak_rating = ratings[(visit, home)]
    await advance("mapping", "2025-03-11T10:00:00Z")
    card = await participant.post(
        f"{engagement}/cards",
        {
            "from_unit": visit,
            "to_unit": home,
            "topic": "Overlevering ved udskrivning",
            "reason": "Vi mister tid",
            "motivating_rating_id": weak_rating,
        },
        **at("2025-03-11T10:10:00Z"),
    )
    card_id = card["card_id"]
    await participant.post(
        f"{engagement}/cards/{card_id}/accept", {"unit_id": home}, expect=200, **at("2025-03-11T10:20:00Z")
    )
    await facilitator.post(f"{engagement}/schedule", expect=200, **at("2025-03-11T10:30:00Z"))
    await advance("dance_cards", "2025-03-11T11:00:00Z")
    outcome = await participant.post(
        f"{engagement}/dialogues",
        {
            "card_id": card_id,
            "notes": "Overleveringen halter om fredagen",
            "agreements": [{"text": "Fælles tavlemøde hver tirsdag"}],
            "proposals": [{"text": "Elektronisk tavle"}],
        },
        **at("2025-03-11T11:30:00Z"),
    )
    dialogue_id = outcome["dialogue_id"]
    proposal_id = outcome["proposal_ids"][0]
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
    decided = await manager.post(
        f"{engagement}/proposals/{proposal_id}/decision",
        {"outcome": "approved", "decided_by": "Direktionen", "rationale": "Der er budget"},
        expect=200,
        **at("2025-04-22T13:00:00Z"),
    )

    # -- The whole trail: every event in order, with who did it under which role -------------------
    trail = (await manager.get("/audit", params={"limit": 500}))["items"]
    positions = [row["position"] for row in trail]
    assert positions == sorted(set(positions))
    assert all(row["actor_id"] in role_of for row in trail)
    assert all(row["actor_role"] == role_of[row["actor_id"]] for row in trail)
    engagement_rows = [row for row in trail if row["aggregate_id"] == engagement_id]
    assert [row["version"] for row in engagement_rows] == list(range(1, len(engagement_rows) + 1))
    assert [(row["event_type"], row["actor_role"]) for row in engagement_rows] == [
        ("Prepared", "client_admin"),
        ("PhaseAdvanced", "consultant"),
        ("PhaseAdvanced", "consultant"),
        ("RelationsMapped", "participant"),
        ("RelationsMapped", "participant"),
        ("RelationsMapped", "participant"),
        ("RatingSubmitted", "participant"),
        ("RatingSubmitted", "participant"),
        ("RatingSubmitted", "participant"),
        ("PhaseAdvanced", "consultant"),
        ("DanceCardSent", "participant"),
        ("DanceCardAccepted", "participant"),
        ("DialoguesScheduled", "consultant"),
        ("PhaseAdvanced", "consultant"),
        ("DialogueHeld", "participant"),
        ("AgreementMade", "participant"),
        ("ProposalMade", "participant"),
        ("PhaseAdvanced", "consultant"),
        ("UnitWrappedUp", "participant"),
        ("UnitWrappedUp", "participant"),
        ("UnitWrappedUp", "participant"),
        ("PhaseAdvanced", "consultant"),
        ("ClosingPlenaryHeld", "consultant"),
        ("PhaseAdvanced", "consultant"),
        ("ProposalDecided", "client_admin"),
    ]
    organisation_rows = [row for row in trail if row["aggregate_type"] == "Organisation"]
    membership_rows = [row for row in trail if row["aggregate_type"] == "MemberRoster"]
    # The roster opened, then a role for the consultant, manager, participant and auditor.
    assert [row["event_type"] for row in membership_rows] == ["Opened"] + ["MembershipGranted"] * 4
    assert len(organisation_rows) == len(trail) - len(engagement_rows) - len(membership_rows) >= 4
    decision_row = engagement_rows[-1]
    assert decision_row["version"] == decided["version"]
    assert decision_row["occurred_at"] == "2025-04-22T13:00:00Z"
    assert decision_row["caused_by"] == [f"proposal:{proposal_id}"]
    assert decision_row["command_name"] == "DecideProposal"
    assert decision_row["details"]["proposal_id"] == proposal_id
    assert moment(decision_row["recorded_at"]) >= started
    card_row = next(row for row in trail if row["event_type"] == "DanceCardSent")
    assert card_row["caused_by"] == [f"rating:{weak_rating}"]

    # -- Filters return exactly the rows they select --------------------------------------------
    async def selected(**params: Any) -> list[dict[str, Any]]:
        page = await manager.get("/audit", params={**params, "limit": 500})
        assert page["next_after"] is None
        return list(page["items"])

    by_participant = await selected(actor_id=ids["participant"])
    assert by_participant == [row for row in trail if row["actor_id"] == ids["participant"]]
    assert len(by_participant) == 14
    ratings_rows = await selected(event_type="RatingSubmitted")
    assert [row["details"]["rating"]["rating_id"] for row in ratings_rows] == list(ratings.values())
    several = await selected(event_type=["DanceCardSent", "ProposalDecided"])
    assert [row["event_type"] for row in several] == ["DanceCardSent", "ProposalDecided"]
    assert await selected(event_type="DanceCardSent,ProposalDecided") == several
    assert await selected(aggregate_id=engagement_id) == engagement_rows
    assert await selected(aggregate_type="Organisation") == organisation_rows
    assert await selected(aggregate_id=engagement_id, actor_id=ids["manager"]) == [
        engagement_rows[0],
        decision_row,
    ]
    # Occurred: from inclusive, to exclusive.
    morning = await selected(occurred_from="2025-03-11T09:00:00Z", occurred_to="2025-03-11T10:10:00Z")
    assert [row["event_type"] for row in morning] == ["RatingSubmitted"] * 3 + ["PhaseAdvanced"]
    in_copenhagen = await selected(
        occurred_from="2025-03-11T10:00:00+01:00", occurred_to="2025-03-11T11:10:00+01:00"
    )
    assert in_copenhagen == morning
    # The decision is the last thing that happened in 2025; the roles were given when the test ran.
    assert await selected(occurred_from="2025-04-22T13:00:00Z", occurred_to="2026-01-01T00:00:00Z") == [
        decision_row
    ]
    assert await selected(occurred_from="2026-01-01T00:00:00Z") == membership_rows
    assert await selected(occurred_to="2025-01-06T09:00:00Z") == [
        row for row in organisation_rows if row["occurred_at"] == "2025-01-06T08:00:00Z"
    ]
    # Recorded: the wall clock, whatever date the commands were given.
    assert await selected(recorded_from=started.isoformat()) == trail
    assert await selected(recorded_to=started.isoformat()) == []
    assert await selected(actor_id=ids["auditor"]) == []

    # -- Keyset pagination walks every row once ------------------------------------------------------
    paged = await walk(manager, {}, 2)
    assert paged == trail
    assert await walk(manager, {"actor_id": ids["participant"]}, 2) == by_participant
    assert await walk(manager, {"event_type": "RatingSubmitted"}, 3) == ratings_rows
    assert (await manager.get("/audit", params={"after": positions[-1]}))["items"] == []

    # -- The exports hold the same rows as the paged API ---------------------------------------------
    response = await manager.raw("/audit/export.jsonl")
    assert response.headers["content-type"].startswith("application/jsonl")
    assert response.headers["content-disposition"] == f'attachment; filename="audit-{tenant_id}.jsonl"'
    assert [json.loads(line) for line in response.text.splitlines()] == trail
    response = await manager.raw("/audit/export.jsonl", params={"actor_id": ids["participant"]})
    assert [json.loads(line) for line in response.text.splitlines()] == by_participant

    response = await manager.raw("/audit/export.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == f'attachment; filename="audit-{tenant_id}.csv"'
    exported = list(csv.DictReader(io.StringIO(response.text)))

    def as_csv(row: dict[str, Any]) -> dict[str, Any]:
        return {
            **{k: str(v) for k, v in row.items() if k not in {"caused_by", "details"}},
            "occurred_at": moment(row["occurred_at"]),
            "recorded_at": moment(row["recorded_at"]),
            "caused_by": row["caused_by"],
            "details": row["details"],
        }

    def parsed(line: dict[str, str]) -> dict[str, Any]:
        return {
            **line,
            "occurred_at": moment(line["occurred_at"]),
            "recorded_at": moment(line["recorded_at"]),
            "caused_by": line["caused_by"].split(),
            "details": json.loads(line["details"]),
        }

    assert [parsed(line) for line in exported] == [as_csv(row) for row in trail]
    response = await manager.raw("/audit/export.csv", params={"event_type": "RatingSubmitted"})
    assert [parsed(line) for line in csv.DictReader(io.StringIO(response.text))] == [
        as_csv(row) for row in ratings_rows
    ]
    empty = await manager.raw("/audit/export.csv", params={"actor_id": ids["auditor"]})
    assert empty.text.strip() == ",".join(next(csv.reader(io.StringIO(response.text))))

    # -- Lineage: the decision back to the rating, the rating on to the decision ---------------------
    decision_node = f"proposal_decision:{proposal_id}:{decided['version']}"
    lineage = await auditor.get(f"/lineage/proposal_decision/{proposal_id}:{decided['version']}")
    node = lineage["node"]
    assert (node["node_id"], node["kind"], node["entity_id"]) == (
        decision_node,
        "proposal_decision",
        f"{proposal_id}:{decided['version']}",
    )
    assert (node["actor_id"], node["actor_role"], node["occurred_at"]) == (
        ids["manager"],
        "client_admin",
        "2025-04-22T13:00:00Z",
    )
    assert node["label"] == "approved by Direktionen"
    back = [(n["node_id"], n["actor_role"], n["occurred_at"]) for n in lineage["ancestors"]]
    assert back == [
        (f"proposal:{proposal_id}", "participant", "2025-03-11T11:30:00Z"),
        (f"dialogue:{dialogue_id}", "participant", "2025-03-11T11:30:00Z"),
        (f"dance_card:{card_id}", "participant", "2025-03-11T10:10:00Z"),
        (f"rating:{weak_rating}", "participant", "2025-03-11T09:00:00Z"),
    ]
    assert all(n["actor_id"] == ids["participant"] for n in lineage["ancestors"])
    assert lineage["descendants"] == []
    chain = [decision_node, *(n for n, _, _ in back)]
    assert lineage["edges"] == [{"child": c, "parent": p} for c, p in pairwise(chain)]

    forwards = await auditor.get(f"/lineage/rating/{weak_rating}")
    assert forwards["ancestors"] == []
    assert forwards["node"]["label"] == f"{visit}->{home}"
    reached = {n["node_id"]: n for n in forwards["descendants"]}
    assert set(reached) == {
        f"dance_card:{card_id}",
        f"card_answer:{card_id}:accepted",
        f"dialogue:{dialogue_id}",
        f"agreement:{outcome['agreement_ids'][0]}",
        f"proposal:{proposal_id}",
        decision_node,
    }
    assert forwards["descendants"][0]["node_id"] == f"dance_card:{card_id}"
    assert forwards["descendants"][-1]["node_id"] == decision_node
    assert reached[decision_node]["actor_id"] == ids["manager"]
    assert reached[decision_node]["parents"] == [f"proposal:{proposal_id}"]
    assert {"child": decision_node, "parent": f"proposal:{proposal_id}"} in forwards["edges"]
    shallow = await auditor.get(f"/lineage/rating/{weak_rating}", params={"depth": 1})
    assert [n["node_id"] for n in shallow["descendants"]] == [f"dance_card:{card_id}"]

    from_card = await auditor.get(f"/lineage/dance_card/{card_id}")
    assert [n["node_id"] for n in from_card["ancestors"]] == [f"rating:{weak_rating}"]
    assert f"card_answer:{card_id}:accepted" in {n["node_id"] for n in from_card["descendants"]}

    # -- Errors are problems naming what is wrong -----------------------------------------------------
    missing = await auditor.get(f"/lineage/proposal/{card_id}", expect=404)
    assert missing["status"] == 404
    bad_kind = await auditor.get(f"/lineage/meeting/{card_id}", expect=400)
    assert [e["field"] for e in bad_kind["errors"]] == ["kind"]
    for params, field in (
        ({"actor_id": "nobody"}, "actor_id"),
        ({"aggregate_id": "123"}, "aggregate_id"),
        ({"occurred_from": "yesterday"}, "occurred_from"),
        ({"recorded_to": "2025-03-11T10:00:00"}, "recorded_to"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"after": -1}, "after"),
    ):
        problem = await auditor.get("/audit", params=params, expect=400)
        assert field in [e["field"] for e in problem["errors"]], problem
        assert problem["status"] == 400
    naive = await auditor.get("/audit/export.csv", params={"occurred_to": "2025-03-11T10:00:00"}, expect=400)
    assert [e["field"] for e in naive["errors"]] == ["occurred_to"]

    # -- The consultancy, management and auditors read it all; participants and outsiders do not ------
    for reader in (manager, facilitator, auditor):
        rows = (await reader.get("/audit", params={"limit": 500}))["items"]
        assert [row for row in rows if row["aggregate_type"] != "AccessLog"] == trail
    # What the auditor read is recorded, as the auditor's own accesses.
    accessed = await manager.get("/audit", params={"actor_id": ids["auditor"], "limit": 500})
    assert accessed["items"]
    assert {(r["aggregate_type"], r["actor_role"]) for r in accessed["items"]} == {("AccessLog", "auditor")}
    for path in ("/audit", "/audit/export.jsonl", f"/lineage/rating/{weak_rating}"):
        await participant.get(path, expect=403)
    for path in (
        "/audit",
        "/audit/export.csv",
        "/audit/export.jsonl",
        f"/lineage/rating/{weak_rating}",
        f"/lineage/proposal_decision/{proposal_id}:{decided['version']}",
    ):
        problem = await outsider.get(path, expect=403)
        assert problem["status"] == 403
