"""Personal codes: a join code per person of a unit, where participants rate one by one.

The facilitator says how many people a unit has; a code is derived for each (from the batch the
request's command id names and the slip's number, services/auth/personal_codes.py), shown on a
sheet of slips (code, QR code, join link) and kept only as a digest, like every join code. A
retried request gets the same codes again. Each
code rates as its own pseudonymous rater (its holder's ratings are recorded under a pseudonym of
the code's id, `TenantApplication.pseudonym`), so the same code on another phone is the same
rater. Progress is a count: how many of the unit's people have rated, never which.

Both adapters issue, extend and revoke through these functions (docs/adr/0032).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

import msgspec

from domain.errors import InvariantViolated, NotFound
from domain.personal_codes import PersonalCodes, check_people
from domain.provenance import Provenance
from services.auth.join_codes import digest_of, end_of_theme_day
from services.auth.personal_codes import code_of_slip, derived_code
from services.bootstrap import Container
from services.usecases.bus import query
from services.usecases.join_codes import join_url, qr_code_svg
from services.usecases.reads import engagement_view


class IssuePersonalCodes(msgspec.Struct, frozen=True, kw_only=True):
    """Personal codes for `people` more people of a unit (the first batch, or an extension)."""

    engagement_id: UUID
    unit_id: UUID
    people: int


class PersonalSlip(msgspec.Struct, frozen=True, kw_only=True):
    """One person's slip: shown in the answer to the request that issued it (and to its retries)."""

    slip: int
    code: str
    join_url: str
    qr_svg: str


class PersonalCodesIssued(msgspec.Struct, frozen=True, kw_only=True):
    """The slips just issued (numbered on from earlier batches), and how many people the unit's
    personal codes are for now. The codes appear here and nowhere else; a retried request gets
    the same slips again."""

    unit_id: UUID
    people: int
    expires_at: datetime
    slips: list[PersonalSlip]


class PersonalCodesOut(msgspec.Struct, frozen=True, kw_only=True):
    """A unit's personal codes as the facilitator sees them: how many people they are for and
    how many of those have rated, the slips revoked by number; never a code, never who rated,
    never when anyone did."""

    unit_id: UUID
    people: int
    rated: int
    slips_issued: int
    revoked_slips: list[int]
    expires_at: datetime


def _unit_codes_out(batch: PersonalCodes, rated: int) -> PersonalCodesOut:
    return PersonalCodesOut(
        unit_id=batch.unit_id,
        people=batch.people,
        rated=rated,
        slips_issued=len(batch.slips),
        revoked_slips=sorted(batch.revoked),
        expires_at=batch.expires_at,
    )


async def issue_personal_codes(
    container: Container, tenant_id: UUID, command: IssuePersonalCodes, provenance: Provenance, base_url: str
) -> PersonalCodesIssued:
    """Derive a code for each of `command.people` people of the unit, valid until the end of the
    theme day (Danish time), and record them with the unit's personal codes in one save.
    Refused where units rate together, for a unit not taking part and after the theme day. A
    retried request (the same command id) is answered with the codes it issued, derived again,
    and records nothing new."""
    check_people(command.people)
    engagement = await query(container, tenant_id, lambda app: app.engagement(command.engagement_id))
    if command.unit_id not in engagement.unit_ids:
        raise NotFound("unit_not_taking_part", unit=str(command.unit_id))
    expires_at = end_of_theme_day(engagement.preparation.theme_day)
    key, digesting = container.personal_code_keys[0], container.join_code_key

    def digest_for(batch_id: UUID, slip: int, draw: int) -> str:
        return digest_of(digesting, derived_code(key, tenant_id, batch_id, slip, draw))

    batch, numbers = await container.offloop(
        container.control.issue_personal_codes,
        tenant_id,
        command.engagement_id,
        command.unit_id,
        engagement.rating_mode,
        command.people,
        digest_for,
        expires_at,
        provenance,
    )
    slips = [_slip(container, batch, number, base_url) for number in numbers]
    return PersonalCodesIssued(
        unit_id=command.unit_id, people=batch.people, expires_at=batch.expires_at, slips=slips
    )


