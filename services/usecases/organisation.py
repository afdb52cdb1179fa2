"""The client organisation's units over the years: established, added, renamed, merged, split,
retired."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from domain.errors import AlreadyExists
from domain.organisation import Organisation
from domain.provenance import Provenance
from services.application import TenantApplication, derived_id
from services.usecases.bus import Command, handles


class EstablishOrganisation(Command[UUID], frozen=True, kw_only=True):
    conditional: ClassVar[bool] = False

    tenant_id: UUID
    name: str


class AddUnit(Command[UUID], frozen=True, kw_only=True):
    tenant_id: UUID
    name: str


class RenameUnit(Command[int], frozen=True, kw_only=True):
    tenant_id: UUID
    unit_id: UUID
    name: str


class MergeUnits(Command[UUID], frozen=True, kw_only=True):
    tenant_id: UUID
    unit_ids: tuple[UUID, ...]
    name: str


class SplitUnit(Command[tuple[UUID, ...]], frozen=True, kw_only=True):
    tenant_id: UUID
    unit_id: UUID
    names: tuple[str, ...]


class RetireUnit(Command[int], frozen=True, kw_only=True):
    tenant_id: UUID
    unit_id: UUID


@handles(EstablishOrganisation)
def establish(app: TenantApplication, c: EstablishOrganisation, p: Provenance, _: int | None) -> UUID:
    """Start the record of a client organisation's units (once per tenant)."""
    try:
        app.save(Organisation(tenant_id=c.tenant_id, name=c.name, provenance=p))
    except IntegrityError:
        raise AlreadyExists("organisation_established") from None
    return Organisation.id_for(c.tenant_id)


@handles(AddUnit)
def add(app: TenantApplication, c: AddUnit, p: Provenance, v: int | None) -> UUID:
    unit_id = derived_id(p, "unit")
    app.on_organisation(c.tenant_id, lambda org: org.add_unit(unit_id, c.name, p), v, p)
    return unit_id


@handles(RenameUnit)
def rename(app: TenantApplication, c: RenameUnit, p: Provenance, v: int | None) -> int:
    return app.on_organisation(c.tenant_id, lambda org: org.rename_unit(c.unit_id, c.name, p), v, p)


@handles(MergeUnits)
def merge(app: TenantApplication, c: MergeUnits, p: Provenance, v: int | None) -> UUID:
    into = derived_id(p, "merged-unit")
    app.on_organisation(c.tenant_id, lambda org: org.merge_units(c.unit_ids, into, c.name, p), v, p)
    return into


@handles(SplitUnit)
def split(app: TenantApplication, c: SplitUnit, p: Provenance, v: int | None) -> tuple[UUID, ...]:
    into = tuple((derived_id(p, f"split-unit-{i}"), n) for i, n in enumerate(c.names))
    app.on_organisation(c.tenant_id, lambda org: org.split_unit(c.unit_id, into, p), v, p)
    return tuple(new_id for new_id, _ in into)


@handles(RetireUnit)
def retire(app: TenantApplication, c: RetireUnit, p: Provenance, v: int | None) -> int:
    return app.on_organisation(c.tenant_id, lambda org: org.retire_unit(c.unit_id, p), v, p)
