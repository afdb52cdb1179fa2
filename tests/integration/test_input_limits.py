"""Inputs at the limits: long texts, Danish letters, emoji and right-to-left text, empty names,
200 units in one engagement, 10 rounds — accepted, or refused with a clear error; never a 500."""

from __future__ import annotations

import itertools
from typing import Any
from uuid import uuid4

from tests.http_harness import ADMIN, Person, Story, flat

UNICODE_NAME = "Ærø Sundhedshus 🩺 مرحبا"
UNICODE_NOTE = "Vi aftalte at mødes hver tirsdag 🤝 — شكرا — ÆØÅ æøå"


async def organisation_with_units(admin: Person, count: int, prefix: str = "Enhed") -> list[str]:
    await admin.put("/organisation", {"name": "Grænsekommunen"})
    return [
        (await admin.post("/organisation/units", {"name": f"{prefix} {i}"}))["unit_id"] for i in range(count)
    ]


async def signed_in_admin(story: Story) -> Person:
    admin = await story.sign_in(ADMIN)
    tenant = await admin.post("/api/v1/tenants", {"name": "Grænse", "slug": f"graense-{uuid4().hex[:10]}"})
    admin.base = f"/api/v1/tenants/{tenant['id']}"
    return admin


def engagement(units: list[str], **extra: Any) -> dict[str, Any]:
    return {"title": "Grænser", "theme_day": "2026-12-01", "unit_ids": units, **extra}


async def test_danish_letters_emoji_and_right_to_left_text_come_back_unchanged(story: Story) -> None:
    admin = await signed_in_admin(story)
    await admin.put("/organisation", {"name": "Æblerød Kommune"})
    unit = await admin.post("/organisation/units", {"name": UNICODE_NAME})
    other = await admin.post("/organisation/units", {"name": "Østerbro"})

    organisation = await admin.get("/organisation")
    created = await admin.post(
        "/engagements",
        engagement([unit["unit_id"], other["unit_id"]], focus=UNICODE_NOTE, planning_group=[UNICODE_NAME]),
    )
    shown = await admin.get(f"/engagements/{created['engagement_id']}")

    assert {u["name"] for u in organisation["units"]} == {UNICODE_NAME, "Østerbro"}
    assert shown["focus"] == UNICODE_NOTE
    assert shown["planning_group"] == [UNICODE_NAME]


async def test_texts_at_their_limit_are_taken_and_one_past_it_is_refused_naming_the_field(
    story: Story,
) -> None:
    admin = await signed_in_admin(story)
    units = await organisation_with_units(admin, 2)

    await admin.post("/engagements", engagement(units, title="Å" * 200, focus="ø" * 20_000))
    too_long_title = await admin.post("/engagements", engagement(units, title="Å" * 201), expect=400)
    too_long_focus = await admin.post("/engagements", engagement(units, focus="ø" * 20_001), expect=400)

    assert [e["field"] for e in too_long_title["errors"]] == ["title"]
    assert [e["field"] for e in too_long_focus["errors"]] == ["focus"]


async def test_empty_and_blank_names_are_refused_with_the_rule(story: Story) -> None:
    admin = await signed_in_admin(story)
    await admin.put("/organisation", {"name": "Kommunen"})

    empty = await admin.post("/organisation/units", {"name": ""}, expect=400)
    blank = await admin.post("/organisation/units", {"name": "   "}, expect=409)

    assert [e["field"] for e in empty["errors"]] == ["name"]
    assert blank["rule"] == "invariant"
    assert "name" in blank["detail"]


async def test_ten_rounds_are_taken_and_eleven_refused(story: Story) -> None:
    admin = await signed_in_admin(story)
    units = await organisation_with_units(admin, 2)

    await admin.post("/engagements", engagement(units, rounds=10))
    eleven = await admin.post("/engagements", engagement(units, rounds=11), expect=400)

    assert [e["field"] for e in eleven["errors"]] == ["rounds"]


async def test_an_engagement_of_two_hundred_units_runs_and_reads(story: Story) -> None:
    admin = await signed_in_admin(story)
    units = await organisation_with_units(admin, 200)
    created = await admin.post("/engagements", engagement(units, rounds=10))
    path = f"/engagements/{created['engagement_id']}"
    for phase in ("prepared", "theme_day_open"):
        await admin.post(f"{path}/phase/advance", {"expected_phase": phase}, expect=200)
    for unit, counterpart in itertools.pairwise(units[:21]):
        await admin.put(f"{path}/units/{unit}/relations", {"counterpart_ids": [counterpart]})
        await admin.post(
            f"{path}/ratings", {"unit_id": unit, "counterpart_id": counterpart, "scores": flat(4)}
        )

    board = await admin.get(f"{path}/board")
    matrix = await admin.get(f"{path}/matrix")
    shown = await admin.get(path)

    assert len(shown["unit_ids"]) == 200
    assert len(board["units"]) == 200
    assert sum(1 for r in shown["relation_views"] if r["index"] == "4.00") == 20
    assert matrix is not None
