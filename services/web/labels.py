"""The method's own words on the pages: phases, roles and statuses, in the user's language."""

from __future__ import annotations

from enum import Enum

from domain.phases import Phase
from domain.roles import Role
from services.web.i18n import gettext as _


def phase_label(phase: Phase | str) -> str:
    value = phase.value if isinstance(phase, Enum) else str(phase)
    return {
        Phase.PREPARED.value: _("Prepared"),
        Phase.THEME_DAY_OPEN.value: _("Theme day open"),
        Phase.MAPPING.value: _("Mapping and rating"),
        Phase.DANCE_CARDS.value: _("Dance cards"),
        Phase.DIALOGUES.value: _("Dialogues"),
        Phase.WRAP_UP.value: _("Unit wrap-up"),
        Phase.CLOSING_PLENARY.value: _("Closing plenary"),
        Phase.FOLLOW_UP_MEETING.value: _("Follow-up meeting"),
        Phase.FOLLOW_THROUGH.value: _("Follow-through"),
        Phase.CLOSED.value: _("Closed"),
    }.get(value, value)


def role_label(role: Role | str | None) -> str:
    if role is None:
        return ""
    value = role.value if isinstance(role, Enum) else str(role)
    return {
        Role.CONSULTANCY_ADMIN.value: _("Consultancy admin"),
        Role.CONSULTANT.value: _("Consultant"),
        Role.CLIENT_ADMIN.value: _("Planning group"),
        Role.PARTICIPANT.value: _("Participant"),
        Role.AUDITOR.value: _("Auditor"),
    }.get(value, value)
