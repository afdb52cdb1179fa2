"""The consultancy admin's pages as a browser uses them, on the embedded default: the
administration home, onboarding a client organisation, assigning and unassigning its
consultants, its export as a download and its erasure after the slug is typed again.

Each form's command is checked where the platform or the API reads it back; refused forms
record nothing; consultants, client admins, participants and auditors are kept out."""

from __future__ import annotations

import io
import json
import zipfile
from uuid import UUID

import pytest

from domain.errors import NotFound
from domain.roles import Role
from services.controlplane import ControlPlane, system_provenance
from services.export import CHAIN, ENGAGEMENTS, EVENTS, MANIFEST, ORGANISATION_FILE
from tests.http_harness import ADMIN, Story, onboard, register
from tests.web.conftest import Browser, signed_in_browser


async def _admin(site: Story, language: str = "en") -> Browser:
    return await signed_in_browser(site.client, ADMIN, language=language)


async def _onboarded(browser: Browser, name: str, slug: str) -> UUID:
    answer = await browser.post("/admin/organisations", {"name": name, "slug": slug})
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith("/admin/organisations/")
    return UUID(location.rsplit("/", 1)[1])


async def test_the_admin_home_links_to_organisations_people_instruments_and_the_outbox_in_danish_and_english(
    site: Story,
) -> None:
    browser = await _admin(site, "da")
    danish = await browser.get("/admin")
    assert "<h1>Administration</h1>" in danish
    assert 'href="/admin/organisations">Organisationer</a>' in danish
    assert 'href="/admin/people">Personer</a>' in danish
    assert 'href="/admin/instruments">Instrumenter</a>' in danish
    assert 'href="/admin/outbox">Udbakke</a>' in danish
    browser.speak("en")
    english = await browser.get("/admin")
    assert 'href="/admin/organisations">Organisations</a>' in english
    assert 'href="/admin/people">People</a>' in english
    assert 'href="/admin/instruments">Instruments</a>' in english
    assert 'href="/admin/outbox">Outbox</a>' in english
    for section in ("/admin/organisations", "/admin/people", "/admin/instruments", "/admin/outbox"):
        await browser.get(section)
    portfolio = await browser.get("/portfolio")
    assert 'href="/admin"' in portfolio


async def test_an_organisation_onboarded_by_form_is_on_the_platform_with_its_record_of_units(
    site: Story,
) -> None:
    browser = await _admin(site)
    tenant_id = await _onboarded(browser, "  Nørre   Kommune ", "noerre-kommune")
    assert tenant_id == ControlPlane.tenant_id_for("noerre-kommune")
    tenant = await site.container.offloop(site.container.control.tenant, tenant_id)
    assert (tenant.name, tenant.slug) == ("Nørre Kommune", "noerre-kommune")
    listed = await browser.get("/admin/organisations")
    assert f'href="/admin/organisations/{tenant_id}">Nørre Kommune</a>' in listed
    admin = await site.sign_in(ADMIN)
    organisation = await admin.get(f"/api/v1/tenants/{tenant_id}/organisation")
    assert organisation["name"] == "Nørre Kommune"
    audit = await admin.get(f"/api/v1/tenants/{tenant_id}/audit")
    established = [e for e in audit["items"] if e["command_name"] == "EstablishOrganisation"]
    assert established
    assert established[0]["actor_role"] == "consultancy_admin"


async def test_a_taken_or_malformed_slug_is_refused_at_its_field_and_nothing_is_onboarded(
    site: Story,
) -> None:
    browser = await _admin(site, "da")
    await _onboarded(browser, "Søby Kommune", "soeby")
    before = await site.container.offloop(site.container.control.tenants)

    taken = await browser.post("/admin/organisations", {"name": "Søby igen", "slug": "soeby"})
    assert taken.status_code == 409
    assert 'id="f-slug-error"' in taken.text
    assert "Denne kortform er taget" in taken.text

    malformed = await browser.post(
        "/admin/organisations", {"name": "Store Bogstaver", "slug": "Store Bogstaver"}
    )
    assert malformed.status_code == 400
    assert 'id="f-slug-error"' in malformed.text
    assert 'value="Store Bogstaver"' in malformed.text  # what was typed is kept

    nameless = await browser.post("/admin/organisations", {"name": "", "slug": "uden-navn"})
    assert nameless.status_code == 400
    assert 'id="f-name-error"' in nameless.text
    assert await site.container.offloop(site.container.control.tenants) == before


