"""Every error the engagement API can answer, as problem details, on every backend.

400 for input the schemas refuse, 401/403 for who may call what, 404 for what does not
exist, 409 for the method's rules; idempotent retries act once; a refused command records
nothing; and no input, however odd, makes the server answer 500.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient

from domain.default_instrument import DIMENSIONS
from domain.phases import Phase
from domain.roles import Role
from services.bootstrap import Container
from services.controlplane import system_provenance
from services.settings import Settings
from tests.http_harness import onboard, register, serving, token_for

PROBLEM_JSON = "application/problem+json"
SCORES = {d.key: 4 for d in DIMENSIONS}
THEME_DAY = "2025-03-14"

Body = dict[str, Any]


def assert_problem(response: Any, status: int) -> Body:
    """The response is an RFC 9457 problem with `status`; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: Body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert {"type", "title", "status"} <= body.keys()
    return body


def invalid_fields(response: Any) -> list[str]:
    """The fields a 400 names."""
    body = assert_problem(response, 400)
    assert body["errors"], body
    return [e["field"] for e in body["errors"]]


def rule_broken(response: Any, status: int = 409) -> Body:
    """A domain rule's refusal: 409 (or 404) with `rule` and, where there is one, `state`."""
    body = assert_problem(response, status)
    assert body["rule"], body
    assert body["detail"], body
    return body


@dataclass
class World:
    """One onboarded tenant with an established organisation of four units and an engagement
    in phase `prepared`, and a signed-in user for each role."""

    client: AsyncTestClient  # type: ignore[type-arg]
    container: Container
    tenant_id: UUID
    units: list[UUID]
    engagement_id: UUID
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def consultant(self) -> dict[str, str]:
        return self.headers["consultant"]

    @property
    def tenant_path(self) -> str:
        return f"/api/v1/tenants/{self.tenant_id}"

    @property
    def path(self) -> str:
        return f"{self.tenant_path}/engagements/{self.engagement_id}"

    async def post(self, suffix: str, json: Any = None, role: str = "consultant", **extra: Any) -> Any:
        headers = {**self.headers[role], **extra.pop("headers", {})}
        return await self.client.post(f"{self.path}{suffix}", json=json, headers=headers, **extra)

    async def put(self, suffix: str, json: Any = None, role: str = "consultant", **extra: Any) -> Any:
        headers = {**self.headers[role], **extra.pop("headers", {})}
        return await self.client.put(f"{self.path}{suffix}", json=json, headers=headers, **extra)

    async def engagement(self) -> Body:
        response = await self.client.get(self.path, headers=self.consultant)
        assert response.status_code == 200, response.text
        body: Body = response.json()
        return body

    async def version(self) -> int:
        return int((await self.engagement())["version"])

    async def advance_to(self, target: Phase) -> None:
        current = Phase((await self.engagement())["phase"])
        order = list(Phase)
        while current is not target:
            assert order.index(current) < order.index(target), (current, target)
            response = await self.post("/phase/advance", {"expected_phase": current.value})
            assert response.status_code == 200, response.text
            current = current.following  # type: ignore[assignment]

    async def map_and_rate(self, unit: UUID, counterpart: UUID) -> UUID:
        """Maps unit → counterpart and submits the unit's rating of it (phase `mapping`)."""
        mapped = await self.put(f"/units/{unit}/relations", {"counterpart_ids": [str(counterpart)]})
        assert mapped.status_code == 200, mapped.text
        rated = await self.post(
            "/ratings", {"unit_id": str(unit), "counterpart_id": str(counterpart), "scores": SCORES}
        )
        assert rated.status_code == 201, rated.text
        return UUID(rated.json()["rating_id"])

    async def send_card(self, from_unit: UUID, to_unit: UUID, **extra: Any) -> Any:
        body = {"from_unit": str(from_unit), "to_unit": str(to_unit), "topic": "Udskrivelser", **extra}
        return await self.post("/cards", body)

    async def card(self, from_unit: UUID, to_unit: UUID, **extra: Any) -> UUID:
        response = await self.send_card(from_unit, to_unit, **extra)
        assert response.status_code == 201, response.text
        return UUID(response.json()["card_id"])

    async def answer(self, card_id: UUID, unit: UUID) -> None:
        response = await self.post(f"/cards/{card_id}/accept", {"unit_id": str(unit)})
        assert response.status_code == 200, response.text

    async def to_dialogues(self) -> tuple[UUID, UUID]:
        """Takes the engagement to phase `dialogues` with one accepted card (unit 0 → 1) and
        one card still only sent (unit 2 → 3). Returns (accepted, sent)."""
        a, b, c, d = self.units
        await self.advance_to(Phase.MAPPING)
        await self.map_and_rate(a, b)
        await self.advance_to(Phase.DANCE_CARDS)
        accepted = await self.card(a, b)
        await self.answer(accepted, b)
        sent = await self.card(c, d)
        await self.advance_to(Phase.DIALOGUES)
        return accepted, sent


