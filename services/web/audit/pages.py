"""Pages: the auditor's — the audit trail with filters, paging and exports; a decision's
lineage drawn from the ratings that motivated it to what came of it; the tenant's decisions;
and whether the tenant's hash chain verifies.

The pages read what the API reads, the same way (`services/http/audit_routes.py` and
`chain_routes.py`): the trail's filter and pages, the lineage, the chain verification. They
add words, names and links, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import msgspec
from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from domain.cards import CardStatus
from domain.errors import NotFound
from domain.organisation import Organisation
from projections.audit import AuditFilter, AuditRow
from projections.documents import EngagementOut, OrganisationOut
from projections.lineage import NodeKind
from projections.verify import Verdict
from services.access import AUDIT, PAGE_TENANT_PREFIX, Policy
from services.bootstrap import Container
from services.readmodel.verify import anchors_of, verify_then_catch_up
from services.requests.commands import container_of
from services.requests.reads import engagements_of, known_tenant, organisation_view
from services.usecases.audit import (
    LineageNodeOut,
    audit_page,
    lineage_of,
    trail_in_pages,
)
from services.web.audit import lineage as audit_lineage
from services.web.audit.query import (
    HAPPENED,
    PAGE_SIZES,
    RECORDED,
    parse_trail_query,
    trail_address,
    trail_filter,
)
from services.web.audit.words import (
    Names,
    event_choices,
    event_label,
    lineage_node_of,
    node_kind_label,
    subject,
)
from services.web.i18n import gettext as _
from services.web.labels import (
    agreement_verdict_label,
    card_status_label,
    proposal_decision_label,
    role_label,
)
from services.web.rendering import page

Req = Request[Any, Any, Any]
# Entered this long after it happened: shown as entered later (paper notes typed in).
ENTERED_LATER = timedelta(hours=1)
DECISION_EVENTS = ("AgreementAccepted", "AgreementRejected", "ProposalDecided")

_details = msgspec.json.Decoder(dict[str, Any])


def lineage_url(tenant_id: UUID, node_id: str) -> str | None:
    """The page of a lineage node (`kind:id`), or None when `node_id` names no lineage kind."""
    kind, _sep, entity = node_id.partition(":")
    if kind not in NodeKind._value2member_map_ or not entity:
        return None
    return f"{trail_address(tenant_id)}/lineage/{kind}/{entity}"


# -- who and what the ids are ---------------------------------------------------------------------


async def _tenant_name(container: Container, tenant_id: UUID) -> str:
    return str((await container.offloop(container.control.tenant, tenant_id)).name)


async def _names(request: Req, tenant_id: UUID) -> Names:
    try:
        organisation: OrganisationOut | None = await organisation_view(request, tenant_id)
        engagements: list[EngagementOut] = await engagements_of(request, tenant_id, None, organisation)
    except NotFound:  # an organisation not established yet names nothing
        organisation, engagements = None, []
    return Names.of(organisation, engagements)


def _who(container: Container, actor_id: UUID) -> str | UUID | None:
    """Blocking: an account's name, or the unit whose table a join code stood for."""
    try:
        return str(container.control.user(actor_id).display_name)
    except NotFound:
        pass
    try:
        return container.control.join_code(actor_id).unit_id
    except NotFound:
        return None


async def _people(container: Container, actor_ids: set[UUID], names: Names) -> dict[UUID, str]:
    """The names of the actors who have one."""
    found: dict[UUID, str] = {}
    for actor_id in actor_ids:
        who = await container.offloop(_who, container, actor_id)
        if isinstance(who, UUID):
            found[actor_id] = _("Unit table: %(unit)s", unit=names.unit(who))
        elif who is not None:
            found[actor_id] = who
    return found


def _actor(people: Mapping[UUID, str], actor_id: UUID) -> str:
    return people.get(actor_id) or _("Not an account (%(id)s)", id=str(actor_id)[:8])


# -- the trail ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cause:
    label: str
    node_id: str
    url: str | None


@dataclass(frozen=True)
class TrailRow:
    """One row of the trail in words."""

    position: int
    occurred_at: datetime
    recorded_at: datetime
    entered_later: bool
    actor_id: UUID
    actor: str
    role: str
    event: str
    event_type: str
    aggregate_id: UUID
    concerns: str
    subject: str
    lineage_url: str | None
    causes: list[Cause]


