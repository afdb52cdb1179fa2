from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.commands import RemembersCommands
from domain.errors import AlreadyExists, InvariantViolated, NotFound
from domain.provenance import Provenance


class UnitStatus(str, Enum):
    ACTIVE = "active"
    MERGED = "merged"
    SPLIT = "split"
    RETIRED = "retired"


@dataclass(frozen=True)
class UnitName:
    name: str
    since: datetime


@dataclass(frozen=True)
class Unit:
    """A unit (enhed) with its whole history: names over time, and what it became or came from."""

    id: UUID
    names: tuple[UnitName, ...]
    status: UnitStatus
    ended_at: datetime | None
    predecessors: tuple[UUID, ...]
    successors: tuple[UUID, ...]

    @property
    def name(self) -> str:
        return self.names[-1].name

    def name_at(self, moment: datetime) -> str:
        current = self.names[0].name
        for entry in self.names:
            if entry.since <= moment:
                current = entry.name
        return current

    def existed_at(self, moment: datetime) -> bool:
        return self.names[0].since <= moment and (self.ended_at is None or moment < self.ended_at)


def _new_unit(unit_id: UUID, name: str, at: datetime, predecessors: tuple[UUID, ...] = ()) -> Unit:
    return Unit(unit_id, (UnitName(name, at),), UnitStatus.ACTIVE, None, predecessors, ())


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvariantViolated("unit_needs_name")
    return cleaned


