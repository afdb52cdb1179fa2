from __future__ import annotations

from domain.errors import InvariantViolated


def required_text(value: str, empty: str) -> str:
    """`value` without the blanks around it; refused with the code `empty` when nothing is left."""
    cleaned = value.strip()
    if not cleaned:
        raise InvariantViolated(empty)
    return cleaned
