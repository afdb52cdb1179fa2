"""A unit's history runs forward: a rename, merger, split or retirement takes effect on the day
it is given, which may lie in the past but not before the unit's last change, so the relations'
history across the years follows each unit without a gap or a step back. And an instrument
version, once published, stays as it was: a new version is another version."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domain.errors import InvariantViolated
from domain.instrument import Dimension, Instrument, StrengthBand
from domain.organisation import Organisation, UnitStatus
from tests.unit.factories import TENANT_ID, later, provenance


def organisation_with_a_renamed_unit() -> tuple[Organisation, list[UUID]]:
    org = Organisation(tenant_id=TENANT_ID, name="Region Nord", provenance=provenance())
    units = [uuid4(), uuid4()]
    org.add_unit(units[0], "Akut", provenance())
    org.add_unit(units[1], "Pleje", provenance())
    org.rename_unit(units[0], "Akutmodtagelsen", later(30))
    return org, units


@pytest.mark.parametrize("change", ["rename", "merge", "split", "retire"])
def test_a_change_dated_before_the_units_last_change_is_refused_and_says_that_day(change: str) -> None:
    org, (akut, pleje) = organisation_with_a_renamed_unit()
    before = later(10)
    changes = {
        "rename": lambda: org.rename_unit(akut, "Akut igen", before),
        "merge": lambda: org.merge_units((pleje, akut), uuid4(), "Samlet", before),
        "split": lambda: org.split_unit(akut, ((uuid4(), "A"), (uuid4(), "B")), before),
        "retire": lambda: org.retire_unit(akut, before),
    }
    with pytest.raises(InvariantViolated) as refused:
        changes[change]()
    assert refused.value.code == "unit_change_before_its_history"
    assert refused.value.params == {"name": "Akutmodtagelsen", "since": "2025-04-03"}
    assert org.units[akut].status is UnitStatus.ACTIVE
    assert [n.name for n in org.units[akut].names] == ["Akut", "Akutmodtagelsen"]


def test_a_change_on_the_day_of_the_last_change_or_later_is_recorded() -> None:
    org, (akut, pleje) = organisation_with_a_renamed_unit()
    org.rename_unit(akut, "Akutafdelingen", later(30))
    merged = uuid4()
    org.merge_units((akut, pleje), merged, "Akut og Pleje", later(31))
    assert org.units[akut].ended_at == later(31).occurred_at
    assert org.units[merged].names[0].since == later(31).occurred_at


def test_a_change_dated_in_the_past_after_the_last_change_keeps_the_history_in_order() -> None:
    org, (_akut, pleje) = organisation_with_a_renamed_unit()
    org.rename_unit(pleje, "Hjemmeplejen", later(5))  # the unit's last change: its start
    names = org.units[pleje].names
    assert [n.name for n in names] == ["Pleje", "Hjemmeplejen"]
    assert names[0].since < names[1].since


def test_a_published_instrument_version_never_changes_and_a_new_one_is_numbered_on() -> None:
    dimension = Dimension("samarbejde", "Samarbejde", "Collaboration", "Hvordan?", "How?")
    bands = (StrengthBand(Decimal(1), "Svag", "Weak"),)
    instrument = Instrument(name="Vores ordlyd", provenance=provenance())
    pinned = instrument.publish(1, 5, (dimension,), bands, provenance())
    copy = dataclasses.replace(pinned)
    with pytest.raises(dataclasses.FrozenInstanceError):
        pinned.scale_max = 7  # type: ignore[misc]
    newer = instrument.publish(1, 7, (dimension,), bands, later(1))
    assert newer.version == pinned.version + 1
    assert instrument.version_number(pinned.version) == copy
