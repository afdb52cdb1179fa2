"""The read models through the HTTP API, on the embedded default and on PostgreSQL + Redis:
a small engagement run with dated steps, a merger, the next year's engagement, and an
engagement rated individually — then the board, the matrix, the dashboard, the longitudinal
view and the portfolio, checked the way a person would check them by hand.
"""

from __future__ import annotations

from tests.http_harness import Story, at, flat, scores, tenant_with_team


async def test_read_models_show_a_year_a_merger_the_next_year_and_an_individual_rating(story: Story) -> None:
    # -- A tenant and its people (unique names: PostgreSQL runs share one control plane) ----------
    tenant_id, _emails, facilitator, manager, first, second = await tenant_with_team(
        story, "Læsø Kommune", "laesoe"
    )

    await manager.put("/organisation", {"name": "Læsø Kommune"}, **at("2025-01-06T08:00:00Z"))
    unit = {}
    for name in ("Visitationen", "Hjemmeplejen Nord", "Hjemmeplejen Syd", "Akutteamet"):
        created = await manager.post("/organisation/units", {"name": name}, **at("2025-01-06T09:00:00Z"))
        unit[name] = created["unit_id"]
    visit, north, south, acute = (unit[n] for n in unit)

    # -- Year one: preparation and the theme day, every step dated ---------------------------------
    created = await manager.post(
        "/engagements",
        {
            "title": "Udskrivning 2025",
            "theme_day": "2025-03-11",
            "follow_up_meeting": "2025-04-22",
            "unit_ids": [visit, north, south, acute],
            "rounds": 2,
        },
        **at("2025-01-27T13:00:00Z"),
    )
    year_one = f"/engagements/{created['engagement_id']}"

    async def advance(engagement: str, phase: str, when: str) -> None:
        await facilitator.post(
            f"{engagement}/phase/advance", {"expected_phase": phase}, expect=200, **at(when)
        )

    await advance(year_one, "prepared", "2025-03-11T08:00:00Z")
    await advance(year_one, "theme_day_open", "2025-03-11T08:05:00Z")
    for rater, counterparts in (
        (visit, (north, acute)),
        (north, (visit,)),
        (south, (visit,)),
        (acute, (north,)),
    ):
        await first.put(
            f"{year_one}/units/{rater}/relations",
            {"counterpart_ids": list(counterparts)},
            **at("2025-03-11T08:30:00Z"),
        )
    for rater, counterpart, given in (
        (visit, north, flat(2)),
        (visit, acute, flat(3)),
        (north, visit, flat(4)),
        (south, visit, scores(3, 4, 3, 2, 4, 3, 4)),
        (acute, north, flat(3)),
    ):
        await first.post(
            f"{year_one}/ratings",
            {"unit_id": rater, "counterpart_id": counterpart, "scores": given},
            **at("2025-03-11T09:00:00Z"),
        )
    await advance(year_one, "mapping", "2025-03-11T10:00:00Z")
    cards = {}
    for key, sender, receiver, topic in (
        ("handover", visit, north, "Overlevering ved udskrivning"),
        ("acute", north, acute, "Akutte ændringer"),
        ("visitation", south, visit, "Visitation i weekenden"),
        ("declined", acute, south, "Faldforebyggelse"),
    ):
        sent = await first.post(
            f"{year_one}/cards",
            {"from_unit": sender, "to_unit": receiver, "topic": topic},
            **at("2025-03-11T10:10:00Z"),
        )
        cards[key] = sent["card_id"]
    for key, receiver in (("handover", north), ("acute", acute), ("visitation", visit)):
        await first.post(
            f"{year_one}/cards/{cards[key]}/accept",
            {"unit_id": receiver},
            expect=200,
            **at("2025-03-11T10:20:00Z"),
        )
    await first.post(
        f"{year_one}/cards/{cards['declined']}/decline",
        {"unit_id": south, "reason": "Ikke i år"},
        expect=200,
        **at("2025-03-11T10:20:00Z"),
    )
    await facilitator.post(f"{year_one}/schedule", expect=200, **at("2025-03-11T10:30:00Z"))
    await advance(year_one, "dance_cards", "2025-03-11T11:00:00Z")
    outcomes = {}
    for key, agreements, proposals in (
        ("handover", ["Fælles tavlemøde hver tirsdag"], ["Elektronisk tavle"]),
        ("acute", ["Medicinændringer meldes samme dag"], []),
        ("visitation", ["Fast kontaktperson"], []),
    ):
        outcomes[key] = await first.post(
            f"{year_one}/dialogues",
            {
                "card_id": cards[key],
                "agreements": [{"text": t} for t in agreements],
                "proposals": [{"text": t} for t in proposals],
            },
            **at("2025-03-11T11:30:00Z"),
        )
    await advance(year_one, "dialogues", "2025-03-11T13:00:00Z")
    for name in unit:
        await first.put(
            f"{year_one}/wrap-ups/{unit[name]}", {"summary": "Med hjem"}, **at("2025-03-11T13:45:00Z")
        )
    await advance(year_one, "wrap_up", "2025-03-11T14:00:00Z")
    await facilitator.post(
        f"{year_one}/closing-plenary", {"notes": "Tre aftaler"}, expect=200, **at("2025-03-11T14:30:00Z")
    )
    await advance(year_one, "closing_plenary", "2025-03-11T15:00:00Z")

    # -- Follow-up meeting, a rename, check-ins, a merger -------------------------------------------
    electronic_board = outcomes["handover"]["proposal_ids"][0]
    await manager.post(
        f"{year_one}/proposals/{electronic_board}/decision",
        {"outcome": "under_investigation", "decided_by": "Direktionen", "owner": "IT", "due": "2025-06-30"},
        expect=200,
        **at("2025-04-22T13:00:00Z"),
    )
    await advance(year_one, "follow_up_meeting", "2025-04-22T15:00:00Z")
    await manager.post(
        f"/organisation/units/{visit}/rename",
        {"name": "Visitation og Hjælpemidler"},
        expect=200,
        **at("2025-06-01T09:00:00Z"),
    )
    board_meeting = outcomes["handover"]["agreement_ids"][0]
    medicine = outcomes["acute"]["agreement_ids"][0]
    contact = outcomes["visitation"]["agreement_ids"][0]
    for when, statuses in (
        ("2025-09-15T10:00:00Z", {board_meeting: "implemented", medicine: "in_progress", contact: "lapsed"}),
        ("2026-03-01T10:00:00Z", {medicine: "lapsed"}),
    ):
        for agreement_id, status in statuses.items():
            await manager.post(
                f"{year_one}/agreements/{agreement_id}/check-ins", {"status": status}, **at(when)
            )
    merged = await manager.post(
        "/organisation/mergers",
        {"unit_ids": [north, south], "name": "Hjemmeplejen"},
        **at("2025-09-01T00:00:00Z"),
    )
    home_care = merged["unit_id"]

    # -- Year two re-rates the relation after the merger ---------------------------------------------
    created = await manager.post(
        "/engagements",
        {"title": "Udskrivning 2026", "theme_day": "2026-03-10", "unit_ids": [visit, home_care, acute]},
        **at("2025-12-01T09:00:00Z"),
    )
    year_two = f"/engagements/{created['engagement_id']}"
    await advance(year_two, "prepared", "2026-03-10T08:00:00Z")
    await advance(year_two, "theme_day_open", "2026-03-10T08:05:00Z")
    await first.put(
        f"{year_two}/units/{visit}/relations", {"counterpart_ids": [home_care]}, **at("2026-03-10T08:30:00Z")
    )
    await first.post(
        f"{year_two}/ratings",
        {"unit_id": visit, "counterpart_id": home_care, "scores": flat(4)},
        **at("2026-03-10T09:00:00Z"),
    )

    # -- An engagement rated by individuals: only two rate a relation, the threshold is three --------
    created = await manager.post(
        "/engagements",
        {
            "title": "Individuelt 2026",
            "theme_day": "2026-06-02",
            "unit_ids": [visit, acute],
            "rating_mode": "individual",
            "min_group_size": 3,
        },
        **at("2026-05-01T09:00:00Z"),
    )
    individual = f"/engagements/{created['engagement_id']}"
    await advance(individual, "prepared", "2026-06-02T08:00:00Z")
    await advance(individual, "theme_day_open", "2026-06-02T08:05:00Z")
    await first.put(
        f"{individual}/units/{visit}/relations", {"counterpart_ids": [acute]}, **at("2026-06-02T08:30:00Z")
    )
    for person, value in ((first, 2), (second, 5)):
        await person.post(
            f"{individual}/ratings",
            {"unit_id": visit, "counterpart_id": acute, "scores": flat(value)},
            **at("2026-06-02T09:00:00Z"),
        )

    # -- The board: per-unit counts now; as of February 2025 the earlier phase and the old name ------
    board = await facilitator.get(f"{year_one}/board")
    counts = {
        u["name"]: (
            u["relations_mapped"],
            u["cards_sent"],
            u["cards_received"],
            u["cards_accepted"],
            u["cards_declined"],
            u["dialogues"],
        )
        for u in board["units"]
    }
    assert counts == {
        "Visitation og Hjælpemidler": (2, 1, 1, 2, 0, 2),
        "Hjemmeplejen Nord": (1, 1, 1, 2, 0, 2),
        "Hjemmeplejen Syd": (1, 1, 1, 1, 1, 1),
        "Akutteamet": (1, 1, 1, 1, 0, 1),
    }
    assert (board["phase"], board["agreements"], board["proposals"]) == ("follow_through", 3, 1)
    scheduled = [d for r in board["schedule"] for d in r["dialogues"]]
    assert len(scheduled) == 3
    assert all(d["held"] for d in scheduled)
    before = await first.get(f"{year_one}/board?as_of=2025-02-01T00:00:00Z")
    assert before["phase"] == "prepared"
    assert before["units"][0]["name"] == "Visitationen"
    assert before["agreements"] == 0
    on_the_day = await first.get(f"{year_one}/board?as_of=2025-03-11T10:15:00Z")
    assert on_the_day["phase"] == "dance_cards"
    assert on_the_day["units"][0]["cards_sent"] == 1

    # -- The matrix: hand-checked indexes; the individually rated relation shows nothing --------------
    matrix = await manager.get(f"{year_one}/matrix")
    cells = {(c["unit_id"], c["counterpart_id"]): c for c in matrix["cells"]}
    assert cells[(visit, north)]["index"] == "2.00"
    assert cells[(south, visit)]["index"] == "3.29"
    assert matrix["overall_index"]["mean"] == "3.06"  # (2 + 3 + 4 + 3.29 + 3) / 5 = 3.058
    hidden = await manager.get(f"{individual}/matrix")
    (cell,) = hidden["cells"]
    assert (cell["shown"], cell["raters"], cell["raters_label"], cell["index"], cell["means"]) == (
        False,
        None,
        "below threshold",
        None,
        {},
    )
    assert (hidden["overall_index"]["mean"], hidden["overall_index"]["cells_left_out"]) == (None, 1)
    assert hidden["raters_in_shown_cells"] is None
    assert hidden["edges"] == []

    # -- The dashboard: an investigation ten days past due ------------------------------------------
    dashboard = await manager.get(f"{year_one}/dashboard?today=2025-07-10")
    assert [(i["text"], i["days_overdue"]) for i in dashboard["overdue_investigations"]] == [
        ("Elektronisk tavle", 10)
    ]
    assert dashboard["weakest_ties"][0]["index"] == "2.00"
    assert dashboard["agreements_by_status"]["in_force"] == 3

    # -- Longitudinal: the tie in year one and year two, follow-through at twelve months -------------
    view = await manager.get("/longitudinal?today=2026-11-26")
    relations = {(r["unit_id"], r["counterpart_id"]): r for r in view["relations"]}
    to_home_care = relations[(visit, home_care)]
    assert [
        (p["title"], p["counterpart_name"], p["index"], p["continuity"]) for p in to_home_care["points"]
    ] == [
        ("Udskrivning 2025", "Hjemmeplejen Nord", "2.00", "merged"),
        ("Udskrivning 2026", "Hjemmeplejen", "4.00", "same"),
    ]
    assert to_home_care["points"][0]["unit_name"] == "Visitationen"
    assert sorted(a["text"] for a in to_home_care["agreements"]) == [
        "Fast kontaktperson",
        "Fælles tavlemøde hver tirsdag",
    ]
    at_12 = next(f for f in view["follow_through"] if f["months"] == 12)
    assert (at_12["agreements"], at_12["counts"]["lapsed"], at_12["counts"]["implemented"]) == (3, 2, 1)
    to_acute = relations[(visit, acute)]
    assert [(p["title"], p["index"], p["raters"], p["suppressed"]) for p in to_acute["points"]] == [
        ("Udskrivning 2025", "3.00", 1, False),
        ("Individuelt 2026", None, None, True),
    ]
    assert view["with_agreements"] == {"relations": 1, "mean_change": "2.00"}

    # As of before the merger, the history knows nothing of year two.
    past = await manager.get("/longitudinal?as_of=2025-08-01T00:00:00Z")
    assert [e["title"] for e in past["engagements"]] == ["Udskrivning 2025"]

    # -- The portfolio: consultants and admins only -----------------------------------------------
    facilitator.base = ""
    portfolio = await facilitator.get("/api/v1/portfolio?today=2025-07-10")
    ours = [e for e in portfolio["engagements"] if e["tenant_id"] == tenant_id]
    assert sorted(e["title"] for e in ours) == ["Individuelt 2026", "Udskrivning 2025", "Udskrivning 2026"]
    assert [p["text"] for p in portfolio["overdue_proposals"] if p["tenant_id"] == tenant_id] == [
        "Elektronisk tavle"
    ]
    upcoming = [(u["title"], u["kind"]) for u in portfolio["upcoming"] if u["tenant_id"] == tenant_id]
    assert upcoming == [("Udskrivning 2026", "theme_day"), ("Individuelt 2026", "theme_day")]
    later = await facilitator.get("/api/v1/portfolio?today=2026-11-26")
    quiet = sorted(a["text"] for a in later["quiet_agreements"] if a["tenant_id"] == tenant_id)
    # Last heard of in September 2025 and March 2026: all three more than 183 days ago.
    assert quiet == [
        "Fast kontaktperson",
        "Fælles tavlemøde hver tirsdag",
        "Medicinændringer meldes samme dag",
    ]
    first.base = ""
    await first.get("/api/v1/portfolio", expect=403)