@pytest.fixture
async def world(backend: Settings) -> AsyncIterator[World]:
    # Nobody signs in with a password here; cheap hashes keep onboarding the roles quick.
    async with serving(backend, admin=None, quick_hashes=True) as story:
        container, client = story.container, story.client
        tenant_id = await onboard(container, "Region Midt", "org")
        members = {
            "consultant": Role.CONSULTANT,
            "client_admin": Role.CLIENT_ADMIN,
            "auditor": Role.AUDITOR,
            "participant": Role.PARTICIPANT,
        }
        users: dict[str, UUID] = {}
        for name, role in members.items():
            users[name] = (
                await register(container, Role.CONSULTANT if role is Role.CONSULTANT else None)
            ).user_id
            await container.offloop(
                container.control.grant_membership, users[name], tenant_id, role, system_provenance("Test")
            )
        # A consultant of the consultancy, but not assigned to this tenant.
        users["outsider"] = (await register(container, Role.CONSULTANT)).user_id
        headers = {name: token_for(client, user_id) for name, user_id in users.items()}
        consultant = headers["consultant"]
        tenant_path = f"/api/v1/tenants/{tenant_id}"
        established = await client.put(
            f"{tenant_path}/organisation", json={"name": "Region Midt"}, headers=consultant
        )
        assert established.status_code == 200, established.text
        units = []
        for name in ("Akutmodtagelsen", "Medicinsk afdeling", "Hjemmeplejen", "Visitationen"):
            added = await client.post(
                f"{tenant_path}/organisation/units", json={"name": name}, headers=consultant
            )
            assert added.status_code == 201, added.text
            units.append(UUID(added.json()["unit_id"]))
        prepared = await client.post(
            f"{tenant_path}/engagements",
            json={
                "title": "Sammenhængende forløb",
                "theme_day": THEME_DAY,
                "unit_ids": [str(u) for u in units],
            },
            headers=consultant,
        )
        assert prepared.status_code == 201, prepared.text
        yield World(
            client=client,
            container=container,
            tenant_id=tenant_id,
            units=units,
            engagement_id=UUID(prepared.json()["engagement_id"]),
            headers=headers,
        )


# -- 400: input the schemas refuse ----------------------------------------------------------


