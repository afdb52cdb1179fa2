from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec

from services.schemas import Name


class EstablishOrganisation(msgspec.Struct, forbid_unknown_fields=True):
    name: Name


class AddUnit(msgspec.Struct, forbid_unknown_fields=True):
    name: Name


class RenameUnit(msgspec.Struct, forbid_unknown_fields=True):
    name: Name


class MergeUnits(msgspec.Struct, forbid_unknown_fields=True):
    unit_ids: Annotated[list[UUID], msgspec.Meta(min_length=2, max_length=50)]
    name: Name


class SplitUnit(msgspec.Struct, forbid_unknown_fields=True):
    names: Annotated[list[Name], msgspec.Meta(min_length=2, max_length=20)]


class UnitCreated(msgspec.Struct):
    unit_id: UUID


class UnitsCreated(msgspec.Struct):
    unit_ids: list[UUID]
