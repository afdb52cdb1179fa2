"""The control plane: tenants, users and memberships, in the platform's own event store.

The instruments, join codes and chain anchors it keeps as well are in
`services/controlplane_records.py`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4, uuid5

import msgspec
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from domain.errors import AlreadyExists, Erased, NotFound
from domain.invitation import Invitations, invitation_id
from domain.provenance import Provenance
from domain.roles import Role
from domain.tenant import TENANT_DIRECTORY_ID, Tenant, TenantDirectory
from domain.user import User, normalise_email
from services.auth.passwords import Passwords
from services.controlplane_records import InstrumentSummary as InstrumentSummary
from services.controlplane_records import PlatformRecords
from services.errors import ConcurrentModification

# A tenant's erasure record, always its last event.
TENANT_ERASED_TOPIC = f"{get_topic(Tenant)}.TenantErased"
# Control-plane events are not about any one client organisation; they carry this id instead.
PLATFORM_ID = uuid5(UUID("7d1b2c3e-4f50-5a6b-8c7d-9e0f1a2b3c4d"), "balkort-platform")


class TenantSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A client organisation as listed on the platform."""

    id: UUID
    slug: str
    name: str


class PendingInvitation(msgspec.Struct, frozen=True, kw_only=True):
    """A role offered to a person in a client organisation, waiting for them to accept it."""

    id: UUID
    tenant_id: UUID
    tenant_name: str
    role: Role


class OfferedByLink(msgspec.Struct, frozen=True, kw_only=True):
    """An invitation as its link opens it: where, which role, to which address, until when, and
    whether the address has an account (it then signs in to accept instead of registering)."""

    id: UUID
    tenant_id: UUID
    tenant_name: str
    invitee_id: UUID
    role: Role
    email: str
    expires_at: datetime
    has_account: bool


class WaitingInvitation(msgspec.Struct, frozen=True, kw_only=True):
    """An invitation to one client organisation waiting for its answer, as its members see it."""

    id: UUID
    invitee_id: UUID
    role: Role
    email: str | None  # None: offered by account id, before links
    expires_at: datetime | None
    expired: bool


class Person(msgspec.Struct, frozen=True, kw_only=True):
    """Someone with an account: who, their platform role, whether they can sign in, their roles."""

    id: UUID
    email: str
    display_name: str
    platform_role: Role | None
    active: bool
    memberships: dict[UUID, Role]


# Applying a role or an invitation retries this often when the user was saved meanwhile.
MEMBERSHIP_SAVE_ATTEMPTS = 5


def system_provenance(
    command_name: str,
    *,
    now: datetime | None = None,
    actor_id: UUID = PLATFORM_ID,
    tenant_id: UUID = PLATFORM_ID,
    correlation_id: str | None = None,
) -> Provenance:
    """Provenance for what the platform does on its own behalf (first admin, password rehash,
    an operator's command line)."""
    at = now or datetime.now(UTC)
    return Provenance(
        actor_id=actor_id,
        actor_role=Role.CONSULTANCY_ADMIN,
        tenant_id=tenant_id,
        occurred_at=at,
        recorded_at=at,
        command_id=uuid4(),
        command_name=command_name,
        correlation_id=correlation_id or f"system:{command_name}",
    )


