"""A theme day where a unit's people rate one by one, each with a personal code: the threshold holds
the unit's figure back until enough of them have rated, one person rating again on another phone
is still one rater, and the board counts how many of the unit's people have rated (docs/adr/0032).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.auth.join_codes import end_of_theme_day
from services.settings import Settings
from tests.http_harness import serving
from tests.integration.test_personal_codes_api import THRESHOLD, cell, progress_of, rate, rated_one_by_one


async def test_personal_codes_rate_one_by_one_and_the_aggregate_shows_once_enough_have_rated(
    backend: Settings,
) -> None:
    async with serving(backend, quick_hashes=True) as story:
        day = await rated_one_by_one(story)
        a, b, _c = day.units
        issued = await day.admin.post(day.codes_of(a), {"people": 4})
        assert issued["people"] == 4
        assert [s["slip"] for s in issued["slips"]] == [1, 2, 3, 4]
        codes = [s["code"] for s in issued["slips"]]
        assert len(set(codes)) == 4
        theme_date = datetime.now(UTC).date() + timedelta(days=30)
        assert datetime.fromisoformat(issued["expires_at"]) == end_of_theme_day(theme_date)
        assert all(
            s["join_url"].endswith(f"/join#{s['code']}") and "<svg" in s["qr_svg"] for s in issued["slips"]
        )

        # The first person rates, then again on another phone: the same rater, rating anew.
        await rate(story, day, codes[0], 1)
        board = await day.admin.get(f"{day.engagement}/board")
        assert progress_of(board, a) == (1, 4)
        await rate(story, day, codes[0], 5)
        board = await day.admin.get(f"{day.engagement}/board")
        assert progress_of(board, a) == (1, 4)
        assert progress_of(board, b) == (0, None)
        await rate(story, day, codes[1], 3)
        assert progress_of(await day.admin.get(f"{day.engagement}/board"), a) == (2, 4)
        assert (await day.admin.get(day.codes_of(a)))["rated"] == 2

        # Two raters are fewer than the threshold: nothing of the relation is shown.
        await day.admin.post(f"{day.engagement}/phase/advance", {"expected_phase": "mapping"}, expect=200)
        hidden = cell(await day.admin.get(f"{day.engagement}/matrix"), a, b)
        assert hidden["shown"] is False
        assert hidden["raters"] is None
        assert (await day.admin.get(f"{day.engagement}/dashboard"))["weakest_ties"] == []

        # A third person comes late: the facilitator steps back, they rate, and the figure shows.
        await day.admin.post(
            f"{day.engagement}/phase/back",
            {"expected_phase": "dance_cards", "reason": "En kom sent"},
            expect=200,
        )
        await rate(story, day, codes[2], 3)
        await day.admin.post(f"{day.engagement}/phase/advance", {"expected_phase": "mapping"}, expect=200)
        shown = cell(await day.admin.get(f"{day.engagement}/matrix"), a, b)
        assert shown["shown"] is True
        assert shown["raters"] == THRESHOLD
        # The first person's second rating replaced their first: (5 + 3 + 3) / 3.
        assert shown["index"] == "3.67"
        weakest = (await day.admin.get(f"{day.engagement}/dashboard"))["weakest_ties"]
        assert [(t["unit_id"], t["counterpart_id"], t["index"]) for t in weakest] == [(a, b, "3.67")]
        board = await day.admin.get(f"{day.engagement}/board")
        assert progress_of(board, a) == (3, 4)
