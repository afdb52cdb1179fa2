"""Rating instruments over HTTP: the built-in one, a licensee's own wording loaded as a new
instrument, versions published later, and engagements that keep the version they pinned.

Runs on every backend. The PostgreSQL backend shares one control plane across the run, so
every instrument here gets a name of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar.testing import AsyncTestClient

from domain.default_instrument import DEFAULT_INSTRUMENT, DEFAULT_INSTRUMENT_ID
from domain.instrument import Dimension, StrengthBand
from domain.roles import Role
from services.bootstrap import Container
from services.controlplane import system_provenance
from services.settings import Settings
from tests.http_harness import bearer, onboard, register, serving

PROBLEM_JSON = "application/problem+json"
INSTRUMENTS = "/api/v1/instruments"
LICENSED_KEYS = ("samarbejde", "tillid", "videndeling")

Body = dict[str, Any]


@dataclass
class Api:
    client: AsyncTestClient  # type: ignore[type-arg]
    container: Container
    admin: dict[str, str]

    async def login(self, email: str) -> dict[str, str]:
        return await bearer(self.client, email)

    async def register(self, role: Role | None = None) -> str:
        return (await register(self.container, role)).email

    async def create(self, body: Body, headers: dict[str, str] | None = None) -> Any:
        return await self.client.post(INSTRUMENTS, json=body, headers=headers or self.admin)

    async def created(self, body: Body) -> Body:
        response = await self.create(body)
        assert response.status_code == 201, response.text
        created: Body = response.json()
        return created

    async def publish(self, instrument_id: UUID | str, body: Body) -> Any:
        return await self.client.post(
            f"{INSTRUMENTS}/{instrument_id}/versions", json=body, headers=self.admin
        )

    async def get(self, path: str, headers: dict[str, str] | None = None) -> Body:
        response = await self.client.get(path, headers=headers or self.admin)
        assert response.status_code == 200, response.text
        body: Body = response.json()
        return body


@pytest.fixture
async def api(backend: Settings) -> AsyncIterator[Api]:
    # An admin of its own; cheap hashes keep signing in quick, nothing here is about passwords.
    admin_email = f"admin-{uuid4().hex[:10]}@example.dk"
    async with serving(backend, admin=admin_email, quick_hashes=True) as story:
        yield Api(
            client=story.client, container=story.container, admin=await bearer(story.client, admin_email)
        )


def assert_problem(response: Any, status: int) -> Body:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body: Body = response.json()
    assert body["status"] == status
    assert {"type", "title", "status"} <= body.keys()
    return body


def unique_name(stem: str = "Licens RC") -> str:
    return f"{stem} {uuid4().hex[:8]}"


def dimension(key: str) -> Body:
    return {
        "key": key,
        "name_da": f"{key.capitalize()} (da)",
        "name_en": f"{key.capitalize()} (en)",
        "question_da": f"Hvordan går det med {key}?",
        "question_en": f"How is {key} going?",
    }


def licensed(name: str | None = None, keys: tuple[str, ...] = LICENSED_KEYS, **changes: Any) -> Body:
    """A licensee's instrument: three dimensions on a 1-7 scale (bands as strings and numbers)."""
    body: Body = {
        "name": unique_name() if name is None else name,
        "scale_min": 1,
        "scale_max": 7,
        "dimensions": [dimension(k) for k in keys],
        "bands": [
            {"lower": "1", "label_da": "Svag", "label_en": "Weak"},
            {"lower": 3.5, "label_da": "Middel", "label_en": "Moderate"},
            {"lower": "5.25", "label_da": "Stærk", "label_en": "Strong"},
        ],
    }
    return {**body, **changes}


def version_of(body: Body) -> Body:
    return {k: v for k, v in body.items() if k != "name"}