class ControlPlane(PlatformRecords):
    """The platform store: which client organisations exist, who may sign in, and where.

    Every method blocks on the event store; async callers run them through `OffLoop`.
    """

    name = "ControlPlane"

    def __init__(
        self,
        env: dict[str, Any] | None = None,
        *,
        passwords: Passwords | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(env)
        self.passwords = passwords or Passwords()
        self._erased_tenants: set[UUID] = set()
        self._clock = clock or (lambda: datetime.now(UTC))

    # Tenants

    @staticmethod
    def tenant_id_for(slug: str) -> UUID:
        """The id a tenant with this slug has (or will have once onboarded)."""
        return Tenant.create_id(slug)

    def onboard_tenant(self, name: str, slug: str, provenance: Provenance) -> UUID:
        """Records a new client organisation; raises AlreadyExists when the slug is taken."""
        if self._exists(Tenant.create_id(slug)):
            raise AlreadyExists("slug_of_erased_tenant", state=f"tenant {Tenant.create_id(slug)}", slug=slug)
        directory = self._directory(provenance)
        tenant = Tenant.onboard(name=name, slug=slug, provenance=provenance)
        directory.add(tenant_id=tenant.id, slug=tenant.slug, name=tenant.name, provenance=provenance)
        self.save(directory, tenant)
        return tenant.id

    def slug_taken(self, slug: str) -> bool:
        """True when a tenant with this slug is already onboarded."""
        return any(s == slug for s, _ in self._directory_state().values())

    def tenants(self) -> list[TenantSummary]:
        """All client organisations, by name."""
        listed = [
            TenantSummary(id=tid, slug=slug, name=name)
            for tid, (slug, name) in self._directory_state().items()
        ]
        return sorted(listed, key=lambda t: (t.name.casefold(), t.slug))

    def tenant(self, tenant_id: UUID) -> TenantSummary:
        """One client organisation; raises NotFound (also for an erased one)."""
        tenant = self._live_tenant(tenant_id)
        return TenantSummary(id=tenant.id, slug=tenant.slug, name=tenant.name)

    def erase_tenant(self, tenant_id: UUID, provenance: Provenance) -> None:
        """Records the erasure of a client organisation (`TenantErased`: who, when, slug, id)
        and takes it off the directory; raises NotFound for an unknown or erased tenant.
        Deleting its key and store is the caller's part (`Container.erase_tenant`)."""
        tenant = self._live_tenant(tenant_id)
        directory = self._directory(provenance)
        tenant.erase(provenance)
        directory.remove(tenant_id, provenance)
        self.save(tenant, directory)

    def erased(self, tenant_id: UUID) -> bool:
        """True when the tenant was onboarded and later erased.

        Asked on every use of a tenant's store, by every process (an erasure made by another
        process counts at once), so it reads one row: the erasure is always a tenant's last
        event. Once erased, a tenant stays erased, so that answer is remembered."""
        if tenant_id in self._erased_tenants:
            return True
        last = self.recorder.select_events(tenant_id, desc=True, limit=1)
        if last and last[0].topic == TENANT_ERASED_TOPIC:
            self._erased_tenants.add(tenant_id)
            return True
        return False

    def _live_tenant(self, tenant_id: UUID) -> Tenant:
        tenant = self._get(Tenant, tenant_id, NotFound("no_tenant", tenant=str(tenant_id)))
        if tenant.erased:
            raise Erased("client_organisation_erased", tenant=str(tenant_id))
        return tenant

    def rename_tenant(self, tenant_id: UUID, name: str, provenance: Provenance) -> None:
        """Gives a client organisation a new display name (the slug stays)."""
        tenant = self._live_tenant(tenant_id)
        directory = self._directory(provenance)
        tenant.rename(name, provenance)
        directory.rename(tenant_id, tenant.name, provenance)
        self.save(tenant, directory)

    # Users

    def register_user(
        self,
        email: str,
        display_name: str,
        password: str,
        platform_role: Role | None,
        provenance: Provenance,
    ) -> UUID:
        """Registers a person who can sign in; raises AlreadyExists for a known email."""
        user_id = User.create_id(email)
        if self._exists(user_id):
            raise AlreadyExists("email_taken", state=f"user {user_id}", email=normalise_email(email))
        user = User.register(
            email=email,
            display_name=display_name,
            password_hash=self.passwords.hash(password),
            platform_role=platform_role,
            provenance=provenance,
        )
        try:
            self.save(user)
        except IntegrityError:
            raise AlreadyExists("email_taken", state=f"user {user_id}", email=user.email) from None
        return user.id

    def user(self, user_id: UUID) -> User:
        """One user; raises NotFound."""
        return self._get(User, user_id, NotFound("no_user", user=str(user_id)))

    def user_by_email(self, email: str) -> User:
        """The user registered under `email` (any case); raises NotFound."""
        return self._get(
            User, User.create_id(email), NotFound("no_user_with_email", email=normalise_email(email))
        )

    def grant_membership(self, user_id: UUID, tenant_id: UUID, role: Role, provenance: Provenance) -> None:
        """Gives a user a role in a tenant (replacing any role held there before), in the control
        plane alone: for seeding a store. Requests go through `services.memberships`, which
        applies the rule of who may change whose role and records the change in the tenant."""
        self._live_tenant(tenant_id)
        user = self.user(user_id)
        user.grant_membership(tenant_id, role, provenance)
        self.save(user)

    def find_user(self, user_id: UUID) -> User | None:
        """One user, or None when no account has this id."""
        try:
            return self.user(user_id)
        except NotFound:
            return None

    def apply_membership(
        self, user_id: UUID, tenant_id: UUID, role: Role | None, *, was: Role | None, provenance: Provenance
    ) -> None:
        """Sets the user's role in a tenant (None: takes it away) after the tenant recorded the
        change from `was`. Another save of the user meanwhile (a sign-in upgrading the password
        hash, a role elsewhere) is retried; a change of this very role raises
        ConcurrentModification."""
        for _ in range(MEMBERSHIP_SAVE_ATTEMPTS):
            user = self.user(user_id)
            held = user.memberships.get(tenant_id)
            if held == role:
                return
            if held != was:
                raise ConcurrentModification(
                    "role_changed_meanwhile", state=held.value if held else "none", user=str(user_id)
                )
            if role is None:
                user.revoke_membership(tenant_id, provenance)
            else:
                user.grant_membership(tenant_id, role, provenance)
            try:
                self.save(user)
            except IntegrityError:
                continue
            return
        raise ConcurrentModification("user_kept_changing", user=str(user_id))

    def invite(self, invitee_id: UUID, tenant_id: UUID, role: Role, provenance: Provenance) -> UUID:
        """Leaves an invitation to a role in a tenant for the person with this id (registered
        or not yet); returns its id."""
        self._live_tenant(tenant_id)
        for _ in range(MEMBERSHIP_SAVE_ATTEMPTS):
            inbox = self._invitations(invitee_id, provenance)
            inbox.invite(tenant_id, role, provenance)
            try:
                self.save(inbox)
            except IntegrityError:
                continue
            return invitation_id(tenant_id, invitee_id)
        raise ConcurrentModification("invitations_kept_changing")

    def pending_invitations(self, invitee_id: UUID) -> list[PendingInvitation]:
        """The invitations waiting for this person, by organisation name (erased ones left out)."""
        try:
            inbox: Invitations = self.repository.get(Invitations.id_for(invitee_id))
        except AggregateNotFoundError:
            return []
        directory = self._directory_state()
        # An offer overtaken by a role given directly no longer waits.
        holds = self.find_user(invitee_id)
        held = holds.memberships if holds is not None else {}
        waiting = [
            PendingInvitation(
                id=invitation_id(tenant_id, invitee_id),
                tenant_id=tenant_id,
                tenant_name=directory[tenant_id][1],
                role=role,
            )
            for tenant_id, role in inbox.waiting().items()
            if tenant_id in directory and tenant_id not in held
        ]
        return sorted(waiting, key=lambda i: (i.tenant_name.casefold(), str(i.tenant_id)))

    def pending_invitation(self, invitee_id: UUID, invitation: UUID) -> PendingInvitation:
        """One invitation waiting for this person; raises NotFound (also for anyone else's)."""
        for pending in self.pending_invitations(invitee_id):
            if pending.id == invitation:
                return pending
        raise NotFound("no_such_invitation")

    def accept_invitation(
        self,
        invitee_id: UUID,
        tenant_id: UUID,
        *,
        was: Role | None,
        provenance: Provenance,
        link_issue: int | None = None,
    ) -> Role:
        """The invitee takes up the role offered in a tenant, after the tenant recorded it: the
        invitation closed and the role given in one save. Raises NotFound without an invitation.
        Through a link (`link_issue`), only while that link works: a used, replaced or expired
        link refuses, and the role is not given."""
        for _ in range(MEMBERSHIP_SAVE_ATTEMPTS):
            try:
                inbox: Invitations = self.repository.get(Invitations.id_for(invitee_id))
            except AggregateNotFoundError:
                raise NotFound("no_such_invitation") from None
            user = self.user(invitee_id)
            held = user.memberships.get(tenant_id)
            if held != was:
                raise ConcurrentModification(
                    "role_changed_meanwhile", state=held.value if held else "none", user=str(invitee_id)
                )
            if link_issue is not None:
                inbox.check_link(tenant_id, link_issue, provenance.recorded_at)
            role = inbox.accept(tenant_id, provenance)
            user.grant_membership(tenant_id, role, provenance)
            try:
                self.save(inbox, user)
            except IntegrityError:
                continue
            return role
        raise ConcurrentModification("user_kept_changing", user=str(invitee_id))

    def send_invitation_link(
        self, invitee_id: UUID, tenant_id: UUID, email: str, expires_at: datetime, provenance: Provenance
    ) -> int:
        """A new link to the invitation waiting for `invitee_id` in `tenant_id`, sent to `email`
        (every earlier link stops working); its issue number. Raises NotFound without one."""
        for _ in range(MEMBERSHIP_SAVE_ATTEMPTS):
            inbox = self._invitations(invitee_id, provenance)
            name = self.tenant(tenant_id).name
            issue = inbox.send_link(tenant_id, name, normalise_email(email), expires_at, provenance)
            try:
                self.save(inbox)
            except IntegrityError:
                continue
            return issue
        raise ConcurrentModification("invitations_kept_changing")

    def link_issued_by(self, invitee_id: UUID, tenant_id: UUID, command_id: UUID) -> bool:
        """True when the link that works now for this invitation was issued by `command_id`."""
        try:
            inbox: Invitations = self.repository.get(Invitations.id_for(invitee_id))
        except AggregateNotFoundError:
            return False
        link = inbox.link(tenant_id)
        return link is not None and link.command_id == command_id

    def revoke_invitation(self, invitee_id: UUID, tenant_id: UUID, provenance: Provenance) -> Role:
        """Withdraws the invitation waiting for `invitee_id` in `tenant_id`; its links stop
        working. Returns the role it offered; raises NotFound when none waits."""
        for _ in range(MEMBERSHIP_SAVE_ATTEMPTS):
            inbox = self._invitations(invitee_id, provenance)
            role = inbox.revoke(tenant_id, provenance)
            try:
                self.save(inbox)
            except IntegrityError:
                continue
            return role
        raise ConcurrentModification("invitations_kept_changing")

    def offered_by_link(self, tenant_id: UUID, invitee_id: UUID, issue: int, now: datetime) -> OfferedByLink:
        """The invitation link `issue` opens. Raises NotFound for a link that does not work
        (used, withdrawn, replaced, or its organisation erased) and InvariantViolated when it
        has expired."""
        self._live_tenant(tenant_id)
        try:
            inbox: Invitations = self.repository.get(Invitations.id_for(invitee_id))
        except AggregateNotFoundError:
            raise NotFound("invitation_link_invalid") from None
        holds = self.find_user(invitee_id)
        if holds is not None and tenant_id in holds.memberships:
            raise NotFound("invitation_link_invalid")  # overtaken by a role given directly
        role = inbox.check_link(tenant_id, issue, now)
        link = inbox.link(tenant_id)
        assert link is not None  # noqa: S101 - check_link found it
        return OfferedByLink(
            id=invitation_id(tenant_id, invitee_id),
            tenant_id=tenant_id,
            tenant_name=self.tenant(tenant_id).name,
            invitee_id=invitee_id,
            role=role,
            email=link.email,
            expires_at=link.expires_at,
            has_account=holds is not None,
        )

    def refuse_expired_link(
        self, tenant_id: UUID, invitee_id: UUID, issue: int, provenance: Provenance
    ) -> None:
        """Records that an expired link of an invitation was used (the use is refused)."""
        with contextlib.suppress(IntegrityError):
            inbox = self._invitations(invitee_id, provenance)
            inbox.refuse_expired_use(tenant_id, issue, provenance)
            self.save(inbox)

    def invitations_to(self, tenant_id: UUID) -> list[WaitingInvitation]:
        """The invitations waiting for an answer in one client organisation, by address."""
        now = self._clock()
        waiting = []
        for inbox_id in self._originators(f"{get_topic(Invitations)}.Opened"):
            inbox: Invitations = self.repository.get(inbox_id)
            role = inbox.pending.get(str(tenant_id))
            if role is None:
                continue
            holds = self.find_user(inbox.invitee_id)
            if holds is not None and tenant_id in holds.memberships:
                continue
            link = inbox.link(tenant_id)
            waiting.append(
                WaitingInvitation(
                    id=invitation_id(tenant_id, inbox.invitee_id),
                    invitee_id=inbox.invitee_id,
                    role=role,
                    email=link.email if link else None,
                    expires_at=link.expires_at if link else None,
                    expired=link is not None and now >= link.expires_at,
                )
            )
        return sorted(waiting, key=lambda w: (w.email or "~", str(w.invitee_id)))

    def people(self, tenant_id: UUID | None = None) -> list[Person]:
        """Everyone with an account (with a role in `tenant_id`, when given), by name."""
        found = []
        for user_id in self._originators(f"{get_topic(User)}.Registered"):
            user = self.user(user_id)
            if tenant_id is not None and tenant_id not in user.memberships:
                continue
            found.append(
                Person(
                    id=user.id,
                    email=user.email,
                    display_name=user.display_name,
                    platform_role=user.platform_role,
                    active=user.active,
                    memberships=dict(user.memberships),
                )
            )
        return sorted(found, key=lambda p: (p.display_name.casefold(), p.email))

    def request_password_reset(self, email: str, expires_at: datetime, provenance: Provenance) -> int | None:
        """A new forgotten-password link for the active account of `email` (earlier ones stop
        working): its issue number; None when no active account has this address."""
        for _ in range(MEMBERSHIP_SAVE_ATTEMPTS):
            user = self.find_user(User.create_id(email))
            if user is None or not user.active:
                return None
            issue = user.request_password_reset(expires_at, provenance)
            try:
                self.save(user)
            except IntegrityError:
                continue
            return issue
        raise ConcurrentModification("user_kept_changing", user=str(User.create_id(email)))

    def reset_password(self, user_id: UUID, issue: int, password: str, provenance: Provenance) -> None:
        """Sets a new password through forgotten-password link `issue`, which is used up. Raises
        NotFound for a link that does not work, InvariantViolated for an expired one."""
        user = self._get(User, user_id, NotFound("reset_link_invalid"))
        user.check_reset_link(issue, provenance.recorded_at)
        user.reset_password(issue, self.passwords.hash(password), provenance)
        try:
            self.save(user)
        except IntegrityError:
            raise NotFound("reset_link_invalid") from None  # used at the same moment elsewhere

    def revoke_membership(self, user_id: UUID, tenant_id: UUID, provenance: Provenance) -> None:
        """Takes away a user's role in a tenant."""
        user = self.user(user_id)
        user.revoke_membership(tenant_id, provenance)
        self.save(user)

    def choose_language(self, user_id: UUID, language: str, provenance: Provenance) -> bool:
        """Messages to the user are written in `language`; answers whether it changed."""
        user = self.user(user_id)
        changed = user.choose_language(language, provenance)
        self.save(user)
        return changed

    def deactivate_user(self, user_id: UUID, provenance: Provenance) -> None:
        """Stops a user from signing in; their history stays."""
        user = self.user(user_id)
        user.deactivate(provenance)
        self.save(user)

    def authenticate(self, email: str, password: str) -> User | None:
        """The active user with this email and password, else None.

        An unknown email costs one password verification too, so response times do not tell
        which emails are registered. A hash made with older parameters is upgraded on success.
        """
        try:
            user = self.user_by_email(email)
        except NotFound:
            self.passwords.burn(password)
            return None
        if not self.passwords.verify(user.password_hash, password) or not user.active:
            return None
        if self.passwords.needs_rehash(user.password_hash):
            self._rehash(user, password)
        return user

    # Internals

    def _rehash(self, user: User, password: str) -> None:
        provenance = system_provenance("RehashPassword", now=self._clock(), actor_id=user.id)
        user.change_password(self.passwords.hash(password), provenance)
        # A concurrent sign-in may upgrade it first; either hash verifies.
        with contextlib.suppress(IntegrityError):
            self.save(user)

    def _directory(self, provenance: Provenance) -> TenantDirectory:
        try:
            directory: TenantDirectory = self.repository.get(TENANT_DIRECTORY_ID)
        except AggregateNotFoundError:
            return TenantDirectory(provenance=provenance)
        return directory

    def _directory_state(self) -> dict[UUID, tuple[str, str]]:
        try:
            directory: TenantDirectory = self.repository.get(TENANT_DIRECTORY_ID)
        except AggregateNotFoundError:
            return {}
        return directory.tenants()

    def _originators(self, topic: str) -> list[UUID]:
        """The ids of the aggregates with an event of `topic`, in the order they were recorded.
        A scan of the platform store's log: fine for the consultancy's people (hundreds)."""
        found: list[UUID] = []
        start: int | None = None
        while True:
            page = self.recorder.select_notifications(start, 500, topics=[topic], inclusive_of_start=False)
            found.extend(n.originator_id for n in page if isinstance(n.originator_id, UUID))
            if len(page) < 500:
                return found
            start = page[-1].id

    def _invitations(self, invitee_id: UUID, provenance: Provenance) -> Invitations:
        try:
            inbox: Invitations = self.repository.get(Invitations.id_for(invitee_id))
        except AggregateNotFoundError:
            return Invitations.open(invitee_id, provenance)
        return inbox
