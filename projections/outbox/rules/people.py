"""People hear of their invitations and forgotten passwords (docs/adr/0029): an invitation's link
issued or resent goes to its address, a forgotten password's link to the account's.

The link's token is never in the outbox: a rule names what the link opens (`link`: its purpose,
ids and issue number, all in the event) and the sender makes the token as it writes the message
(`services/mail/links.py`). An invitation's message is filed under its organisation, so nothing
is sent for an organisation erased meanwhile."""

from __future__ import annotations

from typing import Any

from projections.outbox.intents import MessageIntent, RuleContext, ToAddress, intent_key
from projections.outbox.registry import Rule


def _value(role: Any) -> str:
    return str(getattr(role, "value", role))


def invitation_link(event: Any, context: RuleContext) -> list[MessageIntent]:
    """The invitee gets the link to take up the role (a resend: the new link, the old one dead)."""
    return [
        MessageIntent(
            key=intent_key(context.tenant_id, event, "invitation_link"),
            tenant_id=event.tenant_id,
            due_at=event.provenance.recorded_at,
            audience=ToAddress(email=event.email),
            kind="invitation",
            params={
                "tenant_name": event.tenant_name,
                "role": _value(event.role),
                "expires_at": event.expires_at.isoformat(),
                "link": {
                    "purpose": "invite",
                    "tenant_id": str(event.tenant_id),
                    "invitee_id": str(event.invitee_id),
                    "issue": event.issue,
                },
            },
        )
    ]


def password_reset_link(event: Any, context: RuleContext) -> list[MessageIntent]:
    """The account's address gets the link to set a new password."""
    return [
        MessageIntent(
            key=intent_key(context.tenant_id, event, "password_reset_link"),
            tenant_id=context.tenant_id,
            due_at=event.provenance.recorded_at,
            audience=ToAddress(email=event.email),
            kind="password_reset",
            params={
                "expires_at": event.expires_at.isoformat(),
                "link": {"purpose": "reset", "user_id": str(event.originator_id), "issue": event.issue},
            },
        )
    ]


rules = (
    Rule("Invitations.LinkIssued", invitation_link, log="platform"),
    Rule("Invitations.LinkResent", invitation_link, log="platform"),
    Rule("User.PasswordResetRequested", password_reset_link, log="platform"),
)
