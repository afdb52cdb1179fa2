"""Who in a client organisation receives which messages, and who turned which off.

The organisation's admins choose, per topic, whether the planning group, the consultants,
both or nobody receive its messages; anyone who receives a message may turn its topic off
for their own address by the link in it. Turning off what is off already records nothing, so
a link followed twice is harmless."""

from __future__ import annotations

from enum import Enum
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.commands import RemembersCommands
from domain.provenance import Provenance
from domain.roles import Role

NOTIFICATIONS_NAMESPACE = UUID("6b1f0c2e-4d7a-5e93-a8b1-0f2c3d4e5a61")


class Topic(str, Enum):
    """What a message is about; each kind of message belongs to one."""

    CHECK_INS = "check_ins"
    INVESTIGATIONS = "investigations"
    DEFERRALS = "deferrals"
    THEME_DAY = "theme_day"
    FOLLOW_UP_MEETING = "follow_up_meeting"
    DIGEST = "digest"


class Receivers(str, Enum):
    """Who of the organisation receives a topic's messages."""

    PLANNING_GROUP = "planning_group"
    CONSULTANTS = "consultants"
    BOTH = "both"
    NOBODY = "nobody"

    @property
    def roles(self) -> frozenset[Role]:
        return _ROLES[self]


_ROLES = {
    Receivers.PLANNING_GROUP: frozenset({Role.CLIENT_ADMIN}),
    Receivers.CONSULTANTS: frozenset({Role.CONSULTANT}),
    Receivers.BOTH: frozenset({Role.CLIENT_ADMIN, Role.CONSULTANT}),
    Receivers.NOBODY: frozenset(),
}
DEFAULT_RECEIVERS = Receivers.PLANNING_GROUP


def address_key(address: str) -> str:
    """An address as it is compared: trimmed, lower case."""
    return address.strip().lower()


class NotificationSettings(RemembersCommands):
    """One organisation's choices of who receives what, and the topics turned off by address."""

    tenant_id: UUID
    receivers: dict[str, Receivers]
    turned_off: dict[str, tuple[Topic, ...]]

    @staticmethod
    def id_for(tenant_id: UUID) -> UUID:
        return uuid5(NOTIFICATIONS_NAMESPACE, str(tenant_id))

    @staticmethod
    def create_id(tenant_id: UUID, provenance: Provenance) -> UUID:
        return NotificationSettings.id_for(tenant_id)

    @classmethod
    def open(cls, tenant_id: UUID, provenance: Provenance) -> NotificationSettings:
        return cls(tenant_id=tenant_id, provenance=provenance)

    @event("Opened")
    def __init__(self, tenant_id: UUID, provenance: Provenance) -> None:
        self.tenant_id = tenant_id
        self.receivers = {}
        self.turned_off = {}

    def receivers_of(self, topic: Topic) -> Receivers:
        return self.receivers.get(topic.value, DEFAULT_RECEIVERS)

    def is_turned_off(self, address: str, topic: Topic) -> bool:
        return topic in self.turned_off.get(address_key(address), ())

    def choose_receivers(self, topic: Topic, receivers: Receivers, provenance: Provenance) -> bool:
        """Records the choice unless it is the one in force; whether it was recorded."""
        if self.receivers_of(topic) is receivers:
            return False
        self._receivers_chosen(topic, receivers, provenance)
        return True

    @event("ReceiversChosen")
    def _receivers_chosen(self, topic: Topic, receivers: Receivers, provenance: Provenance) -> None:
        self.receivers = {**self.receivers, topic.value: receivers}

    def turn_off(self, address: str, topic: Topic, provenance: Provenance) -> bool:
        """`address` receives no more messages of `topic`; whether that was news."""
        if self.is_turned_off(address, topic):
            return False
        self._messages_turned_off(address_key(address), topic, provenance)
        return True

    @event("MessagesTurnedOff")
    def _messages_turned_off(self, address: str, topic: Topic, provenance: Provenance) -> None:
        self.turned_off = {**self.turned_off, address: (*self.turned_off.get(address, ()), topic)}