class Organisation(RemembersCommands):
    """A client organisation's units over the years. Reorganisations never rewrite the past."""

    name: str
    units: dict[UUID, Unit]
    engagements: dict[UUID, str]

    @staticmethod
    def id_for(tenant_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"balkort:organisation:{tenant_id}")

    @staticmethod
    def create_id(tenant_id: UUID, name: str, provenance: Provenance) -> UUID:
        return Organisation.id_for(tenant_id)

    @event("Established")
    def __init__(self, tenant_id: UUID, name: str, provenance: Provenance) -> None:
        self.name = name
        self.units = {}
        self.engagements = {}

    def unit(self, unit_id: UUID) -> Unit:
        try:
            return self.units[unit_id]
        except KeyError:
            raise NotFound("unit_not_in_organisation", unit=str(unit_id), organisation=self.name) from None

    def active_unit(self, unit_id: UUID) -> Unit:
        unit = self.unit(unit_id)
        if unit.status is not UnitStatus.ACTIVE:
            raise InvariantViolated(
                "unit_ended", state=unit.status.value, name=unit.name, status=unit.status.value
            )
        return unit

    def changeable_unit(self, unit_id: UUID, provenance: Provenance) -> Unit:
        """An active unit whose history a change taking effect at `provenance.occurred_at`
        continues: not before the unit's last change, so its names and what it became follow
        one another in time."""
        unit = self.active_unit(unit_id)
        since = unit.names[-1].since
        if provenance.occurred_at < since:
            raise InvariantViolated(
                "unit_change_before_its_history", name=unit.name, since=since.date().isoformat()
            )
        return unit

    def _check_name_free(self, name: str, *, ignoring: tuple[UUID, ...] = ()) -> None:
        for unit in self.units.values():
            same = unit.name.casefold() == name.casefold()
            if unit.status is UnitStatus.ACTIVE and unit.id not in ignoring and same:
                raise AlreadyExists("unit_name_taken", name=name)

    def _check_id_free(self, *unit_ids: UUID) -> None:
        if len(set(unit_ids)) != len(unit_ids) or any(u in self.units for u in unit_ids):
            raise AlreadyExists("unit_ids_taken")

    def add_unit(self, unit_id: UUID, name: str, provenance: Provenance) -> None:
        name = _clean_name(name)
        self._check_id_free(unit_id)
        self._check_name_free(name)
        self._unit_added(unit_id, name, provenance)

    @event("UnitAdded")
    def _unit_added(self, unit_id: UUID, name: str, provenance: Provenance) -> None:
        self.units[unit_id] = _new_unit(unit_id, name, provenance.occurred_at)

    def rename_unit(self, unit_id: UUID, name: str, provenance: Provenance) -> None:
        name = _clean_name(name)
        unit = self.changeable_unit(unit_id, provenance)
        if unit.name == name:
            raise InvariantViolated("unit_already_called", name=name)
        self._check_name_free(name, ignoring=(unit_id,))
        self._unit_renamed(unit_id, name, provenance)

    @event("UnitRenamed")
    def _unit_renamed(self, unit_id: UUID, name: str, provenance: Provenance) -> None:
        unit = self.units[unit_id]
        self.units[unit_id] = replace(unit, names=(*unit.names, UnitName(name, provenance.occurred_at)))

    def merge_units(
        self, unit_ids: tuple[UUID, ...], into_unit_id: UUID, name: str, provenance: Provenance
    ) -> None:
        name = _clean_name(name)
        if len(set(unit_ids)) != len(unit_ids) or len(unit_ids) < 2:
            raise InvariantViolated("merger_too_few_units")
        for unit_id in unit_ids:
            self.changeable_unit(unit_id, provenance)
        self._check_id_free(into_unit_id)
        self._check_name_free(name, ignoring=unit_ids)
        self._units_merged(unit_ids, into_unit_id, name, provenance)

    @event("UnitsMerged")
    def _units_merged(
        self, unit_ids: tuple[UUID, ...], into_unit_id: UUID, name: str, provenance: Provenance
    ) -> None:
        at = provenance.occurred_at
        for unit_id in unit_ids:
            self.units[unit_id] = replace(
                self.units[unit_id], status=UnitStatus.MERGED, ended_at=at, successors=(into_unit_id,)
            )
        self.units[into_unit_id] = _new_unit(into_unit_id, name, at, predecessors=tuple(unit_ids))

    def split_unit(self, unit_id: UUID, into: tuple[tuple[UUID, str], ...], provenance: Provenance) -> None:
        self.changeable_unit(unit_id, provenance)
        if len(into) < 2:
            raise InvariantViolated("split_too_few_units")
        cleaned = tuple((new_id, _clean_name(new_name)) for new_id, new_name in into)
        self._check_id_free(*(new_id for new_id, _ in cleaned))
        names = [n.casefold() for _, n in cleaned]
        if len(set(names)) != len(names):
            raise AlreadyExists("split_names_not_distinct")
        for _, new_name in cleaned:
            self._check_name_free(new_name, ignoring=(unit_id,))
        self._unit_split(unit_id, cleaned, provenance)

    @event("UnitSplit")
    def _unit_split(self, unit_id: UUID, into: tuple[tuple[UUID, str], ...], provenance: Provenance) -> None:
        at = provenance.occurred_at
        self.units[unit_id] = replace(
            self.units[unit_id],
            status=UnitStatus.SPLIT,
            ended_at=at,
            successors=tuple(new_id for new_id, _ in into),
        )
        for new_id, new_name in into:
            self.units[new_id] = _new_unit(new_id, new_name, at, predecessors=(unit_id,))

    def retire_unit(self, unit_id: UUID, provenance: Provenance) -> None:
        self.changeable_unit(unit_id, provenance)
        self._unit_retired(unit_id, provenance)

    @event("UnitRetired")
    def _unit_retired(self, unit_id: UUID, provenance: Provenance) -> None:
        self.units[unit_id] = replace(
            self.units[unit_id], status=UnitStatus.RETIRED, ended_at=provenance.occurred_at
        )

    def register_engagement(
        self, engagement_id: UUID, title: str, unit_ids: tuple[UUID, ...], provenance: Provenance
    ) -> None:
        """An engagement starts for active units of the organisation."""
        for unit_id in unit_ids:
            self.active_unit(unit_id)
        if engagement_id in self.engagements:
            raise AlreadyExists("engagement_exists", engagement=str(engagement_id))
        self._engagement_registered(engagement_id, title, provenance)

    @event("EngagementRegistered")
    def _engagement_registered(self, engagement_id: UUID, title: str, provenance: Provenance) -> None:
        self.engagements[engagement_id] = title