async def test_input_the_schemas_refuse_is_400_naming_the_field(world: World) -> None:
    a, b, *_ = world.units
    before = await world.version()
    json_headers = {"Content-Type": "application/json"}

    broken = await world.post("/ratings", content=b'{"unit_id": "', headers=json_headers)
    assert invalid_fields(broken) == ["body"]
    not_utf8 = await world.post("/cards", content=b"\xff\xfe{", headers=json_headers)
    assert invalid_fields(not_utf8) == ["body"]
    not_an_object = await world.post("/cards", json=[str(a), str(b)])
    assert invalid_fields(not_an_object) == ["body"]

    wrong_type = await world.post(
        "/ratings", {"unit_id": str(a), "counterpart_id": str(b), "scores": {**SCORES, "frequent": "high"}}
    )
    assert invalid_fields(wrong_type)[0].startswith("scores")
    out_of_scale = await world.post(
        "/ratings", {"unit_id": str(a), "counterpart_id": str(b), "scores": {**SCORES, "timely": 101}}
    )
    assert invalid_fields(out_of_scale)[0].startswith("scores")
    not_a_uuid = await world.post("/cards", {"from_unit": "enhed-7", "to_unit": str(b), "topic": "Overlap"})
    assert invalid_fields(not_a_uuid) == ["from_unit"]

    missing = await world.post("/cards", {"from_unit": str(a), "to_unit": str(b)})
    assert invalid_fields(missing) == ["topic"]
    missing_phase = await world.post("/phase/advance", {})
    assert invalid_fields(missing_phase) == ["expected_phase"]

    unknown = await world.post("/phase/advance", {"expected_phase": "prepared", "farve": "blå"})
    problem = assert_problem(unknown, 400)
    assert "farve" in problem["errors"][0]["field"] + problem["errors"][0]["message"]

    too_long = await world.put("/preparation", {"title": "x" * 201, "theme_day": THEME_DAY})
    assert invalid_fields(too_long) == ["title"]
    just_fits = await world.put("/preparation", {"title": "æ" * 200, "theme_day": THEME_DAY})
    assert just_fits.status_code == 200, just_fits.text
    before += 1

    engagements = f"{world.tenant_path}/engagements"
    prepare = {"title": "Nyt forløb", "theme_day": THEME_DAY, "unit_ids": [str(a), str(b)]}
    for bad, field_name in [
        ({**prepare, "unit_ids": []}, "unit_ids"),
        ({**prepare, "unit_ids": [str(a)]}, "unit_ids"),
        ({**prepare, "rating_mode": "sometimes"}, "rating_mode"),
        ({**prepare, "rounds": 0}, "rounds"),
        ({**prepare, "theme_day": "14/3/2025"}, "theme_day"),
        ({**prepare, "title": ""}, "title"),
    ]:
        response = await world.client.post(engagements, json=bad, headers=world.consultant)
        assert invalid_fields(response) == [field_name], bad
    wrong_phase_name = await world.post("/phase/advance", {"expected_phase": "dancing"})
    assert invalid_fields(wrong_phase_name) == ["expected_phase"]
    empty_reason = await world.post("/phase/back", {"expected_phase": "prepared", "reason": ""})
    assert invalid_fields(empty_reason) == ["reason"]
    too_many_rounds = await world.put("/rounds", {"rounds": 11})
    assert invalid_fields(too_many_rounds) == ["rounds"]

    for bad_moment in ("yesterday", "2025-03-14T09:30:00"):
        response = await world.put("/rounds", {"rounds": 4}, headers={"X-Occurred-At": bad_moment})
        assert invalid_fields(response) == ["X-Occurred-At"], bad_moment
    future = await world.put("/rounds", {"rounds": 4}, headers={"X-Occurred-At": "2999-01-01T00:00:00Z"})
    assert invalid_fields(future) == ["X-Occurred-At"]

    for path in (
        f"{world.tenant_path}/engagements/not-a-uuid",
        f"{world.tenant_path}/engagements/{world.engagement_id}/cards/not-a-uuid/accept",
        "/api/v1/tenants/not-a-uuid/engagements",
    ):
        method = world.client.post if path.endswith("accept") else world.client.get
        response = await method(path, headers=world.consultant)
        assert response.status_code in {400, 404}, (path, response.text)
        assert_problem(response, response.status_code)

    assert await world.version() == before


# -- 401 and 403: who may call what ---------------------------------------------------------


