"""The audit trail names every event but never one participant's scores."""

from __future__ import annotations

from uuid import uuid4

import msgspec

from domain.phases import Phase
from domain.ratings import RatingMode
from projections.audit import audit_row
from tests.unit.factories import ALL_THREES, engagement_in, provenance


def test_an_individual_rating_is_audited_without_its_scores_or_rater() -> None:
    engagement, units = engagement_in(Phase.MAPPING, mode=RatingMode.INDIVIDUAL)
    engagement.map_relations(units[0], (units[1],), provenance())
    rater = uuid4()
    engagement.submit_rating(uuid4(), units[0], units[1], {**ALL_THREES, "timely": 5}, rater, provenance())
    event = engagement.collect_events()[-1]

    row = audit_row(7, event)
    details = msgspec.json.decode(row.details)

    assert row.event_type == "RatingSubmitted"
    assert details["rating"]["unit_id"] == str(units[0])
    assert details["rating"]["scores"] == "withheld: individual rating"
    assert str(rater) not in bytes(row.details).decode()


def test_a_units_consensus_rating_is_audited_in_full() -> None:
    engagement, units = engagement_in(Phase.MAPPING)
    engagement.map_relations(units[0], (units[1],), provenance())
    engagement.submit_rating(uuid4(), units[0], units[1], ALL_THREES, None, provenance())

    details = msgspec.json.decode(audit_row(8, engagement.collect_events()[-1]).details)

    assert details["rating"]["scores"] == ALL_THREES
