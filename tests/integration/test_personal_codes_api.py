"""Personal codes: where participants rate one by one, each person of a unit gets a code of their
own; each code rates as its own pseudonymous rater, the anonymity threshold holds, and progress
says how many of a unit's people have rated, never who (docs/adr/0032)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from services.settings import Settings
from tests.http_harness import ADMIN, Person, Story, flat, onboard, serving
from tests.integration.test_join_codes_api import assert_problem, join

THRESHOLD = 3


@dataclass
class RatedOneByOne:
    """A tenant with three units in an engagement whose participants rate one by one, in mapping."""

    admin: Person
    tenant_id: UUID
    engagement: str
    units: list[str]

    @property
    def engagement_id(self) -> UUID:
        return UUID(self.engagement.rsplit("/", 1)[1])

    def codes_of(self, unit: str) -> str:
        return f"{self.engagement}/units/{unit}/personal-codes"


async def rated_one_by_one(story: Story, *, mode: str = "individual") -> RatedOneByOne:
    tenant_id = await onboard(story.container, "Region Enkeltvis", "personal")
    admin = await story.sign_in(ADMIN)
    admin.base = f"/api/v1/tenants/{tenant_id}"
    await admin.put("/organisation", {"name": "Region Enkeltvis"})
    units = [(await admin.post("/organisation/units", {"name": n}))["unit_id"] for n in ("A", "B", "C")]
    day = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    prepared = await admin.post(
        "/engagements",
        {
            "title": "Temadag",
            "theme_day": day,
            "unit_ids": units,
            "rating_mode": mode,
            "min_group_size": THRESHOLD,
        },
    )
    engagement = f"/engagements/{prepared['engagement_id']}"
    for phase in ("prepared", "theme_day_open"):
        await admin.post(f"{engagement}/phase/advance", {"expected_phase": phase}, expect=200)
    await admin.put(f"{engagement}/units/{units[0]}/relations", {"counterpart_ids": [units[1]]})
    return RatedOneByOne(admin, tenant_id, engagement, units)


async def rate(story: Story, day: RatedOneByOne, code: str, score: int) -> Person:
    """Join with `code` (a phone of its own) and rate A's relation to B."""
    person = await join(story, code, base=day.admin.base)
    a, b = day.units[:2]
    await person.post(f"{day.engagement}/ratings", {"unit_id": a, "counterpart_id": b, "scores": flat(score)})
    return person


def progress_of(board: dict[str, Any], unit: str) -> tuple[int, int | None]:
    found = next(u for u in board["units"] if u["unit_id"] == unit)
    return found["raters"], found["people"]


def cell(matrix: dict[str, Any], unit: str, counterpart: str) -> dict[str, Any]:
    return next(c for c in matrix["cells"] if (c["unit_id"], c["counterpart_id"]) == (unit, counterpart))


