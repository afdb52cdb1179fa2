"""An auditor's reads are recorded however the tenant id in the address is spelt: on the
embedded default and on PostgreSQL + Redis.

The router reads a UUID written as 32 hex digits, in braces, in upper case or as a URN. For
every such spelling of the tenant id, each of the auditor's reads — the audit exports, the
chain export, the report PDF, the relation matrix, a lineage and the audit page — is either
redirected to the canonical address or refused, or else served and recorded as an
`AuditorAccessed` event. None is ever served unrecorded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import pytest

from domain.roles import Role
from services.controlplane import system_provenance
from services.settings import Settings
from tests.http_harness import Person, Story, flat, onboard, register, serving, token_for

SPELLINGS = {
    "32 hex digits": lambda u: u.hex,
    "in braces": lambda u: "{" + str(u) + "}",
    "upper case": lambda u: str(u).upper(),
    "a URN": lambda u: u.urn,
}
REFUSED_OR_REDIRECTED = {307, 308, 400, 403, 404}


@pytest.fixture
async def story(backend: Settings) -> AsyncIterator[Story]:
    async with serving(backend) as started:
        yield started


async def member(story: Story, tenant_id: UUID, role: Role, platform_role: Role | None = None) -> Person:
    user = await register(story.container, platform_role)
    await story.container.offloop(
        story.container.control.grant_membership, user.user_id, tenant_id, role, system_provenance("Test")
    )
    return Person(story.client, token_for(story.client, user.user_id), base=f"/api/v1/tenants/{tenant_id}")


async def a_rated_engagement(story: Story) -> tuple[UUID, Person, str, str]:
    """A tenant with two units, an engagement in which one relation is rated; its consultant,
    the engagement id and the rating id."""
    tenant_id = await onboard(story.container, "Vejle Kommune", "stavning")
    consultant = await member(story, tenant_id, Role.CONSULTANT, Role.CONSULTANT)
    await consultant.put("/organisation", {"name": "Vejle Kommune"})
    south, north = [
        (await consultant.post("/organisation/units", {"name": n}))["unit_id"] for n in ("Syd", "Nord")
    ]
    created = await consultant.post(
        "/engagements", {"title": "Samarbejde 2026", "theme_day": "2026-09-01", "unit_ids": [south, north]}
    )
    engagement = f"/engagements/{created['engagement_id']}"
    for phase in ("prepared", "theme_day_open"):
        await consultant.post(f"{engagement}/phase/advance", {"expected_phase": phase}, expect=200)
    await consultant.put(f"{engagement}/units/{south}/relations", {"counterpart_ids": [north]})
    rated = await consultant.post(
        f"{engagement}/ratings", {"unit_id": south, "counterpart_id": north, "scores": flat(3)}
    )
    return tenant_id, consultant, created["engagement_id"], rated["rating_id"]


def reads(tenant: str, engagement_id: str, rating_id: str) -> dict[str, str]:
    """The auditor's reads, each under `tenant` as written in the address."""
    api = f"/api/v1/tenants/{tenant}"
    return {
        "audit export as CSV": f"{api}/audit/export.csv",
        "audit export as JSON lines": f"{api}/audit/export.jsonl",
        "chain export": f"{api}/audit/export/chain.jsonl",
        "relation matrix": f"{api}/engagements/{engagement_id}/matrix",
        "lineage of a rating": f"{api}/lineage/rating/{rating_id}",
        "report PDF": f"/t/{tenant}/e/{engagement_id}/report.pdf",
        "audit page": f"/t/{tenant}/audit",
    }


async def recorded_paths(consultant: Person) -> list[str]:
    """The paths of the auditor accesses in the tenant's audit trail (a consultant's reads are
    not recorded, so reading them adds none)."""
    page = await consultant.get("/audit", params={"event_type": "AuditorAccessed", "limit": 500})
    assert page["next_after"] is None
    return [row["details"]["path"] for row in page["items"]]