def _slip(container: Container, batch: PersonalCodes, number: int, base_url: str) -> PersonalSlip:
    code = code_of_slip(
        container.personal_code_keys,
        (container.join_code_key, *container.earlier_join_code_keys),
        batch.tenant_id,
        batch.batch_of(number),
        number,
        batch.code_of(number),
    )
    if code is None:
        raise InvariantViolated("personal_code_not_derivable", slip=number)
    url = join_url(base_url, container, code)
    return PersonalSlip(slip=number, code=code, join_url=url, qr_svg=qr_code_svg(url))


async def personal_code_sheet(
    container: Container, tenant_id: UUID, engagement_id: UUID, unit_id: UUID, base_url: str
) -> tuple[PersonalCodesIssued, frozenset[int]]:
    """Every slip of the unit again, with the codes they were issued with (derived again, as for
    a retried request), and the numbers of the slips revoked: the printed sheet shown again
    (docs/adr/0032). The codes of revoked slips are left out. NotFound before any were issued."""
    batch = await container.offloop(container.control.personal_codes, tenant_id, engagement_id, unit_id)
    if batch is None:
        raise NotFound("no_personal_codes")
    usable = batch.usable_slips()
    slips = [_slip(container, batch, number, base_url) for number in usable]
    sheet = PersonalCodesIssued(
        unit_id=unit_id, people=batch.people, expires_at=batch.expires_at, slips=slips
    )
    return sheet, frozenset(batch.revoked)


async def revoke_personal_codes(
    container: Container,
    tenant_id: UUID,
    engagement_id: UUID,
    unit_id: UUID,
    slip: int | None,
    provenance: Provenance,
) -> tuple[PersonalCodesOut, tuple[UUID, ...]]:
    """Revoke one slip's code (a lost slip) or, with `slip` None, every code of the unit still
    usable; nobody joins with them any more and their tokens stop working. The unit's codes as
    they stand, and the ids of the join codes revoked now (the adapter ends their streams)."""
    batch, revoked = await container.offloop(
        container.control.revoke_personal_codes, tenant_id, engagement_id, unit_id, slip, provenance
    )
    rated = (await raters_per_unit(container, tenant_id, engagement_id)).get(unit_id, 0)
    return _unit_codes_out(batch, rated), revoked


async def raters_per_unit(
    container: Container, tenant_id: UUID, engagement_id: UUID, moment: datetime | None = None
) -> dict[UUID, int]:
    """How many individuals of each unit have rated, from the read model (a count, never who)."""
    engagement = await engagement_view(container, tenant_id, engagement_id, moment=moment)
    return {progress.unit_id: progress.raters for progress in engagement.unit_progress}


async def people_per_unit(
    container: Container,
    tenant_id: UUID,
    engagement_id: UUID,
    unit_ids: Iterable[UUID],
    moment: datetime | None = None,
) -> dict[UUID, int]:
    """How many people each unit's personal codes were for at `moment` (now, when None); units
    without personal codes are left out."""

    def counted() -> dict[UUID, int]:
        found = {u: container.control.personal_codes(tenant_id, engagement_id, u) for u in unit_ids}
        return {u: batch.people_at(moment) for u, batch in found.items() if batch is not None}

    return await container.offloop(counted)


async def personal_codes_of(
    container: Container, tenant_id: UUID, engagement_id: UUID, unit_id: UUID
) -> PersonalCodesOut:
    """The unit's personal codes: people, how many of them rated, revoked slips. NotFound before
    any were issued."""
    batch = await container.offloop(container.control.personal_codes, tenant_id, engagement_id, unit_id)
    if batch is None:
        raise NotFound("no_personal_codes")
    rated = (await raters_per_unit(container, tenant_id, engagement_id)).get(unit_id, 0)
    return _unit_codes_out(batch, rated)
