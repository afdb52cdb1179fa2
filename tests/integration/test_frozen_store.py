"""History is sacred: a store written by an earlier release reads identically in this one.

Each folder under `tests/frozen/` named after a release's date holds a copy of an event store
written by that release (`store.tar.gz`: the control plane, the tenant keys, one client
organisation's events, and the data directory's secrets as the embedded default keeps them) and
what that release answered on it (`answers.json`): documents, boards, matrices and dashboards now
and as of seven past moments and at four versions, the organisation, the longitudinal view, the
portfolio, the whole audit trail, the lineage of every decision and dance card, the chain's
verification and head, the exports, and every aggregate replayed from its events; and, since the
release that added them, the organisation's members and invitations, its notification settings,
its units' personal codes and what the outbox holds for it.

The test unpacks each copy into an empty data directory, rebuilds every read model from the
events by the product's own rebuild path (`services.readmodel.rebuild`), asks every question
again through the HTTP API, replays every aggregate from its events alone, and requires the very
same answers. So an event whose meaning changes — a score read in reverse, a status renamed, a
field dropped without an upcaster — fails here, and a new event shape passes only with an
upcaster that gives the old events their old meaning.

A copy is never edited or regenerated: a release that adds an event type writes a new copy beside
the old ones (`tests/frozen/make_frozen_store.py`), and the test of topics requires that the
copies together hold every event topic the domain knows. The copies are read on the embedded
default only: the product has no path that imports a SQLite store into PostgreSQL, and the
answers are those of the read models, which the suite already proves equal on both backends
(tests/integration/test_projection_equivalence.py).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.utils import get_topic, resolve_topic

from services.bootstrap import build_container
from tests.frozen.added import is_added
from tests.frozen.make_frozen_store import ANSWERS, STORE, answers_of, unpack
from tests.frozen.questions import settings_for, the_tenant
from tests.frozen.replay import topics_in
from tests.frozen.topics import domain_event_topics

FROZEN = Path(__file__).parent.parent / "frozen"
COPIES = sorted(folder for folder in FROZEN.iterdir() if (folder / STORE).exists())


def differences(expected: Any, actual: Any, where: str = "", under: str = "") -> Iterator[str]:
    """Where two answers differ, as paths into them (the first few are enough to read); `under`
    is the key that holds them (a field added since is known by its name and where it sits)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(expected.keys() | actual.keys()):
            if key not in actual:
                yield f"{where}/{key}: missing"
            elif key not in expected:
                if not is_added(key, under):
                    yield f"{where}/{key}: unexpected"
            else:
                yield from differences(expected[key], actual[key], f"{where}/{key}", key)
    elif isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            yield from differences(left, right, f"{where}[{index}]", under)
    elif expected != actual:
        yield f"{where}: was {json.dumps(expected, ensure_ascii=False)[:200]}, is {json.dumps(actual, ensure_ascii=False)[:200]}"


def stored_topics(copy: Path, data_dir: Path) -> set[str]:
    unpack(copy / STORE, data_dir)
    container = build_container(settings_for(data_dir))
    try:
        return topics_in(container, the_tenant(container).id)
    finally:
        asyncio.run(container.close())


def test_the_comparison_finds_an_answer_changed_missing_added_or_reordered() -> None:
    expected = {"matrix": {"cells": [{"index": "2.43"}, {"index": "3.10"}]}, "trail": [1, 2]}
    assert list(differences(expected, expected)) == []
    changed = {"matrix": {"cells": [{"index": "3.57"}, {"index": "3.10"}], "new": 1}, "trail": [2, 1]}
    assert list(differences(expected, changed)) == [
        '/matrix/cells[0]/index: was "2.43", is "3.57"',
        "/matrix/new: unexpected",
        "/trail[0]: was 1, is 2",
        "/trail[1]: was 2, is 1",
    ]
    assert list(differences(expected, {"trail": [1, 2, 3]})) == [
        "/matrix: missing",
        "/trail: was [1, 2], is [1, 2, 3]",
    ]
    # A field added since passes where it was added, and only there.
    progress = {"unit_progress": [{"dialogues": 1}], "relation_views": [{"index": "2.43"}]}
    grown = {
        "unit_progress": [{"dialogues": 1, "raters": 4}],
        "relation_views": [{"index": "2.43", "raters": 4}],
    }
    assert list(differences(progress, grown)) == ["/relation_views[0]/raters: unexpected"]


def test_there_is_a_frozen_copy_written_by_a_release() -> None:
    assert COPIES, f"no frozen store under {FROZEN}"


@pytest.mark.slow
def test_the_frozen_copies_together_hold_every_event_topic_the_domain_knows(tmp_path: Path) -> None:
    stored: set[str] = set()
    for copy in COPIES:
        stored |= stored_topics(copy, tmp_path / copy.name)
    # A stored topic resolves to a class of today's domain (a renamed class is registered under
    # its old topic: the stored rows are never rewritten).
    resolved = {get_topic(resolve_topic(topic)) for topic in stored}
    unknown = resolved - domain_event_topics()
    assert unknown == set(), "stored event types today's domain does not know: history is sacred"
    missing = domain_event_topics() - resolved
    assert missing == set(), "event types no frozen copy holds: write a new copy beside the others"


@pytest.mark.slow
@pytest.mark.parametrize("copy", COPIES, ids=[copy.name for copy in COPIES])
def test_a_frozen_store_rebuilt_and_replayed_answers_as_the_release_that_wrote_it(
    copy: Path, tmp_path: Path
) -> None:
    expected = json.loads((copy / ANSWERS).read_text(encoding="utf-8"))
    unpack(copy / STORE, tmp_path / "data")

    answers = answers_of(tmp_path / "data")

    found = list(differences(expected, answers))
    by_question = Counter(re.split(r"[/\[:]", difference, maxsplit=2)[1] for difference in found)
    assert found == [], (
        f"{len(found)} answers differ from those {copy.name}'s release gave, by question: {dict(by_question)}\n"
        + "\n".join(found[:20])
    )
