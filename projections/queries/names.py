"""Units' names as they were at a moment: a page about a past theme day names the units as they
were called then."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import msgspec

from projections.documents import OrganisationUnits, UnitOut


class UnitName(msgspec.Struct):
    unit_id: UUID
    name: str


def name_at(unit: UnitOut, moment: datetime | None) -> str:
    """The unit's name as it was at `moment` (its first name before it existed; now without one)."""
    if moment is None or not unit.names:
        return unit.name
    earlier = [n for n in unit.names if n.since <= moment]
    return (earlier[-1] if earlier else unit.names[0]).name


def names_at(organisation: OrganisationUnits, moment: datetime | None) -> dict[UUID, str]:
    return {u.unit_id: name_at(u, moment) for u in organisation.units}


def name_of(names: dict[UUID, str], unit_id: UUID) -> str:
    return names.get(unit_id, str(unit_id))


def named(names: dict[UUID, str], unit_ids: Iterable[UUID]) -> list[UnitName]:
    return [UnitName(u, name_of(names, u)) for u in unit_ids]
