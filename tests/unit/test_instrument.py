"""Instruments: the default one Balkort ships, strength bands, score checks, versioned publishing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.default_instrument import DEFAULT_INSTRUMENT
from domain.errors import InvariantViolated
from domain.instrument import Dimension, Instrument, StrengthBand
from tests.unit.factories import ALL_THREES, provenance

RC_KEYS = (
    "frequent",
    "timely",
    "accurate",
    "problem_solving",
    "shared_goals",
    "shared_knowledge",
    "mutual_respect",
)


def dimension(key: str) -> Dimension:
    return Dimension(key, f"{key} da", f"{key} en", "Spørgsmål?", "Question?")


BANDS = (StrengthBand(Decimal("1"), "Svag", "Weak"), StrengthBand(Decimal("3"), "Stærk", "Strong"))


def test_the_default_instrument_has_the_seven_dimensions_in_danish_and_english() -> None:
    assert DEFAULT_INSTRUMENT.dimension_keys == RC_KEYS
    assert (DEFAULT_INSTRUMENT.scale_min, DEFAULT_INSTRUMENT.scale_max) == (1, 5)
    for d in DEFAULT_INSTRUMENT.dimensions:
        assert d.name_da.strip()
        assert d.name_en.strip()
        assert d.question_da.endswith("?")
        assert d.question_en.endswith("?")
        assert d.name_da != d.name_en
    assert DEFAULT_INSTRUMENT.dimensions[4].name_da == "Fælles mål"
    assert DEFAULT_INSTRUMENT.dimensions[6].name_en == "Mutual respect"


@pytest.mark.parametrize(
    ("index", "label"),
    [
        ("0.50", "Weak"),  # below the lowest band still falls in it
        ("1.00", "Weak"),
        ("2.49", "Weak"),
        ("2.50", "Moderate"),
        ("3.74", "Moderate"),
        ("3.75", "Strong"),
        ("5.00", "Strong"),
    ],
)
def test_band_boundaries(index: str, label: str) -> None:
    assert DEFAULT_INSTRUMENT.band_for(Decimal(index)).label_en == label


def test_check_scores_accepts_a_full_rating() -> None:
    DEFAULT_INSTRUMENT.check_scores(ALL_THREES)


@pytest.mark.parametrize(
    ("scores", "message"),
    [
        ({}, "missing: frequent, timely"),
        ({**ALL_THREES, "tillid": 3}, r"missing: none; unknown: tillid"),
        ({**ALL_THREES, "frequent": 0, "mutual_respect": 6}, r"1\.\.5; outside: frequent, mutual_respect"),
    ],
)
def test_check_scores_names_what_is_wrong(scores: dict[str, int], message: str) -> None:
    with pytest.raises(InvariantViolated, match=message):
        DEFAULT_INSTRUMENT.check_scores(scores)


def test_publishing_numbers_the_versions() -> None:
    instrument = Instrument(name="Licens RC", provenance=provenance())
    with pytest.raises(InvariantViolated, match="no published version"):
        _ = instrument.latest
    first = instrument.publish(1, 5, (dimension("a"),), BANDS, provenance())
    second = instrument.publish(0, 10, (dimension("a"), dimension("b")), BANDS, provenance())
    assert (first.version, second.version) == (1, 2)
    assert first.instrument_id == second.instrument_id == instrument.id
    assert instrument.latest == second
    assert instrument.version_number(1) == first
    assert first.dimension_keys == ("a",)
    with pytest.raises(InvariantViolated, match="no version 3"):
        instrument.version_number(3)


@pytest.mark.parametrize(
    ("scale", "dimensions", "bands", "message"),
    [
        ((5, 5), (dimension("a"),), BANDS, "minimum"),
        ((5, 1), (dimension("a"),), BANDS, "minimum"),
        ((1, 5), (), BANDS, "at least one dimension"),
        ((1, 5), (dimension("a"), dimension("a")), BANDS, "distinct"),
        ((1, 5), (dimension(" "),), BANDS, "not empty"),
        ((1, 5), (dimension("a"),), (), "rising order"),
        ((1, 5), (dimension("a"),), (BANDS[1], BANDS[0]), "rising order"),
        ((1, 5), (dimension("a"),), (BANDS[0], BANDS[0]), "rising order"),
    ],
)
def test_publishing_checks_the_shape(
    scale: tuple[int, int], dimensions: tuple[Dimension, ...], bands: tuple[StrengthBand, ...], message: str
) -> None:
    instrument = Instrument(name="Licens RC", provenance=provenance())
    instrument.collect_events()
    with pytest.raises(InvariantViolated, match=message):
        instrument.publish(*scale, dimensions, bands, provenance())
    assert instrument.versions == []
    assert instrument.collect_events() == []
