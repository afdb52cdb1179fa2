"""Request and response types at the HTTP edge (msgspec Structs). Aggregates are never serialised directly."""

from __future__ import annotations

from typing import Annotated

import msgspec

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, description="A short name or title.")]
Text = Annotated[str, msgspec.Meta(max_length=20_000, description="Free text.")]
RequiredText = Annotated[
    str, msgspec.Meta(min_length=1, max_length=20_000, description="Free text, not empty.")
]
Round = Annotated[int, msgspec.Meta(ge=1, le=10, description="A dialogue round, 1-based.")]
