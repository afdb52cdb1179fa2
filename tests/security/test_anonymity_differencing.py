"""The anonymity threshold holds across versions, moments and exports: no two published answers
about a relation rated by individuals differ by fewer raters than the threshold, so subtracting
one shown aggregate from another never gives one person's scores (or one person's change of mind).

Two published answers are any two of: the engagement at any `version`, the matrix and its CSV
`as_of` any moment, and the live read models. On the embedded default and on PostgreSQL + Redis
through the HTTP API, and over random theme days on the pure fold (docs/adr/0015).
"""

from __future__ import annotations

import csv
import io
import random
import secrets
from collections.abc import AsyncIterator
from decimal import ROUND_HALF_UP, Decimal
from itertools import combinations
from typing import Any
from uuid import UUID, uuid4

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.default_instrument import DEFAULT_INSTRUMENT
from domain.engagement import Engagement
from domain.phases import Phase
from domain.ratings import RatingMode
from projections.documents import EngagementOut, RelationOut
from projections.folds import EngagementFold
from projections.projector import Recorded, project
from services.persistence.transcoding import MsgspecTranscoder, TypedMapper
from services.settings import Settings
from tests.http_harness import ADMIN, Person, Story, at, scores, serving
from tests.unit.factories import advance_to, later, prepared_engagement

DIMENSIONS = DEFAULT_INSTRUMENT.dimension_keys
TWO_PLACES = Decimal("0.01")


