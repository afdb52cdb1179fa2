"""Typed msgspec mapper vs eventsourcing's default JSONTranscoder, on a realistic event.

The event: a rating with a Provenance (two causes) and 7 scores. The baseline gets the
library's UUID/Decimal/datetime transcodings plus transcodings for the dataclasses (it
cannot store them otherwise). Even so it is not exact: the json module writes tuples and
str-Enums natively without asking a transcoding, so they come back as lists and plain
strings; the typed mapper restores them. The baseline is timed doing less work.

    .venv/bin/python -m bench.transcoder [--rounds 7] [--number 20000] [--smoke]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import timeit
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

if __package__ in (None, ""):  # run as a plain script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    Transcoding,
    UUIDAsHex,
)

from domain.provenance import Cause, Provenance
from domain.roles import Role
from services.persistence.transcoding import MsgspecTranscoder, TypedMapper, codec_for


@dataclass(frozen=True)
class Score:
    dimension: str
    value: int


class Relation(Aggregate):
    @event("Rated")
    def rate(
        self,
        from_unit: UUID,
        to_unit: UUID,
        scores: tuple[Score, ...],
        weight: Decimal,
        provenance: Provenance,
    ) -> None:
        pass


class _ScoreAsDict(Transcoding):
    type = Score
    name = "score"

    def encode(self, obj: Score) -> dict[str, Any]:
        return asdict(obj)

    def decode(self, data: dict[str, Any]) -> Score:
        return Score(**data)


class _CauseAsDict(Transcoding):
    type = Cause
    name = "cause"

    def encode(self, obj: Cause) -> dict[str, Any]:
        return {"kind": obj.kind, "id": obj.id}

    def decode(self, data: dict[str, Any]) -> Cause:
        return Cause(**data)


class _ProvenanceAsDict(Transcoding):
    type = Provenance
    name = "provenance"

    def encode(self, obj: Provenance) -> dict[str, Any]:
        return {f: getattr(obj, f) for f in obj.__dataclass_fields__}

    def decode(self, data: dict[str, Any]) -> Provenance:
        return Provenance(**data)


def baseline_transcoder() -> JSONTranscoder:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):  # as Application does
        transcoder.register(transcoding)
    for transcoding in (_ScoreAsDict(), _CauseAsDict(), _ProvenanceAsDict()):
        transcoder.register(transcoding)
    return transcoder


def sample_event() -> Any:
    relation = Relation()
    now = datetime.now(UTC)
    provenance = Provenance(
        actor_id=uuid4(),
        actor_role=Role.PARTICIPANT,
        tenant_id=uuid4(),
        occurred_at=now,
        recorded_at=now,
        command_id=uuid4(),
        command_name="submit_rating",
        correlation_id="9f1c2e",
        caused_by=(Cause("engagement", uuid4()), Cause("theme_day", uuid4())),
    )
    scores = tuple(Score(f"dimension_{i}", i % 5 + 1) for i in range(7))
    relation.rate(uuid4(), uuid4(), scores, Decimal("3.43"), provenance)
    return relation.collect_events()[-1]


def _median_us(fn: Any, rounds: int, number: int) -> float:
    times = timeit.repeat(fn, repeat=rounds, number=number)
    return statistics.median(times) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--smoke", action="store_true", help="a run of seconds (1 round of 200)")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.number = 1, 200

    evt = sample_event()
    state = {k: v for k, v in vars(evt).items() if k not in ("originator_id", "originator_version")}
    base = baseline_transcoder()
    ours = codec_for(type(evt))
    base_mapper: Mapper[UUID] = Mapper(transcoder=base)
    our_mapper = TypedMapper(transcoder=MsgspecTranscoder())

    base_back = base.decode(base.encode(state))
    assert type(base_back["scores"]) is list  # not exact, see the module docstring
    assert ours.decode(ours.encode(state)) == state
    assert our_mapper.to_domain_event(our_mapper.to_stored_event(evt)) == evt

    rows = [
        (
            "transcoder encode+decode",
            _median_us(lambda: base.decode(base.encode(state)), args.rounds, args.number),
            _median_us(lambda: ours.decode(ours.encode(state)), args.rounds, args.number),
        ),
        (
            "mapper event->stored->event",
            _median_us(
                lambda: base_mapper.to_domain_event(base_mapper.to_stored_event(evt)),
                args.rounds,
                args.number,
            ),
            _median_us(
                lambda: our_mapper.to_domain_event(our_mapper.to_stored_event(evt)), args.rounds, args.number
            ),
        ),
    ]
    print(f"rounds={args.rounds} number={args.number}  (median µs per round trip)")
    print(f"{'':30} {'JSONTranscoder':>15} {'msgspec typed':>15} {'ratio':>8}")
    for label, b, o in rows:
        print(f"{label:30} {b:15.2f} {o:15.2f} {b / o:7.1f}x")
    print(
        f"stored size: JSONTranscoder {len(base.encode(state))} B, msgspec typed {len(ours.encode(state))} B"
    )


if __name__ == "__main__":
    main()
