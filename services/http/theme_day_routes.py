"""The theme day (temadag): mapping and rating, dance cards, dialogue rounds, dialogues, wrap-up, plenary."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from projections.documents import (
    CardOut,
    RelationOut,
)
from services.access import FACILITATE, PLAN, READ_AT_TABLE, TAKE_PART_AT_TABLE, UnitScope
from services.requests.commands import run
from services.requests.problems import COMMAND_ERRORS, QUERY_ERRORS
from services.requests.reads import AS_OF, engagement_view
from services.schemas.engagement import (
    AddOutcomes,
    AnswerCard,
    CardCreated,
    ClosingPlenaryIn,
    DeclineCard,
    DialogueCreated,
    HoldDialogue,
    MapRelations,
    MoveDialogue,
    OutcomesCreated,
    ParticipantRedacted,
    RatingCreated,
    Recorded,
    RedactParticipant,
    SendCard,
    SubmitRating,
    WrapUpIn,
)
from services.usecases import theme_day as day

Req = Request[Any, Any, Any]
WRITE_ERRORS = COMMAND_ERRORS
AsOf = Annotated[datetime | None, QueryParameter(description=AS_OF)]


class ThemeDayController(Controller):
    path = "/api/v1/tenants/{tenant_id:uuid}/engagements/{engagement_id:uuid}"
    tags = ["theme day"]

    @put(
        "/units/{unit_id:uuid}/relations",
        opt=TAKE_PART_AT_TABLE.opt(UnitScope.PATH_UNIT),
        responses=WRITE_ERRORS,
    )
    async def map_relations(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        unit_id: FromPath[UUID],
        data: JSONBody[MapRelations],
    ) -> Recorded:
        """Mapping (kortlægning): the units this unit's work depends on."""
        version = await run(
            request,
            tenant_id,
            day.MapRelations(
                engagement_id=engagement_id, unit_id=unit_id, counterpart_ids=tuple(data.counterpart_ids)
            ),
        )
        return Recorded(version)

    @post("/ratings", opt=TAKE_PART_AT_TABLE.opt(UnitScope.BODY_UNIT), responses=WRITE_ERRORS)
    async def submit_rating(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        data: JSONBody[SubmitRating],
    ) -> RatingCreated:
        """Assessment (vurdering): rate a mapped relation on every dimension of the pinned
        instrument. A new rating by the same rater (or unit) replaces the earlier one."""
        rating_id = await run(
            request,
            tenant_id,
            day.SubmitRating(
                engagement_id=engagement_id,
                unit_id=data.unit_id,
                counterpart_id=data.counterpart_id,
                scores=data.scores,
            ),
        )
        return RatingCreated(rating_id)

    @get(
        "/relations",
        opt=READ_AT_TABLE.opt(UnitScope.READ),
        responses=QUERY_ERRORS,
    )
    async def relations(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], as_of: AsOf = None
    ) -> list[RelationOut]:
        """Every mapped relation with its means per dimension and index; relations rated
        individually by fewer than the minimum group size are suppressed. As they stood at
        `as_of` if given."""
        return (await engagement_view(request, tenant_id, engagement_id, moment=as_of)).relation_views

    @post("/cards", opt=TAKE_PART_AT_TABLE.opt(UnitScope.BODY_FROM_UNIT), responses=WRITE_ERRORS)
    async def send_card(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], data: JSONBody[SendCard]
    ) -> CardCreated:
        """Send a dance card (balkort): invite another unit to a dialogue on a topic, ideally
        pointing at the rating that motivated it."""
        card_id = await run(
            request,
            tenant_id,
            day.SendDanceCard.given(data, engagement_id=engagement_id),
        )
        return CardCreated(card_id)

    @get(
        "/cards",
        opt=READ_AT_TABLE.opt(UnitScope.READ),
        responses=QUERY_ERRORS,
    )
    async def cards(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID], as_of: AsOf = None
    ) -> list[CardOut]:
        """Every dance card with its answer and, once scheduled, its round; as they stood at
        `as_of` if given."""
        return (await engagement_view(request, tenant_id, engagement_id, moment=as_of)).cards

    @post(
        "/cards/{card_id:uuid}/accept",
        opt=TAKE_PART_AT_TABLE.opt(UnitScope.BODY_UNIT),
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def accept_card(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        card_id: FromPath[UUID],
        data: JSONBody[AnswerCard],
    ) -> Recorded:
        """The invited unit accepts the dance card."""
        version = await run(
            request,
            tenant_id,
            day.AcceptDanceCard(engagement_id=engagement_id, card_id=card_id, unit_id=data.unit_id),
        )
        return Recorded(version)

    @post(
        "/cards/{card_id:uuid}/decline",
        opt=TAKE_PART_AT_TABLE.opt(UnitScope.BODY_UNIT),
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def decline_card(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        card_id: FromPath[UUID],
        data: JSONBody[DeclineCard],
    ) -> Recorded:
        """The invited unit declines the dance card, saying why."""
        version = await run(
            request,
            tenant_id,
            day.DeclineDanceCard(
                engagement_id=engagement_id, card_id=card_id, unit_id=data.unit_id, reason=data.reason
            ),
        )
        return Recorded(version)

    @post(
        "/cards/{card_id:uuid}/withdraw",
        opt=TAKE_PART_AT_TABLE.opt(UnitScope.BODY_UNIT),
        status_code=200,
        responses=WRITE_ERRORS,
    )
    async def withdraw_card(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        card_id: FromPath[UUID],
        data: JSONBody[AnswerCard],
    ) -> Recorded:
        """The inviting unit withdraws its dance card."""
        version = await run(
            request,
            tenant_id,
            day.WithdrawDanceCard(engagement_id=engagement_id, card_id=card_id, unit_id=data.unit_id),
        )
        return Recorded(version)

    @post("/schedule", opt=FACILITATE.opt(), status_code=200, responses=WRITE_ERRORS)
    async def schedule(
        self, request: Req, tenant_id: FromPath[UUID], engagement_id: FromPath[UUID]
    ) -> list[CardOut]:
        """Schedule the accepted dance cards into dialogue rounds so that no unit is in two
        dialogues in one round, scheduling as many as possible. Pinned dialogues stay put."""
        await run(request, tenant_id, day.ScheduleDialogues(engagement_id=engagement_id))
        return (await engagement_view(request, tenant_id, engagement_id)).cards

    @put("/cards/{card_id:uuid}/round", opt=FACILITATE.opt(), responses=WRITE_ERRORS)
    async def move_dialogue(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        card_id: FromPath[UUID],
        data: JSONBody[MoveDialogue],
    ) -> Recorded:
        """Move a dialogue to a round and pin it there (or `null` to take it off the schedule)."""
        version = await run(
            request,
            tenant_id,
            day.MoveDialogue(engagement_id=engagement_id, card_id=card_id, round=data.round),
        )
        return Recorded(version)

    @post(
        "/dialogues",
        opt=TAKE_PART_AT_TABLE.opt(UnitScope.CARD_IN_BODY),
        responses=WRITE_ERRORS,
    )
    async def hold_dialogue(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        data: JSONBody[HoldDialogue],
    ) -> DialogueCreated:
        """Record a dialogue held on an accepted dance card: notes, participants, the agreements
        the two units made and the proposals that need a decision."""
        dialogue_id, agreement_ids, proposal_ids = await run(
            request,
            tenant_id,
            day.HoldDialogue(
                engagement_id=engagement_id,
                card_id=data.card_id,
                notes=data.notes,
                participants=tuple(data.participants),
                agreements=tuple((a.text, a.needs_acceptance) for a in data.agreements),
                proposals=tuple(x.text for x in data.proposals),
            ),
        )
        return DialogueCreated(dialogue_id, list(agreement_ids), list(proposal_ids))

    @post(
        "/dialogues/{dialogue_id:uuid}/outcomes",
        opt=TAKE_PART_AT_TABLE.opt(UnitScope.DIALOGUE_IN_PATH),
        responses=WRITE_ERRORS,
    )
    async def add_outcomes(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        dialogue_id: FromPath[UUID],
        data: JSONBody[AddOutcomes],
    ) -> OutcomesCreated:
        """Add agreements or proposals to a dialogue already recorded."""
        agreement_ids, proposal_ids = await run(
            request,
            tenant_id,
            day.AddDialogueOutcomes(
                engagement_id=engagement_id,
                dialogue_id=dialogue_id,
                agreements=tuple((a.text, a.needs_acceptance) for a in data.agreements),
                proposals=tuple(x.text for x in data.proposals),
            ),
        )
        return OutcomesCreated(list(agreement_ids), list(proposal_ids))

    @post("/participants/redactions", opt=PLAN.opt(), status_code=200, responses=WRITE_ERRORS)
    async def redact_participant(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        data: JSONBody[RedactParticipant],
    ) -> ParticipantRedacted:
        """Erase a person's name from the engagement's dialogues (the right to erasure): it
        reads "(slettet)" wherever it stood. Ratings are kept; raters are pseudonyms already."""
        places = await run(
            request, tenant_id, day.RedactParticipant(engagement_id=engagement_id, name=data.name)
        )
        return ParticipantRedacted(places)

    @put(
        "/wrap-ups/{unit_id:uuid}",
        opt=TAKE_PART_AT_TABLE.opt(UnitScope.PATH_UNIT),
        responses=WRITE_ERRORS,
    )
    async def wrap_up(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        unit_id: FromPath[UUID],
        data: JSONBody[WrapUpIn],
    ) -> Recorded:
        """A unit's wrap-up (opsamling) of what it takes home from its dialogues."""
        version = await run(
            request,
            tenant_id,
            day.WrapUpUnit(
                engagement_id=engagement_id, unit_id=unit_id, summary=data.summary, inputs=tuple(data.inputs)
            ),
        )
        return Recorded(version)

    @post("/closing-plenary", opt=FACILITATE.opt(), status_code=200, responses=WRITE_ERRORS)
    async def closing_plenary(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        data: JSONBody[ClosingPlenaryIn],
    ) -> Recorded:
        """The closing plenary (afsluttende orientering): reports the agreements made and lists
        the proposals that need investigation or a decision."""
        version = await run(
            request, tenant_id, day.HoldClosingPlenary(engagement_id=engagement_id, notes=data.notes)
        )
        return Recorded(version)
