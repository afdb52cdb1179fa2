"""What the frozen store holds: one client organisation over two years of the method, written
with the release's own commands, control plane and front door, every event dated by the
product's provenance (never by the clock of the day it was generated).

The first engagement (2025, ratings as units) is the demo's year (`services.demo`); the second
(2026, individual ratings on a loaded instrument) takes every turn the first does not: a revised
preparation, a phase moved back, a card withdrawn, rounds changed, a dialogue moved, outcomes
added after a dialogue, a participant's name erased. Between them the organisation merges,
renames, splits and retires units. Around them: members granted, invited, changed and removed,
a password changed, an account deactivated, join codes issued and revoked, an auditor's access,
a chain head anchored, a second organisation onboarded and erased.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

from domain.default_instrument import DEFAULT_INSTRUMENT
from domain.instrument import Dimension, InstrumentVersion, StrengthBand
from domain.phases import Phase
from domain.provenance import Provenance
from domain.roles import Role
from services.application import TenantApplication
from services.auth.join_codes import ALPHABET, CODE_LENGTH, digest_of, end_of_theme_day
from services.bootstrap import Container
from services.demo import Actor, EngagementStory, at, demo_id
from services.memberships import Memberships
from services.usecases import handle
from services.usecases import organisation as units
from services.usecases.tenants import erase_tenant, onboard_tenant
from tests.frozen.second_year import SecondYear

TENANT_NAME = "Frossen Kommune — Sundhed"
TENANT_SLUG = "frossen-kommune"
ERASED_SLUG = "slettet-aps"
PASSWORD = "frossen adgangskode"
SEED = 2025

UNIT_NAMES = (
    "Visitationen",
    "Hjemmeplejen Nord",
    "Hjemmeplejen Syd",
    "Træningen",
    "Akutteamet",
    "Sygeplejen",
)


def _moment(year: int, month: int, day_: int, hour: int = 10) -> datetime:
    return datetime(year, month, day_, hour, tzinfo=UTC)


def _instrument_dimensions(suffix: str) -> tuple[Dimension, ...]:
    return tuple(
        Dimension(d.key, d.name_da, d.name_en, d.question_da + suffix, d.question_en + suffix)
        for d in DEFAULT_INSTRUMENT.dimensions
    )


BANDS = (
    StrengthBand(Decimal(1), "Svag", "Weak"),
    StrengthBand(Decimal("2.5"), "Middel", "Moderate"),
    StrengthBand(Decimal("3.75"), "Stærk", "Strong"),
)


class FrozenStory:
    """Writes the story into a container built on an empty data directory."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.control = container.control
        self.tenant_id = self.control.tenant_id_for(TENANT_SLUG)
        self.rng = random.Random(SEED)
        self.system = Actor(self.tenant_id, demo_id("frozen", "system"), Role.CONSULTANCY_ADMIN)
        self.users: dict[str, UUID] = {}

    # -- the platform ----------------------------------------------------------------------

    def platform(self) -> None:
        s = self.system
        onboard_tenant(
            self.container, "Frossen Kommune", TENANT_SLUG, s.at(_moment(2025, 1, 6), "OnboardTenant")
        )
        self.control.rename_tenant(self.tenant_id, TENANT_NAME, s.at(_moment(2025, 1, 7), "RenameTenant"))
        people = (
            ("admin", "admin@frossen.example", Role.CONSULTANCY_ADMIN),
            ("consultant", "konsulent@frossen.example", Role.CONSULTANT),
            ("manager", "leder@frossen.example", None),
            ("auditor", "revisor@frossen.example", None),
            ("planner", "planlaegger@frossen.example", None),
            ("leaver", "tidligere@frossen.example", None),
        )
        for key, email, platform_role in people:
            self.users[key] = self.control.register_user(
                email,
                key.capitalize(),
                PASSWORD,
                platform_role,
                s.at(_moment(2025, 1, 7, 11), "RegisterUser"),
            )
        admin = Actor(self.tenant_id, self.users["admin"], Role.CONSULTANCY_ADMIN)
        manager = Actor(self.tenant_id, self.users["manager"], Role.CLIENT_ADMIN)
        consultant = Actor(self.tenant_id, self.users["consultant"], Role.CONSULTANT)
        members = Memberships(self.control, self.container.tenants)
        when = _moment(2025, 1, 8)
        for key, role in (
            ("consultant", Role.CONSULTANT),
            ("manager", Role.CLIENT_ADMIN),
            ("auditor", Role.AUDITOR),
            ("leaver", Role.PARTICIPANT),
        ):
            members.grant(self.tenant_id, self.users[key], role, admin.at(when, "GrantMembership"))
        # The consultant invites; the invitee accepts, and is later given another role.
        members.grant(
            self.tenant_id,
            self.users["planner"],
            Role.PARTICIPANT,
            consultant.at(_moment(2025, 1, 9), "GrantMembership"),
        )
        planner = Actor(self.tenant_id, self.users["planner"], Role.PARTICIPANT)
        (offer,) = members.pending(self.users["planner"])
        members.accept(
            self.users["planner"],
            offer.id,
            lambda _t, role: planner.at(_moment(2025, 1, 10), "AcceptInvitation"),
        )
        members.change(
            self.tenant_id,
            self.users["planner"],
            Role.CLIENT_ADMIN,
            admin.at(_moment(2025, 2, 3), "ChangeRole"),
        )
        members.remove(
            self.tenant_id, self.users["leaver"], admin.at(_moment(2025, 6, 2), "RemoveMembership")
        )
        self.control.deactivate_user(
            self.users["leaver"], admin.at(_moment(2025, 6, 2, 11), "DeactivateUser")
        )
        user = self.control.user(self.users["manager"])
        user.change_password(
            self.control.passwords.hash(PASSWORD + " ny"), manager.at(_moment(2025, 2, 1), "ChangePassword")
        )
        self.control.save(user)
        # A second organisation, onboarded and erased: only its record on the platform stays.
        onboard_tenant(
            self.container, "Slettet ApS", ERASED_SLUG, s.at(_moment(2025, 1, 6, 12), "OnboardTenant")
        )
        erase_tenant(self.container, ERASED_SLUG, admin.at(_moment(2025, 5, 1), "EraseTenant"))

    def instrument(self) -> InstrumentVersion:
        admin = Actor(self.tenant_id, self.users["admin"], Role.CONSULTANCY_ADMIN)
        first = self.control.create_instrument(
            "Frossent instrument",
            1,
            5,
            _instrument_dimensions(""),
            BANDS,
            admin.at(_moment(2025, 11, 3), "CreateInstrument"),
        )
        return self.control.publish_instrument_version(
            first.instrument_id,
            1,
            5,
            _instrument_dimensions(" (revideret)"),
            BANDS,
            admin.at(_moment(2025, 12, 1), "PublishInstrumentVersion"),
        )

    # -- the organisation over two years ------------------------------------------------------

    def write(self) -> None:
        self.platform()
        instrument = self.instrument()
        facilitator = Actor(self.tenant_id, self.users["consultant"], Role.CONSULTANT)
        client = Actor(self.tenant_id, self.users["manager"], Role.CLIENT_ADMIN)
        second: list[UUID] = []

        def build(app: TenantApplication) -> None:
            tid = self.tenant_id
            handle(
                app,
                units.EstablishOrganisation(tenant_id=tid, name=TENANT_NAME),
                client.at(at(date(2025, 1, 9)), "EstablishOrganisation"),
            )
            ids = {
                name: handle(
                    app, units.AddUnit(tenant_id=tid, name=name), client.at(at(date(2025, 1, 9)), "AddUnit")
                )
                for name in UNIT_NAMES
            }
            strength: dict[frozenset[UUID], float] = {}
            story = EngagementStory(app, facilitator, client, self.rng, strength)
            story.run(2025, "Sammen om udskrivning 2025", ids, date(2025, 3, 11), Phase.FOLLOW_THROUGH)
            merged = handle(
                app,
                units.MergeUnits(
                    tenant_id=tid,
                    unit_ids=(ids["Hjemmeplejen Nord"], ids["Hjemmeplejen Syd"]),
                    name="Hjemmeplejen",
                ),
                client.at(at(date(2025, 9, 1)), "MergeUnits"),
            )
            handle(
                app,
                units.RenameUnit(
                    tenant_id=tid, unit_id=ids["Træningen"], name="Trænings- og Aktivitetscentret"
                ),
                client.at(at(date(2026, 1, 5)), "RenameUnit"),
            )
            day_team, night_team = handle(
                app,
                units.SplitUnit(
                    tenant_id=tid, unit_id=ids["Sygeplejen"], names=("Sygeplejen Dag", "Sygeplejen Aften")
                ),
                client.at(at(date(2026, 1, 12)), "SplitUnit"),
            )
            handle(
                app,
                units.RetireUnit(tenant_id=tid, unit_id=ids["Akutteamet"]),
                client.at(at(date(2026, 2, 2)), "RetireUnit"),
            )
            taking_part = (ids["Visitationen"], merged, ids["Træningen"], day_team, night_team)
            second.append(SecondYear(app, taking_part, instrument, facilitator, client, self.rng).run())

        self.container.tenants.call(self.tenant_id, build)
        self.join_codes(second[0], facilitator)
        self.auditor_looked()
        self.anchor()

    def join_codes(self, engagement_id: UUID, f: Actor) -> None:
        """Codes for two tables, valid until the end of the theme day as the product issues them;
        drawn from the story's seed rather than the system's randomness (a code's id follows from
        its digest), so that a second run of the generator issues the same codes."""
        engagement = self.container.tenants.call(self.tenant_id, lambda app: app.engagement(engagement_id))
        expires = end_of_theme_day(engagement.preparation.theme_day)
        issued = []
        for index, unit_id in enumerate(engagement.unit_ids[:2]):
            code = "".join(self.rng.choice(ALPHABET) for _ in range(CODE_LENGTH))
            issued.append(
                self.control.issue_join_code(
                    self.tenant_id,
                    engagement_id,
                    unit_id,
                    digest_of(self.container.join_code_key, code),
                    expires,
                    f.at(_moment(2026, 4, 13, 8 + index), "IssueJoinCode"),
                )
            )
        self.control.revoke_join_code(issued[0].id, f.at(_moment(2026, 4, 14, 12), "RevokeJoinCode"))

    def auditor_looked(self) -> None:
        auditor = Actor(self.tenant_id, self.users["auditor"], Role.AUDITOR)
        path = f"/api/v1/tenants/{self.tenant_id}/audit"
        for moment in (_moment(2026, 6, 1), _moment(2026, 6, 2), _moment(2026, 7, 1)):
            provenance = auditor.at(moment, "ReadAuditTrail")

            def record(app: TenantApplication, p: Provenance = provenance) -> None:
                app.record_auditor_access(self.tenant_id, "GET", path, "page=1", 200, p)

            self.container.tenants.call(self.tenant_id, record)

    def anchor(self) -> None:
        """The chain head anchored on the platform as the projector does after catching up."""
        self.container.projections.catch_up_now(self.tenant_id)
