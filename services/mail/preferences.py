"""What the organisation's notification settings make of a message when it is sent: the roles
a message to the planning group reaches, the recipients who turned its topic off, and the link
each recipient turns it off with (services/mail/unsubscribe.py)."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.notifications import NotificationSettings
from services.application import TenantApplication

SettingsOf = Callable[[UUID], NotificationSettings | None]
"""`settings_of(tenant_id)`: the organisation's settings now (None: the defaults). Blocking."""


def settings_in(app: TenantApplication, tenant_id: UUID) -> NotificationSettings | None:
    """The organisation's notification settings, None while nobody chose anything."""
    try:
        found: object = app.repository.get(NotificationSettings.id_for(tenant_id))
    except AggregateNotFoundError:
        return None
    if not isinstance(found, NotificationSettings):
        raise TypeError(f"{NotificationSettings.id_for(tenant_id)} is not a tenant's notification settings")
    return found


def no_settings(tenant_id: UUID) -> NotificationSettings | None:
    return None
