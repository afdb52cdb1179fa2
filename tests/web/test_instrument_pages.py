"""The rating instruments on the consultancy admin's pages: the versions listed, a new version
made from an existing one (a new instrument from the built-in one, which never changes; the
next version of a loaded one), the version an engagement pins kept as it was, values refused at
their field; and, for a client organisation, which version each engagement uses."""

from __future__ import annotations

from typing import Any

import pytest

from domain.default_instrument import DEFAULT_INSTRUMENT, DEFAULT_INSTRUMENT_ID
from domain.roles import Role
from services.controlplane import system_provenance
from tests.http_harness import ADMIN, Story, onboard, register
from tests.web.conftest import Browser, Engagement, prepared, signed_in_browser


def _fields_of(version: Any, **changes: str) -> dict[str, str]:
    """The form of a new version as a browser sends it, filled in from `version`."""
    fields = {"scale_min": str(version.scale_min), "scale_max": str(version.scale_max)}
    for i, d in enumerate(version.dimensions):
        for part in ("key", "name_da", "name_en", "question_da", "question_en"):
            fields[f"dimension-{i}-{part}"] = getattr(d, part)
    for i, b in enumerate(version.bands):
        fields[f"band-{i}-lower"] = str(b.lower)
        fields[f"band-{i}-label_da"] = b.label_da
        fields[f"band-{i}-label_en"] = b.label_en
    return {**fields, **changes}


async def _admin(site: Story, language: str = "en") -> Browser:
    return await signed_in_browser(site.client, ADMIN, language=language)


async def test_a_new_instrument_is_made_from_the_built_in_one_and_then_versioned_on(site: Story) -> None:
    browser = await _admin(site, "da")
    listed = await browser.get("/admin/instruments")
    assert DEFAULT_INSTRUMENT.name in listed
    assert f'href="/admin/instruments/{DEFAULT_INSTRUMENT_ID}/new-version?from=1"' in listed
    form = await browser.get(f"/admin/instruments/{DEFAULT_INSTRUMENT_ID}/new-version?from=1")
    assert 'name="dimension-0-name_da"' in form
    assert f'value="{DEFAULT_INSTRUMENT.dimensions[0].name_da}"' in form
    assert 'name="dimension-7-key"' in form  # a blank row to add a dimension
    assert 'id="f-name"' in form  # the built-in one never changes: a new instrument needs a name

    fields = _fields_of(
        DEFAULT_INSTRUMENT,
        name="Vores ordlyd",
        **{
            "dimension-7-key": "tillid",
            "dimension-7-name_da": "Tillid",
            "dimension-7-name_en": "Trust",
            "dimension-7-question_da": "Hvor meget stoler I på hinanden?",
            "dimension-7-question_en": "How much do you trust each other?",
        },
    )
    published = await browser.post(f"/admin/instruments/{DEFAULT_INSTRUMENT_ID}/new-version", fields)
    assert published.status_code == 303, published.text
    control = site.container.control
    ours = next(i for i in await site.container.offloop(control.instruments) if i.name == "Vores ordlyd")
    first = await site.container.offloop(control.instrument_version, ours.id, 1)
    assert first.dimension_keys == (*DEFAULT_INSTRUMENT.dimension_keys, "tillid")
    assert first.dimensions[-1].name_en == "Trust"

    # Its next version, with a band relabelled: version 1 stays as it was.
    changed = _fields_of(first, **{"band-0-label_en": "Fragile"})
    again = await browser.post(f"/admin/instruments/{ours.id}/new-version", {**changed, "from": "1"})
    assert again.status_code == 303, again.text
    versions = await site.container.offloop(control.instrument_versions, ours.id)
    assert [v.version for v in versions] == [1, 2]
    assert versions[0] == first
    assert versions[1].bands[0].label_en == "Fragile"
    admin = await site.sign_in(ADMIN)
    shown = await admin.get(f"/api/v1/instruments/{ours.id}")
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    assert DEFAULT_INSTRUMENT in await site.container.offloop(
        control.instrument_versions, DEFAULT_INSTRUMENT_ID
    )


async def test_values_that_make_no_version_are_refused_at_their_field_and_nothing_is_published(
    site: Story,
) -> None:
    browser = await _admin(site)
    control = site.container.control
    before = await site.container.offloop(control.instruments)
    base = {**_fields_of(DEFAULT_INSTRUMENT), "name": "Forkert"}
    for changes, field in (
        ({"scale_max": "mange"}, "scale_max"),
        ({"dimension-0-key": "Stort Bogstav"}, "dimension-0-key"),
        ({"dimension-2-name_en": ""}, "dimension-2-name_en"),
        ({"band-1-lower": "lav"}, "band-1-lower"),
        ({"name": ""}, "name"),
    ):
        answer = await browser.post(
            f"/admin/instruments/{DEFAULT_INSTRUMENT_ID}/new-version", {**base, **changes}
        )
        assert answer.status_code == 400, (changes, answer.status_code)
        assert f'id="f-{field}-error"' in answer.text, changes
    inverted = await browser.post(
        f"/admin/instruments/{DEFAULT_INSTRUMENT_ID}/new-version",
        {**base, "scale_min": "5", "scale_max": "1"},
    )
    assert inverted.status_code == 409
    assert 'id="form-error"' in inverted.text
    assert await site.container.offloop(control.instruments) == before


async def test_the_organisation_sees_which_instrument_version_each_engagement_pins(site: Story) -> None:
    engagement = await prepared(
        Engagement, site, "Søby Kommune", "Udskrivning", ["Visitationen", "Hjemmeplejen"]
    )
    browser = await _admin(site)
    page = await browser.get(f"/t/{engagement.tenant_id}/instruments")
    row = page.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert DEFAULT_INSTRUMENT.name in row
    assert ">1<" in row
    assert "Udskrivning" in row


@pytest.mark.parametrize("role", [Role.CONSULTANT, Role.CLIENT_ADMIN, Role.AUDITOR])
async def test_only_the_consultancy_admin_publishes_instrument_versions(site: Story, role: Role) -> None:
    tenant_id = await onboard(site.container, "Søby Kommune", "soeby")
    person = await register(site.container, Role.CONSULTANT if role is Role.CONSULTANT else None)
    await site.container.offloop(
        site.container.control.grant_membership, person.user_id, tenant_id, role, system_provenance("Test")
    )
    browser = await signed_in_browser(site.client, person.email)
    assert (await browser.request("GET", "/admin/instruments")).status_code == 403
    new_version = f"/admin/instruments/{DEFAULT_INSTRUMENT_ID}/new-version"
    assert (await browser.request("GET", new_version)).status_code == 403
    refused = await browser.post(new_version, {**_fields_of(DEFAULT_INSTRUMENT), "name": "Snyd"})
    assert refused.status_code == 403
    assert [i.name for i in await site.container.offloop(site.container.control.instruments)] == [
        DEFAULT_INSTRUMENT.name
    ]
