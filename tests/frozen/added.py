"""Fields a later release added to the read models on purpose, by name, with the release and the
reason. An old copy's answers lack them, and only these may be new: never a field whose meaning
changed, never a field taken away."""

from __future__ import annotations

from typing import Any

ADDED_SINCE: dict[str, str] = {
    "raters": "documents 4 (docs/adr/0032): how many individuals of a unit have rated; 0 where none has",
    "people": "documents 4 (docs/adr/0032): a board unit's people, when personal codes were issued; none before",
}


def without_added(value: Any) -> Any:
    """`value` as a release before the additions would have written it."""
    if isinstance(value, dict):
        return {key: without_added(item) for key, item in value.items() if key not in ADDED_SINCE}
    if isinstance(value, list):
        return [without_added(item) for item in value]
    return value
