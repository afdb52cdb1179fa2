"""Which personal code rated is nobody's business: the facilitator printed every code, so any answer
that tells a code that rated from one that did not would tell them who rated (docs/adr/0032).

Three people of a unit get codes; the first rates twice, the third once, the second not at all.
Then every answer the facilitator can ask for (the API's reads, exports and audit trail, the pages)
is searched for anything of a code: the code itself, its join code's id, and the pseudonym its
ratings were recorded under. The counts say "2 of 3" and do not move when a slip that rated is
revoked, and the audit trail's rating rows are alike whichever code gave them.
"""

from __future__ import annotations

import json
from uuid import UUID

from domain.join_code import JoinCode
from services.auth.join_codes import digest_of, normalised
from services.settings import Settings
from services.usecases.bus import query
from tests.http_harness import ADMIN, Story, serving
from tests.integration.test_personal_codes_api import rate, rated_one_by_one
from tests.web.conftest import signed_in_browser


def code_id_of(story: Story, code: str) -> UUID:
    typed = normalised(code)
    assert typed is not None
    return JoinCode.create_id(digest_of(story.container.join_code_key, typed))


async def traces_of(story: Story, tenant_id: UUID, engagement_id: UUID, code: str) -> set[str]:
    """What would point at `code`: the code as printed and typed, its join code's id, the pseudonym."""
    code_id = code_id_of(story, code)
    pseudonym = await query(story.container, tenant_id, lambda app: app.pseudonym(engagement_id, code_id))
    return {code, code.replace("-", ""), str(code_id), code_id.hex, str(pseudonym), pseudonym.hex}


async def test_no_answer_tells_the_facilitator_which_personal_code_rated(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        day = await rated_one_by_one(story)
        a, b, _c = day.units
        engagement_id = UUID(day.engagement.rsplit("/", 1)[1])
        issued = await day.admin.post(day.codes_of(a), {"people": 3})
        codes = [s["code"] for s in issued["slips"]]
        await rate(story, day, codes[0], 2)
        await rate(story, day, codes[0], 4)
        await rate(story, day, codes[2], 3)

        # The counts: how many, never which; and revoking a slip that rated moves nothing of them.
        counted = await day.admin.get(day.codes_of(a))
        assert set(counted) == {"unit_id", "people", "rated", "slips_issued", "revoked_slips", "expires_at"}
        assert (counted["people"], counted["rated"]) == (3, 2)
        after_rated = await day.admin.post(f"{day.codes_of(a)}/1/revoke", expect=200)
        after_not_rated = await day.admin.post(f"{day.codes_of(a)}/2/revoke", expect=200)
        assert (after_rated["rated"], after_not_rated["rated"]) == (2, 2)
        assert after_not_rated["revoked_slips"] == [1, 2]
        # Personal codes are not listed with the unit's table codes, with their dates.
        assert await day.admin.get(f"{day.engagement}/units/{a}/join-codes") == []

        # Every answer the facilitator can read, as text.
        answers: dict[str, str] = {}
        for path in (
            day.engagement,
            f"{day.engagement}/board",
            f"{day.engagement}/matrix",
            f"{day.engagement}/dashboard",
            f"{day.engagement}/relations",
            f"{day.engagement}/cards",
            day.codes_of(a),
            "/longitudinal",
            "/audit/export.csv",
            "/audit/export.jsonl",
            "/audit/export/chain.jsonl",
        ):
            answers[path] = (await day.admin.raw(path)).text
        trail = (await day.admin.get("/audit", params={"limit": 500}))["items"]
        answers["/audit"] = json.dumps(trail)
        browser = await signed_in_browser(story.client, ADMIN)
        for page in ("console", "console/progress", "board", "board/live", "dashboard", "matrix"):
            answers[page] = await browser.get(f"/t/{day.tenant_id}/e/{engagement_id}/{page}")
        answers["audit page"] = await browser.get(f"/t/{day.tenant_id}/audit")

        for code in codes:
            for trace in await traces_of(story, day.tenant_id, engagement_id, code):
                leaking = [where for where, text in answers.items() if trace.lower() in text.lower()]
                assert leaking == [], f"{trace} of a personal code is in {leaking}"

        # The trail records that ratings were given, alike whichever code gave them.
        ratings = [row for row in trail if row["event_type"] == "RatingSubmitted"]
        assert len(ratings) == 3
        assert len({row["actor_id"] for row in ratings}) == 1
        assert {row["correlation_id"] for row in ratings} == {"withheld"}
        assert all(row["details"]["rating"]["scores"] == "withheld: individual rating" for row in ratings)
        assert all(
            set(row["details"]["rating"]) == {"rating_id", "unit_id", "counterpart_id", "scores"}
            for row in ratings
        )
        board = json.loads(answers[f"{day.engagement}/board"])
        unit = next(u for u in board["units"] if u["unit_id"] == a)
        assert (unit["raters"], unit["people"]) == (2, 1)
        assert b in answers[f"{day.engagement}/matrix"]