async def test_the_built_in_instrument_is_listed_first_for_every_signed_in_user(api: Api) -> None:
    assert_problem(await api.client.get(INSTRUMENTS), 401)
    consultant = await api.login(await api.register(Role.CONSULTANT))

    listing = await api.get(INSTRUMENTS, consultant)
    assert listing[0] == {
        "id": str(DEFAULT_INSTRUMENT_ID),
        "name": DEFAULT_INSTRUMENT.name,
        "latest_version": 1,
        "built_in": True,
    }

    detail = await api.get(f"{INSTRUMENTS}/{DEFAULT_INSTRUMENT_ID}", consultant)
    assert detail["built_in"] is True
    [version] = detail["versions"]
    assert version["version"] == 1
    assert (version["scale_min"], version["scale_max"]) == (1, 5)
    assert [d["key"] for d in version["dimensions"]] == list(DEFAULT_INSTRUMENT.dimension_keys)
    assert len(version["dimensions"]) == 7
    assert version["dimensions"][4]["name_da"] == "Fælles mål"
    assert version["dimensions"][6]["question_en"].endswith("?")
    assert [b["label_en"] for b in version["bands"]] == ["Weak", "Moderate", "Strong"]
    assert version["bands"][1]["lower"] == "2.5"


async def test_an_admin_loads_an_instrument_and_publishes_its_next_version(api: Api) -> None:
    name = unique_name()
    created = await api.created(licensed(name))
    instrument_id = created["instrument_id"]
    assert created["version"] == 1
    assert created["name"] == name
    assert (created["scale_min"], created["scale_max"]) == (1, 7)
    assert [d["key"] for d in created["dimensions"]] == list(LICENSED_KEYS)
    assert [b["lower"] for b in created["bands"]] == ["1", "3.5", "5.25"]

    listing = await api.get(INSTRUMENTS)
    assert listing[0]["id"] == str(DEFAULT_INSTRUMENT_ID)
    assert {"id": instrument_id, "name": name, "latest_version": 1, "built_in": False} in listing

    second = await api.publish(instrument_id, version_of(licensed(keys=(*LICENSED_KEYS, "respekt"))))
    assert second.status_code == 201, second.text
    assert second.json()["version"] == 2
    assert second.json()["instrument_id"] == instrument_id

    listed = next(i for i in await api.get(INSTRUMENTS) if i["id"] == instrument_id)
    assert listed["latest_version"] == 2
    detail = await api.get(f"{INSTRUMENTS}/{instrument_id}")
    assert detail["name"] == name
    assert detail["built_in"] is False
    assert [v["version"] for v in detail["versions"]] == [1, 2]
    assert len(detail["versions"][0]["dimensions"]) == 3
    assert len(detail["versions"][1]["dimensions"]) == 4


async def test_only_consultancy_admins_load_or_change_instruments(api: Api) -> None:
    consultant = await api.login(await api.register(Role.CONSULTANT))
    name = unique_name()
    assert_problem(await api.create(licensed(name), consultant), 403)
    assert name not in [i["name"] for i in await api.get(INSTRUMENTS)]

    instrument_id = (await api.created(licensed()))["instrument_id"]
    refused = await api.client.post(
        f"{INSTRUMENTS}/{instrument_id}/versions", json=version_of(licensed()), headers=consultant
    )
    assert_problem(refused, 403)
    assert_problem(await api.client.post(INSTRUMENTS, json=licensed()), 401)


