"""Join codes: issued per unit table, looked up by what a participant typed, shown as a QR code.

The code is shown once, in the answer that issues it; the store keeps only a digest under the
join-code key (or an earlier one, docs/adr/0016-secrets-and-derived-keys.md).
"""

from __future__ import annotations

import io
import secrets
from datetime import datetime
from uuid import UUID

import msgspec
import segno

from domain.errors import AlreadyExists, InvariantViolated, NotFound
from domain.join_code import JoinCode
from domain.provenance import Provenance
from services.auth.join_codes import digest_of, end_of_theme_day, new_code
from services.bootstrap import Container
from services.usecases.bus import query

# A freshly drawn code that collides with an issued one is drawn again, this often.
DRAWS = 3


class JoinCodeIssued(msgspec.Struct, frozen=True, kw_only=True):
    """A new join code. `code`, `join_url` and `qr_svg` are shown this once and never again."""

    id: UUID
    unit_id: UUID
    code: str
    expires_at: datetime
    join_url: str
    qr_svg: str


def qr_code_svg(url: str, *, title: str = "Join code", scale: int = 4) -> str:
    """`url` as a QR code: an SVG element to put inline in a page or serve as an image."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=scale, border=4, xmldecl=False, title=title)
    return out.getvalue().decode("utf-8")


def join_url(base_url: str, container: Container, code: str) -> str:
    """The join link for `code`: the configured public address, else the request's."""
    base = (container.settings.public_url or base_url).rstrip("/")
    return f"{base}/join#{code}"


async def issue_join_code(
    container: Container,
    tenant_id: UUID,
    engagement_id: UUID,
    unit_id: UUID,
    provenance: Provenance,
    base_url: str,
    expires_at: datetime | None = None,
) -> JoinCodeIssued:
    """A new join code for a unit of the engagement, valid until the end of its theme day (Danish
    time) or the earlier `expires_at` (with a time zone); the answer is the only place its code
    appears."""
    engagement = await query(container, tenant_id, lambda app: app.engagement(engagement_id))
    if unit_id not in engagement.unit_ids:
        raise NotFound("unit_not_taking_part", unit=str(unit_id))
    latest = end_of_theme_day(engagement.preparation.theme_day)
    expires_at = expires_at or latest
    if expires_at > latest:
        raise InvariantViolated(
            "join_code_after_theme_day",
            state=f"theme day ends {latest.isoformat()}",
        )
    for attempt in range(DRAWS):
        code = new_code()
        digest = digest_of(container.join_code_key, code.replace("-", ""))
        try:
            issued: JoinCode = await container.offloop(
                container.control.issue_join_code,
                tenant_id,
                engagement_id,
                unit_id,
                digest,
                expires_at,
                provenance,
            )
        except AlreadyExists:
            if attempt == DRAWS - 1:
                raise
            continue
        url = join_url(base_url, container, code)
        return JoinCodeIssued(
            id=issued.id,
            unit_id=unit_id,
            code=code,
            expires_at=expires_at,
            join_url=url,
            qr_svg=qr_code_svg(url),
        )
    raise AssertionError("unreachable")  # pragma: no cover


async def find_join_code(container: Container, typed: str) -> JoinCode | None:
    """The join code whose code is `typed` (normalised), issued under the current key or an
    earlier one; None when there is none."""
    for key in (container.join_code_key, *container.earlier_join_code_keys):
        try:
            code: JoinCode = await container.offloop(
                container.control.join_code, JoinCode.create_id(digest_of(key, typed))
            )
        except NotFound:
            continue
        return code
    return None


def code_matches(container: Container, typed: str, code: JoinCode) -> bool:
    """Whether `typed` is the code of `code`, under whichever key it was issued."""
    return any(
        secrets.compare_digest(digest_of(key, typed), code.digest)
        for key in (container.join_code_key, *container.earlier_join_code_keys)
    )


async def revoke_join_code(container: Container, code_id: UUID, provenance: Provenance) -> JoinCode:
    """Revoke a join code: nobody joins with it any more (the adapter ends the streams its
    tokens hold)."""
    code: JoinCode = await container.offloop(container.control.revoke_join_code, code_id, provenance)
    return code