async def test_callers_without_a_token_a_membership_or_the_role_are_refused(world: World) -> None:
    advance = {"expected_phase": "prepared"}
    before = await world.version()

    for response in (
        await world.client.get(world.path),
        await world.client.post(f"{world.path}/phase/advance", json=advance),
        await world.client.post(
            f"{world.path}/phase/advance", json=advance, headers={"Authorization": "Bearer x.y.z"}
        ),
    ):
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")

    # A consultant of the consultancy not assigned to this tenant: refused, and the answer for
    # this real tenant is the answer for one that does not exist.
    outsider = world.headers["outsider"]
    elsewhere = f"/api/v1/tenants/{uuid4()}/engagements/{world.engagement_id}"
    for suffix, body in (("", None), ("/phase/advance", advance), ("/cards", {"topic": "x"})):
        here = await world.client.request(
            "POST" if body else "GET", f"{world.path}{suffix}", json=body, headers=outsider
        )
        there = await world.client.request(
            "POST" if body else "GET", f"{elsewhere}{suffix}", json=body, headers=outsider
        )
        assert assert_problem(here, 403) == assert_problem(there, 403)
        assert here.content == there.content
    another_tenant = await onboard(world.container, "Region Midt", "org")
    other_real = await world.client.get(
        f"/api/v1/tenants/{another_tenant}/engagements", headers=world.consultant
    )
    made_up = await world.client.get(f"/api/v1/tenants/{uuid4()}/engagements", headers=world.consultant)
    assert assert_problem(other_real, 403) == assert_problem(made_up, 403)

    # Auditors read everything and change nothing.
    auditor = "auditor"
    assert (await world.client.get(world.path, headers=world.headers[auditor])).status_code == 200
    a, b, *_ = world.units
    for response in (
        await world.post("/phase/advance", advance, role=auditor),
        await world.put("/preparation", {"title": "Revideret", "theme_day": THEME_DAY}, role=auditor),
        await world.put("/rounds", {"rounds": 2}, role=auditor),
        await world.post("/cards", {"from_unit": str(a), "to_unit": str(b), "topic": "x"}, role=auditor),
        await world.post(
            "/ratings", {"unit_id": str(a), "counterpart_id": str(b), "scores": SCORES}, role=auditor
        ),
        await world.client.post(
            f"{world.tenant_path}/organisation/units",
            json={"name": "Ny enhed"},
            headers=world.headers[auditor],
        ),
    ):
        assert_problem(response, 403)

    # Participants take part on the day but do not run it.
    for role in ("participant", "client_admin"):
        for response in (
            await world.post("/phase/advance", advance, role=role),
            await world.post("/phase/back", {"expected_phase": "prepared", "reason": "fejl"}, role=role),
            await world.put("/rounds", {"rounds": 2}, role=role),
            await world.post("/schedule", role=role),
        ):
            assert_problem(response, 403)
    # ... while their own commands pass the guard and meet the method's rules instead.
    card = await world.post(
        "/cards", {"from_unit": str(a), "to_unit": str(b), "topic": "x"}, role="participant"
    )
    assert rule_broken(card)["rule"] == "wrong_phase"

    assert await world.version() == before


async def test_a_consultancy_admin_calling_on_a_tenant_never_onboarded_gets_no_500(world: World) -> None:
    admin = token_for(world.client, (await register(world.container, Role.CONSULTANCY_ADMIN)).user_id)
    never_onboarded = f"/api/v1/tenants/{uuid4()}"
    for response in (
        await world.client.get(f"{never_onboarded}/engagements", headers=admin),
        await world.client.get(f"{never_onboarded}/organisation", headers=admin),
        await world.client.post(
            f"{never_onboarded}/engagements/{uuid4()}/phase/advance",
            json={"expected_phase": "prepared"},
            headers=admin,
        ),
    ):
        assert_problem(response, 404)


async def test_a_version_outside_any_integer_column_is_bad_input(world: World) -> None:
    for version in (0, -5, 2**63, 10**30):
        response = await world.client.get(f"{world.path}?version={version}", headers=world.consultant)
        assert_problem(response, 400)


# -- 404: what does not exist -----------------------------------------------------------------


