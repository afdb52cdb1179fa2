"""A whole engagement through the HTTP API, told in order, on the embedded default and on
PostgreSQL + Redis: the preparatory meeting, a theme day with eight units, the follow-up
meeting, check-ins a year apart, and the next year's engagement re-rating the same relations
after two units merged.
"""

from __future__ import annotations

import asyncio
from uuid import UUID

from domain.roles import Role
from tests.http_harness import ADMIN, Story, flat, scores

UNITS = (
    "Visitationen",
    "Hjemmeplejen Nord",
    "Hjemmeplejen Syd",
    "Hjemmesygeplejen",
    "Træningsenheden",
    "Akutteamet",
    "Plejecenter Egebakken",
    "Sundhedshuset",
)


async def test_a_consultancy_runs_the_method_for_a_municipality_over_two_years(story: Story) -> None:
    # -- The consultancy onboards the client organisation and its people -------------------
    admin = await story.sign_in(ADMIN)
    tenant = await admin.post("/api/v1/tenants", {"name": "Søby Kommune", "slug": "soeby-kommune"})
    tenant_id = tenant["id"]
    for email, name, platform_role, role in (
        ("mads@konsulenthuset.dk", "Mads", "consultant", "consultant"),
        ("hanne@soeby.dk", "Hanne Østergaard", None, "client_admin"),
        ("anna@soeby.dk", "Anna fra Visitationen", None, "participant"),
        ("jens@revision.dk", "Jens", None, "auditor"),
    ):
        await admin.enrol(tenant_id, email, name, platform_role, role)

    facilitator = await story.sign_in("mads@konsulenthuset.dk")
    manager = await story.sign_in("hanne@soeby.dk")
    participant = await story.sign_in("anna@soeby.dk")
    auditor = await story.sign_in("jens@revision.dk")
    for person in (facilitator, manager, participant, auditor):
        person.base = f"/api/v1/tenants/{tenant_id}"

    # -- The organisation and its units, dated as they were ---------------------------------
    await manager.put("/organisation", {"name": "Søby Kommune, Sundhed og Omsorg"})
    unit: dict[str, str] = {}
    for name in UNITS:
        created = await manager.post(
            "/organisation/units", {"name": name}, **{"X-Occurred-At": "2025-01-06T09:00:00Z"}
        )
        unit[name] = created["unit_id"]

    # -- Preparatory meeting -----------------------------------------------------------------
    created = await manager.post(
        "/engagements",
        {
            "title": "Sammen om udskrivning 2025",
            "theme_day": "2025-03-11",
            "follow_up_meeting": "2025-04-22",
            "focus": "Sammenhængende udskrivning fra sygehus til eget hjem",
            "target_group": "Ledere og medarbejdere i otte enheder",
            "work_process": "Fra varsling af udskrivning til stabilt forløb i hjemmet",
            "planning_group": ["Hanne Østergaard", "Leder af Visitationen", "TR"],
            "unit_ids": [unit[n] for n in UNITS],
            "rounds": 3,
        },
        **{"X-Occurred-At": "2025-01-27T13:00:00Z"},
    )
    year_one = f"/engagements/{created['engagement_id']}"

    async def advance(engagement: str, phase: str) -> None:
        await facilitator.post(f"{engagement}/phase/advance", {"expected_phase": phase}, expect=200)

    # -- Theme day: mapping and rating --------------------------------------------------------
    await advance(year_one, "prepared")
    await advance(year_one, "theme_day_open")
    names = list(UNITS)
    rating_ids: dict[tuple[str, str], str] = {}
    for i, name in enumerate(names):
        counterparts = [names[(i + 1) % 8], names[(i + 2) % 8]]
        await participant.put(
            f"{year_one}/units/{unit[name]}/relations", {"counterpart_ids": [unit[c] for c in counterparts]}
        )
        for counterpart in counterparts:
            given = (
                flat(2)
                if (name, counterpart) == ("Visitationen", "Hjemmeplejen Nord")
                else scores(3, 4, 3, 2, 4, 3, 4)
            )
            rated = await participant.post(
                f"{year_one}/ratings",
                {"unit_id": unit[name], "counterpart_id": unit[counterpart], "scores": given},
            )
            rating_ids[(name, counterpart)] = rated["rating_id"]

    relations = {(r["unit_id"], r["counterpart_id"]): r for r in await auditor.get(f"{year_one}/relations")}
    weakest = relations[(unit["Visitationen"], unit["Hjemmeplejen Nord"])]
    assert (weakest["index"], weakest["band"], weakest["raters"]) == ("2.00", "Weak", 1)
    typical = relations[(unit["Hjemmeplejen Nord"], unit["Hjemmeplejen Syd"])]
    assert typical["index"] == "3.29"  # (3+4+3+2+4+3+4) / 7
    assert typical["means"]["problem_solving"] == "2.00"

    # A dance card before its phase is refused with the phase named.
    early = await participant.post(
        f"{year_one}/cards",
        {"from_unit": unit["Visitationen"], "to_unit": unit["Hjemmeplejen Nord"], "topic": "For tidligt"},
        expect=409,
    )
    assert early["rule"] == "wrong_phase"
    assert early["state"] == "mapping"

    # -- Dance cards ---------------------------------------------------------------------------
    await advance(year_one, "mapping")
    cards: dict[str, str] = {}
    for key, sender, receiver, topic in (
        ("handover", "Visitationen", "Hjemmeplejen Nord", "Overlevering ved udskrivning"),
        ("medicine", "Hjemmeplejen Nord", "Hjemmesygeplejen", "Medicinændringer"),
        ("acute", "Hjemmeplejen Syd", "Akutteamet", "Akutte ændringer"),
        ("training", "Træningsenheden", "Plejecenter Egebakken", "Genoptræningsplaner"),
        ("prevention", "Sundhedshuset", "Visitationen", "Forebyggende besøg"),
        ("declined", "Akutteamet", "Træningsenheden", "Faldforebyggelse"),
    ):
        body = {
            "from_unit": unit[sender],
            "to_unit": unit[receiver],
            "topic": topic,
            "reason": "Vi mister tid",
        }
        if key == "handover":
            body["motivating_rating_id"] = rating_ids[("Visitationen", "Hjemmeplejen Nord")]
        sent = await participant.post(f"{year_one}/cards", body, **{"Idempotency-Key": f"card-{key}"})
        cards[key] = sent["card_id"]
    # The same request retried (a flaky theme-day wifi) records nothing new.
    retried = await participant.post(
        f"{year_one}/cards",
        {
            "from_unit": unit["Visitationen"],
            "to_unit": unit["Hjemmeplejen Nord"],
            "topic": "Overlevering ved udskrivning",
            "reason": "Vi mister tid",
            "motivating_rating_id": rating_ids[("Visitationen", "Hjemmeplejen Nord")],
        },
        **{"Idempotency-Key": "card-handover"},
    )
    assert retried["card_id"] == cards["handover"]

    receivers = {
        "handover": "Hjemmeplejen Nord",
        "medicine": "Hjemmesygeplejen",
        "acute": "Akutteamet",
        "training": "Plejecenter Egebakken",
        "prevention": "Visitationen",
    }
    for key, receiver in receivers.items():
        await participant.post(
            f"{year_one}/cards/{cards[key]}/accept", {"unit_id": unit[receiver]}, expect=200
        )
    await participant.post(
        f"{year_one}/cards/{cards['declined']}/decline",
        {"unit_id": unit["Træningsenheden"], "reason": "Vi har allerede en aftale"},
        expect=200,
    )

    # -- Dialogue rounds: no unit in two dialogues in one round --------------------------------
    scheduled = await facilitator.post(f"{year_one}/schedule", expect=200)
    rounds = {c["card_id"]: c["round"] for c in scheduled if c["status"] == "accepted"}
    assert len(rounds) == 5
    assert set(rounds.values()) <= {1, 2, 3}
    for first in scheduled:
        for second in scheduled:
            if first is not second and first["round"] is not None and first["round"] == second["round"]:
                assert not {first["from_unit"], first["to_unit"]} & {second["from_unit"], second["to_unit"]}
    # The facilitator pins one dialogue to the last round.
    await facilitator.put(f"{year_one}/cards/{cards['acute']}/round", {"round": 3})

    # -- Dialogues, agreements and proposals -----------------------------------------------------
    await advance(year_one, "dance_cards")
    outcomes = {}
    for key, agreements, proposals in (
        (
            "handover",
            [{"text": "Fælles tavlemøde hver tirsdag kl. 8.30", "needs_acceptance": True}],
            [{"text": "Fælles elektronisk tavle"}],
        ),
        ("medicine", [{"text": "Medicinændringer meldes samme dag"}], []),
        ("acute", [], [{"text": "Undersøg en fælles sygeplejerske i weekenden"}]),
        ("training", [{"text": "Genoptræningsplan gennemgås ved indflytning", "needs_acceptance": True}], []),
        ("prevention", [{"text": "Fast kontaktperson i hver enhed"}], []),
    ):
        outcomes[key] = await participant.post(
            f"{year_one}/dialogues",
            {
                "card_id": cards[key],
                "notes": "Gode drøftelser 🙂",
                "participants": ["Anna", "Ole"],
                "agreements": agreements,
                "proposals": proposals,
            },
        )
    board = await facilitator.get(year_one)
    assert (len(board["dialogues"]), len(board["agreements"]), len(board["proposals"])) == (5, 4, 2)

    # -- Wrap-up and the closing plenary ----------------------------------------------------------
    await advance(year_one, "dialogues")
    for name in UNITS:
        await participant.put(
            f"{year_one}/wrap-ups/{unit[name]}", {"summary": f"{name} tager aftalerne med hjem"}
        )
    await advance(year_one, "wrap_up")
    await facilitator.post(f"{year_one}/closing-plenary", {"notes": "Fire aftaler, to forslag"}, expect=200)
    await advance(year_one, "closing_plenary")

    # -- Follow-up meeting: management decides --------------------------------------------------------
    tavlemoede = outcomes["handover"]["agreement_ids"][0]
    genoptraening = outcomes["training"]["agreement_ids"][0]
    electronic_board = outcomes["handover"]["proposal_ids"][0]
    weekend_nurse = outcomes["acute"]["proposal_ids"][0]
    at_meeting = {"X-Occurred-At": "2025-04-22T13:00:00Z"}
    await manager.post(
        f"{year_one}/agreements/{tavlemoede}/decision",
        {"accepted": True, "decided_by": "Direktionen", "rationale": "Billigt og nyttigt"},
        expect=200,
        **at_meeting,
    )
    await manager.post(
        f"{year_one}/agreements/{genoptraening}/decision",
        {"accepted": False, "decided_by": "Direktionen", "rationale": "Kræver en ny stilling"},
        expect=200,
        **at_meeting,
    )
    await manager.post(
        f"{year_one}/proposals/{electronic_board}/decision",
        {"outcome": "deferred", "decided_by": "Direktionen", "rationale": "Budget først næste år"},
        expect=200,
        **at_meeting,
    )
    await manager.post(
        f"{year_one}/proposals/{weekend_nurse}/decision",
        {
            "outcome": "under_investigation",
            "decided_by": "Direktionen",
            "owner": "Leder af Akutteamet",
            "due": "2025-06-30",
        },
        expect=200,
        **at_meeting,
    )
    await advance(year_one, "follow_up_meeting")

    # -- Check-ins, half a year and a year and a half later ----------------------------------------------
    medicine = outcomes["medicine"]["agreement_ids"][0]
    contact = outcomes["prevention"]["agreement_ids"][0]
    for when, statuses in (
        ("2025-09-15T10:00:00Z", {tavlemoede: "implemented", medicine: "in_progress", contact: "lapsed"}),
        ("2026-09-14T10:00:00Z", {tavlemoede: "implemented", medicine: "lapsed", contact: "abandoned"}),
    ):
        for agreement_id, status in statuses.items():
            await manager.post(
                f"{year_one}/agreements/{agreement_id}/check-ins",
                {"status": status, "note": "Gennemgået", "evidence": f"Referat {when[:10]}"},
                **{"X-Occurred-At": when},
            )
    rejected = await manager.post(
        f"{year_one}/agreements/{genoptraening}/check-ins", {"status": "implemented"}, expect=409
    )
    assert rejected["state"] == "rejected"
    # The deferred proposal comes back next quarter and is approved, as a new decision.
    await manager.post(
        f"{year_one}/proposals/{electronic_board}/decision",
        {"outcome": "approved", "decided_by": "Direktionen", "rationale": "Der er budget nu"},
        expect=200,
        **{"X-Occurred-At": "2025-07-21T13:00:00Z"},
    )

    agreements = {a["agreement_id"]: a for a in await auditor.get(f"{year_one}/agreements")}
    latest = {aid: a["check_ins"][-1]["status"] for aid, a in agreements.items() if a["check_ins"]}
    assert sorted(latest.values()) == ["abandoned", "implemented", "lapsed"]
    assert [c["at"][:10] for c in agreements[medicine]["check_ins"]] == ["2025-09-15", "2026-09-14"]
    assert [c["evidence"] for c in agreements[medicine]["check_ins"]] == [
        "Referat 2025-09-15",
        "Referat 2026-09-14",
    ]
    assert agreements[genoptraening]["status"] == "rejected"
    proposals = {p["proposal_id"]: p for p in await auditor.get(f"{year_one}/proposals")}
    assert [d["outcome"] for d in proposals[electronic_board]["decisions"]] == ["deferred", "approved"]
    assert proposals[weekend_nurse]["decisions"][0]["owner"] == "Leder af Akutteamet"

    # The auditor reads everything and changes nothing.
    await auditor.post(f"{year_one}/closing-plenary", {"notes": "?"}, expect=403)

    # -- A reorganisation: the two home care districts merge --------------------------------------------
    merged = await manager.post(
        "/organisation/mergers",
        {"unit_ids": [unit["Hjemmeplejen Nord"], unit["Hjemmeplejen Syd"]], "name": "Hjemmeplejen"},
        **{"X-Occurred-At": "2025-09-01T00:00:00Z"},
    )
    unit["Hjemmeplejen"] = merged["unit_id"]
    organisation = await auditor.get("/organisation")
    north = next(u for u in organisation["units"] if u["unit_id"] == unit["Hjemmeplejen Nord"])
    assert (north["name"], north["status"], north["successors"]) == (
        "Hjemmeplejen Nord",
        "merged",
        [merged["unit_id"]],
    )
    # A unit that merged away cannot join a new engagement.
    refused = await manager.post(
        "/engagements",
        {
            "title": "x",
            "theme_day": "2026-03-10",
            "unit_ids": [unit["Hjemmeplejen Nord"], unit["Visitationen"]],
        },
        expect=409,
    )
    assert "merged" in refused["detail"]

    # -- The next year's engagement rates the same relations again -------------------------------------
    year_two_units = [
        "Visitationen",
        "Hjemmeplejen",
        "Hjemmesygeplejen",
        "Træningsenheden",
        "Akutteamet",
        "Plejecenter Egebakken",
        "Sundhedshuset",
    ]
    created = await manager.post(
        "/engagements",
        {
            "title": "Sammen om udskrivning 2026",
            "theme_day": "2026-03-10",
            "unit_ids": [unit[n] for n in year_two_units],
        },
    )
    year_two = f"/engagements/{created['engagement_id']}"
    await advance(year_two, "prepared")
    await advance(year_two, "theme_day_open")
    await participant.put(
        f"{year_two}/units/{unit['Visitationen']}/relations", {"counterpart_ids": [unit["Hjemmeplejen"]]}
    )
    await participant.post(
        f"{year_two}/ratings",
        {"unit_id": unit["Visitationen"], "counterpart_id": unit["Hjemmeplejen"], "scores": flat(4)},
    )
    after = (await auditor.get(f"{year_two}/relations"))[0]
    assert (after["index"], after["band"]) == ("4.00", "Strong")

    # Last year's engagement still reads exactly as it was, merged units and all.
    before = {(r["unit_id"], r["counterpart_id"]): r for r in await auditor.get(f"{year_one}/relations")}
    assert before[(unit["Visitationen"], unit["Hjemmeplejen Nord"])]["index"] == "2.00"
    assert [e["title"] for e in organisation["engagements"]] == ["Sammen om udskrivning 2025"]
    listed = await auditor.get("/engagements")
    assert [e["title"] for e in listed] == ["Sammen om udskrivning 2025", "Sammen om udskrivning 2026"]

    # Every step was an event in this tenant's own store, with its provenance.
    app_events = await asyncio.to_thread(
        story.container.tenants.call,
        UUID(tenant_id),
        lambda app: list(app.events.get(UUID(created["engagement_id"]))),
    )
    assert app_events[0].provenance.actor_role is Role.CLIENT_ADMIN  # type: ignore[attr-defined]


async def test_a_command_made_conditional_with_if_match_is_refused_once_the_engagement_moved_on(
    story: Story,
) -> None:
    admin = await story.sign_in(ADMIN)
    tenant = await admin.post("/api/v1/tenants", {"name": "Vejby Kommune", "slug": "vejby"})
    admin.base = f"/api/v1/tenants/{tenant['id']}"
    await admin.put("/organisation", {"name": "Vejby Kommune"})
    units = [(await admin.post("/organisation/units", {"name": n}))["unit_id"] for n in ("A", "B", "C")]
    created = await admin.post(
        "/engagements", {"title": "Forløb", "theme_day": "2026-12-01", "unit_ids": units}
    )
    engagement = f"/engagements/{created['engagement_id']}"

    response = await admin.client.get(admin.base + engagement, headers=admin.headers)
    etag = response.headers["etag"]
    assert etag == f'"{response.json()["version"]}"'
    await admin.put(f"{engagement}/rounds", {"rounds": 4}, **{"If-Match": etag})
    stale = await admin.put(f"{engagement}/rounds", {"rounds": 5}, expect=409, **{"If-Match": etag})
    assert stale["rule"] == "concurrent_modification"
    assert (await admin.get(engagement))["rounds"] == 4
