"""A client organisation's units over the years on its pages: added, renamed, merged and split on
the day each change takes effect, read back where the API reads the organisation; bad names and
dates refused at their field with nothing recorded; the planning group and its consultants
let in, a consultant not assigned, a participant and an auditor kept out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.roles import Role
from services.controlplane import system_provenance
from services.web.i18n import ZONE
from tests.http_harness import ADMIN, Person, Story, onboard, register
from tests.web.conftest import Browser, signed_in_browser


async def _organisation(site: Story, *units: str) -> tuple[UUID, Person, dict[str, str]]:
    admin = await site.sign_in(ADMIN)
    tenant_id = await onboard(site.container, "Søby Kommune", "soeby")
    admin.base = f"/api/v1/tenants/{tenant_id}"
    await admin.put("/organisation", {"name": "Søby Kommune"})
    # The units have been there a while: changes may be dated back to a month ago.
    earlier = {"X-Occurred-At": (datetime.now(UTC) - timedelta(days=30)).isoformat()}
    ids = {u: (await admin.post("/organisation/units", {"name": u}, **earlier))["unit_id"] for u in units}
    return tenant_id, admin, ids


async def _member(site: Story, tenant_id: UUID, role: Role, *, platform: Role | None = None) -> Browser:
    person = await register(site.container, platform)
    await site.container.offloop(
        site.container.control.grant_membership, person.user_id, tenant_id, role, system_provenance("Test")
    )
    return await signed_in_browser(site.client, person.email)


def _by_name(organisation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["name"]: u for u in organisation["units"]}


def _today() -> date:
    return datetime.now(ZONE).date()


async def test_the_planning_group_adds_renames_merges_and_splits_units_on_the_days_they_take_effect(
    site: Story,
) -> None:
    tenant_id, admin, ids = await _organisation(site, "Visitationen", "Hjemmeplejen", "Akutteamet")
    planner = await _member(site, tenant_id, Role.CLIENT_ADMIN)
    units = f"/t/{tenant_id}/units"
    today = _today()

    added = await planner.post(units, {"name": "Træningen", "takes_effect": today.isoformat()})
    assert added.status_code == 303
    assert added.headers["location"] == units
    renamed_on = today - timedelta(days=1)
    renamed = await planner.post(
        f"{units}/{ids['Visitationen']}/rename",
        {"name": "Visitation og Hjælpemidler", "takes_effect": renamed_on.isoformat()},
    )
    assert renamed.status_code == 303, renamed.text
    merged = await planner.post(
        f"{units}/mergers",
        {
            "merge_unit_ids": [ids["Hjemmeplejen"], ids["Akutteamet"]],
            "merge_name": "Pleje og Akut",
            "merge_takes_effect": today.isoformat(),
        },
    )
    assert merged.status_code == 303, merged.text
    organisation = _by_name(await admin.get("/organisation"))
    merged_unit = organisation["Pleje og Akut"]
    split = await planner.post(
        f"{units}/{merged_unit['unit_id']}/split",
        {"split_names": "Plejen\r\nAkutten\r\n", "split_takes_effect": today.isoformat()},
    )
    assert split.status_code == 303, split.text

    organisation = _by_name(await admin.get("/organisation"))
    assert organisation["Træningen"]["status"] == "active"
    visitation = organisation["Visitation og Hjælpemidler"]
    assert [n["name"] for n in visitation["names"]] == ["Visitationen", "Visitation og Hjælpemidler"]
    assert visitation["names"][1]["since"].startswith(renamed_on.isoformat()) or visitation["names"][1][
        "since"
    ].startswith((renamed_on - timedelta(days=1)).isoformat())  # local midnight, in UTC
    assert organisation["Hjemmeplejen"]["status"] == "merged"
    assert organisation["Hjemmeplejen"]["successors"] == [merged_unit["unit_id"]]
    assert organisation["Pleje og Akut"]["status"] == "split"
    assert sorted(organisation["Pleje og Akut"]["successors"]) == sorted(
        [organisation["Plejen"]["unit_id"], organisation["Akutten"]["unit_id"]]
    )
    assert organisation["Plejen"]["predecessors"] == [merged_unit["unit_id"]]

    retired = await planner.post(f"{units}/{organisation['Træningen']['unit_id']}/retire", {})
    assert retired.status_code == 303, retired.text

    organisation = _by_name(await admin.get("/organisation"))
    assert organisation["Træningen"]["status"] == "retired"
    page = await planner.get(units)
    assert "Visitation og Hjælpemidler" in page
    assert "Renamed" in page or "Omdøbt" in page
    audit = await admin.get("/audit")
    by_command = {e["command_name"]: e for e in audit["items"]}
    assert {"AddUnit", "RenameUnit", "MergeUnits", "SplitUnit", "RetireUnit"} <= set(by_command)
    assert by_command["RenameUnit"]["actor_role"] == "client_admin"


async def test_bad_names_and_dates_are_refused_at_their_field_and_nothing_is_recorded(site: Story) -> None:
    tenant_id, admin, ids = await _organisation(site, "Visitationen", "Hjemmeplejen")
    planner = await _member(site, tenant_id, Role.CLIENT_ADMIN)
    planner.speak("da")
    units = f"/t/{tenant_id}/units"
    before = await admin.get("/organisation")
    tomorrow = (_today() + timedelta(days=1)).isoformat()

    ahead = await planner.post(units, {"name": "Ny", "takes_effect": tomorrow})
    assert ahead.status_code == 400
    assert 'id="f-takes_effect-error"' in ahead.text
    assert "senest fra i dag" in ahead.text
    not_a_date = await planner.post(units, {"name": "Ny", "takes_effect": "31-02-2026"})
    assert not_a_date.status_code == 400
    assert 'id="f-takes_effect-error"' in not_a_date.text
    ancient = await planner.post(units, {"name": "Ny", "takes_effect": "1990-01-01"})
    assert 'id="f-takes_effect-error"' in ancient.text
    nameless = await planner.post(units, {"name": "  ", "takes_effect": ""})
    assert nameless.status_code == 400
    assert 'id="f-name-error"' in nameless.text
    taken = await planner.post(units, {"name": "hjemmeplejen"})
    assert taken.status_code == 409
    assert 'id="f-name-error"' in taken.text
    one = await planner.post(f"{units}/mergers", {"merge_unit_ids": [ids["Visitationen"]], "merge_name": "X"})
    assert one.status_code == 400
    assert 'id="f-merge_unit_ids-error"' in one.text
    single = await planner.post(f"{units}/{ids['Visitationen']}/split", {"split_names": "Kun én"})
    assert single.status_code == 400
    assert 'id="f-split_names-error"' in single.text
    assert await admin.get("/organisation") == before


async def test_a_change_dated_before_the_units_last_change_is_refused_at_its_date(site: Story) -> None:
    tenant_id, admin, ids = await _organisation(site, "Visitationen", "Hjemmeplejen")
    planner = await _member(site, tenant_id, Role.CLIENT_ADMIN)
    units = f"/t/{tenant_id}/units"
    a_week_ago = (_today() - timedelta(days=7)).isoformat()
    for unit_id in ids.values():  # each unit last changed three days ago
        three_days_ago = {"X-Occurred-At": (datetime.now(UTC) - timedelta(days=3)).isoformat()}
        await admin.post(
            f"/organisation/units/{unit_id}/rename", {"name": f"{unit_id} ny"}, expect=200, **three_days_ago
        )
    before = await admin.get("/organisation")

    refused = await planner.post(
        f"{units}/{ids['Visitationen']}/rename", {"name": "Ny", "takes_effect": a_week_ago}
    )
    assert refused.status_code == 409
    assert 'id="f-takes_effect-error"' in refused.text
    assert "blev sidst ændret" in refused.text
    merger = await planner.post(
        f"{units}/mergers",
        {"merge_unit_ids": list(ids.values()), "merge_name": "Samlet", "merge_takes_effect": a_week_ago},
    )
    assert merger.status_code == 409
    assert 'id="f-merge_takes_effect-error"' in merger.text
    assert await admin.get("/organisation") == before


async def test_a_form_sent_twice_records_the_unit_once(site: Story) -> None:
    tenant_id, admin, _ids = await _organisation(site, "Visitationen")
    planner = await _member(site, tenant_id, Role.CONSULTANT, platform=Role.CONSULTANT)
    units = f"/t/{tenant_id}/units"
    first = await planner.post(units, {"name": "Træningen"}, key="samme-formular")
    again = await planner.post(units, {"name": "Træningen"}, key="samme-formular")
    assert (first.status_code, again.status_code) == (303, 303)
    names = [u["name"] for u in (await admin.get("/organisation"))["units"]]
    assert names.count("Træningen") == 1


@pytest.mark.parametrize("who", ["unassigned consultant", "participant", "auditor"])
async def test_units_pages_are_closed_to_those_outside_the_planning_group(site: Story, who: str) -> None:
    tenant_id, admin, ids = await _organisation(site, "Visitationen")
    if who == "unassigned consultant":
        elsewhere = await onboard(site.container, "Anden Kommune", "anden")
        browser = await _member(site, elsewhere, Role.CONSULTANT, platform=Role.CONSULTANT)
    else:
        browser = await _member(site, tenant_id, Role.PARTICIPANT if who == "participant" else Role.AUDITOR)
    units = f"/t/{tenant_id}/units"
    assert (await browser.request("GET", units)).status_code == 403
    assert (await browser.request("GET", f"{units}/{ids['Visitationen']}")).status_code == 403
    assert (await browser.post(units, {"name": "Snyd"})).status_code == 403
    assert (await browser.post(f"{units}/{ids['Visitationen']}/rename", {"name": "Snyd"})).status_code == 403
    assert [u["name"] for u in (await admin.get("/organisation"))["units"]] == ["Visitationen"]