async def test_unknown_engagements_cards_dialogues_agreements_proposals_and_units_are_404(
    world: World,
) -> None:
    a, b, c, _ = world.units
    nowhere = uuid4()
    unknown_engagement = f"{world.tenant_path}/engagements/{uuid4()}"
    for response in (
        await world.client.get(unknown_engagement, headers=world.consultant),
        await world.client.get(f"{unknown_engagement}/cards", headers=world.consultant),
        await world.client.post(
            f"{unknown_engagement}/phase/advance",
            json={"expected_phase": "prepared"},
            headers=world.consultant,
        ),
        await world.client.put(
            f"{unknown_engagement}/preparation",
            json={"title": "Intet", "theme_day": THEME_DAY},
            headers=world.consultant,
        ),
    ):
        assert rule_broken(response, 404)["rule"] == "not_found"
    not_in_organisation = await world.client.post(
        f"{world.tenant_path}/engagements",
        json={"title": "Med en ukendt enhed", "theme_day": THEME_DAY, "unit_ids": [str(a), str(nowhere)]},
        headers=world.consultant,
    )
    assert rule_broken(not_in_organisation, 404)["rule"] == "not_found"
    unknown_unit = await world.client.post(
        f"{world.tenant_path}/organisation/units/{nowhere}/rename",
        json={"name": "Intetsteds"},
        headers=world.consultant,
    )
    assert rule_broken(unknown_unit, 404)["rule"] == "not_found"

    await world.advance_to(Phase.MAPPING)
    for response in (
        await world.put(f"/units/{nowhere}/relations", {"counterpart_ids": [str(a)]}),
        await world.put(f"/units/{a}/relations", {"counterpart_ids": [str(nowhere)]}),
        await world.post("/ratings", {"unit_id": str(nowhere), "counterpart_id": str(a), "scores": SCORES}),
    ):
        assert rule_broken(response, 404)["rule"] == "not_found"
    await world.map_and_rate(a, b)

    await world.advance_to(Phase.DANCE_CARDS)
    for response in (
        await world.send_card(a, nowhere),
        await world.send_card(a, b, motivating_rating_id=str(nowhere)),
        await world.post(f"/cards/{nowhere}/accept", {"unit_id": str(b)}),
        await world.post(f"/cards/{nowhere}/decline", {"unit_id": str(b), "reason": "Ingen tid"}),
        await world.post(f"/cards/{nowhere}/withdraw", {"unit_id": str(a)}),
        await world.put(f"/cards/{nowhere}/round", {"round": 1}),
    ):
        assert rule_broken(response, 404)["rule"] == "not_found"
    card = await world.card(a, b)
    await world.answer(card, b)
    await world.card(a, c)

    await world.advance_to(Phase.DIALOGUES)
    for response in (
        await world.post("/dialogues", {"card_id": str(nowhere)}),
        await world.post(f"/dialogues/{nowhere}/outcomes", {"proposals": [{"text": "Fælles tavle"}]}),
    ):
        assert rule_broken(response, 404)["rule"] == "not_found"
    held = await world.post(
        "/dialogues", {"card_id": str(card), "agreements": [{"text": "Ring før udskrivelse"}]}
    )
    assert held.status_code == 201, held.text

    await world.advance_to(Phase.WRAP_UP)
    wrap_up = await world.put(f"/wrap-ups/{nowhere}", {"summary": "Intet"})
    assert rule_broken(wrap_up, 404)["rule"] == "not_found"
    await world.advance_to(Phase.CLOSING_PLENARY)
    plenary = await world.post("/closing-plenary", {"notes": "Tak for i dag"})
    assert plenary.status_code == 200, plenary.text

    await world.advance_to(Phase.FOLLOW_UP_MEETING)
    for response in (
        await world.post(f"/agreements/{nowhere}/decision", {"accepted": True, "decided_by": "Direktionen"}),
        await world.post(f"/agreements/{nowhere}/check-ins", {"status": "in_progress"}),
        await world.post(
            f"/proposals/{nowhere}/decision", {"outcome": "approved", "decided_by": "Direktionen"}
        ),
    ):
        assert rule_broken(response, 404)["rule"] == "not_found"


# -- 409: the method's rules ----------------------------------------------------------------


async def test_commands_in_the_wrong_phase_are_409_naming_both_phases(world: World) -> None:
    a, b, *_ = world.units
    before = await world.version()
    for response, allowed in (
        (await world.send_card(a, b), "dance_cards"),
        (
            await world.post("/ratings", {"unit_id": str(a), "counterpart_id": str(b), "scores": SCORES}),
            "mapping",
        ),
        (await world.post("/schedule"), "dance_cards or dialogues"),
        (await world.post("/closing-plenary", {}), "closing_plenary"),
        (await world.put(f"/wrap-ups/{a}", {"summary": "Godt"}), "wrap_up"),
    ):
        problem = rule_broken(response)
        assert problem["rule"] == "wrong_phase"
        assert problem["state"] == "prepared"
        assert f"in phase {allowed};" in problem["detail"], problem

    # Two facilitators click "next" at once: the second names a phase that is gone.
    advanced = await world.post("/phase/advance", {"expected_phase": "prepared"})
    assert advanced.status_code == 200, advanced.text
    stale = rule_broken(await world.post("/phase/advance", {"expected_phase": "prepared"}))
    assert (stale["rule"], stale["state"]) == ("invariant", "theme_day_open")
    ahead = rule_broken(await world.post("/phase/back", {"expected_phase": "mapping", "reason": "fejl"}))
    assert (ahead["rule"], ahead["state"]) == ("invariant", "theme_day_open")
    assert await world.version() == before + 1

    back = await world.post("/phase/back", {"expected_phase": "theme_day_open", "reason": "For tidligt"})
    assert back.status_code == 200, back.text
    first = rule_broken(await world.post("/phase/back", {"expected_phase": "prepared", "reason": "Igen"}))
    assert (first["rule"], first["state"]) == ("invariant", "prepared")
    mapped = rule_broken(await world.put(f"/units/{a}/relations", {"counterpart_ids": [str(b)]}))
    assert (mapped["rule"], mapped["state"]) == ("wrong_phase", "prepared")


