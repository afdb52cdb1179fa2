"""The instrument directory: every loaded instrument by id, with a unique name and its latest version."""

from __future__ import annotations

from uuid import UUID, uuid5

import pytest

from domain.default_instrument import DEFAULT_INSTRUMENT, DEFAULT_INSTRUMENT_ID
from domain.errors import AlreadyExists, InvariantViolated, NotFound
from domain.instrument import Instrument
from domain.instrument_directory import INSTRUMENT_DIRECTORY_ID, InstrumentDirectory
from tests.unit.factories import provenance

LICENSED = uuid5(UUID(int=0), "licensed")
OTHER = uuid5(UUID(int=0), "other")


def directory() -> InstrumentDirectory:
    return InstrumentDirectory(provenance=provenance())


def test_the_directory_has_a_well_known_id() -> None:
    assert directory().id == INSTRUMENT_DIRECTORY_ID
    assert InstrumentDirectory.create_id() == INSTRUMENT_DIRECTORY_ID


def test_added_instruments_are_listed_with_their_latest_version() -> None:
    listing = directory()
    listing.add(LICENSED, "  Licens RC  ", provenance())
    listing.note_version(LICENSED, 1, provenance())
    listing.add(OTHER, "Trivsel", provenance())
    listing.note_version(OTHER, 1, provenance())
    listing.note_version(OTHER, 2, provenance())
    assert listing.instruments() == {LICENSED: ("Licens RC", 1), OTHER: ("Trivsel", 2)}


@pytest.mark.parametrize("name", ["licens rc", "LICENS RC", " Licens RC "])
def test_names_are_unique_regardless_of_case(name: str) -> None:
    listing = directory()
    listing.add(LICENSED, "Licens RC", provenance())
    listing.collect_events()
    with pytest.raises(AlreadyExists, match="taken") as refused:
        listing.add(OTHER, name, provenance())
    assert refused.value.state == f"instrument {LICENSED}"
    assert listing.collect_events() == []


def test_the_built_in_instruments_name_and_id_are_taken() -> None:
    listing = directory()
    with pytest.raises(AlreadyExists, match="taken"):
        listing.add(OTHER, DEFAULT_INSTRUMENT.name.upper(), provenance())
    with pytest.raises(AlreadyExists, match="already listed"):
        listing.add(DEFAULT_INSTRUMENT_ID, "Noget andet", provenance())


def test_an_instrument_is_listed_once_and_needs_a_name() -> None:
    listing = directory()
    listing.add(LICENSED, "Licens RC", provenance())
    with pytest.raises(AlreadyExists, match="already listed"):
        listing.add(LICENSED, "Licens RC 2", provenance())
    with pytest.raises(InvariantViolated, match="needs a name"):
        listing.add(OTHER, "   ", provenance())


def test_versions_are_noted_in_order_for_listed_instruments_only() -> None:
    listing = directory()
    with pytest.raises(NotFound):
        listing.note_version(LICENSED, 1, provenance())
    listing.add(LICENSED, "Licens RC", provenance())
    with pytest.raises(InvariantViolated, match="the next is 1, not 2"):
        listing.note_version(LICENSED, 2, provenance())
    listing.note_version(LICENSED, 1, provenance())
    with pytest.raises(InvariantViolated, match="the next is 2, not 1"):
        listing.note_version(LICENSED, 1, provenance())


def test_an_instrument_id_follows_from_the_command_that_created_it() -> None:
    first = Instrument(name="Licens RC", provenance=provenance())
    replayed = Instrument(name="Licens RC", provenance=provenance())
    assert first.id == replayed.id == Instrument.create_id(provenance())
