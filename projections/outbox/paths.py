"""The pages where what a message asks for is done (services/web/), as paths under the tenant."""

from __future__ import annotations

from uuid import UUID


def engagement_path(tenant_id: UUID, engagement_id: UUID) -> str:
    return f"/t/{tenant_id}/e/{engagement_id}"


def check_in_path(tenant_id: UUID, engagement_id: UUID, agreement_id: UUID) -> str:
    return f"{engagement_path(tenant_id, engagement_id)}/agreements/{agreement_id}/check-ins"


def follow_up_path(tenant_id: UUID, engagement_id: UUID) -> str:
    return f"{engagement_path(tenant_id, engagement_id)}/follow-up"


def dashboard_path(tenant_id: UUID, engagement_id: UUID) -> str:
    return f"{engagement_path(tenant_id, engagement_id)}/dashboard"
