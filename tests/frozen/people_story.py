"""What the people copy holds (`tests/frozen/2026-12-07-people/`): one small client organisation
in which every event type of the release that added people, personal codes and messages is
recorded, written with the release's own control plane, front door and use cases, every event
dated by the product's provenance.

- The platform: the organisation onboarded, its consultant and planning group granted roles.
- People: an invitation by e-mail with its link, the link sent again, accepted by link; another
  invitation revoked (on the roster and in the invitee's inbox); a third whose expired link is
  used; a forgotten password asked for and set through its link.
- Messages: the planning group chooses who receives which topic; a recipient turns one off.
- A theme day rated one by one: a unit's personal codes issued, extended, a lost slip revoked,
  then every slip of the unit revoked; an engagement prepared and taken to the theme day.

The story (`tests/frozen/story.py`) of the first copy stays as that copy's release wrote it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from domain.default_instrument import DEFAULT_INSTRUMENT
from domain.notifications import Receivers, Topic
from domain.phases import Phase
from domain.preparation import Preparation
from domain.ratings import RatingMode
from domain.roles import Role
from domain.user import User
from services.application import TenantApplication
from services.auth.join_codes import digest_of, end_of_theme_day
from services.auth.personal_codes import derived_code
from services.bootstrap import Container
from services.demo import Actor, demo_id
from services.memberships import Memberships
from services.usecases import engagements, handle, notifications
from services.usecases import organisation as units
from services.usecases import theme_day as day
from services.usecases.tenants import onboard_tenant
from tests.frozen.questions import ADMIN_EMAIL

TENANT_NAME = "Frossen Region — Personer"
TENANT_SLUG = "frossen-region"
PASSWORD = "frossen adgangskode"
UNIT_NAMES = ("Modtagelsen", "Sengeafsnittet", "Ambulatoriet")
THEME_DAY = date(2026, 11, 17)


def _moment(year: int, month: int, day_: int, hour: int = 10) -> datetime:
    return datetime(year, month, day_, hour, tzinfo=UTC)


class PeopleStory:
    """Writes the people copy's story into a container built on an empty data directory."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.control = container.control
        self.tenant_id = self.control.tenant_id_for(TENANT_SLUG)
        self.system = Actor(self.tenant_id, demo_id("frozen-people", "system"), Role.CONSULTANCY_ADMIN)
        self.users: dict[str, UUID] = {}
        self.members = Memberships(self.control, container.tenants)

    def actor(self, key: str, role: Role) -> Actor:
        return Actor(self.tenant_id, self.users[key], role)

    def write(self) -> None:
        self.platform()
        self.invitations()
        self.forgotten_password()
        self.messages()
        engagement_id = self.engagement()
        self.personal_codes(engagement_id)
        self.rated_by_code(engagement_id)
        # The chain head anchored on the platform as the projector does after catching up.
        self.container.projections.catch_up_now(self.tenant_id)

    def platform(self) -> None:
        s = self.system
        onboard_tenant(self.container, TENANT_NAME, TENANT_SLUG, s.at(_moment(2025, 1, 13), "OnboardTenant"))
        for key, email, platform_role in (
            ("admin", ADMIN_EMAIL, Role.CONSULTANCY_ADMIN),
            ("consultant", "konsulent@region.example", Role.CONSULTANT),
            ("manager", "leder@region.example", None),
        ):
            self.users[key] = self.control.register_user(
                email,
                key.capitalize(),
                PASSWORD,
                platform_role,
                s.at(_moment(2025, 1, 13, 11), "RegisterUser"),
            )
        admin = self.actor("admin", Role.CONSULTANCY_ADMIN)
        for key, role in (("consultant", Role.CONSULTANT), ("manager", Role.CLIENT_ADMIN)):
            self.members.grant(
                self.tenant_id, self.users[key], role, admin.at(_moment(2025, 1, 14), "GrantMembership")
            )

    def _invite(self, email: str, role: Role, by: Actor, moment: datetime) -> UUID:
        """As `services.usecases.people.invite_by_email` does: offered on the roster, then its link."""
        invitee_id = User.create_id(email)
        p = by.at(moment, "InviteByEmail")
        self.members.invite(self.tenant_id, invitee_id, role, p)
        self.control.send_invitation_link(invitee_id, self.tenant_id, email, moment + timedelta(hours=72), p)
        return invitee_id

    def invitations(self) -> None:
        manager = self.actor("manager", Role.CLIENT_ADMIN)
        consultant = self.actor("consultant", Role.CONSULTANT)
        # Invited, the link sent again (the first stops working), accepted through the second.
        planner = self._invite("planlaegger@region.example", Role.CLIENT_ADMIN, manager, _moment(2026, 9, 7))
        resent = _moment(2026, 9, 9)
        issue = self.control.send_invitation_link(
            planner,
            self.tenant_id,
            "planlaegger@region.example",
            resent + timedelta(hours=72),
            manager.at(resent, "ResendInvitation"),
        )
        self.control.register_user(
            "planlaegger@region.example",
            "Planner",
            PASSWORD,
            None,
            self.system.at(_moment(2026, 9, 10), "AcceptInvitationByLink"),
        )
        invitee = Actor(self.tenant_id, planner, Role.CLIENT_ADMIN)
        self.members.accept_by_link(
            self.tenant_id, planner, issue, invitee.at(_moment(2026, 9, 10), "AcceptInvitationByLink")
        )
        # Invited and withdrawn before an answer.
        withdrawn = self._invite("fejl@region.example", Role.PARTICIPANT, manager, _moment(2026, 9, 14))
        self.members.revoke_invitation(
            self.tenant_id, withdrawn, manager.at(_moment(2026, 9, 15), "RevokeInvitation")
        )
        # Invited; the link used after it expired, and the use refused.
        late = self._invite("sen@region.example", Role.AUDITOR, consultant, _moment(2026, 9, 21))
        self.control.refuse_expired_link(
            self.tenant_id,
            late,
            1,
            Actor(self.tenant_id, late, Role.AUDITOR).at(_moment(2026, 9, 28), "AcceptInvitationByLink"),
        )

    def forgotten_password(self) -> None:
        manager = self.users["manager"]
        who = Actor(self.tenant_id, manager, Role.CLIENT_ADMIN)
        asked = _moment(2026, 10, 5)
        issue = self.control.request_password_reset(
            "leder@region.example", asked + timedelta(minutes=60), who.at(asked, "RequestPasswordReset")
        )
        assert issue is not None
        self.control.reset_password(
            manager, issue, PASSWORD + " ny", who.at(asked + timedelta(minutes=20), "ResetPassword")
        )

    def messages(self) -> None:
        manager = self.actor("manager", Role.CLIENT_ADMIN)
        consultant = self.actor("consultant", Role.CONSULTANT)

        def choose(app: TenantApplication) -> None:
            handle(
                app,
                notifications.ChooseReceivers(
                    tenant_id=self.tenant_id,
                    choices={Topic.CHECK_INS: Receivers.BOTH, Topic.DIGEST: Receivers.CONSULTANTS},
                ),
                manager.at(_moment(2026, 10, 12), "ChooseReceivers"),
            )
            handle(
                app,
                notifications.TurnOffMessages(
                    tenant_id=self.tenant_id, topic=Topic.DIGEST, address="konsulent@region.example"
                ),
                consultant.at(_moment(2026, 10, 19), "TurnOffMessages"),
            )

        self.container.tenants.call(self.tenant_id, choose)

    def engagement(self) -> UUID:
        client = self.actor("manager", Role.CLIENT_ADMIN)
        tid = self.tenant_id

        def build(app: TenantApplication) -> UUID:
            # Established long before: the organisation is asked as of moments back to 2025.
            prepared = client.at(_moment(2025, 1, 15), "EstablishOrganisation")
            handle(app, units.EstablishOrganisation(tenant_id=tid, name=TENANT_NAME), prepared)
            ids = tuple(
                handle(
                    app, units.AddUnit(tenant_id=tid, name=name), client.at(_moment(2025, 1, 15), "AddUnit")
                )
                for name in UNIT_NAMES
            )
            preparation = Preparation(
                title="Sammen om indlæggelsen 2026",
                focus="Overgange mellem modtagelse, sengeafsnit og ambulatorium",
                target_group="Medarbejdere i de tre enheder",
                work_process="Fra henvisning til udskrivning",
                planning_group=("Oversygeplejerske", "Ledende lægesekretær"),
                theme_day=THEME_DAY,
                follow_up_meeting=THEME_DAY + timedelta(days=42),
            )
            return handle(
                app,
                engagements.PrepareEngagement(
                    tenant_id=tid,
                    preparation=preparation,
                    unit_ids=ids,
                    instrument=DEFAULT_INSTRUMENT,
                    rating_mode=RatingMode.INDIVIDUAL,
                    min_group_size=3,
                    rounds=2,
                ),
                client.at(_moment(2026, 10, 2), "PrepareEngagement"),
            )

        eid: UUID = self.container.tenants.call(tid, build)
        return eid

    def personal_codes(self, engagement_id: UUID) -> None:
        """As `services.usecases.personal_codes` issues them: derived from batch and slip."""
        facilitator = self.actor("consultant", Role.CONSULTANT)
        engagement = self.container.tenants.call(self.tenant_id, lambda app: app.engagement(engagement_id))
        first, second = engagement.unit_ids[:2]
        expires = end_of_theme_day(engagement.preparation.theme_day)
        key, digesting = self.container.personal_code_keys[0], self.container.join_code_key

        def digest_for(batch_id: UUID, slip: int, draw: int) -> str:
            return digest_of(digesting, derived_code(key, self.tenant_id, batch_id, slip, draw))

        # The first unit's codes issued, extended and a lost slip revoked; the second unit's
        # codes issued and every one of them revoked (the unit came to rate as a table).
        for unit_id, people, moment in (
            (first, 6, _moment(2026, 11, 10)),
            (first, 2, _moment(2026, 11, 16)),
            (second, 4, _moment(2026, 11, 10, 11)),
        ):
            self.control.issue_personal_codes(
                self.tenant_id,
                engagement_id,
                unit_id,
                engagement.rating_mode,
                people,
                digest_for,
                expires,
                facilitator.at(moment, "IssuePersonalCodes"),
            )
        for unit_id, slip, moment in (
            (first, 3, _moment(2026, 11, 17, 8)),
            (second, None, _moment(2026, 11, 17, 9)),
        ):
            self.control.revoke_personal_codes(
                self.tenant_id, engagement_id, unit_id, slip, facilitator.at(moment, "RevokePersonalCodes")
            )

    def rated_by_code(self, engagement_id: UUID) -> None:
        """On the theme day, three holders of the first unit's codes rate its relation to the
        second unit, each as the code they joined with (a pseudonym of the code's id)."""
        facilitator = self.actor("consultant", Role.CONSULTANT)
        batch = self.control.personal_codes(
            self.tenant_id,
            engagement_id,
            self.container.tenants.call(self.tenant_id, lambda app: app.engagement(engagement_id)).unit_ids[
                0
            ],
        )
        assert batch is not None

        def rate(app: TenantApplication) -> None:
            engagement = app.engagement(engagement_id)
            first, second = engagement.unit_ids[:2]
            opened = _moment(2026, 11, 17, 9)
            for phase in (Phase.PREPARED, Phase.THEME_DAY_OPEN):
                handle(
                    app,
                    engagements.AdvancePhase(engagement_id=engagement_id, expected_phase=phase),
                    facilitator.at(opened, "AdvancePhase"),
                )
            handle(
                app,
                day.MapRelations(engagement_id=engagement_id, unit_id=first, counterpart_ids=(second,)),
                facilitator.at(opened + timedelta(minutes=30), "MapRelations"),
            )
            for minute, slip in enumerate(batch.usable_slips()[:3]):
                holder = Actor(self.tenant_id, batch.code_of(slip), Role.PARTICIPANT)
                scores = {
                    key: 2 + (slip + index) % 4 for index, key in enumerate(DEFAULT_INSTRUMENT.dimension_keys)
                }
                handle(
                    app,
                    day.SubmitRating(
                        engagement_id=engagement_id, unit_id=first, counterpart_id=second, scores=scores
                    ),
                    holder.at(opened + timedelta(minutes=60 + minute), "SubmitRating"),
                )

        self.container.tenants.call(self.tenant_id, rate)
