from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvariantViolated
from domain.provenance import Provenance

INSTRUMENT_NAMESPACE = UUID("5c2d8e1f-3a4b-5c6d-9e7f-0a1b2c3d4e5f")


@dataclass(frozen=True)
class Dimension:
    key: str
    name_da: str
    name_en: str
    question_da: str
    question_en: str


@dataclass(frozen=True)
class StrengthBand:
    """Indices from `lower` (inclusive) up to the next band's lower bound fall in this band."""

    lower: Decimal
    label_da: str
    label_en: str


@dataclass(frozen=True)
class InstrumentVersion:
    """One published, immutable version of an instrument. An engagement pins the version it used."""

    instrument_id: UUID
    version: int
    name: str
    scale_min: int
    scale_max: int
    dimensions: tuple[Dimension, ...]
    bands: tuple[StrengthBand, ...]

    @property
    def dimension_keys(self) -> tuple[str, ...]:
        return tuple(d.key for d in self.dimensions)

    def band_for(self, index: Decimal) -> StrengthBand:
        chosen = self.bands[0]
        for band in self.bands:
            if index >= band.lower:
                chosen = band
        return chosen

    def check_scores(self, scores: Mapping[str, int]) -> None:
        missing = [k for k in self.dimension_keys if k not in scores]
        unknown = [k for k in scores if k not in self.dimension_keys]
        if missing or unknown:
            raise InvariantViolated(
                "scores_incomplete",
                instrument=self.name,
                version=self.version,
                missing=tuple(missing),
                unknown=tuple(unknown),
            )
        outside = [k for k, v in scores.items() if not self.scale_min <= v <= self.scale_max]
        if outside:
            raise InvariantViolated(
                "scores_off_scale", low=self.scale_min, high=self.scale_max, outside=tuple(outside)
            )


def check_version_shape(
    scale_min: int, scale_max: int, dimensions: tuple[Dimension, ...], bands: tuple[StrengthBand, ...]
) -> None:
    if scale_min >= scale_max:
        raise InvariantViolated("scale_inverted")
    if not dimensions:
        raise InvariantViolated("no_dimensions")
    keys = [d.key for d in dimensions]
    if len(set(keys)) != len(keys) or any(not k.strip() for k in keys):
        raise InvariantViolated("dimension_keys_invalid")
    lowers = [b.lower for b in bands]
    if any(not lower.is_finite() for lower in lowers):
        raise InvariantViolated("band_bounds_not_finite")
    if not bands or lowers != sorted(set(lowers)):
        raise InvariantViolated("bands_not_rising")
    if any(not scale_min <= lower <= scale_max for lower in lowers):
        raise InvariantViolated("bands_off_scale", low=scale_min, high=scale_max)


class Instrument(Aggregate):
    """A consultancy's rating instrument; each change is published as a new version."""

    name: str
    versions: list[InstrumentVersion]

    @staticmethod
    def create_id(provenance: Provenance) -> UUID:
        # Follows from the command, so a replayed command names the same instrument.
        return uuid5(INSTRUMENT_NAMESPACE, str(provenance.command_id))

    @event("Created")
    def __init__(self, name: str, provenance: Provenance) -> None:
        self.name = name
        self.versions = []

    @property
    def latest(self) -> InstrumentVersion:
        if not self.versions:
            raise InvariantViolated("instrument_unpublished", instrument=self.name)
        return self.versions[-1]

    def version_number(self, version: int) -> InstrumentVersion:
        for candidate in self.versions:
            if candidate.version == version:
                return candidate
        raise InvariantViolated("no_instrument_version", instrument=self.name, version=version)

    def publish(
        self,
        scale_min: int,
        scale_max: int,
        dimensions: tuple[Dimension, ...],
        bands: tuple[StrengthBand, ...],
        provenance: Provenance,
    ) -> InstrumentVersion:
        check_version_shape(scale_min, scale_max, dimensions, bands)
        published = InstrumentVersion(
            self.id, len(self.versions) + 1, self.name, scale_min, scale_max, dimensions, bands
        )
        self._version_published(published, provenance)
        return published

    @event("VersionPublished")
    def _version_published(self, published: InstrumentVersion, provenance: Provenance) -> None:
        self.versions.append(published)
