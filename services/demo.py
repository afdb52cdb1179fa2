"""Demo data: a Danish municipality's health and care area over three years of engagements.

Everything goes through the same commands and handlers the API and the pages hand to the
front door (`services.usecases`), with the dates the
things happened on, so the demo is itself a run of the whole method. Deterministic: the same
seed gives the same history.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar
from uuid import UUID, uuid5

from domain.agreements import CheckInStatus
from domain.default_instrument import DEFAULT_INSTRUMENT
from domain.phases import Phase
from domain.preparation import Preparation
from domain.proposals import ProposalStatus
from domain.provenance import Provenance
from domain.ratings import RatingMode
from domain.roles import Role
from services.application import TenantApplication
from services.bootstrap import Container
from services.usecases import engagements, handle
from services.usecases import follow_up as follow_up_
from services.usecases import organisation as units_
from services.usecases import theme_day as day
from services.usecases.tenants import onboard_tenant

T = TypeVar("T")

DEMO_PASSWORD = "balkort-demo"  # noqa: S105 - the published password of the demo users
DEMO_TENANT_SLUG = "soeby-sundhed-og-omsorg"
DEMO_TENANT_NAME = "Søby Kommune — Sundhed og Omsorg"
SEED_NAMESPACE = UUID("0d2b7a4e-8f57-5b1e-a3c4-6e0f1d9b2c71")


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    platform_role: Role | None
    tenant_role: Role | None


DEMO_USERS = (
    DemoUser(
        "admin@balkort.example", "Birgitte Holm (konsulenthusets administrator)", Role.CONSULTANCY_ADMIN, None
    ),
    DemoUser("konsulent@balkort.example", "Mads Kjærgaard (konsulent)", Role.CONSULTANT, Role.CONSULTANT),
    DemoUser("leder@soeby.example", "Hanne Østergaard (sundhedschef)", None, Role.CLIENT_ADMIN),
    DemoUser("revisor@soeby.example", "Jens Lund (revisor)", None, Role.AUDITOR),
)

UNITS = (
    "Visitationen",
    "Hjemmeplejen Nord",
    "Hjemmeplejen Syd",
    "Hjemmesygeplejen",
    "Træningsenheden",
    "Akutteamet",
    "Plejecenter Egebakken",
    "Rehabiliteringsteamet",
    "Sundhedshuset",
)

TOPICS = (
    (
        "Overlevering ved udskrivning",
        "Vi mangler oplysninger, når borgeren kommer hjem",
        "En fælles tjekliste",
    ),
    ("Medicin og dosering", "Ændringer når ikke frem i tide", "Faste tidspunkter for opdatering"),
    ("Fælles mål for borgeren", "Vi arbejder i hver sin retning", "Én plan, som begge kender"),
    ("Henvisninger", "Henvisninger kommer uden det, vi skal bruge", "Klare krav til en henvisning"),
    ("Akutte ændringer", "Vi hører om det for sent", "En direkte linje i dagtimerne"),
    ("Genoptræningsplaner", "Planen følges ikke op i hjemmet", "Fælles opfølgning efter to uger"),
)

AGREEMENTS = (
    "Vi holder et kort fælles tavlemøde hver tirsdag kl. 8.30",
    "Udskrivningsnotatet bruger fremover den fælles skabelon",
    "Vi har en fast kontaktperson i hver enhed, opdateret på intranettet",
    "Ændringer i medicin meldes til begge enheder samme dag",
    "Vi deltager i hinandens morgenmøde én gang om måneden",
    "Nye medarbejdere får en halv dag i den anden enhed",
)

PROPOSALS = (
    "Fælles elektronisk tavle på tværs af enhederne",
    "Ændret vagtplan, så overlap ved vagtskifte bliver 15 minutter",
    "Undersøg muligheden for en fælles sygeplejerske i weekenden",
    "Fælles kursus i rehabiliterende tilgang",
)


def demo_id(*parts: object) -> UUID:
    return uuid5(SEED_NAMESPACE, "/".join(str(p) for p in parts))


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=UTC)


@dataclass
class Actor:
    """Builds the provenance of demo commands: who acted, when it happened, a stable command id."""

    tenant_id: UUID
    user_id: UUID
    role: Role
    counter: list[int] = field(default_factory=lambda: [0])

    def at(self, moment: datetime, command: str) -> Provenance:
        self.counter[0] += 1
        return Provenance(
            actor_id=self.user_id,
            actor_role=self.role,
            tenant_id=self.tenant_id,
            occurred_at=moment,
            recorded_at=moment + timedelta(minutes=2),
            command_id=demo_id("command", self.tenant_id, self.user_id, self.counter[0]),
            command_name=command,
            correlation_id=f"demo-{self.counter[0]}",
        )


def seed_users(container: Container, tenant_id: UUID, system: Provenance) -> dict[str, UUID]:
    control = container.control
    users: dict[str, UUID] = {}
    for user in DEMO_USERS:
        user_id = control.register_user(user.email, user.name, DEMO_PASSWORD, user.platform_role, system)
        if user.tenant_role is not None:
            control.grant_membership(user_id, tenant_id, user.tenant_role, system)
        users[user.email] = user_id
    return users


class EngagementStory:
    """One year's run of the method, with ratings that depend on the relation's history."""

    def __init__(
        self,
        app: TenantApplication,
        facilitator: Actor,
        client: Actor,
        rng: random.Random,
        strength: dict[frozenset[UUID], float],
    ) -> None:
        self.app = app
        self.facilitator = facilitator
        self.client = client
        self.rng = rng
        self.strength = strength

    def score(self, pair: frozenset[UUID]) -> dict[str, int]:
        base = self.strength.setdefault(pair, self.rng.uniform(2.0, 3.8))
        return {
            key: max(1, min(5, round(base + self.rng.uniform(-0.8, 0.8))))
            for key in DEFAULT_INSTRUMENT.dimension_keys
        }

    def run(self, year: int, title: str, units: dict[str, UUID], theme_day: date, final_phase: Phase) -> UUID:
        f, c = self.facilitator, self.client
        unit_ids = tuple(units.values())
        prep_day = theme_day - timedelta(days=45)
        follow_up = theme_day + timedelta(days=42)
        preparation = Preparation(
            title=title,
            focus="Sammenhængende forløb for borgere, der udskrives fra sygehus til eget hjem",
            target_group="Ledere og medarbejdere i de deltagende enheder",
            work_process="Fra varsling af udskrivning til stabilt forløb i hjemmet",
            planning_group=(
                "Sundhedschef Hanne Østergaard",
                "Leder af Visitationen",
                "HR-partner",
                "TR-repræsentant",
            ),
            theme_day=theme_day,
            follow_up_meeting=follow_up,
        )
        eid = handle(
            self.app,
            engagements.PrepareEngagement(
                tenant_id=c.tenant_id,
                preparation=preparation,
                unit_ids=unit_ids,
                instrument=DEFAULT_INSTRUMENT,
                rating_mode=RatingMode.UNIT,
                min_group_size=3,
                rounds=3,
            ),
            c.at(at(prep_day), "PrepareEngagement"),
        )
        moment = at(theme_day, 9)

        def step(hours: float) -> datetime:
            nonlocal moment
            moment += timedelta(hours=hours)
            return moment

        def advance(phase: Phase) -> None:
            handle(
                self.app,
                engagements.AdvancePhase(engagement_id=eid, expected_phase=phase),
                f.at(step(0.1), "AdvancePhase"),
            )

        advance(Phase.PREPARED)
        advance(Phase.THEME_DAY_OPEN)
        ratings: dict[tuple[UUID, UUID], UUID] = {}
        for unit_id in unit_ids:
            others = [u for u in unit_ids if u != unit_id]
            mapped = tuple(self.rng.sample(others, k=min(4, len(others))))
            handle(
                self.app,
                day.MapRelations(engagement_id=eid, unit_id=unit_id, counterpart_ids=mapped),
                f.at(step(0.02), "MapRelations"),
            )
            for counterpart in mapped:
                ratings[(unit_id, counterpart)] = handle(
                    self.app,
                    day.SubmitRating(
                        engagement_id=eid,
                        unit_id=unit_id,
                        counterpart_id=counterpart,
                        scores=self.score(frozenset((unit_id, counterpart))),
                    ),
                    f.at(step(0.01), "SubmitRating"),
                )
        advance(Phase.MAPPING)
        cards: list[UUID] = []
        for unit_id in unit_ids:
            own = [(pair, rid) for pair, rid in ratings.items() if pair[0] == unit_id]
            weakest = sorted(own, key=lambda item: self.strength[frozenset(item[0])])[:2]
            for (_, counterpart), rating_id in weakest:
                topic, reason, hope = self.rng.choice(TOPICS)
                card_id = handle(
                    self.app,
                    day.SendDanceCard(
                        engagement_id=eid,
                        from_unit=unit_id,
                        to_unit=counterpart,
                        topic=topic,
                        reason=reason,
                        hoped_outcome=hope,
                        motivating_rating_id=rating_id,
                    ),
                    f.at(step(0.02), "SendDanceCard"),
                )
                if self.rng.random() < 0.85:
                    handle(
                        self.app,
                        day.AcceptDanceCard(engagement_id=eid, card_id=card_id, unit_id=counterpart),
                        f.at(step(0.01), "AcceptDanceCard"),
                    )
                    cards.append(card_id)
                else:
                    handle(
                        self.app,
                        day.DeclineDanceCard(
                            engagement_id=eid,
                            card_id=card_id,
                            unit_id=counterpart,
                            reason="Vi har allerede en aftale om det",
                        ),
                        f.at(step(0.01), "DeclineDanceCard"),
                    )
        handle(self.app, day.ScheduleDialogues(engagement_id=eid), f.at(step(0.2), "ScheduleDialogues"))
        advance(Phase.DANCE_CARDS)
        engagement = self.app.engagement(eid)
        agreements: list[UUID] = []
        proposals: list[UUID] = []
        for card_id in cards:
            card = engagement.cards[card_id]
            if card.round is None:
                continue
            needs = self.rng.random() < 0.35
            proposal_texts = (self.rng.choice(PROPOSALS),) if self.rng.random() < 0.4 else ()
            _, made, proposed = handle(
                self.app,
                day.HoldDialogue(
                    engagement_id=eid,
                    card_id=card_id,
                    notes=f"Dialog om {card.topic.lower()}.",
                    participants=("Deltager fra hver enhed",),
                    agreements=((self.rng.choice(AGREEMENTS), needs),),
                    proposals=proposal_texts,
                ),
                f.at(step(0.05), "HoldDialogue"),
            )
            agreements.extend(made)
            proposals.extend(proposed)
            # Agreements strengthen the relation they were made on, a little.
            self.strength[frozenset(card.units)] += 0.45
        advance(Phase.DIALOGUES)
        for name, unit_id in units.items():
            handle(
                self.app,
                day.WrapUpUnit(
                    engagement_id=eid,
                    unit_id=unit_id,
                    summary=f"{name} tager aftalerne med hjem til personalemødet.",
                    inputs=("Aftalerne præsenteres på næste personalemøde",),
                ),
                f.at(step(0.03), "WrapUpUnit"),
            )
        advance(Phase.WRAP_UP)
        handle(
            self.app,
            day.HoldClosingPlenary(engagement_id=eid, notes="Aftaler og forslag blev gennemgået i plenum."),
            f.at(step(0.3), "HoldClosingPlenary"),
        )
        if final_phase is Phase.CLOSING_PLENARY:
            return eid
        advance(Phase.CLOSING_PLENARY)
        meeting = at(follow_up, 13)
        engagement = self.app.engagement(eid)
        for agreement_id in agreements:
            if engagement.agreements[agreement_id].needs_acceptance:
                accepted = self.rng.random() < 0.8
                handle(
                    self.app,
                    follow_up_.DecideAgreement(
                        engagement_id=eid,
                        agreement_id=agreement_id,
                        accepted=accepted,
                        rationale=(
                            "Passer med den fælles plan"
                            if accepted
                            else "Kræver flere ressourcer end vi har i år"
                        ),
                        decided_by="Direktionen for Sundhed og Omsorg",
                    ),
                    c.at(meeting, "DecideAgreement"),
                )
        deferred: list[UUID] = []
        for index, proposal_id in enumerate(proposals):
            outcome = (
                ProposalStatus.APPROVED,
                ProposalStatus.DEFERRED,
                ProposalStatus.UNDER_INVESTIGATION,
                ProposalStatus.REJECTED,
            )[index % 4]
            handle(
                self.app,
                follow_up_.DecideProposal(
                    engagement_id=eid,
                    proposal_id=proposal_id,
                    outcome=outcome,
                    rationale="Drøftet på opfølgningsmødet",
                    decided_by="Direktionen for Sundhed og Omsorg",
                    deferred_until=follow_up + timedelta(days=90)
                    if outcome is ProposalStatus.DEFERRED
                    else None,
                    owner="Leder af Visitationen" if outcome is ProposalStatus.UNDER_INVESTIGATION else None,
                    due=follow_up + timedelta(days=60)
                    if outcome is ProposalStatus.UNDER_INVESTIGATION
                    else None,
                ),
                c.at(meeting, "DecideProposal"),
            )
            if outcome is ProposalStatus.DEFERRED:
                deferred.append(proposal_id)
        handle(
            self.app,
            engagements.AdvancePhase(engagement_id=eid, expected_phase=Phase.FOLLOW_UP_MEETING),
            c.at(meeting + timedelta(hours=2), "AdvancePhase"),
        )
        engagement = self.app.engagement(eid)
        in_force = [
            a for a in agreements if engagement.agreements[a].status.value in ("in_force", "accepted")
        ]
        for months in (6, 12):
            check_day = at(theme_day + timedelta(days=30 * months), 11)
            if check_day.date() > date(2026, 11, 1):
                break
            for agreement_id in in_force:
                status = self.rng.choices(
                    list(CheckInStatus), weights=(5, 3, 2, 1) if months == 6 else (6, 1, 3, 2)
                )[0]
                handle(
                    self.app,
                    follow_up_.CheckInOnAgreement(
                        engagement_id=eid,
                        agreement_id=agreement_id,
                        status=status,
                        note="Gennemgået med begge enheder",
                        evidence=f"Referat fra ledermøde {check_day.date().isoformat()}",
                    ),
                    c.at(check_day, "CheckInOnAgreement"),
                )
        for proposal_id in deferred:
            handle(
                self.app,
                follow_up_.DecideProposal(
                    engagement_id=eid,
                    proposal_id=proposal_id,
                    outcome=ProposalStatus.APPROVED,
                    rationale="Taget op igen næste kvartal; der er nu budget",
                    decided_by="Direktionen for Sundhed og Omsorg",
                ),
                c.at(at(follow_up + timedelta(days=95), 13), "DecideProposal"),
            )
        return eid


def seed_demo(container: Container, *, seed: int = 2024) -> UUID:
    """Seed the demo consultancy, its users and a client organisation with three years of history.
    Returns the tenant id. Not idempotent: seed an empty data directory (see `demo_exists`)."""
    tenant_id = container.control.tenant_id_for(DEMO_TENANT_SLUG)
    system_user = demo_id("system")
    system = Actor(tenant_id, system_user, Role.CONSULTANCY_ADMIN).at(at(date(2024, 1, 8)), "SeedDemo")
    onboard_tenant(container, DEMO_TENANT_NAME, DEMO_TENANT_SLUG, system)
    users = seed_users(container, tenant_id, system)
    facilitator = Actor(tenant_id, users["konsulent@balkort.example"], Role.CONSULTANT)
    client = Actor(tenant_id, users["leder@soeby.example"], Role.CLIENT_ADMIN)
    rng = random.Random(seed)  # noqa: S311 - believable, repeatable data; nothing secret

    def in_tenant(fn: Callable[[TenantApplication], T]) -> T:
        return container.tenants.call(tenant_id, fn)

    def build(app: TenantApplication) -> None:
        handle(
            app,
            units_.EstablishOrganisation(tenant_id=tenant_id, name="Søby Kommune, Sundhed og Omsorg"),
            client.at(at(date(2024, 1, 10)), "EstablishOrganisation"),
        )
        units = {
            name: handle(
                app,
                units_.AddUnit(tenant_id=tenant_id, name=name),
                client.at(at(date(2024, 1, 10)), "AddUnit"),
            )
            for name in UNITS
        }
        strength: dict[frozenset[UUID], float] = {}
        story = EngagementStory(app, facilitator, client, rng, strength)
        first = {n: units[n] for n in UNITS[:8]}
        story.run(2024, "Sammen om udskrivning 2024", first, date(2024, 3, 12), Phase.FOLLOW_THROUGH)
        second = {n: units[n] for n in UNITS}
        story.run(2025, "Sammen om udskrivning 2025", second, date(2025, 3, 11), Phase.FOLLOW_THROUGH)
        # Reorganisation: the two home care districts merge; the training unit gets a new name.
        merged = handle(
            app,
            units_.MergeUnits(
                tenant_id=tenant_id,
                unit_ids=(units["Hjemmeplejen Nord"], units["Hjemmeplejen Syd"]),
                name="Hjemmeplejen",
            ),
            client.at(at(date(2025, 9, 1)), "MergeUnits"),
        )
        for pair in list(strength):
            if units["Hjemmeplejen Nord"] in pair or units["Hjemmeplejen Syd"] in pair:
                other = next(iter(pair - {units["Hjemmeplejen Nord"], units["Hjemmeplejen Syd"]}), None)
                if other is not None:
                    strength.setdefault(frozenset((merged, other)), strength[pair])
        handle(
            app,
            units_.RenameUnit(
                tenant_id=tenant_id, unit_id=units["Træningsenheden"], name="Trænings- og Aktivitetscentret"
            ),
            client.at(at(date(2026, 1, 5)), "RenameUnit"),
        )
        third = {n: u for n, u in units.items() if n not in ("Hjemmeplejen Nord", "Hjemmeplejen Syd")}
        third["Hjemmeplejen"] = merged
        story.run(2026, "Sammen om udskrivning 2026", third, date(2026, 3, 10), Phase.FOLLOW_THROUGH)

    in_tenant(build)
    return tenant_id


def demo_exists(container: Container) -> bool:
    return container.control.slug_taken(DEMO_TENANT_SLUG)