def trail_row(tenant_id: UUID, row: AuditRow, names: Names, people: Mapping[UUID, str]) -> TrailRow:
    details = _details.decode(bytes(row.details))
    node = lineage_node_of(row, details)
    return TrailRow(
        position=row.position,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        entered_later=row.recorded_at - row.occurred_at > ENTERED_LATER,
        actor_id=row.actor_id,
        actor=_actor(people, row.actor_id),
        role=role_label(row.actor_role),
        event=event_label(row.aggregate_type, row.event_type),
        event_type=row.event_type,
        aggregate_id=row.aggregate_id,
        concerns=names.concerns(row),
        subject=subject(row, details, names),
        lineage_url=lineage_url(tenant_id, node) if node else None,
        causes=[
            Cause(node_kind_label(c.partition(":")[0]), c, lineage_url(tenant_id, c)) for c in row.caused_by
        ],
    )


def _aggregate_choices(names: Names, chosen: UUID | None, organisation_id: str) -> list[tuple[str, str]]:
    """What the trail can be narrowed to: the organisation, each engagement, or the aggregate
    picked in the trail itself (an access log)."""
    choices = [(organisation_id, _("The organisation"))]
    choices += [(e_id, _("Engagement: %(title)s", title=title)) for e_id, title in names.engagements.items()]
    if chosen is not None and str(chosen) not in {value for value, _text in choices}:
        choices.append((str(chosen), _("Chosen in the trail (%(id)s)", id=str(chosen)[:8])))
    return choices


@get(f"{PAGE_TENANT_PREFIX}/audit", opt=AUDIT.opt(), name="audit-trail")
async def audit_trail(request: Req, tenant_id: FromPath[UUID]) -> Template:
    """The audit trail: filters, a page of rows, paging and the exports with the same filters."""
    container = await known_tenant(request, tenant_id)
    query, errors = parse_trail_query(request.query_params)
    names = await _names(request, tenant_id)
    filters, api_params, filter_errors = trail_filter(query) if not errors else (None, {}, {})
    errors.update(filter_errors)
    rows: list[TrailRow] = []
    newer = older = first = None
    if filters is not None and not errors:
        found = await audit_page(container_of(request), tenant_id, filters, query.after, query.limit)
        people = await _people(container, {r.actor_id for r in found.items}, names)
        rows = [trail_row(tenant_id, r, names, people) for r in found.items]
        if found.next_after is not None:
            newer = query.url(tenant_id, found.next_after, (*query.back, query.after or 0))
        if query.after is not None:
            previous = query.back[-1] if query.back else 0
            older = query.url(tenant_id, previous or None, query.back[:-1])
            first = query.url(tenant_id, None, ())
    exports = urlencode(api_params)
    api = f"/api/v1/tenants/{tenant_id}/audit"
    return page(
        "audit/trail.html",
        status_code=400 if errors else 200,
        tenant_id=tenant_id,
        tenant_name=await _tenant_name(container, tenant_id),
        current="trail",
        form=query.form,
        errors=errors,
        rows=rows,
        newer=newer,
        older=older,
        first=first,
        filtered=bool(query.filter_params().keys() - {"limit"}),
        aggregates=_aggregate_choices(names, query.aggregate, str(Organisation.id_for(tenant_id))),
        event_choices=event_choices(),
        page_sizes=PAGE_SIZES,
        export_csv=f"{api}/export.csv" + (f"?{exports}" if exports else ""),
        export_jsonl=f"{api}/export.jsonl" + (f"?{exports}" if exports else ""),
        export_chain=f"{api}/export/chain.jsonl",
        HAPPENED=HAPPENED,
        RECORDED=RECORDED,
    )


# -- lineage --------------------------------------------------------------------------------------


async def _row_at(request: Req, tenant_id: UUID, node: LineageNodeOut) -> AuditRow | None:
    """The trail row of the event that added the node (the engagement's event at its position)."""
    found = await audit_page(
        container_of(request),
        tenant_id,
        AuditFilter(aggregate_id=node.engagement_id),
        max(node.position - 1, 0),
        1,
    )
    return found.items[0] if found.items and found.items[0].position == node.position else None


def _summary(node: LineageNodeOut, row: AuditRow | None, details: dict[str, Any], names: Names) -> str:
    if row is None:
        return node.label
    if node.kind == NodeKind.CARD_ANSWER.value:
        answer = CardStatus.ACCEPTED if node.entity_id.endswith(":accepted") else CardStatus.DECLINED
        return _(
            "%(outcome)s: %(text)s",
            outcome=card_status_label(answer.value),
            text=names.card(details.get("card_id")),
        )
    return subject(row, details, names) or node.label


