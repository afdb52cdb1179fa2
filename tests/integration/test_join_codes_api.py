"""Join codes: a unit's table joins a theme day without accounts and acts only as that unit.

A facilitator issues a code per unit; whoever holds it rates, sends and answers cards and
records dialogues as that unit, in that engagement, until the theme day ends or the code is
revoked. Guessing codes is slowed down, and every route is rate limited per caller and tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from services.auth.join_codes import ALPHABET, CODE_LENGTH, end_of_theme_day
from services.requests.problems import PROBLEM_JSON
from services.settings import Settings
from tests.http_harness import ADMIN, Person, Story, flat, onboard, serving

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class ThemeDay:
    """A tenant with three units in an engagement at the dance-card stage, run by the admin."""

    admin: Person  # based at the tenant
    tenant_id: UUID
    engagement: str  # the path below the tenant
    units: list[str]
    rating_id: str


async def theme_day(story: Story, *, days_ahead: int = 30) -> ThemeDay:
    tenant_id = await onboard(story.container, "Region Temadag", "join")
    admin = await story.sign_in(ADMIN)
    admin.base = f"/api/v1/tenants/{tenant_id}"
    await admin.put("/organisation", {"name": "Region Temadag"})
    units = [(await admin.post("/organisation/units", {"name": n}))["unit_id"] for n in ("A", "B", "C")]
    day = (datetime.now(UTC).date() + timedelta(days=days_ahead)).isoformat()
    engagement_id = (
        await admin.post("/engagements", {"title": "Temadag", "theme_day": day, "unit_ids": units})
    )["engagement_id"]
    engagement = f"/engagements/{engagement_id}"
    for phase in ("prepared", "theme_day_open"):
        await admin.post(f"{engagement}/phase/advance", {"expected_phase": phase}, expect=200)
    for unit in units:
        others = [u for u in units if u != unit]
        await admin.put(f"{engagement}/units/{unit}/relations", {"counterpart_ids": others})
    rating = await admin.post(
        f"{engagement}/ratings", {"unit_id": units[1], "counterpart_id": units[0], "scores": flat(2)}
    )
    return ThemeDay(admin, tenant_id, engagement, units, rating["rating_id"])


async def issue(day: ThemeDay, unit: str, body: dict[str, Any] | None = None) -> Any:
    return await day.admin.post(f"{day.engagement}/units/{unit}/join-codes", body or {})


async def join(story: Story, code: str, *, base: str = "") -> Person:
    response = await story.client.post("/api/v1/join", json={"code": code})
    assert response.status_code == 200, response.text
    story.client.cookies.clear()
    return Person(story.client, {"Authorization": f"Bearer {response.json()['token']}"}, base)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def test_a_unit_table_acts_as_its_own_unit_and_nothing_else(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        day = await theme_day(story)
        other = await theme_day(story)
        a, b, c = day.units
        issued = await issue(day, a)
        code = issued["code"]
        assert len(code.replace("-", "")) == CODE_LENGTH
        assert set(code.replace("-", "")) <= set(ALPHABET)
        assert issued["join_url"].endswith(f"/join#{code}")
        assert issued["qr_svg"].lstrip().startswith("<svg")

        # Typed loosely: lower case, spaces instead of the hyphen.
        table = await join(story, code.lower().replace("-", " "), base=f"/api/v1/tenants/{day.tenant_id}")
        e = day.engagement
        await table.put(f"{e}/units/{a}/relations", {"counterpart_ids": [b, c]})
        rating = await table.post(f"{e}/ratings", {"unit_id": a, "counterpart_id": b, "scores": flat(3)})
        await day.admin.post(f"{e}/phase/advance", {"expected_phase": "mapping"}, expect=200)
        card = await table.post(
            f"{e}/cards",
            {
                "from_unit": a,
                "to_unit": b,
                "topic": "Overlevering",
                "motivating_rating_id": rating["rating_id"],
            },
        )
        incoming = await day.admin.post(
            f"{e}/cards",
            {"from_unit": b, "to_unit": a, "topic": "Vagtplan", "motivating_rating_id": day.rating_id},
        )
        await table.post(f"{e}/cards/{incoming['card_id']}/accept", {"unit_id": a}, expect=200)
        board = await table.get(f"{e}/board")
        assert board
        await table.get(e)
        await table.get(f"{e}/cards")

        # As another unit: refused, whatever the body says.
        for method, path, body in [
            ("POST", f"{e}/ratings", {"unit_id": b, "counterpart_id": a, "scores": flat(1)}),
            ("POST", f"{e}/cards", {"from_unit": b, "to_unit": c, "topic": "Ikke os"}),
            ("POST", f"{e}/cards/{card['card_id']}/accept", {"unit_id": b}),
            ("PUT", f"{e}/units/{b}/relations", {"counterpart_ids": [a]}),
            ("PUT", f"{e}/wrap-ups/{c}", {"summary": "Ikke vores"}),
        ]:
            assert_problem(
                await table.client.request(method, table.base + path, json=body, headers=table.headers), 403
            )
        # A body without the acting unit cannot slip past.
        assert_problem(
            await table.client.post(
                table.base + f"{e}/ratings", json={"scores": flat(1)}, headers=table.headers
            ),
            400,
        )
        # Everything beyond the theme day's tables: refused.
        for path in (f"{e}/matrix", f"{e}/dashboard", "/audit", "/organisation", f"{e}/units/{a}/join-codes"):
            assert_problem(await table.client.get(table.base + path, headers=table.headers), 403)
        assert_problem(
            await table.client.post(table.base + f"{e}/units/{a}/join-codes", json={}, headers=table.headers),
            403,
        )
        assert_problem(await table.client.post(table.base + f"{e}/schedule", headers=table.headers), 403)
        assert_problem(await table.client.get("/api/v1/me", headers=table.headers), 403)
        assert_problem(await table.client.get("/api/v1/tenants", headers=table.headers), 403)
        # Another engagement of the same tenant, and another tenant.
        second = (
            await day.admin.post(
                "/engagements", {"title": "Næste", "theme_day": "2031-01-01", "unit_ids": [a, b]}
            )
        )["engagement_id"]
        assert_problem(
            await table.client.get(table.base + f"/engagements/{second}", headers=table.headers), 403
        )
        there = f"/api/v1/tenants/{other.tenant_id}{other.engagement}"
        assert_problem(await table.client.get(f"{there}/board", headers=table.headers), 403)
        assert_problem(
            await table.client.post(
                f"{there}/ratings",
                json={"unit_id": other.units[0], "counterpart_id": other.units[1], "scores": flat(1)},
                headers=table.headers,
            ),
            403,
        )

        # Listed with its state, never with the code.
        listed = await day.admin.get(f"{e}/units/{a}/join-codes")
        assert [c["id"] for c in listed] == [issued["id"]]
        assert "code" not in listed[0]
        assert listed[0]["usable"] is True


async def test_dialogues_are_recorded_by_the_units_of_their_card(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        day = await theme_day(story)
        a, b, c = day.units
        e = day.engagement
        await day.admin.post(f"{e}/phase/advance", {"expected_phase": "mapping"}, expect=200)
        card = await day.admin.post(
            f"{e}/cards",
            {"from_unit": b, "to_unit": a, "topic": "Vagtplan", "motivating_rating_id": day.rating_id},
        )
        await day.admin.post(f"{e}/cards/{card['card_id']}/accept", {"unit_id": a}, expect=200)
        await day.admin.post(f"{e}/schedule", {}, expect=200)
        await day.admin.post(f"{e}/phase/advance", {"expected_phase": "dance_cards"}, expect=200)
        base = f"/api/v1/tenants/{day.tenant_id}"
        outsider = await join(story, (await issue(day, c))["code"], base=base)
        assert_problem(
            await outsider.client.post(
                base + f"{e}/dialogues", json={"card_id": card["card_id"]}, headers=outsider.headers
            ),
            403,
        )
        table = await join(story, (await issue(day, a))["code"], base=base)
        held = await table.post(
            f"{e}/dialogues", {"card_id": card["card_id"], "agreements": [{"text": "Tavle"}]}
        )
        outcomes = f"{e}/dialogues/{held['dialogue_id']}/outcomes"
        await table.post(outcomes, {"proposals": [{"text": "Ny vagtplan"}]})
        assert_problem(
            await outsider.client.post(
                base + outcomes, json={"proposals": [{"text": "x"}]}, headers=outsider.headers
            ),
            403,
        )


async def test_revoked_and_expired_codes_let_nobody_in(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        day = await theme_day(story)
        a = day.units[0]
        base = f"/api/v1/tenants/{day.tenant_id}"
        issued = await issue(day, a)
        table = await join(story, issued["code"], base=base)
        await table.get(f"{day.engagement}/board")
        revoked = await day.admin.post(
            f"{day.engagement}/units/{a}/join-codes/{issued['id']}/revoke", expect=200
        )
        assert revoked["usable"] is False
        assert revoked["revoked_at"]
        assert_problem(await story.client.post("/api/v1/join", json={"code": issued["code"]}), 401)
        assert_problem(
            await table.client.get(table.base + f"{day.engagement}/board", headers=table.headers), 401
        )

        # Expiry: explicit and shorter, or the end of the theme day; never later.
        soon = datetime.now(UTC) + timedelta(hours=1)
        short = await issue(day, a, {"expires_at": soon.isoformat()})
        assert datetime.fromisoformat(short["expires_at"]) == soon
        whole_day = await issue(day, a)
        theme_date = datetime.now(UTC).date() + timedelta(days=30)
        assert datetime.fromisoformat(whole_day["expires_at"]) == end_of_theme_day(theme_date)
        assert end_of_theme_day(theme_date).astimezone(UTC).hour in (22, 23)  # midnight in Copenhagen
        too_late = (end_of_theme_day(theme_date) + timedelta(minutes=1)).isoformat()
        assert_problem(
            await day.admin.client.post(
                day.admin.base + f"{day.engagement}/units/{a}/join-codes",
                json={"expires_at": too_late},
                headers=day.admin.headers,
            ),
            409,
        )
        holder = await join(story, short["code"], base=base)
        story.container.clock = lambda: soon + timedelta(seconds=1)
        assert_problem(await story.client.post("/api/v1/join", json={"code": short["code"]}), 401)
        assert_problem(
            await holder.client.get(holder.base + f"{day.engagement}/board", headers=holder.headers), 401
        )
        # The whole-day code still works at that moment.
        await join(story, whole_day["code"], base=base)


async def test_a_theme_day_that_is_over_gets_no_codes(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        day = await theme_day(story, days_ahead=-1)
        response = await day.admin.client.post(
            day.admin.base + f"{day.engagement}/units/{day.units[0]}/join-codes",
            json={},
            headers=day.admin.headers,
        )
        assert_problem(response, 409)


async def test_guessing_codes_is_slowed_down(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        day = await theme_day(story)
        good = (await issue(day, day.units[0]))["code"]
        # Guesses spread over many prefixes: the address's own (far higher) bound stops them.
        limit = backend.join_failures_per_address_per_minute
        for n in range(limit):
            guess = f"{n:05d}-ZZZZZ"
            assert_problem(await story.client.post("/api/v1/join", json={"code": guess}), 401)
        refused = await story.client.post("/api/v1/join", json={"code": "00000-00000"})
        assert_problem(refused, 429)
        assert int(refused.headers["retry-after"]) >= 1
        # Even the right code waits: the guesser cannot tell a hit from the answer.
        assert_problem(await story.client.post("/api/v1/join", json={"code": good}), 429)


async def test_qr_images_of_a_code(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        day = await theme_day(story)
        a, b, _ = day.units
        issued = await issue(day, a)
        qr = f"{day.engagement}/units/{a}/join-codes/{issued['id']}/qr"
        headers = {**day.admin.headers, "X-Join-Code": issued["code"]}
        svg = await day.admin.client.get(day.admin.base + f"{qr}.svg", headers=headers)
        assert svg.status_code == 200, svg.text
        assert svg.headers["content-type"].startswith("image/svg+xml")
        assert svg.text.lstrip().startswith("<svg")
        assert svg.text.rstrip().endswith("</svg>")
        png = await day.admin.client.get(day.admin.base + f"{qr}.png", headers=headers)
        assert png.status_code == 200, png.text
        assert png.headers["content-type"] == "image/png"
        assert png.content.startswith(PNG_SIGNATURE)
        # Without the code, or with another code: nothing to draw.
        assert_problem(
            await day.admin.client.get(day.admin.base + f"{qr}.svg", headers=day.admin.headers), 400
        )
        other = await issue(day, a)
        assert_problem(
            await day.admin.client.get(
                day.admin.base + f"{qr}.png", headers={**day.admin.headers, "X-Join-Code": other["code"]}
            ),
            400,
        )
        # Under another unit's path the code is not found.
        elsewhere = f"{day.engagement}/units/{b}/join-codes/{issued['id']}/qr.svg"
        assert_problem(await day.admin.client.get(day.admin.base + elsewhere, headers=headers), 404)


async def test_requests_are_limited_per_caller_and_tenant(backend: Settings) -> None:
    async with serving(backend.with_changes(rate_limit_per_minute=5), quick_hashes=True) as story:
        first = await onboard(story.container, "Første", "limit")
        second = await onboard(story.container, "Anden", "limit")
        admin = await story.sign_in(ADMIN)
        for _ in range(5):
            await admin.get(f"/api/v1/tenants/{first}")
        limited = await admin.client.get(f"/api/v1/tenants/{first}", headers=admin.headers)
        body = assert_problem(limited, 429)
        assert body["type"].endswith("rate-limited")
        assert int(limited.headers["retry-after"]) >= 1
        # The same caller in another tenant counts apart.
        await admin.get(f"/api/v1/tenants/{second}")
        document = (await story.client.get("/schema/openapi.json")).json()
        responses = document["paths"]["/api/v1/tenants/{tenant_id}"]["get"]["responses"]
        assert "429" in responses
        join_responses = document["paths"]["/api/v1/join"]["post"]["responses"]
        assert "429" in join_responses
