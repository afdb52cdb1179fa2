"""A client organisation's units over the years: reorganisations never rewrite the past."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from domain.errors import AlreadyExists, InvariantViolated, NotFound
from domain.organisation import Organisation, UnitStatus
from tests.unit.factories import CLOCK, TENANT_ID, later, provenance

BEFORE = CLOCK - timedelta(days=1)


def organisation(*names: str) -> tuple[Organisation, list[UUID]]:
    org = Organisation(tenant_id=TENANT_ID, name="Region Nord", provenance=provenance())
    ids = []
    for name in names:
        unit_id = uuid4()
        org.add_unit(unit_id, name, provenance())
        ids.append(unit_id)
    return org, ids


def test_the_organisation_id_follows_from_the_tenant() -> None:
    org, _ = organisation()
    assert org.id == Organisation.id_for(TENANT_ID)
    assert Organisation.id_for(uuid4()) != org.id


def test_a_unit_is_added_with_a_clean_name() -> None:
    org, _ = organisation()
    unit_id = uuid4()
    org.add_unit(unit_id, "  Akut   modtagelse ", provenance())
    unit = org.unit(unit_id)
    assert unit.name == "Akut modtagelse"
    assert unit.status is UnitStatus.ACTIVE
    assert unit.names[0].since == CLOCK
    assert (unit.ended_at, unit.predecessors, unit.successors) == (None, (), ())


@pytest.mark.parametrize("name", ["Akut", "akut", " AKUT "])
def test_active_names_are_unique_ignoring_case(name: str) -> None:
    org, _ = organisation("Akut")
    with pytest.raises(AlreadyExists):
        org.add_unit(uuid4(), name, provenance())


def test_a_unit_needs_a_name_and_a_new_id() -> None:
    org, (akut,) = organisation("Akut")
    with pytest.raises(InvariantViolated, match="needs a name"):
        org.add_unit(uuid4(), "   ", provenance())
    with pytest.raises(AlreadyExists):
        org.add_unit(akut, "Hjemmepleje", provenance())


def test_the_name_of_an_ended_unit_is_free_again() -> None:
    org, (akut,) = organisation("Akut")
    org.retire_unit(akut, later(1))
    org.add_unit(uuid4(), "akut", later(2))


def test_a_rename_keeps_the_old_name_in_history() -> None:
    org, (akut,) = organisation("Akut")
    org.rename_unit(akut, "Akutmodtagelsen", later(30))
    unit = org.unit(akut)
    assert unit.name == "Akutmodtagelsen"
    assert unit.name_at(CLOCK) == "Akut"
    assert unit.name_at(CLOCK + timedelta(days=29)) == "Akut"
    assert unit.name_at(CLOCK + timedelta(days=30)) == "Akutmodtagelsen"
    assert unit.name_at(BEFORE) == "Akut"  # before it existed, its first name


def test_a_rename_needs_a_different_free_name() -> None:
    org, (akut, _) = organisation("Akut", "Hjemmepleje")
    with pytest.raises(InvariantViolated, match="already called"):
        org.rename_unit(akut, " Akut ", provenance())
    with pytest.raises(AlreadyExists):
        org.rename_unit(akut, "HJEMMEPLEJE", provenance())
    org.rename_unit(akut, "AKUT", provenance())  # a change of case is a rename
    assert org.unit(akut).name == "AKUT"


def test_a_merger_ends_the_units_and_creates_their_successor() -> None:
    org, (akut, skade, _) = organisation("Akut", "Skadestue", "Hjemmepleje")
    merged = uuid4()
    org.merge_units((akut, skade), merged, "Fælles akutmodtagelse", later(100))
    for old in (akut, skade):
        unit = org.unit(old)
        assert unit.status is UnitStatus.MERGED
        assert unit.ended_at == CLOCK + timedelta(days=100)
        assert unit.successors == (merged,)
        assert unit.existed_at(CLOCK + timedelta(days=99))
        assert not unit.existed_at(CLOCK + timedelta(days=100))
    new = org.unit(merged)
    assert new.predecessors == (akut, skade)
    assert new.status is UnitStatus.ACTIVE
    assert not new.existed_at(CLOCK)
    assert new.existed_at(CLOCK + timedelta(days=100))


def test_a_merged_unit_may_keep_a_predecessors_name() -> None:
    org, (akut, skade) = organisation("Akut", "Skadestue")
    merged = uuid4()
    org.merge_units((akut, skade), merged, "akut", provenance())
    assert org.unit(merged).name == "akut"


def test_a_merger_may_not_take_another_active_units_name() -> None:
    org, (akut, skade, _) = organisation("Akut", "Skadestue", "Hjemmepleje")
    with pytest.raises(AlreadyExists):
        org.merge_units((akut, skade), uuid4(), "Hjemmepleje", provenance())


@pytest.mark.parametrize("how", ["one", "the-same-twice"])
def test_a_merger_needs_two_distinct_units(how: str) -> None:
    org, (akut, _) = organisation("Akut", "Skadestue")
    unit_ids = (akut,) if how == "one" else (akut, akut)
    with pytest.raises(InvariantViolated, match="two distinct"):
        org.merge_units(unit_ids, uuid4(), "Ny", provenance())


def test_a_merger_needs_active_units_and_a_new_id() -> None:
    org, (akut, skade, pleje) = organisation("Akut", "Skadestue", "Hjemmepleje")
    org.retire_unit(pleje, provenance())
    with pytest.raises(InvariantViolated, match="retired"):
        org.merge_units((akut, pleje), uuid4(), "Ny", provenance())
    with pytest.raises(NotFound):
        org.merge_units((akut, uuid4()), uuid4(), "Ny", provenance())
    with pytest.raises(AlreadyExists):
        org.merge_units((akut, skade), akut, "Ny", provenance())
    assert org.unit(akut).status is UnitStatus.ACTIVE


def test_a_split_ends_the_unit_and_creates_its_successors() -> None:
    org, (pleje,) = organisation("Hjemmepleje")
    nord, syd = uuid4(), uuid4()
    org.split_unit(pleje, ((nord, "Hjemmepleje Nord"), (syd, " Hjemmepleje  Syd ")), later(10))
    old = org.unit(pleje)
    assert old.status is UnitStatus.SPLIT
    assert old.successors == (nord, syd)
    assert old.ended_at == CLOCK + timedelta(days=10)
    assert org.unit(syd).name == "Hjemmepleje Syd"
    assert org.unit(nord).predecessors == (pleje,)


def test_a_split_may_reuse_the_old_name() -> None:
    org, (pleje,) = organisation("Hjemmepleje")
    org.split_unit(pleje, ((uuid4(), "Hjemmepleje"), (uuid4(), "Sygepleje")), provenance())


@pytest.mark.parametrize(
    ("names", "error"),
    [
        (("Nord",), InvariantViolated),
        (("Nord", "nord"), AlreadyExists),
        (("Nord", "Akut"), AlreadyExists),
        (("Nord", " "), InvariantViolated),
    ],
)
def test_a_split_needs_two_distinct_free_names(names: tuple[str, ...], error: type[Exception]) -> None:
    org, (pleje, _) = organisation("Hjemmepleje", "Akut")
    with pytest.raises(error):
        org.split_unit(pleje, tuple((uuid4(), n) for n in names), provenance())
    assert org.unit(pleje).status is UnitStatus.ACTIVE


def test_a_split_needs_new_ids() -> None:
    org, (pleje, akut) = organisation("Hjemmepleje", "Akut")
    same = uuid4()
    with pytest.raises(AlreadyExists):
        org.split_unit(pleje, ((same, "Nord"), (same, "Syd")), provenance())
    with pytest.raises(AlreadyExists):
        org.split_unit(pleje, ((akut, "Nord"), (uuid4(), "Syd")), provenance())


def test_a_retired_unit_ends() -> None:
    org, (akut,) = organisation("Akut")
    org.retire_unit(akut, later(5))
    unit = org.unit(akut)
    assert unit.status is UnitStatus.RETIRED
    assert unit.existed_at(CLOCK)
    assert not unit.existed_at(CLOCK + timedelta(days=5))
    assert not unit.existed_at(BEFORE)
    assert unit.name_at(CLOCK + timedelta(days=400)) == "Akut"


@pytest.mark.parametrize("ending", ["retire", "merge", "split"])
def test_nothing_more_happens_to_an_ended_unit(ending: str) -> None:
    org, (akut, skade) = organisation("Akut", "Skadestue")
    if ending == "retire":
        org.retire_unit(akut, provenance())
    elif ending == "merge":
        org.merge_units((akut, skade), uuid4(), "Samlet", provenance())
    else:
        org.split_unit(akut, ((uuid4(), "A1"), (uuid4(), "A2")), provenance())
    other = uuid4()
    org.add_unit(other, "Andet", provenance())
    org.collect_events()
    commands = [
        lambda: org.rename_unit(akut, "Nyt navn", provenance()),
        lambda: org.retire_unit(akut, provenance()),
        lambda: org.merge_units((akut, other), uuid4(), "X", provenance()),
        lambda: org.split_unit(akut, ((uuid4(), "Y1"), (uuid4(), "Y2")), provenance()),
        lambda: org.register_engagement(uuid4(), "Forløb", (akut,), provenance()),
    ]
    for command in commands:
        with pytest.raises(InvariantViolated) as raised:
            command()
        assert raised.value.state == org.unit(akut).status.value
    assert org.collect_events() == []


def test_an_engagement_is_registered_once_for_active_units() -> None:
    org, (akut, skade) = organisation("Akut", "Skadestue")
    engagement_id = uuid4()
    org.register_engagement(engagement_id, "Forløb 2025", (akut, skade), provenance())
    assert org.engagements == {engagement_id: "Forløb 2025"}
    with pytest.raises(AlreadyExists):
        org.register_engagement(engagement_id, "Igen", (akut,), provenance())
    with pytest.raises(NotFound):
        org.register_engagement(uuid4(), "Ukendt", (uuid4(),), provenance())


def test_history_replays_to_the_same_organisation() -> None:
    org, (akut, skade, pleje) = organisation("Akut", "Skadestue", "Hjemmepleje")
    org.rename_unit(akut, "Akutten", later(1))
    org.merge_units((akut, skade), uuid4(), "Samlet akut", later(2))
    org.split_unit(pleje, ((uuid4(), "Nord"), (uuid4(), "Syd")), later(3))
    events = org.collect_events()
    replayed = None
    for e in events:
        replayed = e.mutate(replayed)
    assert replayed is not None
    assert replayed.units == org.units
    assert replayed.version == org.version


def test_a_merger_names_each_unit_once() -> None:
    from uuid import uuid4 as _uuid4

    from domain.organisation import Organisation
    from tests.unit.factories import TENANT_ID
    from tests.unit.factories import provenance as _provenance

    organisation = Organisation(tenant_id=TENANT_ID, name="Kommune", provenance=_provenance())
    a, b = _uuid4(), _uuid4()
    organisation.add_unit(a, "A", _provenance())
    organisation.add_unit(b, "B", _provenance())
    with pytest.raises(InvariantViolated, match="each named once"):
        organisation.merge_units((a, a, b), _uuid4(), "C", _provenance())