@get(
    f"{PAGE_TENANT_PREFIX}/audit/lineage/{{kind:str}}/{{entity_id:str}}",
    opt=AUDIT.opt(),
    name="audit-lineage",
)
async def audit_lineage_page(
    request: Req,
    tenant_id: FromPath[UUID],
    kind: FromPath[str],
    entity_id: FromPath[str],
) -> Template:
    """One step's lineage: back to the ratings that motivated it, on to what came of it."""
    if kind not in NodeKind._value2member_map_:
        raise NotFound("not_in_lineage", kind=kind)
    container = await known_tenant(request, tenant_id)
    lineage = await lineage_of(container_of(request), tenant_id, NodeKind(kind), entity_id)
    names = await _names(request, tenant_id)
    nodes = [lineage.node, *lineage.ancestors, *lineage.descendants]
    people = await _people(container, {n.actor_id for n in nodes}, names)
    steps: dict[str, audit_lineage.Step] = {}
    for node in nodes:
        row = await _row_at(request, tenant_id, node)
        details = _details.decode(bytes(row.details)) if row is not None else {}
        engagement_id = str(node.engagement_id)
        steps[node.node_id] = audit_lineage.Step(
            node_id=node.node_id,
            kind=node.kind,
            kind_label=node_kind_label(node.kind),
            entity_id=node.entity_id,
            engagement_id=engagement_id,
            summary=_summary(node, row, details, names),
            details=audit_lineage.step_details(node.kind, engagement_id, details, names),
            actor=_actor(people, node.actor_id),
            role=role_label(node.actor_role),
            occurred_at=node.occurred_at,
            recorded_at=row.recorded_at if row is not None else None,
            position=node.position,
            parents=node.parents,
            focus=node.node_id == lineage.node.node_id,
        )
    drawing = audit_lineage.layout(list(steps.values()), [(e.child, e.parent) for e in lineage.edges])
    focus = steps[lineage.node.node_id]
    return page(
        "audit/lineage.html",
        tenant_id=tenant_id,
        tenant_name=await _tenant_name(container, tenant_id),
        current="lineage",
        focus=focus,
        engagement=names.engagements.get(focus.engagement_id, ""),
        ancestors=[steps[n.node_id] for n in lineage.ancestors],
        descendants=[steps[n.node_id] for n in lineage.descendants],
        steps=steps,
        drawing=drawing,
        lineage_url=lambda node_id: lineage_url(tenant_id, node_id),
        trail_url=lambda step: (
            trail_address(tenant_id)
            + "?"
            + urlencode({"aggregate": step.engagement_id, "after": max(step.position - 1, 0)})
        ),
    )


# -- decisions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionRow:
    at: datetime
    engagement: str
    kind: str
    text: str
    outcome: str
    decided_by: str
    rationale: str
    owner: str | None
    due: date | None
    deferred_until: date | None
    lineage_url: str | None


async def _decision_versions(request: Req, tenant_id: UUID) -> dict[str, list[int]]:
    """The engagement versions that recorded each agreement's and proposal's decisions, in order."""
    container = await known_tenant(request, tenant_id)
    await container.projections.settle(tenant_id)
    versions: dict[str, list[int]] = {}
    decisions = AuditFilter(event_types=DECISION_EVENTS)
    async for rows in trail_in_pages(container.views, tenant_id, decisions):
        for row in rows:
            details = _details.decode(bytes(row.details))
            entity = details.get("proposal_id") or details.get("agreement_id")
            versions.setdefault(str(entity), []).append(row.version)
    return versions


