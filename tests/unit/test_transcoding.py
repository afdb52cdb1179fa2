"""Events and snapshots round-trip exactly through the typed msgspec mapper."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.compressor import ZlibCompressor
from eventsourcing.domain import Aggregate, Snapshot, event
from eventsourcing.persistence import Cipher, MapperDeserialisationError
from eventsourcing.utils import Environment, get_topic
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.provenance import Cause, Provenance
from domain.roles import Role
from services.persistence.base import BalkortApplication
from services.persistence.transcoding import MsgspecTranscoder, TranscodingError, TypedMapper, codec_for


class Band(str, Enum):
    WEAK = "weak"
    MODERATE = "moderate"
    STRONG = "strong"


@dataclass(frozen=True)
class Score:
    dimension: str
    value: int
    band: Band


@dataclass(frozen=True)
class Unit:
    name: str
    joined_on: date
    weight: Decimal | None = None
    tags: tuple[str, ...] = ()


class Survey(Aggregate):
    """A test aggregate whose state uses every type the transcoder must keep."""

    title: str
    units: dict[UUID, Unit]
    ratings: list[tuple[UUID, UUID, tuple[Score, ...]]]
    budget: Decimal
    starts: datetime | None
    last_provenance: Provenance | None

    def __init__(self, title: str, budget: Decimal, provenance: Provenance) -> None:
        self.title = title
        self.units = {}
        self.ratings = []
        self.budget = budget
        self.starts = None
        self.last_provenance = provenance

    @event("UnitAdded")
    def _unit_added(self, unit_id: UUID, unit: Unit, provenance: Provenance) -> None:
        self.units[unit_id] = unit
        self.last_provenance = provenance

    @event("Rated")
    def _rated(
        self,
        from_unit: UUID,
        to_unit: UUID,
        scores: tuple[Score, ...],
        note: str | None,
        provenance: Provenance,
    ) -> None:
        self.ratings.append((from_unit, to_unit, scores))
        self.last_provenance = provenance

    @event("Scheduled")
    def _scheduled(self, starts: datetime, budget: Decimal, provenance: Provenance) -> None:
        self.starts = starts
        self.budget = budget
        self.last_provenance = provenance

    @event("Annotated")
    def _annotated(self, extra: Any) -> None:
        self.extra = extra


class Counter(Aggregate):
    """Versioned: v1 stored `count` only; v2 added a Decimal `rate`."""

    class_version = 2
    count: int
    rate: Decimal

    def __init__(self, count: int, rate: Decimal) -> None:
        self.count = count
        self.rate = rate

    class Created(Aggregate.Created):
        class_version = 2
        count: int
        rate: Decimal

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["rate"] = "0.5"

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["rate"] = "0.25"


class XorCipher(Cipher):
    """A stand-in cipher (the AES one needs pycryptodome): enough to prove the hook runs."""

    def __init__(self, environment: Environment) -> None:
        self.key = environment["CIPHER_KEY"].encode()

    def encrypt(self, plaintext: bytes) -> bytes:
        return b"x1" + bytes(b ^ self.key[i % len(self.key)] for i, b in enumerate(plaintext))

    def decrypt(self, ciphertext: bytes) -> bytes:
        if not ciphertext.startswith(b"x1"):
            raise ValueError("not ciphertext")
        plain = bytes(b ^ self.key[i % len(self.key)] for i, b in enumerate(ciphertext[2:]))
        zlib.decompress(plain)  # a wrong key shows up as corrupt compressed data
        return plain


def _provenance(*causes: Cause) -> Provenance:
    return Provenance(
        actor_id=uuid4(),
        actor_role=Role.CONSULTANT,
        tenant_id=uuid4(),
        occurred_at=datetime(2024, 3, 5, 9, 30, tzinfo=timezone(timedelta(hours=1))),
        recorded_at=datetime(2024, 3, 12, 14, 0, 1, 123456, tzinfo=UTC),
        command_id=uuid4(),
        command_name="submit_rating",
        correlation_id="req-1",
        caused_by=causes,
    )


def _survey() -> Survey:
    survey = Survey(title="Temadag", budget=Decimal("1000.00"), provenance=_provenance())
    a, b = uuid4(), uuid4()
    survey._unit_added(a, Unit("Akut", date(2020, 1, 2), Decimal("0.5"), ("front", "night")), _provenance())
    survey._unit_added(b, Unit("Røntgen", date(2021, 6, 30)), _provenance(Cause("card", uuid4())))
    scores = tuple(Score(f"d{i}", i % 5 + 1, Band.STRONG) for i in range(7))
    survey._rated(a, b, scores, None, _provenance(Cause("rating", uuid4()), Cause("card", uuid4())))
    survey._scheduled(datetime(2025, 1, 1, 8, tzinfo=UTC), Decimal("-12.340"), _provenance())
    return survey


def _app(env: dict[str, str] | None = None) -> BalkortApplication:
    return BalkortApplication({"PERSISTENCE_MODULE": "eventsourcing.popo", **(env or {})})


def _assert_same_state(left: object, right: object) -> None:
    a = {k: v for k, v in vars(left).items() if k != "_pending_events"}
    b = {k: v for k, v in vars(right).items() if k != "_pending_events"}
    assert a == b
    # Equal is not enough: the types must come back too (UUID, not str; Band, not str).
    for key, value in a.items():
        assert type(b[key]) is type(value), key


def test_application_uses_typed_mapper() -> None:
    app = _app()
    assert isinstance(app.mapper, TypedMapper)
    assert isinstance(app.mapper.transcoder, MsgspecTranscoder)


def test_events_round_trip_exactly() -> None:
    app = _app()
    survey = _survey()
    pending = list(survey.collect_events())
    for original in pending:
        stored = app.mapper.to_stored_event(original)
        restored = app.mapper.to_domain_event(stored)
        assert type(restored) is type(original)
        assert restored == original
        assert vars(restored) == vars(original)
    rated = next(e for e in pending if isinstance(e, Survey.Rated))
    restored_rated = app.mapper.to_domain_event(app.mapper.to_stored_event(rated))
    assert isinstance(restored_rated, Survey.Rated)
    assert type(restored_rated.from_unit) is UUID
    assert type(restored_rated.scores) is tuple
    assert type(restored_rated.scores[0].band) is Band
    assert type(restored_rated.provenance.actor_role) is Role
    assert type(restored_rated.provenance.caused_by[0].id) is UUID
    assert restored_rated.provenance.occurred_at.utcoffset() == timedelta(hours=1)


def test_aggregate_and_snapshot_round_trip_through_application() -> None:
    app = _app()
    survey = _survey()
    app.save(survey)
    app.take_snapshot(survey.id)
    assert app.snapshots is not None
    [snapshot] = list(app.snapshots.get(survey.id))
    assert type(snapshot.state["units"]) is dict
    assert all(type(k) is UUID for k in snapshot.state["units"])
    assert type(snapshot.state["_created_on"]) is datetime
    from_snapshot = app.repository.get(survey.id)
    _assert_same_state(survey, from_snapshot)
    # And without the snapshot, from the events alone.
    from_events: Any = None
    for stored_event in app.events.get(survey.id):
        from_events = stored_event.mutate(from_events)  # type: ignore[attr-defined]
    _assert_same_state(survey, from_events)


def test_snapshot_with_untyped_attribute_that_is_plain_json() -> None:
    app = _app()
    survey = _survey()
    survey._annotated({"k": [1, "two", None, True, 2.5]})
    app.save(survey)
    app.take_snapshot(survey.id)
    _assert_same_state(survey, app.repository.get(survey.id))


def test_untyped_value_that_would_not_round_trip_is_refused() -> None:
    app = _app()
    survey = _survey()
    survey._annotated(uuid4())
    with pytest.raises(TranscodingError):
        app.save(survey)


def test_untyped_attribute_in_snapshot_is_refused() -> None:
    app = _app()
    survey = _survey()
    app.save(survey)
    survey.extra = Decimal("1")  # set behind the aggregate's back: not in any event
    snapshot = Snapshot.take(survey)
    with pytest.raises(TranscodingError):
        app.mapper.to_stored_event(snapshot)


def test_cipher_and_compressor_still_apply() -> None:
    key = "k3y-one"
    cipher_topic = get_topic(XorCipher)
    compressor = "eventsourcing.compressor:ZlibCompressor"
    app = _app({"CIPHER_TOPIC": cipher_topic, "CIPHER_KEY": key, "COMPRESSOR_TOPIC": compressor})
    assert isinstance(app.mapper.cipher, XorCipher)
    assert isinstance(app.mapper.compressor, ZlibCompressor)
    survey = _survey()
    app.save(survey)
    stored = app.mapper.to_stored_event(next(iter(app.events.get(survey.id))))
    assert b"Temadag" not in stored.state
    plain = zlib.decompress(XorCipher(Environment(env={"CIPHER_KEY": key})).decrypt(stored.state))
    assert b"Temadag" in plain
    _assert_same_state(survey, app.repository.get(survey.id))
    other = _app({"CIPHER_TOPIC": cipher_topic, "CIPHER_KEY": "another", "COMPRESSOR_TOPIC": compressor})
    with pytest.raises(MapperDeserialisationError):
        other.mapper.to_domain_event(stored)


def test_versioned_event_and_snapshot_are_upcast() -> None:
    app = _app()
    counter = Counter(count=3, rate=Decimal("0"))
    app.save(counter)
    created = next(iter(app.events.get(counter.id)))
    stored = app.mapper.to_stored_event(created)
    assert b'"class_version":2' in stored.state
    assert app.mapper.to_domain_event(stored) == created
    # A v1 record, as an older release wrote it.
    old_state = stored.state.replace(b',"class_version":2', b"").replace(b',"rate":"0"', b"")
    assert b"rate" not in old_state
    upcast = app.mapper.to_domain_event(type(stored)(stored.originator_id, 1, stored.topic, old_state))
    assert isinstance(upcast, Counter.Created)
    assert upcast.rate == Decimal("0.5")
    assert type(upcast.rate) is Decimal
    # An old snapshot: the aggregate's own upcaster runs on its state.
    app.take_snapshot(counter.id)
    assert app.snapshots is not None
    [snap] = app.snapshots.recorder.select_events(counter.id)
    old_snap = snap.state.replace(b',"class_version":2', b"").replace(b',"rate":"0"', b"")
    restored = app.mapper.to_domain_event(
        type(snap)(snap.originator_id, snap.originator_version, snap.topic, old_snap)
    )
    aggregate = restored.mutate(None)  # type: ignore[attr-defined]
    assert aggregate.rate == Decimal("0.25")
    assert type(aggregate.rate) is Decimal


def test_codecs_are_built_once_per_class() -> None:
    assert codec_for(Survey.Rated) is codec_for(Survey.Rated)


# -- hypothesis: values of every supported type survive a round trip -------------------

# `fold` means nothing under a fixed offset and JSON does not carry it: normalise it away.
aware_datetimes = st.datetimes(
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))])
).map(lambda d: d.replace(fold=0))
decimals = st.decimals(allow_nan=False, allow_infinity=False)
texts = st.text(max_size=30)


@st.composite
def provenances(draw: st.DrawFn) -> Provenance:
    return Provenance(
        actor_id=draw(st.uuids()),
        actor_role=draw(st.sampled_from(Role)),
        tenant_id=draw(st.uuids()),
        occurred_at=draw(aware_datetimes),
        recorded_at=draw(aware_datetimes),
        command_id=draw(st.uuids()),
        command_name=draw(texts),
        correlation_id=draw(texts),
        caused_by=tuple(draw(st.lists(st.builds(Cause, kind=texts, id=st.uuids()), max_size=3))),
    )


units = st.builds(
    Unit,
    name=texts,
    joined_on=st.dates(),
    weight=st.none() | decimals,
    tags=st.lists(texts, max_size=3).map(tuple),
)
scores = st.builds(Score, dimension=texts, value=st.integers(-(2**63), 2**63 - 1), band=st.sampled_from(Band))


_MAPPER = _app().mapper


@settings(max_examples=100, deadline=None)
@given(
    unit_id=st.uuids(),
    unit=units,
    provenance=provenances(),
    scored=st.lists(scores, max_size=7).map(tuple),
    note=st.none() | texts,
    starts=aware_datetimes,
    budget=decimals,
)
def test_hypothesis_round_trip(
    unit_id: UUID,
    unit: Unit,
    provenance: Provenance,
    scored: tuple[Score, ...],
    note: str | None,
    starts: datetime,
    budget: Decimal,
) -> None:
    mapper = _MAPPER
    survey = Survey(title="t", budget=Decimal("0"), provenance=provenance)
    survey._unit_added(unit_id, unit, provenance)
    survey._rated(unit_id, unit_id, scored, note, provenance)
    survey._scheduled(starts, budget, provenance)
    for original in survey.collect_events():
        restored = mapper.to_domain_event(mapper.to_stored_event(original))
        assert vars(restored) == vars(original)
        assert repr(restored) == repr(original)  # same types and Decimal exponents, not just ==