async def test_no_spelling_of_the_tenant_id_serves_an_auditor_unrecorded(story: Story) -> None:
    tenant_id, consultant, engagement_id, rating_id = await a_rated_engagement(story)
    auditor = await member(story, tenant_id, Role.AUDITOR)

    # The canonical address is served and recorded: the baseline every spelling is held to.
    canonical = reads(str(tenant_id), engagement_id, rating_id)
    for name, path in canonical.items():
        response = await story.client.get(path, headers=auditor.headers)
        assert response.status_code == 200, f"{name}: {response.status_code} {response.text[:300]}"
    assert sorted(await recorded_paths(consultant)) == sorted(canonical.values())

    answered: list[tuple[str, str, str, int]] = []
    for spelling, spell in SPELLINGS.items():
        for name, path in reads(spell(tenant_id), engagement_id, rating_id).items():
            response = await story.client.get(path, headers=auditor.headers, follow_redirects=False)
            answered.append((spelling, name, path, response.status_code))

    recorded = await recorded_paths(consultant)
    served_unrecorded = [
        (spelling, name, status)
        for spelling, name, path, status in answered
        if status not in REFUSED_OR_REDIRECTED and recorded.count(path) != 1
    ]
    assert served_unrecorded == []


async def test_a_misspelt_tenant_id_in_a_read_redirects_to_the_canonical_address(story: Story) -> None:
    tenant_id, consultant, engagement_id, _ = await a_rated_engagement(story)
    auditor = await member(story, tenant_id, Role.AUDITOR)
    canonical = f"/api/v1/tenants/{tenant_id}/engagements/{engagement_id}/matrix"

    for spell in SPELLINGS.values():
        misspelt = f"/api/v1/tenants/{spell(tenant_id)}/engagements/{engagement_id}/matrix"
        response = await story.client.get(
            misspelt,
            params={"as_of": "2026-01-01T00:00:00Z"},
            headers=auditor.headers,
            follow_redirects=False,
        )
        assert response.status_code == 308, response.text
        assert response.headers["location"] == f"{canonical}?as_of=2026-01-01T00%3A00%3A00Z"

    # Following the redirect lands on the canonical address, which is served and recorded.
    followed = await story.client.get(
        f"/t/{tenant_id.hex}/audit", headers=auditor.headers, follow_redirects=True
    )
    assert followed.status_code == 200
    assert await recorded_paths(consultant) == [f"/t/{tenant_id}/audit"]


async def test_a_command_with_a_misspelt_id_is_refused_naming_the_path_parameter(story: Story) -> None:
    tenant_id, consultant, engagement_id, _ = await a_rated_engagement(story)
    upper = f"/api/v1/tenants/{str(tenant_id).upper()}/engagements/{UUID(engagement_id).hex}/rounds"

    response = await story.client.put(upper, json={"rounds": 4}, headers=consultant.headers)

    assert response.status_code == 400, response.text
    problem: dict[str, Any] = response.json()
    assert {e["field"] for e in problem["errors"]} == {"tenant_id", "engagement_id"}
    shown = await consultant.get(f"/engagements/{engagement_id}")
    assert shown["rounds"] != 4


async def test_an_auditor_under_a_tenant_route_without_a_known_tenant_is_refused() -> None:
    """Below the router: a request under a tenant prefix whose tenant id the router did not parse."""
    from services.auth.principal import Principal
    from services.http.auditor_access import TenantUnknown, audited_tenant

    tenant_id = UUID(int=7)
    auditor = Principal(
        user_id=UUID(int=1),
        email="r@example.dk",
        display_name="R",
        platform_role=None,
        memberships={tenant_id: Role.AUDITOR},
    )
    scope: Any = {"type": "http", "path": f"/t/{tenant_id.hex}/audit", "path_params": {}, "user": auditor}
    with pytest.raises(TenantUnknown):
        audited_tenant(scope)
    scope["path_params"] = {"tenant_id": tenant_id}
    assert audited_tenant(scope) == tenant_id