async def test_a_refusal_carries_its_code_and_its_parameters_beside_the_english(world: World) -> None:
    a, b, *_ = world.units
    wrong = rule_broken(await world.post("/schedule"))
    assert (wrong["code"], wrong["params"]) == (
        "wrong_phase",
        {"action": "schedule_dialogues", "allowed": ["dance_cards", "dialogues"], "current": "prepared"},
    )
    assert wrong["detail"] == (
        "scheduling dialogues is possible in phase dance_cards or dialogues; the engagement is in phase prepared"
    )
    nowhere = uuid4()
    await world.advance_to(Phase.MAPPING)
    missing = rule_broken(await world.put(f"/units/{nowhere}/relations", {"counterpart_ids": [str(a)]}), 404)
    assert (missing["code"], missing["params"]) == ("unit_not_taking_part", {"unit": str(nowhere)})
    itself = rule_broken(await world.put(f"/units/{b}/relations", {"counterpart_ids": [str(b)]}))
    assert (itself["code"], itself["params"]) == ("relation_to_itself", {})


async def test_broken_invariants_are_409_and_change_nothing(world: World) -> None:
    a, b, c, d = world.units
    await world.advance_to(Phase.MAPPING)
    before = await world.version()
    to_itself = rule_broken(await world.put(f"/units/{a}/relations", {"counterpart_ids": [str(a)]}))
    assert to_itself["rule"] == "invariant"
    twice = rule_broken(await world.put(f"/units/{a}/relations", {"counterpart_ids": [str(b), str(b)]}))
    assert twice["rule"] == "invariant"
    unmapped = await world.post("/ratings", {"unit_id": str(a), "counterpart_id": str(b), "scores": SCORES})
    assert rule_broken(unmapped)["rule"] == "invariant"
    assert await world.version() == before

    motivating = await world.map_and_rate(a, b)
    before = await world.version()
    partial = {k: v for k, v in SCORES.items() if k != "shared_goals"}
    missing_dimension = rule_broken(
        await world.post("/ratings", {"unit_id": str(a), "counterpart_id": str(b), "scores": partial})
    )
    assert missing_dimension["rule"] == "invariant"
    assert "shared_goals" in missing_dimension["detail"]
    beyond_scale = await world.post(
        "/ratings", {"unit_id": str(a), "counterpart_id": str(b), "scores": {**SCORES, "timely": 99}}
    )
    assert rule_broken(beyond_scale)["rule"] == "invariant"
    made_up = await world.post(
        "/ratings", {"unit_id": str(a), "counterpart_id": str(b), "scores": {**SCORES, "kage": 3}}
    )
    assert "kage" in rule_broken(made_up)["detail"]
    assert await world.version() == before

    await world.advance_to(Phase.DANCE_CARDS)
    before = await world.version()
    self_card = rule_broken(await world.send_card(a, a))
    assert self_card["rule"] == "invariant"
    whitespace_topic = rule_broken(await world.send_card(a, b, topic="   "))
    assert whitespace_topic["rule"] == "invariant"
    wrong_rating = rule_broken(await world.send_card(c, d, motivating_rating_id=str(motivating)))
    assert wrong_rating["rule"] == "invariant"
    assert await world.version() == before

    card = await world.card(a, b, motivating_rating_id=str(motivating))
    before = await world.version()
    for response in (
        # Only the invited unit answers, and it says why it declines.
        await world.post(f"/cards/{card}/accept", {"unit_id": str(a)}),
        await world.post(f"/cards/{card}/decline", {"unit_id": str(b), "reason": "   "}),
        await world.post(f"/cards/{card}/withdraw", {"unit_id": str(b)}),
        # Only accepted cards are scheduled.
        await world.put(f"/cards/{card}/round", {"round": 1}),
    ):
        assert rule_broken(response)["rule"] == "invariant"
    assert await world.version() == before
    await world.answer(card, b)
    again = rule_broken(await world.post(f"/cards/{card}/decline", {"unit_id": str(b), "reason": "Fortrudt"}))
    assert (again["rule"], again["state"]) == ("invariant", "accepted")
    beyond_rounds = rule_broken(await world.put(f"/cards/{card}/round", {"round": 5}))
    assert beyond_rounds["rule"] == "invariant"

    await world.advance_to(Phase.CLOSING_PLENARY)
    # The follow-up meeting needs the closing plenary held first.
    no_plenary = rule_broken(await world.post("/phase/advance", {"expected_phase": "closing_plenary"}))
    assert no_plenary["rule"] == "invariant"
    assert (await world.engagement())["phase"] == "closing_plenary"


