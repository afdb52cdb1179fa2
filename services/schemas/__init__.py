"""Request and response types at the edge (msgspec Structs): the shapes the API's bodies and the
pages' forms are decoded into, and the API's answers. Aggregates are never serialised directly.

Every string a request carries obeys the text rule of `services.text`: `Name` for what is shown
as a label, `Text` and `RequiredText` for free text (a test walks every request body to check).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from services.text import FreeText as Text
from services.text import Name
from services.text import RequiredFreeText as RequiredText

__all__ = ["Name", "RequiredText", "Round", "Text"]

Round = Annotated[int, msgspec.Meta(ge=1, le=10, description="A dialogue round, 1-based.")]
