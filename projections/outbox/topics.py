"""The topic each kind of message belongs to, and what an organisation's notification
settings make of a message at the moment it is sent: which roles a message to the planning
group reaches, and whether a recipient turned its topic off.

Kinds without a topic (an invitation to an account, a password link) are not the settings'
to route or to turn off."""

from __future__ import annotations

from domain.notifications import DEFAULT_RECEIVERS, NotificationSettings, Topic
from domain.roles import Role
from projections.outbox.digest import WEEKLY_DIGEST
from projections.outbox.rules.check_ins import CHECK_IN_DUE
from projections.outbox.rules.meetings import FOLLOW_UP_CANCELLED, FOLLOW_UP_UPDATED, THEME_DAY_INVITATION
from projections.outbox.rules.proposals import DEFERRAL_DUE, INVESTIGATION_DUE_SOON, INVESTIGATION_OVERDUE

DIGEST = WEEKLY_DIGEST

TOPICS: dict[str, Topic] = {
    CHECK_IN_DUE: Topic.CHECK_INS,
    INVESTIGATION_DUE_SOON: Topic.INVESTIGATIONS,
    INVESTIGATION_OVERDUE: Topic.INVESTIGATIONS,
    DEFERRAL_DUE: Topic.DEFERRALS,
    THEME_DAY_INVITATION: Topic.THEME_DAY,
    "follow_up_meeting_set": Topic.FOLLOW_UP_MEETING,
    FOLLOW_UP_UPDATED: Topic.FOLLOW_UP_MEETING,
    FOLLOW_UP_CANCELLED: Topic.FOLLOW_UP_MEETING,
    DIGEST: Topic.DIGEST,
}


def topic_of(kind: str) -> Topic | None:
    return TOPICS.get(kind)


def roles_reached(settings: NotificationSettings | None, kind: str, role: str) -> frozenset[str]:
    """The roles a message of `kind` addressed to `role` reaches. The rules address the
    planning group (client admins); the organisation may send a topic to its consultants
    instead, to both, or to nobody. Other roles, and kinds without a topic, stay as addressed."""
    topic = topic_of(kind)
    if topic is None or role != Role.CLIENT_ADMIN.value:
        return frozenset({role})
    receivers = settings.receivers_of(topic) if settings is not None else DEFAULT_RECEIVERS
    return frozenset(r.value for r in receivers.roles)


def turned_off(settings: NotificationSettings | None, kind: str, address: str) -> bool:
    """Whether `address` turned the topic of `kind` off (then the message is not sent to it)."""
    topic = topic_of(kind)
    return settings is not None and topic is not None and settings.is_turned_off(address, topic)