async def test_the_organisation_refuses_merged_units_and_a_second_establishment(world: World) -> None:
    a, b, c, d = world.units
    organisation = f"{world.tenant_path}/organisation"
    again = await world.client.put(organisation, json={"name": "Igen"}, headers=world.consultant)
    assert rule_broken(again)["rule"] == "already_exists"

    merged = await world.client.post(
        f"{organisation}/mergers",
        json={"unit_ids": [str(a), str(b)], "name": "Akut og medicin"},
        headers=world.consultant,
    )
    assert merged.status_code == 201, merged.text
    successor = merged.json()["unit_id"]
    before = (await world.client.get(organisation, headers=world.consultant)).json()

    prepare = {"title": "Efter fusionen", "theme_day": THEME_DAY}
    with_merged = await world.client.post(
        f"{world.tenant_path}/engagements",
        json={**prepare, "unit_ids": [str(a), str(c)]},
        headers=world.consultant,
    )
    problem = rule_broken(with_merged)
    assert (problem["rule"], problem["state"]) == ("invariant", "merged")
    duplicated = await world.client.post(
        f"{world.tenant_path}/engagements",
        json={**prepare, "unit_ids": [str(c), str(c)]},
        headers=world.consultant,
    )
    assert rule_broken(duplicated)["rule"] == "invariant"
    merge_again = await world.client.post(
        f"{organisation}/mergers",
        json={"unit_ids": [str(a), str(d)], "name": "Nyt"},
        headers=world.consultant,
    )
    assert rule_broken(merge_again)["rule"] == "invariant"
    assert (await world.client.get(organisation, headers=world.consultant)).json() == before

    with_successor = await world.client.post(
        f"{world.tenant_path}/engagements",
        json={**prepare, "unit_ids": [successor, str(c)]},
        headers=world.consultant,
    )
    assert with_successor.status_code == 201, with_successor.text


# -- idempotency ---------------------------------------------------------------------------


async def test_a_retried_dance_card_is_sent_once(world: World) -> None:
    a, b, *_ = world.units
    await world.advance_to(Phase.DANCE_CARDS)
    key = {"Idempotency-Key": uuid4().hex}
    body = {"from_unit": str(a), "to_unit": str(b), "topic": "Udskrivelser fredag"}

    first = await world.post("/cards", body, headers=key)
    second = await world.post("/cards", body, headers=key)

    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert second.json()["card_id"] == first.json()["card_id"]
    assert second.headers["idempotent-replayed"] == "true"
    cards = (await world.engagement())["cards"]
    assert [card["card_id"] for card in cards] == [first.json()["card_id"]]

    changed = await world.post("/cards", {**body, "topic": "Noget andet"}, headers=key)
    assert_problem(changed, 422)
    assert len((await world.engagement())["cards"]) == 1