async def test_names_are_unique_and_the_built_in_instrument_never_changes(api: Api) -> None:
    name = unique_name()
    await api.created(licensed(name))
    taken = assert_problem(await api.create(licensed(f"  {name.upper()} ")), 409)
    assert taken["rule"] == "already_exists"
    built_in_name = assert_problem(await api.create(licensed(DEFAULT_INSTRUMENT.name.lower())), 409)
    assert built_in_name["rule"] == "already_exists"

    built_in = assert_problem(await api.publish(DEFAULT_INSTRUMENT_ID, version_of(licensed())), 409)
    assert built_in["rule"] == "invariant"
    assert_problem(await api.publish(uuid4(), version_of(licensed())), 404)
    assert_problem(await api.client.get(f"{INSTRUMENTS}/{uuid4()}", headers=api.admin), 404)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"dimensions": [dimension("tillid"), dimension("tillid")]}, "distinct"),
        ({"scale_min": 7, "scale_max": 7}, "minimum"),
        ({"scale_min": 7, "scale_max": 1}, "minimum"),
        (
            {
                "bands": [
                    {"lower": "4", "label_da": "Stærk", "label_en": "Strong"},
                    {"lower": "1", "label_da": "Svag", "label_en": "Weak"},
                ]
            },
            "rising order",
        ),
        ({"bands": [{"lower": "NaN", "label_da": "Svag", "label_en": "Weak"}]}, "finite"),
        ({"bands": [{"lower": "Infinity", "label_da": "Svag", "label_en": "Weak"}]}, "finite"),
        ({"bands": [{"lower": 9, "label_da": "Svag", "label_en": "Weak"}]}, "on the scale"),
        ({"name": "   "}, "needs a name"),
    ],
)
async def test_malformed_versions_are_refused_by_the_domain_with_409(
    api: Api, changes: Body, message: str
) -> None:
    body = licensed(**changes)
    refused = assert_problem(await api.create(body), 409)
    assert refused["rule"] == "invariant"
    assert message in refused["detail"]
    assert body["name"] not in [i["name"] for i in await api.get(INSTRUMENTS)]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"dimensions": [{**dimension("tillid"), "key": "Tillid"}]}, "dimensions[0].key"),
        ({"dimensions": [{**dimension("tillid"), "key": "a" * 41}]}, "dimensions[0].key"),
        ({"dimensions": [dimension(f"d{i}") for i in range(21)]}, "dimensions"),
        ({"dimensions": []}, "dimensions"),
        ({"dimensions": [{**dimension("tillid"), "question_da": ""}]}, "dimensions[0].question_da"),
        ({"bands": [{"lower": "meget", "label_da": "Svag", "label_en": "Weak"}]}, "bands[0].lower"),
        ({"bands": []}, "bands"),
        ({"scale_max": 101}, "scale_max"),
        ({"scale_min": -1}, "scale_min"),
        ({"name": ""}, "name"),
        ({"farve": "blå"}, "farve"),
    ],
)
async def test_input_the_schema_refuses_is_400_naming_the_field(api: Api, changes: Body, field: str) -> None:
    refused = assert_problem(await api.create(licensed(**changes)), 400)
    assert refused["errors"], refused
    assert refused["errors"][0]["field"] == field, refused


async def test_a_missing_field_or_a_name_for_a_new_version_is_400(api: Api) -> None:
    missing = assert_problem(await api.create({k: v for k, v in licensed().items() if k != "bands"}), 400)
    assert [e["field"] for e in missing["errors"]] == ["bands"]
    versioned = assert_problem(await api.publish(DEFAULT_INSTRUMENT_ID, licensed()), 400)
    assert [e["field"] for e in versioned["errors"]] == ["name"]


