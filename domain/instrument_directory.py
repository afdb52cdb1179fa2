from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.default_instrument import DEFAULT_INSTRUMENT, DEFAULT_INSTRUMENT_ID
from domain.errors import AlreadyExists, InvariantViolated, NotFound
from domain.instrument import INSTRUMENT_NAMESPACE
from domain.provenance import Provenance

INSTRUMENT_DIRECTORY_ID = uuid5(INSTRUMENT_NAMESPACE, "instrument-directory")


def checked_instrument_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvariantViolated("instrument_needs_name")
    return name


class InstrumentDirectory(Aggregate):
    """Every instrument the consultancy has loaded, by id, with its name and latest version.

    Keeps names unique regardless of case, the built-in instrument's name included.
    """

    entries: dict[str, tuple[str, int]]

    @staticmethod
    def create_id() -> UUID:
        return INSTRUMENT_DIRECTORY_ID

    @event("Opened")
    def __init__(self, provenance: Provenance) -> None:
        self.entries = {}

    def add(self, instrument_id: UUID, name: str, provenance: Provenance) -> None:
        name = checked_instrument_name(name)
        if name.casefold() == DEFAULT_INSTRUMENT.name.casefold():
            raise AlreadyExists(
                "instrument_name_taken", state=f"instrument {DEFAULT_INSTRUMENT_ID}", name=name
            )
        for known_id, (known_name, _) in self.entries.items():
            if known_name.casefold() == name.casefold():
                raise AlreadyExists("instrument_name_taken", state=f"instrument {known_id}", name=name)
        if str(instrument_id) in self.entries or instrument_id == DEFAULT_INSTRUMENT_ID:
            raise AlreadyExists("instrument_listed", instrument=str(instrument_id))
        self._added(instrument_id=instrument_id, name=name, provenance=provenance)

    @event("InstrumentAdded")
    def _added(self, instrument_id: UUID, name: str, provenance: Provenance) -> None:
        self.entries[str(instrument_id)] = (name, 0)

    def note_version(self, instrument_id: UUID, version: int, provenance: Provenance) -> None:
        if str(instrument_id) not in self.entries:
            raise NotFound("no_instrument", instrument=str(instrument_id))
        name, latest = self.entries[str(instrument_id)]
        if version != latest + 1:
            raise InvariantViolated(
                "instrument_version_out_of_order",
                instrument=name,
                latest=latest,
                next=latest + 1,
                version=version,
            )
        self._version_noted(instrument_id=instrument_id, version=version, provenance=provenance)

    @event("VersionNoted")
    def _version_noted(self, instrument_id: UUID, version: int, provenance: Provenance) -> None:
        name, _ = self.entries[str(instrument_id)]
        self.entries[str(instrument_id)] = (name, version)

    def instruments(self) -> dict[UUID, tuple[str, int]]:
        return {UUID(key): value for key, value in self.entries.items()}