async def test_consultants_are_assigned_and_unassigned_and_each_step_is_in_the_organisations_audit_trail(
    site: Story,
) -> None:
    browser = await _admin(site)
    tenant_id = await _onboarded(browser, "Vester Region", "vester-region")
    consultant = await register(site.container, Role.CONSULTANT)
    page = await browser.get(f"/admin/organisations/{tenant_id}")
    assert f'<option value="{consultant.user_id}"' in page

    assigned = await browser.post(
        f"/admin/organisations/{tenant_id}/consultants", {"user_id": str(consultant.user_id)}
    )
    assert assigned.status_code == 303, assigned.text
    user = await site.container.offloop(site.container.control.user, consultant.user_id)
    assert user.memberships == {tenant_id: Role.CONSULTANT}
    listed = await browser.get("/admin/organisations")
    row = listed.split(f'href="/admin/organisations/{tenant_id}"', 1)[1].split("</tr>", 1)[0]
    assert "Someone" in row

    unassigned = await browser.post(
        f"/admin/organisations/{tenant_id}/consultants/{consultant.user_id}/unassign", {}
    )
    assert unassigned.status_code == 303
    user = await site.container.offloop(site.container.control.user, consultant.user_id)
    assert user.memberships == {}
    admin = await site.sign_in(ADMIN)
    audit = await admin.get(f"/api/v1/tenants/{tenant_id}/audit")
    kinds = [e["command_name"] for e in audit["items"]]
    assert "GrantMembership" in kinds
    assert "RemoveMembership" in kinds


async def test_only_a_consultant_can_be_assigned(site: Story) -> None:
    browser = await _admin(site)
    tenant_id = await _onboarded(browser, "Øster Region", "oester-region")
    client = await register(site.container, None)
    refused = await browser.post(
        f"/admin/organisations/{tenant_id}/consultants", {"user_id": str(client.user_id)}
    )
    assert refused.status_code == 400
    assert 'id="f-user_id-error"' in refused.text
    user = await site.container.offloop(site.container.control.user, client.user_id)
    assert user.memberships == {}


async def test_the_export_downloads_exactly_the_files_the_command_writes(site: Story) -> None:
    browser = await _admin(site)
    tenant_id = await _onboarded(browser, "Eksport Kommune", "eksport-kommune")
    answer = await browser.request("GET", f"/admin/organisations/{tenant_id}/export.zip")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    assert 'filename="eksport-kommune-export.zip"' in answer.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert sorted(archive.namelist()) == sorted([EVENTS, CHAIN, ORGANISATION_FILE, ENGAGEMENTS, MANIFEST])
    manifest = json.loads(archive.read(MANIFEST))
    assert manifest["slug"] == "eksport-kommune"
    assert manifest["chain_intact"] is True
    assert manifest["events"] >= 1


async def test_erasure_needs_the_slug_typed_again_then_crypto_shreds_the_organisation(site: Story) -> None:
    browser = await _admin(site, "da")
    tenant_id = await _onboarded(browser, "Slet Kommune", "slet-kommune")
    confirm = await browser.get(f"/admin/organisations/{tenant_id}/erase")
    assert "Det der går tabt for altid" in confirm
    assert "Det der bevares" in confirm

    wrong = await browser.post(f"/admin/organisations/{tenant_id}/erase", {"confirm": "Slet Kommune"})
    assert wrong.status_code == 400
    assert 'id="f-confirm-error"' in wrong.text
    assert (await site.container.offloop(site.container.control.tenant, tenant_id)).slug == "slet-kommune"

    erased = await browser.post(f"/admin/organisations/{tenant_id}/erase", {"confirm": "slet-kommune"})
    assert erased.status_code == 200
    assert "er slettet" in erased.text
    assert await site.container.offloop(site.container.control.erased, tenant_id)
    with pytest.raises(NotFound):
        await site.container.offloop(site.container.control.tenant, tenant_id)
    assert site.container.keys.get(tenant_id) is None  # the key is gone: its events are unreadable
    gone = await browser.request("GET", f"/t/{tenant_id}")
    assert gone.status_code == 410  # gone, and said so


@pytest.mark.parametrize("role", [Role.CONSULTANT, Role.CLIENT_ADMIN, Role.PARTICIPANT, Role.AUDITOR])
async def test_only_the_consultancy_admin_may_open_or_use_the_administration(site: Story, role: Role) -> None:
    tenant_id = await onboard(site.container, "Fremmed Kommune", "fremmed")
    person = await register(site.container, Role.CONSULTANT if role is Role.CONSULTANT else None)
    await site.container.offloop(
        site.container.control.grant_membership, person.user_id, tenant_id, role, system_provenance("Test")
    )
    browser = await signed_in_browser(site.client, person.email)
    for path in (
        "/admin",
        "/admin/organisations",
        f"/admin/organisations/{tenant_id}",
        f"/admin/organisations/{tenant_id}/erase",
    ):
        answer = await browser.request("GET", path)
        assert answer.status_code == 403, path
    refused = await browser.post("/admin/organisations", {"name": "Snyd", "slug": "snyd"})
    assert refused.status_code == 403
    erase = await browser.post(f"/admin/organisations/{tenant_id}/erase", {"confirm": "x"})
    assert erase.status_code == 403
    assert not await site.container.offloop(site.container.control.slug_taken, "snyd")
    assert (await site.container.offloop(site.container.control.tenant, tenant_id)).name == "Fremmed Kommune"
