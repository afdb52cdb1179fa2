"""Personal codes without I/O: a batch per unit counted and extended, slips revoked, refused where
units rate together; each code rates as a pseudonym of its own, stable per code and never shared,
and a unit's figure stays hidden until enough of its people have rated."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from domain.default_instrument import DEFAULT_INSTRUMENT
from domain.errors import InvariantViolated, NotFound
from domain.personal_codes import MOST_PEOPLE_PER_BATCH, PersonalCodes
from domain.phases import Phase
from domain.provenance import Provenance
from domain.ratings import RatingMode
from domain.roles import Role
from services.application import TenantApplication
from services.persistence.env import PSEUDONYM_KEY
from tests import commanding
from tests.unit.factories import ALL_THREES, CLOCK, TENANT_ID, preparation, provenance

ENGAGEMENT_ID, UNIT_ID = uuid4(), uuid4()
EXPIRES = CLOCK + timedelta(days=30)


def anew(minutes: int = 0) -> Provenance:
    """A command of its own (another request), `minutes` after the clock."""
    return replace(provenance(at=CLOCK + timedelta(minutes=minutes)), command_id=uuid4())


def batch(people: int = 3, mode: RatingMode = RatingMode.INDIVIDUAL) -> PersonalCodes:
    codes = tuple(uuid4() for _ in range(people))
    return PersonalCodes.issue(TENANT_ID, ENGAGEMENT_ID, UNIT_ID, mode, codes, EXPIRES, anew())


def test_a_batch_counts_its_people_and_an_extension_numbers_its_slips_on() -> None:
    codes = batch(3)
    assert codes.id == PersonalCodes.create_id(TENANT_ID, ENGAGEMENT_ID, UNIT_ID)
    assert codes.people == 3
    later = (uuid4(), uuid4())
    codes.extend(RatingMode.INDIVIDUAL, later, EXPIRES, anew(10))
    assert codes.people == 5
    assert codes.slips[3:] == later
    assert codes.code_of(4) == later[0]
    assert codes.people_at(CLOCK - timedelta(minutes=1)) == 0
    assert codes.people_at(CLOCK + timedelta(minutes=5)) == 3
    assert codes.people_at(None) == 5


def test_units_that_rate_together_get_no_personal_codes() -> None:
    with pytest.raises(InvariantViolated) as refused:
        batch(3, RatingMode.UNIT)
    assert refused.value.code == "personal_codes_need_individual_rating"
    codes = batch(2)
    with pytest.raises(InvariantViolated):
        codes.extend(RatingMode.UNIT, (uuid4(),), EXPIRES, anew(1))


@pytest.mark.parametrize("people", [0, MOST_PEOPLE_PER_BATCH + 1])
def test_a_batch_is_for_one_to_two_hundred_people(people: int) -> None:
    with pytest.raises(InvariantViolated) as refused:
        batch(people)
    assert refused.value.code == "personal_codes_people"
    assert refused.value.params == {"most": MOST_PEOPLE_PER_BATCH, "people": people}


def test_the_request_that_issued_a_batch_is_answered_with_its_slips_and_records_nothing_new() -> None:
    first, second = anew(), anew(5)
    codes = PersonalCodes.issue(
        TENANT_ID, ENGAGEMENT_ID, UNIT_ID, RatingMode.INDIVIDUAL, (uuid4(), uuid4()), EXPIRES, first
    )
    codes.extend(RatingMode.INDIVIDUAL, (uuid4(),), EXPIRES, second)
    recorded = len(codes.collect_events())
    codes.extend(RatingMode.INDIVIDUAL, (uuid4(),), EXPIRES, second)
    assert codes.collect_events() == []
    assert recorded == 2
    assert (codes.people, codes.slips_issued_by(first.command_id, 2)) == (3, (1, 2))
    assert codes.slips_issued_by(second.command_id, 1) == (3,)
    assert codes.slips_issued_by(anew().command_id, 1) is None
    assert codes.batch_of(2) == PersonalCodes.batch_id(codes.id, first.command_id)
    assert codes.batch_of(3) == PersonalCodes.batch_id(codes.id, second.command_id) != codes.batch_of(1)


def test_the_same_request_for_another_number_of_people_is_refused() -> None:
    first = anew()
    codes = PersonalCodes.issue(
        TENANT_ID, ENGAGEMENT_ID, UNIT_ID, RatingMode.INDIVIDUAL, (uuid4(),), EXPIRES, first
    )
    with pytest.raises(InvariantViolated) as refused:
        codes.extend(RatingMode.INDIVIDUAL, (uuid4(), uuid4()), EXPIRES, first)
    assert refused.value.code == "personal_codes_request_changed"
    assert refused.value.params == {"issued": 1, "people": 2}
    assert codes.people == 1


def test_slips_are_revoked_one_by_number_or_all_and_stay_revoked() -> None:
    codes = batch(4)
    assert codes.revoke_slip(2, anew(1)) == codes.slips[1]
    assert codes.revoke_slip(2, anew(2)) is None  # revoked already: nothing new
    assert codes.people == 3
    assert codes.usable_slips() == (1, 3, 4)
    with pytest.raises(NotFound) as unknown:
        codes.revoke_slip(5, anew(3))
    assert unknown.value.params == {"slip": 5}
    assert set(codes.revoke_all(anew(4))) == {codes.slips[0], codes.slips[2], codes.slips[3]}
    assert codes.revoke_all(anew(5)) == ()
    assert codes.people == 0
    assert codes.people_at(CLOCK + timedelta(minutes=1, seconds=30)) == 3
    pending = codes.collect_events()
    assert [type(e).__name__ for e in pending] == ["Issued", "SlipRevoked", "Revoked"]
    # The events say how many and which slip; never a code, never who rated.
    assert all(not hasattr(e, "code") and not hasattr(e, "digest") for e in pending)


def _app() -> TenantApplication:
    return TenantApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo", PSEUDONYM_KEY: "nøgle"})


def test_each_code_rates_as_a_pseudonym_of_its_own_stable_and_never_the_codes_id() -> None:
    app = _app()
    first, second = uuid4(), uuid4()
    assert app.pseudonym(ENGAGEMENT_ID, first) == app.pseudonym(ENGAGEMENT_ID, first)
    assert app.pseudonym(ENGAGEMENT_ID, first) != app.pseudonym(ENGAGEMENT_ID, second)
    assert app.pseudonym(ENGAGEMENT_ID, first) != first
    # Local to the engagement, and not to be worked out without the tenant's key.
    assert app.pseudonym(uuid4(), first) != app.pseudonym(ENGAGEMENT_ID, first)
    other_key = TenantApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo", PSEUDONYM_KEY: "en anden"})
    assert other_key.pseudonym(ENGAGEMENT_ID, first) != app.pseudonym(ENGAGEMENT_ID, first)


def _rated_by(
    app: TenantApplication, engagement_id: UUID, units: tuple[UUID, UUID], code_id: UUID, score: int
) -> None:
    """A person rates with the code `code_id`: its holder acts under the code's id, as joined."""
    holder = replace(anew(), actor_id=code_id, actor_role=Role.PARTICIPANT)
    commanding.submit_rating(app, engagement_id, units[0], units[1], dict.fromkeys(ALL_THREES, score), holder)


