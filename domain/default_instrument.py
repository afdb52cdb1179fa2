"""The instrument Balkort ships: relational coordination's seven dimensions, in our own words.

Licensees of the official survey wording load theirs as a new instrument version instead.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from domain.instrument import Dimension, InstrumentVersion, StrengthBand

DEFAULT_INSTRUMENT_ID = UUID("6b1f3c1e-5a0d-5c8e-9f4b-7d2a1e0c9b11")

DIMENSIONS = (
    Dimension(
        "frequent",
        "Hyppig kommunikation",
        "Frequent communication",
        "Taler I sammen så ofte, som opgaverne kræver?",
        "Do you talk as often as the work requires?",
    ),
    Dimension(
        "timely",
        "Rettidig kommunikation",
        "Timely communication",
        "Får I det, I skal bruge fra hinanden, i tide?",
        "Do you get what you need from each other in time?",
    ),
    Dimension(
        "accurate",
        "Præcis kommunikation",
        "Accurate communication",
        "Er det, I får fra hinanden, korrekt og til at handle på?",
        "Is what you get from each other correct and usable?",
    ),
    Dimension(
        "problem_solving",
        "Problemløsende kommunikation",
        "Problem-solving communication",
        "Når noget går galt, løser I det så sammen i stedet for at finde en syndebuk?",
        "When something goes wrong, do you solve it together rather than look for someone to blame?",
    ),
    Dimension(
        "shared_goals",
        "Fælles mål",
        "Shared goals",
        "Arbejder I mod de samme mål for borgeren eller opgaven?",
        "Do you work towards the same goals for the citizen or the task?",
    ),
    Dimension(
        "shared_knowledge",
        "Fælles viden",
        "Shared knowledge",
        "Ved I, hvad den anden enhed gør, og hvorfor?",
        "Do you know what the other unit does, and why?",
    ),
    Dimension(
        "mutual_respect",
        "Gensidig respekt",
        "Mutual respect",
        "Bliver jeres bidrag værdsat af den anden enhed, og værdsætter I deres?",
        "Does the other unit value your contribution, and do you value theirs?",
    ),
)

BANDS = (
    StrengthBand(Decimal("1"), "Svag", "Weak"),
    StrengthBand(Decimal("2.5"), "Middel", "Moderate"),
    StrengthBand(Decimal("3.75"), "Stærk", "Strong"),
)

DEFAULT_INSTRUMENT = InstrumentVersion(
    instrument_id=DEFAULT_INSTRUMENT_ID,
    version=1,
    name="Balkort relationel koordinering",
    scale_min=1,
    scale_max=5,
    dimensions=DIMENSIONS,
    bands=BANDS,
)
