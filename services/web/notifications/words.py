"""What the topics of messages and the choices of receivers are called on the pages."""

from __future__ import annotations

from domain.notifications import Receivers, Topic
from services.web.i18n import gettext as _


def topic_label(topic: Topic) -> str:
    return {
        Topic.CHECK_INS: _("Check-ins on agreements falling due (6, 12 and 24 months)"),
        Topic.INVESTIGATIONS: _("Investigations: a week before the due date, and when overdue"),
        Topic.DEFERRALS: _("Deferred proposals coming back on their date"),
        Topic.THEME_DAY: _("Invitations to the theme day, with a calendar entry"),
        Topic.FOLLOW_UP_MEETING: _("Invitations to the follow-up meeting, with a calendar entry"),
        Topic.DIGEST: _("A weekly digest of what falls due"),
    }[topic]


def receivers_label(receivers: Receivers) -> str:
    return {
        Receivers.PLANNING_GROUP: _("The planning group"),
        Receivers.CONSULTANTS: _("The consultants"),
        Receivers.BOTH: _("Both"),
        Receivers.NOBODY: _("Nobody"),
    }[receivers]
