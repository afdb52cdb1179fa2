"""Read models that know which code wrote them: views of an earlier projection version are
rebuilt on the next catch-up without anyone asking, and views still catching up from empty
answer 503 with Retry-After rather than nothing (projections/versions.py, docs/adr/0022)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from projections.audit import AuditFilter
from projections.postgres_views import PostgresViewBackend
from projections.projector import ORGANISATION
from projections.versions import PROJECTION_VERSIONS
from services.bootstrap import Container, build_container
from services.controlplane import system_provenance
from services.persistence.env import tenant_store_name
from services.readmodel.worker import Projector
from services.settings import Settings
from tests.commanding import add_unit, establish_organisation
from tests.http_harness import ADMIN, onboard, serving
from tests.keys import SESSION_SECRETS

# Bounds, not expectations: a catch-up held off by the test ends soon after it lets go.
CATCH_UP_TIMEOUT_SECONDS = 60


def _write_organisation(container: Container, tenant_id: UUID, units: list[str]) -> None:
    """Events written straight to the tenant's store, as another process would: nothing here
    asks this process's projector to catch up."""

    def write(app: Any) -> None:
        establish_organisation(
            app, tenant_id, "Søby", system_provenance("EstablishOrganisation", tenant_id=tenant_id)
        )
        for name in units:
            add_unit(app, tenant_id, name, system_provenance("AddUnit", tenant_id=tenant_id))

    container.tenants.call(tenant_id, write)


def _on_views(settings: Settings, tenant_id: UUID, *statements: str) -> None:
    """Runs statements on the tenant's views, wherever they live."""
    if settings.uses_postgres:
        with psycopg.connect(settings.postgres.dsn) as conn:
            conn.execute(
                sql.SQL("SET search_path TO {}").format(sql.Identifier(tenant_store_name(tenant_id)))
            )
            for statement in statements:
                conn.execute(statement)  # type: ignore[call-overload]
        return
    path = settings.data_dir / "stores" / f"{tenant_store_name(tenant_id)}.views.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for statement in statements:
            conn.execute(statement)


@contextmanager
def views_held(settings: Settings, tenant_id: UUID) -> Iterator[None]:
    """Holds off every commit to the tenant's views (reads go on) until the block ends."""
    if settings.uses_postgres:
        with psycopg.connect(settings.postgres.dsn) as conn:
            conn.execute(
                sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(
                    sql.Identifier(tenant_store_name(tenant_id), "view_position")
                )
            )
            try:
                yield
            finally:
                conn.rollback()
        return
    path = settings.data_dir / "stores" / f"{tenant_store_name(tenant_id)}.views.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")


def _as_an_earlier_release_left_them(settings: Settings, tenant_id: UUID) -> None:
    """Views without a version, holding documents another fold wrote."""
    overwritten = (
        "UPDATE view_documents SET body = convert_to('{}', 'UTF8')"
        if settings.uses_postgres
        else "UPDATE view_documents SET body = CAST('{}' AS BLOB)"
    )
    _on_views(settings, tenant_id, "DELETE FROM view_version", overwritten)


async def _answers(container: Container, tenant_id: UUID) -> tuple[Any, ...]:
    views = container.views
    return (
        await views.documents(tenant_id, ORGANISATION),
        [
            (row.position, row.event_type, row.details)
            for row in await views.audit(tenant_id, AuditFilter(), None, 1000)
        ],
        await asyncio.to_thread(lambda: views.store_for(tenant_id).chain_links(0, 1000)),
    )


async def _in_thread(call: Callable[[], Any]) -> Any:
    return await asyncio.to_thread(call)


async def test_views_of_an_earlier_projection_version_are_rebuilt_on_the_next_catch_up_as_a_clean_rebuild(
    backend: Settings,
) -> None:
    container = await _in_thread(lambda: build_container(backend))
    try:
        tenant_id = await onboard(container, "Søby", "soeby")
        await _in_thread(lambda: _write_organisation(container, tenant_id, ["Hjemmeplejen", "Visitationen"]))
        await _in_thread(lambda: container.projections.catch_up_now(tenant_id))
        clean = await _answers(container, tenant_id)
    finally:
        await container.close()
    # What a release from before versions were recorded leaves: views without a version, and
    # documents its own fold wrote.
    await _in_thread(lambda: _as_an_earlier_release_left_them(backend, tenant_id))

    upgraded = await _in_thread(lambda: build_container(backend))
    try:
        assert (await upgraded.views.documents(tenant_id, ORGANISATION))[0] == b"{}"
        await _in_thread(lambda: upgraded.projections.catch_up_now(tenant_id))

        assert await _answers(upgraded, tenant_id) == clean
        assert await _in_thread(lambda: upgraded.views.store_for(tenant_id).versions()) == dict(
            PROJECTION_VERSIONS
        )
    finally:
        await upgraded.close()


async def test_a_read_while_a_tenants_views_catch_up_from_empty_answers_503_with_retry_after(
    backend: Settings,
) -> None:
    async with serving(backend) as story:
        container = story.container
        admin = await story.sign_in(ADMIN)
        tenant_id = await onboard(container, "Søby", "soeby")
        base = f"/api/v1/tenants/{tenant_id}"
        # Before any event, empty views are the truth: nothing established yet.
        assert (await story.client.get(f"{base}/organisation", headers=admin.headers)).status_code == 404
        await _in_thread(lambda: _write_organisation(container, tenant_id, ["Hjemmeplejen"]))

        with views_held(backend, tenant_id):
            catching_up = asyncio.ensure_future(
                _in_thread(lambda: container.projections.catch_up_now(tenant_id))
            )
            for path in (f"{base}/organisation", f"{base}/engagements"):
                response = await story.client.get(path, headers=admin.headers)
                assert response.status_code == 503, response.text
                assert int(response.headers["Retry-After"]) >= 1
                assert response.json()["type"] == "urn:balkort:problem:not-ready"
            # The portfolio spans organisations: it answers, naming this one as still building.
            portfolio = await admin.get("/api/v1/portfolio")
            assert str(tenant_id) in portfolio["still_building"]
            assert all(e["tenant_id"] != str(tenant_id) for e in portfolio["engagements"])
        await asyncio.wait_for(catching_up, CATCH_UP_TIMEOUT_SECONDS)
        assert str(tenant_id) not in (await admin.get("/api/v1/portfolio"))["still_building"]

        organisation = await admin.get(f"{base}/organisation")
        assert [unit["name"] for unit in organisation["units"]] == ["Hjemmeplejen"]
        assert await admin.get(f"{base}/engagements") == []


async def test_the_projector_worker_rebuilds_views_of_an_earlier_projection_version_too(
    postgres_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=postgres_url, data_dir=tmp_path / "data", **SESSION_SECRETS)
    container = await _in_thread(lambda: build_container(settings))
    try:
        tenant_id = await onboard(container, "Søby", "soeby")
        await _in_thread(lambda: _write_organisation(container, tenant_id, ["Hjemmeplejen"]))
        await _in_thread(lambda: container.projections.catch_up_now(tenant_id))
        clean = await _answers(container, tenant_id)
        await _in_thread(lambda: _as_an_earlier_release_left_them(settings, tenant_id))
        backend = container.views
        assert isinstance(backend, PostgresViewBackend)
        worker = Projector(backend, container.projections.mappers, lambda: [tenant_id])

        await _in_thread(lambda: worker.catch_up_tenant(tenant_id))

        assert await _answers(container, tenant_id) == clean
    finally:
        await container.close()
