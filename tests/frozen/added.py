"""Fields a later release added to the read models on purpose, by name, with the release and the
reason. An old copy's answers lack them, and only these may be new: never a field whose meaning
changed, never a field taken away."""

from __future__ import annotations

from typing import Any

ADDED_SINCE: dict[str, str] = {
    "raters": "documents 4 (docs/adr/0032): how many individuals of a unit have rated; 0 where none has",
    "people_and_messages": "questions (docs/adr/0029-0032): the organisation's members and invitations, who "
    "receives which messages, personal codes' counts and the outbox, asked since the release that added them",
    "people": "documents 4 (docs/adr/0032): a board unit's people, when personal codes were issued; none before",
}


# Where a field of a common name was added: only in the items of these lists (a relation's
# `raters` was there from the start and stays in what a release before the additions wrote).
ADDED_UNDER: dict[str, frozenset[str]] = {
    "raters": frozenset({"unit_progress", "units"}),
    "people": frozenset({"units"}),
}


def is_added(key: str, under: str) -> bool:
    """Whether `key`, found in an item held under `under`, is a field added since."""
    return key in ADDED_SINCE and (key not in ADDED_UNDER or under in ADDED_UNDER[key])


def without_added(value: Any, under: str = "") -> Any:
    """`value` as a release before the additions would have written it (`under`: the key that
    holds it)."""
    if isinstance(value, dict):
        return {key: without_added(item, key) for key, item in value.items() if not is_added(key, under)}
    if isinstance(value, list):
        return [without_added(item, under) for item in value]
    return value
