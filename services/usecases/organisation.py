"""The client organisation's units over the years: established, added, renamed, merged, split,
retired."""

from __future__ import annotations

from uuid import UUID

from domain.provenance import Provenance
from services.application import TenantApplication
from services.usecases.bus import Command, handles


class EstablishOrganisation(Command[UUID], frozen=True, kw_only=True):
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
    return app.establish_organisation(c.tenant_id, c.name, p)


@handles(AddUnit)
def add(app: TenantApplication, c: AddUnit, p: Provenance, v: int | None) -> UUID:
    return app.add_unit(c.tenant_id, c.name, p, expected_version=v)


@handles(RenameUnit)
def rename(app: TenantApplication, c: RenameUnit, p: Provenance, v: int | None) -> int:
    return app.rename_unit(c.tenant_id, c.unit_id, c.name, p, expected_version=v)


@handles(MergeUnits)
def merge(app: TenantApplication, c: MergeUnits, p: Provenance, v: int | None) -> UUID:
    return app.merge_units(c.tenant_id, c.unit_ids, c.name, p, expected_version=v)


@handles(SplitUnit)
def split(app: TenantApplication, c: SplitUnit, p: Provenance, v: int | None) -> tuple[UUID, ...]:
    return app.split_unit(c.tenant_id, c.unit_id, c.names, p, expected_version=v)


@handles(RetireUnit)
def retire(app: TenantApplication, c: RetireUnit, p: Provenance, v: int | None) -> int:
    return app.retire_unit(c.tenant_id, c.unit_id, p, expected_version=v)