def test_a_unit_shows_its_figure_only_once_enough_of_its_codes_have_rated() -> None:
    app = _app()
    commanding.establish_organisation(app, TENANT_ID, "Søby Kommune", anew())
    units = (
        commanding.add_unit(app, TENANT_ID, "Visitationen", anew()),
        commanding.add_unit(app, TENANT_ID, "Hjemmeplejen", anew()),
    )
    engagement_id = commanding.prepare_engagement(
        app, TENANT_ID, preparation(), units, DEFAULT_INSTRUMENT, RatingMode.INDIVIDUAL, 3, 2, anew()
    )
    for phase in (Phase.PREPARED, Phase.THEME_DAY_OPEN):
        commanding.advance_phase(app, engagement_id, phase, anew())
    commanding.map_relations(app, engagement_id, units[0], (units[1],), anew())
    codes = [uuid4() for _ in range(3)]
    _rated_by(app, engagement_id, units, codes[0], 1)
    _rated_by(app, engagement_id, units, codes[0], 5)  # the same code on another phone: rated anew
    _rated_by(app, engagement_id, units, codes[1], 3)
    engagement = app.engagement(engagement_id)
    raters = {r.rater for r in engagement.ratings.values()}
    assert raters == {app.pseudonym(engagement_id, c) for c in codes[:2]}
    assert engagement.relation(units[0], units[1]).suppressed
    _rated_by(app, engagement_id, units, codes[2], 3)
    shown = app.engagement(engagement_id).relation(units[0], units[1])
    assert not shown.suppressed
    assert shown.raters == 3
    assert str(shown.index) == "3.67"