async def test_a_unit_that_rates_together_gets_no_personal_codes(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        day = await rated_one_by_one(story, mode="unit")
        a = day.units[0]
        response = await day.admin.client.post(
            day.admin.base + day.codes_of(a), json={"people": 5}, headers=day.admin.headers
        )
        problem = assert_problem(response, 409)
        assert problem["code"] == "personal_codes_need_individual_rating"
        missing = await day.admin.client.get(day.admin.base + day.codes_of(a), headers=day.admin.headers)
        assert assert_problem(missing, 404)["code"] == "no_personal_codes"
        # A unit code works as it always did.
        await day.admin.post(f"{day.engagement}/units/{a}/join-codes", {})


async def test_a_batch_is_extended_and_revoked_by_slip_or_whole_and_a_retry_answers_the_same_codes(
    backend: Settings,
) -> None:
    async with serving(backend, quick_hashes=True) as story:
        day = await rated_one_by_one(story)
        a = day.units[0]
        first = await day.admin.post(day.codes_of(a), {"people": 2}, **{"Idempotency-Key": "forste-ark"})
        more = await day.admin.post(day.codes_of(a), {"people": 3})
        assert [s["slip"] for s in more["slips"]] == [3, 4, 5]
        assert more["people"] == 5
        recorded = story.container.control.personal_codes(day.tenant_id, day.engagement_id, UUID(a))
        assert recorded is not None
        # The same request again (its first answer was lost): the same slips and codes, derived
        # again, and nothing recorded.
        retried = await day.admin.client.post(
            day.admin.base + day.codes_of(a),
            json={"people": 2},
            headers={**day.admin.headers, "Idempotency-Key": "forste-ark"},
        )
        assert retried.status_code == 201, retried.text
        assert retried.headers["cache-control"] == "no-store"
        assert [(s["slip"], s["code"], s["join_url"]) for s in retried.json()["slips"]] == [
            (s["slip"], s["code"], s["join_url"]) for s in first["slips"]
        ]
        again = story.container.control.personal_codes(day.tenant_id, day.engagement_id, UUID(a))
        assert again is not None
        assert again.version == recorded.version
        # The same key for another number of people is not the same request.
        changed = await day.admin.client.post(
            day.admin.base + day.codes_of(a),
            json={"people": 4},
            headers={**day.admin.headers, "Idempotency-Key": "forste-ark"},
        )
        assert assert_problem(changed, 409)["code"] == "personal_codes_request_changed"
        codes = [s["code"] for s in first["slips"] + more["slips"]]
        assert len(set(codes)) == 5
        for wrong in (0, 201, "to"):
            response = await day.admin.client.post(
                day.admin.base + day.codes_of(a), json={"people": wrong}, headers=day.admin.headers
            )
            assert_problem(response, 400)
        counted = await day.admin.get(day.codes_of(a))
        assert (counted["people"], counted["slips_issued"], counted["revoked_slips"]) == (5, 5, [])

        holder = await join(story, first["slips"][1]["code"], base=day.admin.base)
        await holder.get(f"{day.engagement}/board")
        revoked = await day.admin.post(f"{day.codes_of(a)}/2/revoke", expect=200)
        assert (revoked["people"], revoked["revoked_slips"]) == (4, [2])
        assert_problem(await story.client.post("/api/v1/join", json={"code": first["slips"][1]["code"]}), 401)
        assert_problem(
            await holder.client.get(holder.base + f"{day.engagement}/board", headers=holder.headers), 401
        )
        assert (await day.admin.post(f"{day.codes_of(a)}/2/revoke", expect=200))["people"] == 4
        assert_problem(
            await day.admin.client.post(
                day.admin.base + f"{day.codes_of(a)}/9/revoke", headers=day.admin.headers
            ),
            404,
        )
        board = await day.admin.get(f"{day.engagement}/board")
        assert progress_of(board, a) == (0, 4)

        everything = await day.admin.post(f"{day.codes_of(a)}/revoke", expect=200)
        assert (everything["people"], everything["revoked_slips"]) == (0, [1, 2, 3, 4, 5])
        for slip in (*first["slips"], *more["slips"]):
            assert_problem(await story.client.post("/api/v1/join", json={"code": slip["code"]}), 401)
        # Later arrivals still get codes, numbered on.
        again = await day.admin.post(day.codes_of(a), {"people": 1})
        assert (again["people"], again["slips"][0]["slip"]) == (1, 6)


async def test_two_copies_of_one_request_sent_at_once_issue_one_batch_and_answer_the_same_codes(
    backend: Settings,
) -> None:
    async with serving(backend, quick_hashes=True) as story:
        day = await rated_one_by_one(story)
        a, b = day.units[:2]
        headers = {**day.admin.headers, "Idempotency-Key": "afbrudt"}
        answers = await asyncio.gather(
            *(
                day.admin.client.post(day.admin.base + day.codes_of(a), json={"people": 3}, headers=headers)
                for _ in range(2)
            )
        )
        assert [answer.status_code for answer in answers] == [201, 201], [answer.text for answer in answers]
        first, second = (answer.json() for answer in answers)
        assert first["slips"] == second["slips"]
        assert [s["slip"] for s in first["slips"]] == [1, 2, 3]
        counted = await day.admin.get(day.codes_of(a))
        assert (counted["people"], counted["slips_issued"]) == (3, 3)
        # The same key for another unit is another request: other codes.
        other = await day.admin.post(day.codes_of(b), {"people": 3}, **{"Idempotency-Key": "afbrudt"})
        assert {s["code"] for s in other["slips"]}.isdisjoint(s["code"] for s in first["slips"])
        for slip in first["slips"]:
            await join(story, slip["code"], base=day.admin.base)
