"""The theme day (temadag): mapping and rating, dance cards, dialogue rounds, dialogues,
wrap-up, closing plenary."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from domain.provenance import Provenance
from domain.ratings import Rating, RatingMode
from services.application import TenantApplication
from services.bootstrap import Container
from services.usecases.bus import Command, handles, query

Outcomes = tuple[tuple[UUID, ...], tuple[UUID, ...]]
"""The ids of the agreements and of the proposals a dialogue recorded."""


class MapRelations(Command[int], frozen=True, kw_only=True):
    engagement_id: UUID
    unit_id: UUID
    counterpart_ids: tuple[UUID, ...]


class SubmitRating(Command[UUID], frozen=True, kw_only=True):
    engagement_id: UUID
    unit_id: UUID
    counterpart_id: UUID
    scores: Mapping[str, int]


class SendDanceCard(Command[UUID], frozen=True, kw_only=True):
    engagement_id: UUID
    from_unit: UUID
    to_unit: UUID
    topic: str
    reason: str
    hoped_outcome: str
    motivating_rating_id: UUID | None = None


class AcceptDanceCard(Command[int], frozen=True, kw_only=True):
    engagement_id: UUID
    card_id: UUID
    unit_id: UUID


class DeclineDanceCard(Command[int], frozen=True, kw_only=True):
    engagement_id: UUID
    card_id: UUID
    unit_id: UUID
    reason: str


class WithdrawDanceCard(Command[int], frozen=True, kw_only=True):
    engagement_id: UUID
    card_id: UUID
    unit_id: UUID


class ScheduleDialogues(Command[int], frozen=True, kw_only=True):
    engagement_id: UUID


class MoveDialogue(Command[int], frozen=True, kw_only=True):
    """Into round `round`, or out of the schedule (None)."""

    engagement_id: UUID
    card_id: UUID
    round: int | None


class HoldDialogue(Command[tuple[UUID, tuple[UUID, ...], tuple[UUID, ...]]], frozen=True, kw_only=True):
    """`agreements` are (text, needs acceptance)."""

    engagement_id: UUID
    card_id: UUID
    notes: str
    participants: tuple[str, ...]
    agreements: tuple[tuple[str, bool], ...] = ()
    proposals: tuple[str, ...] = ()


class AddDialogueOutcomes(Command[Outcomes], frozen=True, kw_only=True):
    engagement_id: UUID
    dialogue_id: UUID
    agreements: tuple[tuple[str, bool], ...] = ()
    proposals: tuple[str, ...] = ()


class RedactParticipant(Command[int], frozen=True, kw_only=True):
    """Answers in how many places the name stood."""

    engagement_id: UUID
    name: str


class WrapUpUnit(Command[int], frozen=True, kw_only=True):
    engagement_id: UUID
    unit_id: UUID
    summary: str
    inputs: tuple[str, ...]


class HoldClosingPlenary(Command[int], frozen=True, kw_only=True):
    engagement_id: UUID
    notes: str


@handles(MapRelations)
def map_relations(app: TenantApplication, c: MapRelations, p: Provenance, v: int | None) -> int:
    return app.map_relations(c.engagement_id, c.unit_id, c.counterpart_ids, p, expected_version=v)


@handles(SubmitRating)
def rate(app: TenantApplication, c: SubmitRating, p: Provenance, v: int | None) -> UUID:
    return app.submit_rating(c.engagement_id, c.unit_id, c.counterpart_id, c.scores, p, expected_version=v)


@handles(SendDanceCard)
def send(app: TenantApplication, c: SendDanceCard, p: Provenance, v: int | None) -> UUID:
    return app.send_card(
        c.engagement_id,
        c.from_unit,
        c.to_unit,
        c.topic,
        c.reason,
        c.hoped_outcome,
        c.motivating_rating_id,
        p,
        expected_version=v,
    )


@handles(AcceptDanceCard)
def accept(app: TenantApplication, c: AcceptDanceCard, p: Provenance, v: int | None) -> int:
    return app.accept_card(c.engagement_id, c.card_id, c.unit_id, p, expected_version=v)


@handles(DeclineDanceCard)
def decline(app: TenantApplication, c: DeclineDanceCard, p: Provenance, v: int | None) -> int:
    return app.decline_card(c.engagement_id, c.card_id, c.unit_id, c.reason, p, expected_version=v)


@handles(WithdrawDanceCard)
def withdraw(app: TenantApplication, c: WithdrawDanceCard, p: Provenance, v: int | None) -> int:
    return app.withdraw_card(c.engagement_id, c.card_id, c.unit_id, p, expected_version=v)


@handles(ScheduleDialogues)
def schedule(app: TenantApplication, c: ScheduleDialogues, p: Provenance, v: int | None) -> int:
    return app.schedule_dialogues(c.engagement_id, p, expected_version=v)


@handles(MoveDialogue)
def move(app: TenantApplication, c: MoveDialogue, p: Provenance, v: int | None) -> int:
    return app.move_dialogue(c.engagement_id, c.card_id, c.round, p, expected_version=v)


@handles(HoldDialogue)
def hold(
    app: TenantApplication, c: HoldDialogue, p: Provenance, v: int | None
) -> tuple[UUID, tuple[UUID, ...], tuple[UUID, ...]]:
    return app.hold_dialogue(
        c.engagement_id, c.card_id, c.notes, c.participants, c.agreements, c.proposals, p, expected_version=v
    )


@handles(AddDialogueOutcomes)
def add_outcomes(app: TenantApplication, c: AddDialogueOutcomes, p: Provenance, v: int | None) -> Outcomes:
    return app.add_outcomes(c.engagement_id, c.dialogue_id, c.agreements, c.proposals, p, expected_version=v)


@handles(RedactParticipant)
def redact(app: TenantApplication, c: RedactParticipant, p: Provenance, v: int | None) -> int:
    return app.redact_participant(c.engagement_id, c.name, p, expected_version=v)


@handles(WrapUpUnit)
def wrap_up(app: TenantApplication, c: WrapUpUnit, p: Provenance, v: int | None) -> int:
    return app.wrap_up(c.engagement_id, c.unit_id, c.summary, c.inputs, p, expected_version=v)


@handles(HoldClosingPlenary)
def close(app: TenantApplication, c: HoldClosingPlenary, p: Provenance, v: int | None) -> int:
    return app.hold_closing_plenary(c.engagement_id, c.notes, p, expected_version=v)


async def own_ratings(
    container: Container, tenant_id: UUID, engagement_id: UUID, unit_id: UUID, actor_id: UUID
) -> dict[UUID, Rating]:
    """The ratings a unit's table has given, by counterpart: the unit's own (consensus)
    ratings, or, where participants rate one by one, those of `actor_id` (by the same
    pseudonym the rating itself was recorded under, which never leaves the server)."""

    def read(app: TenantApplication) -> dict[UUID, Rating]:
        engagement = app.engagement(engagement_id)
        individual = engagement.rating_mode is RatingMode.INDIVIDUAL
        rater = app.pseudonym(engagement_id, actor_id) if individual else None
        return {
            r.counterpart_id: r
            for r in engagement.ratings.values()
            if r.unit_id == unit_id and r.rater == rater
        }

    return await query(container, tenant_id, read)
