"""The consultancy's portfolio across its tenants: engagements by phase, dates to come,
investigations past due and agreements not checked on for half a year (the `consultant/`
portfolio)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from uuid import UUID

import msgspec

from domain.phases import Phase
from projections.documents import EngagementOut
from projections.queries.shared import IN_EFFECT, latest_check_in, past_due


class TenantReadModels(msgspec.Struct):
    """What the portfolio is computed from: one tenant and its engagements."""

    tenant_id: UUID
    tenant_name: str
    engagements: list[EngagementOut]


class PortfolioEngagement(msgspec.Struct):
    tenant_id: UUID
    tenant_name: str
    engagement_id: UUID
    title: str
    phase: str


class UpcomingDate(msgspec.Struct):
    tenant_id: UUID
    tenant_name: str
    engagement_id: UUID
    title: str
    kind: str
    on: date


class OverdueProposal(msgspec.Struct):
    tenant_id: UUID
    tenant_name: str
    engagement_id: UUID
    proposal_id: UUID
    text: str
    owner: str | None
    due: date


class QuietAgreement(msgspec.Struct):
    """An agreement in force with no check-in for half a year."""

    tenant_id: UUID
    tenant_name: str
    engagement_id: UUID
    agreement_id: UUID
    text: str
    last_heard: datetime


class Portfolio(msgspec.Struct):
    today: date
    engagements_by_phase: dict[str, int]
    engagements: list[PortfolioEngagement]
    upcoming: list[UpcomingDate]
    overdue_proposals: list[OverdueProposal]
    quiet_agreements: list[QuietAgreement]
    # Client organisations whose overviews are still being built from their events (after an
    # upgrade or a restore): counted nowhere above yet, and named so that none looks empty.
    still_building: list[UUID] = msgspec.field(default_factory=list)


QUIET_DAYS = 183


def _upcoming(tenant: TenantReadModels, engagement: EngagementOut, today: date) -> list[UpcomingDate]:
    dates = (("theme_day", engagement.theme_day), ("follow_up_meeting", engagement.follow_up_meeting))
    return [
        UpcomingDate(
            tenant.tenant_id, tenant.tenant_name, engagement.engagement_id, engagement.title, kind, on
        )
        for kind, on in dates
        if on is not None and on >= today
    ]


def _quiet(tenant: TenantReadModels, engagement: EngagementOut, today: date) -> list[QuietAgreement]:
    quiet = []
    for agreement in engagement.agreements:
        if agreement.status not in IN_EFFECT or agreement.made_at is None:
            continue
        latest = latest_check_in(agreement)
        last_heard = latest.at if latest else agreement.made_at
        if today - last_heard.date() > timedelta(days=QUIET_DAYS):
            quiet.append(
                QuietAgreement(
                    tenant.tenant_id,
                    tenant.tenant_name,
                    engagement.engagement_id,
                    agreement.agreement_id,
                    agreement.text,
                    last_heard,
                )
            )
    return quiet


def portfolio(
    items: list[TenantReadModels], today: date, still_building: list[UUID] | None = None
) -> Portfolio:
    """Across the consultancy's tenants: engagements by phase, theme days and follow-up meetings
    to come, investigations past their due date, and agreements in force not checked on for
    half a year (made or last checked more than 183 days ago)."""
    pairs = [(t, e) for t in items for e in t.engagements]
    phases = Counter(e.phase.value for _, e in pairs)
    return Portfolio(
        today=today,
        engagements_by_phase={p.value: phases[p.value] for p in Phase},
        engagements=[
            PortfolioEngagement(t.tenant_id, t.tenant_name, e.engagement_id, e.title, e.phase.value)
            for t, e in pairs
        ],
        upcoming=sorted(
            (u for t, e in pairs for u in _upcoming(t, e, today)), key=lambda u: (u.on, u.tenant_name)
        ),
        overdue_proposals=[
            OverdueProposal(t.tenant_id, t.tenant_name, e.engagement_id, p.proposal_id, p.text, owner, due)
            for t, e in pairs
            for p, owner, due in past_due(e.proposals, today)
        ],
        quiet_agreements=[q for t, e in pairs for q in _quiet(t, e, today)],
        still_building=list(still_building or ()),
    )
