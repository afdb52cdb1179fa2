from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvariantViolated, NotFound
from domain.provenance import Provenance
from domain.roles import Role

USER_NAMESPACE = UUID("6f1c5a86-3c1e-5b2f-9a57-2f7d0a6b1c01")
PLATFORM_ROLES = frozenset({Role.CONSULTANCY_ADMIN, Role.CONSULTANT})
TENANT_ROLES = frozenset({Role.CONSULTANT, Role.CLIENT_ADMIN, Role.PARTICIPANT, Role.AUDITOR})


def normalise_email(email: str) -> str:
    return email.strip().lower()


# The languages messages are written in; Danish unless the person chose English.
LANGUAGES = ("da", "en")
DEFAULT_LANGUAGE = "da"


class ResetLink(NamedTuple):
    """The one forgotten-password link of an account that works now."""

    issue: int
    expires_at: datetime


class User(Aggregate):
    """A person who signs in: platform role (consultancy staff) and roles in tenants."""

    email: str
    display_name: str
    password_hash: str
    platform_role: Role | None
    memberships: dict[UUID, Role]
    active: bool
    # Forgotten-password links: the one that works now, and how many were ever issued (a used,
    # replaced or expired link never works again).
    reset_link: ResetLink | None
    resets_issued: int
    # The language messages to the account are written in ("da" or "en").
    language: str
    # Version 2 added the forgotten-password links; a snapshot of version 1 had none.
    # Version 3 added the language; a snapshot of version 2 was Danish.
    class_version = 3

    @staticmethod
    def upcast_v1_v2(state: dict[str, object]) -> None:
        state["reset_link"] = None
        state["resets_issued"] = 0

    @staticmethod
    def upcast_v2_v3(state: dict[str, object]) -> None:
        state["language"] = DEFAULT_LANGUAGE

    @staticmethod
    def create_id(email: str) -> UUID:
        return uuid5(USER_NAMESPACE, normalise_email(email))

    @classmethod
    def register(
        cls,
        email: str,
        display_name: str,
        password_hash: str,
        platform_role: Role | None,
        provenance: Provenance,
    ) -> User:
        email = normalise_email(email)
        if "@" not in email or email.startswith("@") or email.endswith("@"):
            raise InvariantViolated("email_invalid", email=email)
        if not display_name.strip():
            raise InvariantViolated("user_needs_display_name")
        if platform_role is not None and platform_role not in PLATFORM_ROLES:
            raise InvariantViolated("not_a_platform_role", role=platform_role.value)
        return cls(
            email=email,
            display_name=display_name.strip(),
            password_hash=password_hash,
            platform_role=platform_role,
            provenance=provenance,
        )

    @event("Registered")
    def __init__(
        self,
        email: str,
        display_name: str,
        password_hash: str,
        platform_role: Role | None,
        provenance: Provenance,
    ) -> None:
        self.email = email
        self.display_name = display_name
        self.password_hash = password_hash
        self.platform_role = None if platform_role is None else Role(platform_role)
        self.memberships = {}
        self.active = True
        self.reset_link = None
        self.resets_issued = 0
        self.language = DEFAULT_LANGUAGE

    def choose_language(self, language: str, provenance: Provenance) -> bool:
        """Messages to the account are written in `language` from now on; answers whether it
        changed (choosing the language in force records nothing)."""
        if language not in LANGUAGES:
            raise InvariantViolated("language_unknown", language=language)
        if language == self.language:
            return False
        self._language_chosen(language=language, provenance=provenance)
        return True

    @event("LanguageChosen")
    def _language_chosen(self, language: str, provenance: Provenance) -> None:
        self.language = language

    def change_password(self, password_hash: str, provenance: Provenance) -> None:
        self._require_active()
        self._password_changed(password_hash=password_hash, provenance=provenance)

    @event("PasswordChanged")
    def _password_changed(self, password_hash: str, provenance: Provenance) -> None:
        self.password_hash = password_hash

    def grant_membership(self, tenant_id: UUID, role: Role, provenance: Provenance) -> None:
        self._require_active()
        if role not in TENANT_ROLES:
            raise InvariantViolated("not_a_tenant_role", role=role.value)
        if self.memberships.get(tenant_id) == role:
            return
        self._membership_granted(tenant_id=tenant_id, role=role, provenance=provenance)

    @event("MembershipGranted")
    def _membership_granted(self, tenant_id: UUID, role: Role, provenance: Provenance) -> None:
        self.memberships[tenant_id] = Role(role)

    def revoke_membership(self, tenant_id: UUID, provenance: Provenance) -> None:
        if tenant_id not in self.memberships:
            raise NotFound("no_membership", user=self.email, tenant=str(tenant_id))
        self._membership_revoked(tenant_id=tenant_id, provenance=provenance)

    @event("MembershipRevoked")
    def _membership_revoked(self, tenant_id: UUID, provenance: Provenance) -> None:
        del self.memberships[tenant_id]

    def deactivate(self, provenance: Provenance) -> None:
        if not self.active:
            return
        self._deactivated(provenance=provenance)

    @event("Deactivated")
    def _deactivated(self, provenance: Provenance) -> None:
        self.active = False

    def request_password_reset(self, expires_at: datetime, provenance: Provenance) -> int:
        """Issues a new link to set a new password (every earlier one stops working); returns
        its issue number. A deactivated account gets none."""
        self._require_active()
        if expires_at <= provenance.recorded_at:
            raise InvariantViolated("link_expires_in_the_past")
        issue = self.resets_issued + 1
        self._reset_requested(email=self.email, issue=issue, expires_at=expires_at, provenance=provenance)
        return issue

    @event("PasswordResetRequested")
    def _reset_requested(self, email: str, issue: int, expires_at: datetime, provenance: Provenance) -> None:
        self.reset_link = ResetLink(issue, expires_at)
        self.resets_issued = issue

    def check_reset_link(self, issue: int, now: datetime) -> None:
        """Raises NotFound unless link `issue` is the one that works now (not used, not
        replaced), InvariantViolated when it has expired or the account is deactivated."""
        if self.reset_link is None or self.reset_link.issue != issue:
            raise NotFound("reset_link_invalid")
        if now >= self.reset_link.expires_at:
            raise InvariantViolated("reset_link_expired", state="expired")
        self._require_active()

    def reset_password(self, issue: int, password_hash: str, provenance: Provenance) -> None:
        """Sets a new password through forgotten-password link `issue`, which is then used up."""
        self.check_reset_link(issue, provenance.recorded_at)
        self._password_reset(issue=issue, password_hash=password_hash, provenance=provenance)

    @event("PasswordReset")
    def _password_reset(self, issue: int, password_hash: str, provenance: Provenance) -> None:
        self.password_hash = password_hash
        self.reset_link = None

    def _require_active(self) -> None:
        if not self.active:
            raise InvariantViolated("user_deactivated", state="deactivated", user=self.email)