def _decision_rows(
    tenant_id: UUID, engagements: list[EngagementOut], versions: Mapping[str, list[int]]
) -> list[DecisionRow]:
    rows = []
    for e in engagements:
        for agreement in e.agreements:
            if agreement.decision is None:
                continue
            decided = versions.get(str(agreement.agreement_id), [])
            node = (
                f"agreement_decision:{agreement.agreement_id}:{decided[-1]}"
                if decided
                else f"agreement:{agreement.agreement_id}"
            )
            rows.append(
                DecisionRow(
                    at=agreement.decision.at,
                    engagement=e.title,
                    kind=_("Agreement"),
                    text=agreement.text,
                    outcome=agreement_verdict_label(agreement.decision.accepted),
                    decided_by=agreement.decision.decided_by,
                    rationale=agreement.decision.rationale,
                    owner=None,
                    due=None,
                    deferred_until=None,
                    lineage_url=lineage_url(tenant_id, node),
                )
            )
        for proposal in e.proposals:
            decided = versions.get(str(proposal.proposal_id), [])
            for i, decision in enumerate(proposal.decisions):
                node = (
                    f"proposal_decision:{proposal.proposal_id}:{decided[i]}"
                    if i < len(decided)
                    else f"proposal:{proposal.proposal_id}"
                )
                rows.append(
                    DecisionRow(
                        at=decision.at,
                        engagement=e.title,
                        kind=_("Proposal"),
                        text=proposal.text,
                        outcome=proposal_decision_label(decision.outcome),
                        decided_by=decision.decided_by,
                        rationale=decision.rationale,
                        owner=decision.owner,
                        due=decision.due,
                        deferred_until=decision.deferred_until,
                        lineage_url=lineage_url(tenant_id, node),
                    )
                )
    return sorted(rows, key=lambda r: r.at, reverse=True)


@get(f"{PAGE_TENANT_PREFIX}/audit/decisions", opt=AUDIT.opt(), name="audit-decisions")
async def audit_decisions(request: Req, tenant_id: FromPath[UUID]) -> Template:
    """Every decision on an agreement or a proposal, across engagements, newest first."""
    container = await known_tenant(request, tenant_id)
    try:
        engagements = await engagements_of(request, tenant_id)
    except NotFound:
        engagements = []
    versions = await _decision_versions(request, tenant_id)
    return page(
        "audit/decisions.html",
        tenant_id=tenant_id,
        tenant_name=await _tenant_name(container, tenant_id),
        current="decisions",
        decisions=_decision_rows(tenant_id, engagements, versions),
    )


# -- verification ---------------------------------------------------------------------------------


def problem_words(verdict: Verdict) -> str:
    """Why the first position does not match, in words."""
    bad = verdict.first_bad
    if bad is None:
        return ""
    return {
        "altered": _(
            "The stored event differs from the digest recorded for it: it was changed after it "
            "was recorded, or events were moved."
        ),
        "missing": _("An event that was chained is gone from the event store."),
        "unexpected": _("An event without a digest sits inside the chained range: it was inserted."),
        "anchor": _(
            "Events and their digests were rewritten together: the chain no longer matches the "
            "head anchored at this position. The change lies after position %(after)s.",
            after=bad.after_anchor or 0,
        ),
    }.get(bad.problem, bad.detail)


def _event_of_finding(class_path: str) -> str:
    """`Engagement.RatingSubmitted` in words."""
    aggregate_type, _sep, event_type = class_path.rpartition(".")
    return event_label(aggregate_type, event_type)


@get(f"{PAGE_TENANT_PREFIX}/audit/verify", opt=AUDIT.opt(), name="audit-verify")
async def audit_verify(request: Req, tenant_id: FromPath[UUID]) -> Template:
    """Verifies the tenant's hash chain as the API's `audit/verify` does, and shows the outcome."""
    container = await known_tenant(request, tenant_id)
    # Every event is checked before the views catch up (and chain what they had not reached).
    verdict: Verdict = await container.offloop(verify_then_catch_up, container, tenant_id)
    anchors = await container.offloop(anchors_of, container, tenant_id)
    bad = verdict.first_bad
    return page(
        "audit/verify.html",
        tenant_id=tenant_id,
        tenant_name=await _tenant_name(container, tenant_id),
        current="verify",
        verdict=verdict,
        last_anchor=anchors[-1] if anchors else None,
        problem=problem_words(verdict),
        bad_event=_event_of_finding(bad.event_type) if bad and bad.event_type else None,
        around_url=(
            trail_address(tenant_id) + "?" + urlencode({"after": max(bad.position - 2, 0), "limit": 5})
            if bad
            else None
        ),
        chain_export=f"/api/v1/tenants/{tenant_id}/audit/export/chain.jsonl",
    )


PAGES: list[ControllerRouterHandler] = [audit_trail, audit_lineage_page, audit_decisions, audit_verify]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", f"{PAGE_TENANT_PREFIX}/audit"): AUDIT,
    ("GET", f"{PAGE_TENANT_PREFIX}/audit/lineage/{{kind:str}}/{{entity_id:str}}"): AUDIT,
    ("GET", f"{PAGE_TENANT_PREFIX}/audit/decisions"): AUDIT,
    ("GET", f"{PAGE_TENANT_PREFIX}/audit/verify"): AUDIT,
}
