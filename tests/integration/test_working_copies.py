"""Working copies: commands on one engagement from many threads of one process queue instead of
conflicting, and a command that fails leaves nothing of itself behind in memory."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from domain.default_instrument import DEFAULT_INSTRUMENT
from domain.errors import InvariantViolated
from domain.phases import Phase
from domain.preparation import Preparation
from domain.provenance import Provenance
from domain.ratings import RatingMode
from domain.roles import Role
from services.application import TenantApplication
from services.bootstrap import build_container
from services.controlplane import system_provenance
from services.settings import Settings
from services.usecases.tenants import onboard_tenant
from tests.commanding import (
    add_unit,
    advance_phase,
    establish_organisation,
    map_relations,
    prepare_engagement,
    submit_rating,
)

UNITS = 9
World = tuple[TenantApplication, UUID, UUID, list[UUID]]


def provenance(tenant_id: UUID) -> Provenance:
    now = datetime.now(UTC)
    return Provenance(uuid4(), Role.CONSULTANT, tenant_id, now, now, uuid4(), "Test", "test")


@pytest.fixture
def mapping_engagement(backend: Settings) -> Iterator[World]:
    container = build_container(backend)
    tenant_id = onboard_tenant(container, "Working", f"w-{uuid4().hex[:10]}", system_provenance("Test"))
    app_lease = container.tenants.lease(tenant_id)
    app = app_lease.__enter__()
    establish_organisation(app, tenant_id, "Org", provenance(tenant_id))
    units = [add_unit(app, tenant_id, f"Enhed {i}", provenance(tenant_id)) for i in range(UNITS)]
    preparation = Preparation("Forløb", "", "", "", (), date(2026, 12, 1), None)
    engagement_id = prepare_engagement(
        app,
        tenant_id,
        preparation,
        tuple(units),
        DEFAULT_INSTRUMENT,
        RatingMode.UNIT,
        3,
        3,
        provenance(tenant_id),
    )
    for phase in (Phase.PREPARED, Phase.THEME_DAY_OPEN):
        advance_phase(app, engagement_id, phase, provenance(tenant_id))
    for unit in units:
        others = tuple(u for u in units if u != unit)
        map_relations(app, engagement_id, unit, others, provenance(tenant_id))
    yield app, tenant_id, engagement_id, units
    app_lease.__exit__(None, None, None)
    container.tenants.close()
    container.control.close()


def test_concurrent_commands_on_one_engagement_all_succeed_in_turn(mapping_engagement: World) -> None:
    app, tenant_id, engagement_id, units = mapping_engagement
    before = app.engagement(engagement_id).version
    pairs = [(a, b) for a in units for b in units if a != b][:32]
    scores = dict.fromkeys(DEFAULT_INSTRUMENT.dimension_keys, 3)

    def rate(pair: tuple[UUID, UUID]) -> UUID:
        return submit_rating(app, engagement_id, pair[0], pair[1], scores, provenance(tenant_id))

    with ThreadPoolExecutor(max_workers=16) as pool:
        rating_ids = list(pool.map(rate, pairs))

    assert len(set(rating_ids)) == 32
    assert app.engagement(engagement_id).version == before + 32


def test_a_failed_command_leaves_the_working_copy_as_it_was(mapping_engagement: World) -> None:
    app, tenant_id, engagement_id, units = mapping_engagement
    scores = dict.fromkeys(DEFAULT_INSTRUMENT.dimension_keys, 3)
    submit_rating(app, engagement_id, units[0], units[1], scores, provenance(tenant_id))
    version = app.engagement(engagement_id).version

    with pytest.raises(InvariantViolated):
        submit_rating(app, engagement_id, units[0], units[0], scores, provenance(tenant_id))
    submit_rating(app, engagement_id, units[1], units[2], scores, provenance(tenant_id))

    stored = app.engagement(engagement_id)
    assert stored.version == version + 1
    assert len(stored.ratings) == 2
