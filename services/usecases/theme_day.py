"""The theme day (temadag): mapping and rating, dance cards, dialogue rounds, dialogues,
wrap-up, closing plenary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from uuid import UUID, uuid5

from domain.engagement import Engagement
from domain.outcomes import AgreementDraft, ProposalDraft
from domain.provenance import Provenance
from domain.ratings import Rating, RatingMode
from services.application import TenantApplication, derived_id
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


def outcome_drafts(
    provenance: Provenance, agreements: tuple[tuple[str, bool], ...], proposals: tuple[str, ...]
) -> tuple[tuple[AgreementDraft, ...], tuple[ProposalDraft, ...]]:
    """Agreements (text, needs acceptance) and proposals with ids derived from the command."""
    return (
        tuple(
            AgreementDraft(derived_id(provenance, f"agreement-{i}"), text, needs)
            for i, (text, needs) in enumerate(agreements)
        ),
        tuple(
            ProposalDraft(derived_id(provenance, f"proposal-{i}"), text) for i, text in enumerate(proposals)
        ),
    )


@handles(MapRelations)
def map_relations(app: TenantApplication, c: MapRelations, p: Provenance, v: int | None) -> int:
    return app.on_engagement(
        c.engagement_id, lambda e: e.map_relations(c.unit_id, c.counterpart_ids, p), v, p
    )


@handles(SubmitRating)
def rate(app: TenantApplication, c: SubmitRating, p: Provenance, v: int | None) -> UUID:
    """Record a rating. In an engagement with individual ratings the rater is recorded only
    as a pseudonym local to the engagement (so a new rating replaces their earlier one), and
    the event names an anonymous participant as its actor."""
    rating_id = derived_id(p, "rating")
    anonymous_command = uuid5(rating_id, "command")

    def act(engagement: Engagement) -> None:
        rater, acting = None, p
        if engagement.rating_mode is RatingMode.INDIVIDUAL:
            rater = app.pseudonym(c.engagement_id, p.actor_id, engagement)
            # Nothing in the record may lead back to the person: not the actor, not the
            # command (derived from user and key), not the request.
            acting = replace(
                p,
                actor_id=uuid5(c.engagement_id, "anonymous participant"),
                command_id=anonymous_command,
                correlation_id="withheld",
            )
        engagement.submit_rating(rating_id, c.unit_id, c.counterpart_id, c.scores, rater, acting)

    app.on_engagement(c.engagement_id, act, v, p, (anonymous_command,))
    return rating_id


@handles(SendDanceCard)
def send(app: TenantApplication, c: SendDanceCard, p: Provenance, v: int | None) -> UUID:
    card_id = derived_id(p, "dance-card")
    app.on_engagement(
        c.engagement_id,
        lambda e: e.send_card(
            card_id, c.from_unit, c.to_unit, c.topic, c.reason, c.hoped_outcome, c.motivating_rating_id, p
        ),
        v,
        p,
    )
    return card_id


@handles(AcceptDanceCard)
def accept(app: TenantApplication, c: AcceptDanceCard, p: Provenance, v: int | None) -> int:
    return app.on_engagement(c.engagement_id, lambda e: e.accept_card(c.card_id, c.unit_id, p), v, p)


@handles(DeclineDanceCard)
def decline(app: TenantApplication, c: DeclineDanceCard, p: Provenance, v: int | None) -> int:
    return app.on_engagement(
        c.engagement_id, lambda e: e.decline_card(c.card_id, c.unit_id, c.reason, p), v, p
    )


@handles(WithdrawDanceCard)
def withdraw(app: TenantApplication, c: WithdrawDanceCard, p: Provenance, v: int | None) -> int:
    return app.on_engagement(c.engagement_id, lambda e: e.withdraw_card(c.card_id, c.unit_id, p), v, p)


@handles(ScheduleDialogues)
def schedule(app: TenantApplication, c: ScheduleDialogues, p: Provenance, v: int | None) -> int:
    return app.on_engagement(c.engagement_id, lambda e: e.schedule_dialogues(p), v, p)


@handles(MoveDialogue)
def move(app: TenantApplication, c: MoveDialogue, p: Provenance, v: int | None) -> int:
    return app.on_engagement(c.engagement_id, lambda e: e.move_dialogue(c.card_id, c.round, p), v, p)


@handles(HoldDialogue)
def hold(
    app: TenantApplication, c: HoldDialogue, p: Provenance, v: int | None
) -> tuple[UUID, tuple[UUID, ...], tuple[UUID, ...]]:
    dialogue_id = derived_id(p, "dialogue")
    agreements, proposals = outcome_drafts(p, c.agreements, c.proposals)
    app.on_engagement(
        c.engagement_id,
        lambda e: e.hold_dialogue(dialogue_id, c.card_id, c.notes, c.participants, agreements, proposals, p),
        v,
        p,
    )
    return (
        dialogue_id,
        tuple(a.agreement_id for a in agreements),
        tuple(x.proposal_id for x in proposals),
    )


@handles(AddDialogueOutcomes)
def add_outcomes(app: TenantApplication, c: AddDialogueOutcomes, p: Provenance, v: int | None) -> Outcomes:
    agreements, proposals = outcome_drafts(p, c.agreements, c.proposals)
    app.on_engagement(
        c.engagement_id, lambda e: e.add_outcomes(c.dialogue_id, agreements, proposals, p), v, p
    )
    return tuple(a.agreement_id for a in agreements), tuple(x.proposal_id for x in proposals)


@handles(RedactParticipant)
def redact(app: TenantApplication, c: RedactParticipant, p: Provenance, v: int | None) -> int:
    """Erase a participant's name from the engagement's dialogues; how many places."""
    places = 0

    def act(engagement: Engagement) -> None:
        nonlocal places
        places = engagement.redact_participant(c.name, p)

    app.on_engagement(c.engagement_id, act, v, p)
    return places


@handles(WrapUpUnit)
def wrap_up(app: TenantApplication, c: WrapUpUnit, p: Provenance, v: int | None) -> int:
    return app.on_engagement(c.engagement_id, lambda e: e.wrap_up(c.unit_id, c.summary, c.inputs, p), v, p)


@handles(HoldClosingPlenary)
def close(app: TenantApplication, c: HoldClosingPlenary, p: Provenance, v: int | None) -> int:
    return app.on_engagement(c.engagement_id, lambda e: e.hold_closing_plenary(c.notes, p), v, p)


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
