"""Folds kept between batches are used only from exactly the state they were stored as, and only
by one batch at a time (projections/projector.py)."""

from __future__ import annotations

from uuid import uuid4

from projections.folds import EngagementFold
from projections.projector import Document, KeptFolds


def stored(key: str, state: bytes) -> Document:
    return Document(key, "engagement", uuid4(), state, b"{}", 1)


def test_a_fold_is_taken_only_from_the_state_it_was_stored_as_and_only_once() -> None:
    kept = KeptFolds()
    fold = EngagementFold()
    kept.keep([stored("engagement:a", b"state-1")], {"engagement:a": fold})

    assert kept.take("engagement:a", b"state-1") is fold
    # Taken: a second batch (another thread) loads its own from the stored state.
    assert kept.take("engagement:a", b"state-1") is None


def test_a_fold_is_not_taken_when_the_stored_state_moved_on_or_is_gone() -> None:
    kept = KeptFolds()
    kept.keep([stored("engagement:a", b"state-1")], {"engagement:a": EngagementFold()})
    kept.keep([stored("engagement:b", b"state-1")], {"engagement:b": EngagementFold()})

    assert kept.take("engagement:a", b"state-2") is None  # another process committed after it
    assert kept.take("engagement:a", b"state-1") is None  # and it is not kept for later
    assert kept.take("engagement:b", None) is None  # the views were emptied (a rebuild)


def test_only_the_most_recently_kept_folds_stay() -> None:
    kept = KeptFolds(size=2)
    folds = {f"engagement:{n}": EngagementFold() for n in range(3)}
    for key, fold in folds.items():
        kept.keep([stored(key, b"s")], {key: fold})

    assert kept.take("engagement:0", b"s") is None
    assert kept.take("engagement:1", b"s") is folds["engagement:1"]
    assert kept.take("engagement:2", b"s") is folds["engagement:2"]