async def test_twenty_concurrent_ratings_with_one_key_record_one(world: World) -> None:
    a, b, *_ = world.units
    await world.advance_to(Phase.MAPPING)
    mapped = await world.put(f"/units/{a}/relations", {"counterpart_ids": [str(b)]})
    assert mapped.status_code == 200, mapped.text
    before = await world.version()
    key = {"Idempotency-Key": uuid4().hex}
    body = {"unit_id": str(a), "counterpart_id": str(b), "scores": SCORES}

    responses = await asyncio.gather(*(world.post("/ratings", body, headers=key) for _ in range(20)))

    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    assert len({r.json()["rating_id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 19
    engagement = await world.engagement()
    assert engagement["version"] == before + 1
    [relation] = engagement["relation_views"]
    assert (relation["unit_id"], relation["counterpart_id"], relation["raters"]) == (str(a), str(b), 1)


# -- no half-recorded action -----------------------------------------------------------------


async def test_a_refused_dialogue_records_nothing(world: World) -> None:
    accepted, sent = await world.to_dialogues()
    before = await world.engagement()

    empty_text = await world.post(
        "/dialogues",
        {"card_id": str(accepted), "agreements": [{"text": "Fast kontaktperson"}, {"text": ""}]},
    )
    assert invalid_fields(empty_text) == ["agreements[1].text"]
    blank_text = await world.post(
        "/dialogues",
        {
            "card_id": str(accepted),
            "agreements": [{"text": "Fast kontaktperson"}],
            "proposals": [{"text": "Fælles journal"}, {"text": "  \n "}],
        },
    )
    assert rule_broken(blank_text)["rule"] == "invariant"
    not_accepted = await world.post(
        "/dialogues",
        {"card_id": str(sent), "agreements": [{"text": "Ugentligt møde", "needs_acceptance": True}]},
    )
    problem = rule_broken(not_accepted)
    assert (problem["rule"], problem["state"]) == ("invariant", "sent")

    after = await world.engagement()
    assert after["version"] == before["version"]
    assert after["dialogues"] == after["agreements"] == after["proposals"] == []

    held = await world.post(
        "/dialogues",
        {
            "card_id": str(accepted),
            "agreements": [{"text": "Fast kontaktperson"}],
            "proposals": [{"text": "Fælles journal"}],
        },
    )
    assert held.status_code == 201, held.text
    dialogue_id = held.json()["dialogue_id"]
    assert await world.version() == before["version"] + 3
    twice = rule_broken(await world.post("/dialogues", {"card_id": str(accepted)}))
    assert twice["rule"] == "already_exists"

    before_outcomes = await world.version()
    half_blank = await world.post(
        f"/dialogues/{dialogue_id}/outcomes", {"agreements": [{"text": "Mere"}, {"text": " "}]}
    )
    assert rule_broken(half_blank)["rule"] == "invariant"
    assert await world.version() == before_outcomes
    assert len((await world.engagement())["agreements"]) == 1


# -- never a 500 -------------------------------------------------------------------------------

WORDS = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30
) | st.sampled_from(
    ["Æblegrød på Ærø", "Søren Ørsted", "Ålborg", "🦆💃🕺", "שלום עולם", "مرحبا", "\u202eevil", "\x00", ""]
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | WORDS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(WORDS, children, max_size=4),
    max_leaves=12,
)
FIELDS = [
    "unit_id",
    "counterpart_id",
    "scores",
    "from_unit",
    "to_unit",
    "topic",
    "card_id",
    "agreements",
    "proposals",
    "counterpart_ids",
    "expected_phase",
    "reason",
    "rounds",
    "title",
    "theme_day",
    "unit_ids",
]


def _near_valid(world: World) -> st.SearchStrategy[Any]:
    """Objects with the API's own field names, holding plausible and implausible values."""
    value = JSONISH | st.sampled_from(
        [str(u) for u in world.units]
        + [str(uuid4()), "prepared", "theme_day_open", "mapping", THEME_DAY, SCORES, [{"text": "æøå"}], 3]
    )
    return st.dictionaries(st.sampled_from(FIELDS), value, max_size=5)


RAW = st.none() | st.binary(max_size=40)
OCCURRED_AT = st.none() | st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@settings(
    max_examples=40,
    deadline=None,
    # One world serves every example: it only ever has to answer, never to stay pristine.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(data=st.data())
async def test_no_body_makes_the_server_answer_500(world: World, data: st.DataObject) -> None:
    if (await world.engagement())["phase"] == "prepared":
        await world.advance_to(Phase.MAPPING)
    body = data.draw(JSONISH | _near_valid(world), label="body")
    raw = data.draw(RAW, label="raw body")
    occurred_at = data.draw(OCCURRED_AT, label="X-Occurred-At")
    headers = {} if occurred_at is None else {"X-Occurred-At": occurred_at}
    request: dict[str, Any] = (
        {"json": body, "headers": headers}
        if raw is None
        else {"content": raw, "headers": {**headers, "Content-Type": "application/json"}}
    )
    for send, suffix in (
        (world.post, "/ratings"),
        (world.post, "/cards"),
        (world.post, "/dialogues"),
        (world.post, "/phase/advance"),
        (world.put, "/preparation"),
        (world.put, f"/units/{world.units[0]}/relations"),
    ):
        response = await send(suffix, **request)
        assert response.status_code < 500, (suffix, response.text)
        assert response.headers["content-type"].startswith(("application/json", PROBLEM_JSON))