def _mean(values: list[int]) -> Decimal:
    return (Decimal(sum(values)) / len(values)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def _sums(raters: int, means: dict[str, str]) -> tuple[int, ...]:
    """The sums per dimension behind shown means (exact: means have two places, groups are small)."""
    return tuple(int((raters * Decimal(means[key])).to_integral_value(ROUND_HALF_UP)) for key in DIMENSIONS)


def _differences(answers: list[tuple[int, dict[str, str]]]) -> set[tuple[int, ...]]:
    """Every `n₂·m₂ - n₁·m₁` (per dimension) between two published answers, both ways round."""
    sums = {_sums(n, means) for n, means in answers}
    return {tuple(a - b for a, b in zip(x, y, strict=True)) for x in sums for y in sums if x != y}


# -- Through the HTTP API, as any reader can ----------------------------------------------------


@pytest.fixture
async def app(backend: Settings) -> AsyncIterator[Story]:
    async with serving(backend, quick_hashes=True) as started:
        yield started


class Day:
    """An organisation with two units and an engagement rated by individuals, the threshold given,
    a facilitator, a manager and one participant account per rater; every command dated."""

    def __init__(self, manager: Person, facilitator: Person, raters: list[Person], engagement: str) -> None:
        self.manager = manager
        self.facilitator = facilitator
        self.raters = raters
        self.engagement = engagement
        self.tenant_id = ""
        self.visit = ""
        self.acute = ""
        self.minute = 0

    def tick(self) -> dict[str, str]:
        self.minute += 1
        return at(f"2026-06-02T{8 + self.minute // 60:02d}:{self.minute % 60:02d}:00Z")

    def now(self) -> str:
        """The moment of the last command (for `as_of`)."""
        return f"2026-06-02T{8 + self.minute // 60:02d}:{self.minute % 60:02d}:30Z"

    async def advance(self, phase: str) -> None:
        await self.facilitator.post(
            f"{self.engagement}/phase/advance", {"expected_phase": phase}, expect=200, **self.tick()
        )

    async def step_back(self) -> None:
        await self.facilitator.post(
            f"{self.engagement}/phase/back",
            {"expected_phase": "dance_cards", "reason": "En deltager kom for sent"},
            expect=200,
            **self.tick(),
        )

    async def rate(self, rater: int, values: dict[str, int]) -> None:
        await self.raters[rater].post(
            f"{self.engagement}/ratings",
            {"unit_id": self.visit, "counterpart_id": self.acute, "scores": values},
            **self.tick(),
        )

    async def published(self) -> list[tuple[int, dict[str, str]]]:
        """Every answer about the rated relation anyone could read by now, as (raters, means):
        the engagement at each of its versions, the matrix and its CSV export as of the moment
        after each command, the live matrix, relations and longitudinal view. The dashboard's
        weakest ties show only indexes the matrix showed too."""
        answers: list[tuple[int, dict[str, str]]] = []
        indexes: set[str] = set()

        def shown(view: dict[str, Any]) -> None:
            if view.get("suppressed") is False or view.get("shown") is True:
                answers.append((view["raters"], view["means"]))
                indexes.add(view["index"])

        latest = await self.manager.get(self.engagement)
        for version in range(1, latest["version"] + 1):
            at_version = await self.manager.get(self.engagement, params={"version": version})
            for view in at_version["relation_views"]:
                shown(view)
        moments = [f"2026-06-02T{8 + m // 60:02d}:{m % 60:02d}:30Z" for m in range(1, self.minute + 1)]
        matrix = f"{self.engagement}/matrix"
        for moment in moments:
            for cell in (await self.manager.get(matrix, params={"as_of": moment}))["cells"]:
                shown(cell)
        in_exports = len(answers)
        pages = Person(self.manager.client, self.manager.headers)
        export_path = f"/t/{self.tenant_id}/e/{self.engagement.rpartition('/')[2]}/matrix.csv"
        names = {d["key"]: d["name_da"] for d in latest["instrument"]["dimensions"]}
        for moment in moments:
            export = await pages.raw(export_path, params={"as_of": moment})
            # In Danish (no language chosen): `;` between fields, decimal commas.
            text = export.content.decode("utf-8-sig")
            for row in csv.DictReader(io.StringIO(text), delimiter=";"):
                if row["Antal besvarelser"]:
                    means = {k: row[names[k]].replace(",", ".") for k in DIMENSIONS}
                    answers.append((int(row["Antal besvarelser"]), means))
        assert len(answers) > in_exports, "the exports showed the relation at some moment"
        for cell in (await self.manager.get(matrix))["cells"]:
            shown(cell)
        for view in await self.manager.get(f"{self.engagement}/relations"):
            shown(view)
        for relation in (await self.manager.get("/longitudinal"))["relations"]:
            for point in relation["points"]:
                if not point["suppressed"]:
                    answers.append((point["raters"], point["means"]))
        for tie in (await self.manager.get(f"{self.engagement}/dashboard"))["weakest_ties"]:
            assert tie["index"] in indexes
        return answers


async def theme_day(app: Story, threshold: int, raters: int) -> Day:
    """Through the API: a tenant, its people, two units and an engagement rated by individuals,
    in the mapping phase with the relation visit → acute mapped."""
    tag = secrets.token_hex(4)
    admin = await app.sign_in(ADMIN)
    tenant = await admin.post("/api/v1/tenants", {"name": f"Anonymitet {tag}", "slug": f"anonymitet-{tag}"})
    base = f"/api/v1/tenants/{tenant['id']}"

    async def person(role: str, platform_role: str | None = None) -> Person:
        email = f"{role}-{uuid4().hex[:10]}@anonymitet.dk"
        await admin.enrol(tenant["id"], email, role, platform_role, role)
        signed_in = await app.sign_in(email)
        signed_in.base = base
        return signed_in

    facilitator = await person("consultant", "consultant")
    manager = await person("client_admin")
    people = [await person("participant") for _ in range(raters)]
    await manager.put("/organisation", {"name": f"Anonymitet {tag}"}, **at("2026-05-01T08:00:00Z"))
    visit = await manager.post("/organisation/units", {"name": "Visitationen"}, **at("2026-05-01T08:01:00Z"))
    acute = await manager.post("/organisation/units", {"name": "Akutteamet"}, **at("2026-05-01T08:02:00Z"))
    created = await manager.post(
        "/engagements",
        {
            "title": "Anonymitet",
            "theme_day": "2026-06-02",
            "unit_ids": [visit["unit_id"], acute["unit_id"]],
            "rating_mode": "individual",
            "min_group_size": threshold,
        },
        **at("2026-05-01T09:00:00Z"),
    )
    day = Day(manager, facilitator, people, f"/engagements/{created['engagement_id']}")
    day.tenant_id, day.visit, day.acute = tenant["id"], visit["unit_id"], acute["unit_id"]
    await day.advance("prepared")
    await day.advance("theme_day_open")
    await people[0].put(
        f"{day.engagement}/units/{day.visit}/relations", {"counterpart_ids": [day.acute]}, **day.tick()
    )
    return day


FIRST_FOUR = (
    scores(2, 3, 4, 2, 3, 4, 2),
    scores(4, 4, 3, 5, 2, 3, 4),
    scores(3, 2, 2, 3, 4, 5, 1),
    scores(1, 5, 3, 4, 3, 2, 5),
)
FIFTH = scores(5, 1, 5, 1, 5, 1, 3)


async def test_a_fifth_rater_after_a_step_back_cannot_be_read_off_versions_moments_or_the_csv(
    app: Story,
) -> None:
    day = await theme_day(app, threshold=4, raters=5)
    for rater, four in enumerate(FIRST_FOUR):
        await day.rate(rater, four)
    await day.advance("mapping")
    before = (await day.manager.get(f"{day.engagement}/matrix"))["cells"][0]
    assert (before["shown"], before["raters"]) == (True, 4)

    # Back to mapping, one more person rates, on to the dance cards again.
    await day.step_back()
    await day.rate(4, FIFTH)
    await day.advance("mapping")

    # 5·m₅ - 4·m₄ between any two answers anyone can read does not give the fifth's scores...
    answers = await day.published()
    fifth = tuple(FIFTH[key] for key in DIMENSIONS)
    assert fifth not in _differences(answers)
    assert tuple(-v for v in fifth) not in _differences(answers)
    # ...because the aggregate of the four stands until enough raters have come to move it.
    assert {(n, tuple(sorted(m.items()))) for n, m in answers} == {
        (4, tuple(sorted(before["means"].items())))
    }
    after = (await day.manager.get(f"{day.engagement}/matrix"))["cells"][0]
    assert (after["raters"], after["means"], after["index"]) == (4, before["means"], before["index"])


async def test_one_rater_rating_again_changes_nothing_shown_until_enough_raters_changed(app: Story) -> None:
    day = await theme_day(app, threshold=4, raters=4)
    for rater, four in enumerate(FIRST_FOUR):
        await day.rate(rater, four)
    await day.advance("mapping")
    first = (await day.manager.get(f"{day.engagement}/matrix"))["cells"][0]

    # One person changes their mind: the shown aggregate stands, their change stays theirs.
    await day.step_back()
    changed = dict(FIRST_FOUR[0], frequent=5, timely=5)
    await day.rate(0, changed)
    await day.advance("mapping")
    assert {(n, tuple(sorted(m.items()))) for n, m in await day.published()} == {
        (4, tuple(sorted(first["means"].items())))
    }

    # Once every one of the four has rated anew, the new aggregate is over four changed raters.
    await day.step_back()
    for rater in (1, 2, 3):
        await day.rate(rater, dict(FIRST_FOUR[rater], accurate=1))
    await day.advance("mapping")
    now = (await day.manager.get(f"{day.engagement}/matrix"))["cells"][0]
    expected = [changed, *(dict(FIRST_FOUR[r], accurate=1) for r in (1, 2, 3))]
    assert now["raters"] == 4
    assert now["means"] == {key: str(_mean([s[key] for s in expected])) for key in DIMENSIONS}


# -- Over random theme days, on the fold every read model comes from ----------------------------


class RandomDay:
    """An engagement rated by individuals on the pure domain, its events kept as they happen."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        engagement, (self.unit, self.counterpart) = prepared_engagement(
            units=2, mode=RatingMode.INDIVIDUAL, min_group_size=threshold
        )
        self.engagement: Engagement = advance_to(engagement, Phase.MAPPING)
        self.engagement.map_relations(self.unit, (self.counterpart,), later(0))
        self.scores: dict[UUID, dict[str, int]] = {}
        self.rater_of: dict[UUID, UUID] = {}
        self.events: list[Any] = list(self.engagement.collect_events())
        self.day = 0

    def _stamp(self) -> Any:
        self.day += 1
        return later(self.day)

    def _mapping(self) -> None:
        if self.engagement.phase is not Phase.MAPPING:
            self.engagement.move_back(self.engagement.phase, "Flere vil vurdere", self._stamp())

    def rate(self, rater: int, values: dict[str, int]) -> None:
        """A new rating by this rater (their first, or a new one replacing the earlier)."""
        self._mapping()
        rating_id, pseudonym = uuid4(), UUID(int=rater + 1)
        self.engagement.submit_rating(
            rating_id, self.unit, self.counterpart, values, pseudonym, self._stamp()
        )
        self.scores[rating_id], self.rater_of[rating_id] = values, pseudonym
        self.events.extend(self.engagement.collect_events())

    def show(self) -> None:
        if self.engagement.phase is Phase.MAPPING:
            self.engagement.advance(Phase.MAPPING, self._stamp())
            self.events.extend(self.engagement.collect_events())

    def map_anew(self) -> None:
        """The unit drops the relation and maps it again: its ratings no longer count."""
        self._mapping()
        self.engagement.map_relations(self.unit, (), self._stamp())
        self.engagement.map_relations(self.unit, (self.counterpart,), self._stamp())
        self.events.extend(self.engagement.collect_events())


Contributions = dict[UUID, UUID]  # rater → the rating of theirs an aggregate counts


def published_answers(day: RandomDay) -> list[tuple[RelationOut, list[Contributions]]]:
    """Every shown answer at every version, each with the sets of ratings it may have been
    computed from: the ratings that counted at some version up to then whose aggregate it is
    exactly. Every shown answer has at least one such set of at least the threshold's size."""
    fold = EngagementFold()
    counted: list[Contributions] = []
    answers = []
    for event in day.events:
        fold.apply(event)
        assert fold.engagement is not None
        counted.append({r.rater: r.rating_id for r in fold.engagement.ratings.values() if r.rater})
        for view in fold.render().relation_views:
            if view.suppressed:
                continue
            behind = [c for c in counted if len(c) == view.raters and _means(day, c) == view.means]
            assert behind, view
            assert view.raters is not None
            assert view.raters >= day.threshold
            answers.append((view, behind))
    return answers


def _means(day: RandomDay, contributions: Contributions) -> dict[str, str]:
    rated = [day.scores[r] for r in contributions.values()]
    return {key: str(_mean([s[key] for s in rated])) for key in DIMENSIONS} if rated else {}


def raters_apart(before: Contributions, after: Contributions) -> int:
    """How many raters count differently: added, gone or rated anew."""
    return sum(1 for rater in before.keys() | after.keys() if before.get(rater) != after.get(rater))


def projected_in_batches(day: RandomDay, cuts: list[int]) -> EngagementOut:
    """The engagement's document as the live projector leaves it, fed in batches through stored
    events and persisted fold states."""
    mapper = TypedMapper(transcoder=MsgspecTranscoder())
    records = [
        Recorded(position, mapper.to_domain_event(mapper.to_stored_event(event)))
        for position, event in enumerate(day.events, start=1)
    ]
    states: dict[str, bytes] = {}
    body = b""
    start = 0
    for end in [*sorted(set(cuts)), len(records)]:
        if end <= start:
            continue
        batch = project(start, records[start:end], states, mapper)
        for document in batch.documents:
            states[document.key], body = document.state, document.body
        start = end
    return msgspec.json.decode(body, type=EngagementOut)


step = st.one_of(
    st.tuples(st.just("rate"), st.integers(0, 9), st.lists(st.integers(1, 5), min_size=7, max_size=7)),
    st.tuples(st.just("show"), st.just(0), st.just([])),
    st.tuples(st.just("map anew"), st.just(0), st.just([])),
)


@settings(max_examples=150, deadline=None)
@given(
    threshold=st.integers(2, 5),
    steps=st.lists(step, min_size=1, max_size=40),
    cuts=st.lists(st.integers(0, 100), max_size=3),
)
def test_no_two_published_answers_differ_by_fewer_raters_than_the_threshold(
    threshold: int, steps: list[tuple[str, int, list[int]]], cuts: list[int]
) -> None:
    day = RandomDay(threshold)
    for kind, rater, values in steps:
        if kind == "rate":
            day.rate(rater, dict(zip(DIMENSIONS, values, strict=True)))
        elif kind == "show":
            day.show()
        else:
            day.map_anew()
    day.show()
    for (first, before), (second, after) in combinations(published_answers(day), 2):
        if (first.raters, first.means) == (second.raters, second.means):
            continue  # the same figures: nothing to subtract
        # Two different figures: their difference is a sum over the raters that count differently.
        apart = {raters_apart(a, b) for a in before for b in after}
        assert max(apart) >= threshold, (first, second, apart)
    # The projector, fed in batches and resuming from stored fold states, shows the same.
    assert projected_in_batches(day, cuts) == folded(day)


def folded(day: RandomDay) -> EngagementOut:
    fold = EngagementFold()
    for event in day.events:
        fold.apply(event)
    return fold.render()


def test_a_late_rater_on_the_fold_is_never_shown_alone() -> None:
    day = RandomDay(threshold=5)
    rng = random.Random(5)
    for rater in range(5):
        day.rate(rater, {key: rng.randint(1, 5) for key in DIMENSIONS})
    day.show()
    day.rate(5, dict.fromkeys(DIMENSIONS, 5))
    day.show()
    shown = {(v.raters, tuple(v.means.items())) for v, _ in published_answers(day)}
    assert len(shown) == 1
    assert next(iter(shown))[0] == 5