async def test_an_engagement_keeps_the_instrument_version_it_pinned(api: Api) -> None:
    instrument_id = (await api.created(licensed()))["instrument_id"]
    tenant = f"/api/v1/tenants/{await onboard(api.container, 'Region Midt', 'org')}"
    established = await api.client.put(
        f"{tenant}/organisation", json={"name": "Region Midt"}, headers=api.admin
    )
    assert established.status_code == 200, established.text
    units = []
    for unit in ("Akutmodtagelsen", "Hjemmeplejen"):
        added = await api.client.post(f"{tenant}/organisation/units", json={"name": unit}, headers=api.admin)
        assert added.status_code == 201, added.text
        units.append(added.json()["unit_id"])

    async def prepare(**pinning: Any) -> Any:
        body = {"title": "Sammenhængende forløb", "theme_day": "2025-03-14", "unit_ids": units, **pinning}
        return await api.client.post(f"{tenant}/engagements", json=body, headers=api.admin)

    assert_problem(await prepare(instrument_id=str(uuid4())), 404)
    assert_problem(await prepare(instrument_id=instrument_id, instrument_version=2), 404)
    assert_problem(await prepare(instrument_version=0), 400)
    prepared = await prepare(instrument_id=instrument_id, instrument_version=1)
    assert prepared.status_code == 201, prepared.text
    engagement = f"{tenant}/engagements/{prepared.json()['engagement_id']}"

    second = await api.publish(instrument_id, version_of(licensed(keys=("helt", "andre"), scale_max=10)))
    assert second.status_code == 201, second.text

    for phase in ("prepared", "theme_day_open"):
        advanced = await api.client.post(
            f"{engagement}/phase/advance", json={"expected_phase": phase}, headers=api.admin
        )
        assert advanced.status_code == 200, advanced.text
    a, b = units
    mapped = await api.client.put(
        f"{engagement}/units/{a}/relations", json={"counterpart_ids": [b]}, headers=api.admin
    )
    assert mapped.status_code == 200, mapped.text

    async def rate(scores: dict[str, int]) -> Any:
        body = {"unit_id": a, "counterpart_id": b, "scores": scores}
        return await api.client.post(f"{engagement}/ratings", json=body, headers=api.admin)

    default_keys = assert_problem(await rate(dict.fromkeys(DEFAULT_INSTRUMENT.dimension_keys, 4)), 409)
    assert "missing: samarbejde, tillid, videndeling" in default_keys["detail"]
    newer_keys = assert_problem(await rate({"helt": 3, "andre": 3}), 409)
    assert newer_keys["rule"] == "invariant"
    off_the_scale = assert_problem(await rate(dict.fromkeys(LICENSED_KEYS, 8)), 409)
    assert "1..7" in off_the_scale["detail"]
    rated = await rate({"samarbejde": 6, "tillid": 7, "videndeling": 1})
    assert rated.status_code == 201, rated.text

    pinned = (await api.get(engagement))["instrument"]
    assert pinned["instrument_id"] == instrument_id
    assert pinned["version"] == 1
    assert (pinned["scale_min"], pinned["scale_max"]) == (1, 7)
    assert [d["key"] for d in pinned["dimensions"]] == list(LICENSED_KEYS)

    latest = await prepare(instrument_id=instrument_id)
    assert latest.status_code == 201, latest.text
    latest_engagement = await api.get(f"{tenant}/engagements/{latest.json()['engagement_id']}")
    assert latest_engagement["instrument"]["version"] == 2
    built_in = await prepare()
    assert built_in.status_code == 201, built_in.text
    built_in_engagement = await api.get(f"{tenant}/engagements/{built_in.json()['engagement_id']}")
    assert built_in_engagement["instrument"]["instrument_id"] == str(DEFAULT_INSTRUMENT_ID)


async def test_a_replayed_create_command_loads_the_instrument_once(api: Api) -> None:
    control = api.container.control
    provenance = system_provenance("CreateInstrument")
    name = unique_name()
    dimensions = (
        Dimension("tillid", "Tillid", "Trust", "Stoler I på hinanden?", "Do you trust each other?"),
    )
    bands = (StrengthBand(DEFAULT_INSTRUMENT.bands[0].lower, "Svag", "Weak"),)
    first = await api.container.offloop(control.create_instrument, name, 1, 5, dimensions, bands, provenance)
    again = await api.container.offloop(control.create_instrument, name, 1, 5, dimensions, bands, provenance)
    assert again == first
    listed = [i for i in await api.container.offloop(control.instruments) if i.name == name]
    assert [(i.id, i.latest_version) for i in listed] == [(first.instrument_id, 1)]
    assert await api.container.offloop(control.instrument_version, first.instrument_id, None) == first
