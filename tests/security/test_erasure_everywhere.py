"""Erased means gone for every process at once: a process that had the tenant open when another
erased it answers every command and read with 410 Gone and acknowledges nothing, the erased
tenant's join codes let no one in, and the files of the embedded default are private to the
user running Balkort."""

from __future__ import annotations

import stat
from typing import Any
from uuid import UUID

from services.controlplane import system_provenance
from services.persistence.env import tenant_store_name
from services.requests.problems import PROBLEM_JSON
from services.settings import Settings
from services.usecases.tenants import erase_tenant
from tests.http_harness import ADMIN, Person, Story, onboard, serving
from tests.integration.test_join_codes_api import issue, theme_day


def assert_gone(response: Any) -> None:
    assert response.status_code == 410, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["status"] == 410


async def erase(story: Story, tenant_id: UUID) -> None:
    container = story.container
    slug = (await container.offloop(container.control.tenant, tenant_id)).slug
    await container.offloop(
        erase_tenant, container, slug, system_provenance("EraseTenant", tenant_id=tenant_id)
    )


async def test_a_process_that_had_the_tenant_open_refuses_it_once_another_process_erased_it(
    backend: Settings,
) -> None:
    async with serving(backend) as first, serving(backend, admin=None) as second:
        tenant_id = await onboard(first.container, "Slettes andetsteds", "andetsteds")
        base = f"/api/v1/tenants/{tenant_id}"
        there = await second.sign_in(ADMIN)
        # The second process has the tenant's store open and its views read.
        await there.put(f"{base}/organisation", {"name": "Kommunen"})
        await there.post(f"{base}/organisation/units", {"name": "Før sletningen"})
        assert (await there.get(f"{base}/organisation"))["units"]

        await erase(first, tenant_id)

        write = await there.client.post(
            f"{base}/organisation/units", json={"name": "Efter sletningen"}, headers=there.headers
        )
        assert_gone(write)
        assert_gone(await there.client.get(f"{base}/organisation", headers=there.headers))
        assert_gone(await there.client.get(f"{base}/audit", headers=there.headers))
        here: Person = await first.sign_in(ADMIN)
        assert_gone(await here.client.get(f"{base}/organisation", headers=here.headers))
        # Nothing was written anywhere: no store of the tenant came back.
        assert not await second.container.offloop(_store_left, backend, tenant_id)
        assert second.container.tenants.open_count == 0


def _store_left(settings: Settings, tenant_id: UUID) -> bool:
    if settings.uses_postgres:
        import psycopg

        with psycopg.connect(settings.postgres.dsn) as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", (tenant_store_name(tenant_id),)
            ).fetchone()
        return row is not None
    return any((settings.data_dir / "stores").glob(f"{tenant_store_name(tenant_id)}*"))


async def test_an_erased_tenants_join_codes_let_no_one_in(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        day = await theme_day(story)
        issued = await issue(day, day.units[0])

        await erase(story, day.tenant_id)

        response = await story.client.post("/api/v1/join", json={"code": issued["code"]})
        assert response.status_code == 401, response.text
        assert "token" not in response.json()


async def test_the_embedded_stores_and_secrets_are_readable_by_their_owner_only(tmp_path: Any) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    async with serving(settings) as story:
        tenant_id = await onboard(story.container, "Filer", "filer")
        admin = await story.sign_in(ADMIN)
        await admin.put(f"/api/v1/tenants/{tenant_id}/organisation", {"name": "Kommunen"})
        await admin.post(f"/api/v1/tenants/{tenant_id}/organisation/units", {"name": "Enheden"})
        await story.container.offloop(story.container.projections.catch_up_now, tenant_id)

    paths = [settings.data_dir, *settings.data_dir.rglob("*")]
    assert any(p.name.endswith(".sqlite3") for p in paths)
    too_open = {
        str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode))
        for p in paths
        if stat.S_IMODE(p.stat().st_mode) & 0o077
    }
    assert too_open == {}
