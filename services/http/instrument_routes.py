"""The consultancy's rating instruments: the built-in one and those loaded by licensees, versioned."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.types import ControllerRouterHandler

from domain.default_instrument import DEFAULT_INSTRUMENT_ID
from domain.instrument import Dimension, InstrumentVersion, StrengthBand
from services.auth.guards import platform_guard
from services.auth.principal import Principal
from services.bootstrap import Container
from services.controlplane import PLATFORM_ID, InstrumentSummary
from services.requests.problems import problem_responses
from services.requests.provenance import build_provenance
from services.text import name_rule, text_rule

# `(?!\n)`: Python's `$` also matches before a final newline.
DIMENSION_KEY = r"^[a-z][a-z0-9_]{0,39}$(?!\n)"

DimensionKey = Annotated[
    str, msgspec.Meta(pattern=DIMENSION_KEY, description="Lower-case letters, digits and underscores.")
]
DimensionName = Annotated[str, name_rule(min_length=1, max_length=200)]
Question = Annotated[str, text_rule(min_length=1, max_length=1000)]
BandLabel = Annotated[str, name_rule(min_length=1, max_length=100)]
ScaleBound = Annotated[int, msgspec.Meta(ge=0, le=100, description="A score on the rating scale.")]


class DimensionIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One dimension every relation is rated on, with its name and question in Danish and English."""

    key: DimensionKey
    name_da: DimensionName
    name_en: DimensionName
    question_da: Question
    question_en: Question


class BandIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A strength band: relation indices from `lower` (a decimal, as a string or a number) up to
    the next band's lower bound carry this label."""

    lower: Decimal
    label_da: BandLabel
    label_en: BandLabel


class InstrumentVersionIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The content of an instrument version: the scale, the dimensions and the strength bands.

    Dimension keys are distinct, `scale_min` lies below `scale_max`, and the bands' lower
    bounds rise and lie on the scale.
    """

    scale_min: ScaleBound
    scale_max: ScaleBound
    dimensions: Annotated[list[DimensionIn], msgspec.Meta(min_length=1, max_length=20)]
    bands: Annotated[list[BandIn], msgspec.Meta(min_length=1, max_length=10)]


class NewInstrument(InstrumentVersionIn, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new instrument (e.g. a licensee's wording of the official survey) and its version 1.

    The name is unique on the platform, regardless of case.
    """

    name: Annotated[str, name_rule(min_length=1, max_length=200)]


class DimensionView(msgspec.Struct, frozen=True, kw_only=True):
    """A dimension with its wording in Danish and English."""

    key: str
    name_da: str
    name_en: str
    question_da: str
    question_en: str


class BandView(msgspec.Struct, frozen=True, kw_only=True):
    """A strength band, from `lower` (a decimal string) up to the next band's lower bound."""

    lower: Decimal
    label_da: str
    label_en: str


class InstrumentVersionView(msgspec.Struct, frozen=True, kw_only=True):
    """One published, immutable version of an instrument, with its full wording."""

    instrument_id: UUID
    version: int
    name: str
    scale_min: int
    scale_max: int
    dimensions: list[DimensionView]
    bands: list[BandView]


class InstrumentListed(msgspec.Struct, frozen=True, kw_only=True):
    """An instrument in the list, with the number of its latest version."""

    id: UUID
    name: str
    latest_version: int
    built_in: bool


class InstrumentView(msgspec.Struct, frozen=True, kw_only=True):
    """An instrument with every version it has published, oldest first."""

    id: UUID
    name: str
    built_in: bool
    versions: list[InstrumentVersionView]


def version_view(version: InstrumentVersion) -> InstrumentVersionView:
    return InstrumentVersionView(
        instrument_id=version.instrument_id,
        version=version.version,
        name=version.name,
        scale_min=version.scale_min,
        scale_max=version.scale_max,
        dimensions=[msgspec.convert(d, DimensionView, from_attributes=True) for d in version.dimensions],
        bands=[msgspec.convert(b, BandView, from_attributes=True) for b in version.bands],
    )


def listed(summary: InstrumentSummary) -> InstrumentListed:
    return InstrumentListed(
        id=summary.id, name=summary.name, latest_version=summary.latest_version, built_in=summary.built_in
    )


def dimensions_of(data: InstrumentVersionIn) -> tuple[Dimension, ...]:
    return tuple(
        Dimension(d.key, d.name_da.strip(), d.name_en.strip(), d.question_da.strip(), d.question_en.strip())
        for d in data.dimensions
    )


def bands_of(data: InstrumentVersionIn) -> tuple[StrengthBand, ...]:
    return tuple(StrengthBand(b.lower, b.label_da.strip(), b.label_en.strip()) for b in data.bands)


@get("/api/v1/instruments", responses=problem_responses(401), tags=["instruments"])
async def list_instruments(container: NamedDependency[Container]) -> list[InstrumentListed]:
    """Every rating instrument an engagement can pin: the built-in one first, then those the
    consultancy has loaded, by name. Any signed-in user."""
    return [listed(s) for s in await container.offloop(container.control.instruments)]


@get(
    "/api/v1/instruments/{instrument_id:uuid}",
    responses=problem_responses(400, 401, 404),
    tags=["instruments"],
)
async def get_instrument(
    instrument_id: FromPath[UUID], container: NamedDependency[Container]
) -> InstrumentView:
    """One instrument with every published version and its full wording. Any signed-in user."""
    versions = await container.offloop(container.control.instrument_versions, instrument_id)
    return InstrumentView(
        id=instrument_id,
        name=versions[-1].name,
        built_in=instrument_id == DEFAULT_INSTRUMENT_ID,
        versions=[version_view(v) for v in versions],
    )


@post(
    "/api/v1/instruments",
    guards=[platform_guard],
    responses=problem_responses(400, 401, 403, 409, 422, 503),
    tags=["instruments"],
)
async def create_instrument(
    data: JSONBody[NewInstrument],
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    container: NamedDependency[Container],
) -> InstrumentVersionView:
    """Loads a new instrument and publishes its version 1. Consultancy admins only.

    409 `already_exists` when the name is taken; 409 `invariant` for a malformed version
    (repeated dimension keys, `scale_min` not below `scale_max`, bands not rising or off the scale).
    """
    provenance = build_provenance(request, principal, PLATFORM_ID, "CreateInstrument")
    published = await container.offloop(
        container.control.create_instrument,
        data.name,
        data.scale_min,
        data.scale_max,
        dimensions_of(data),
        bands_of(data),
        provenance,
    )
    return version_view(published)


@post(
    "/api/v1/instruments/{instrument_id:uuid}/versions",
    guards=[platform_guard],
    responses=problem_responses(400, 401, 403, 404, 409, 422, 503),
    tags=["instruments"],
)
async def publish_instrument_version(
    instrument_id: FromPath[UUID],
    data: JSONBody[InstrumentVersionIn],
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    container: NamedDependency[Container],
) -> InstrumentVersionView:
    """Publishes the instrument's next version. Consultancy admins only.

    Engagements keep the version they pinned. 409 `invariant` for a malformed version or for
    the built-in instrument, which never changes.
    """
    provenance = build_provenance(request, principal, PLATFORM_ID, "PublishInstrumentVersion")
    published = await container.offloop(
        container.control.publish_instrument_version,
        instrument_id,
        data.scale_min,
        data.scale_max,
        dimensions_of(data),
        bands_of(data),
        provenance,
    )
    return version_view(published)


INSTRUMENT_ROUTES: list[ControllerRouterHandler] = [
    list_instruments,
    get_instrument,
    create_instrument,
    publish_instrument_version,
]
