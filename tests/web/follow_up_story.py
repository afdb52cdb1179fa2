"""A small engagement run through the API up to its follow-up meeting, for the follow-up pages,
the report and the exports: three units on Ærø, rated by individuals with an anonymity
threshold of two, two dance cards each pointing at a rating, two dialogues with agreements
(two need management acceptance) and proposals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.http_harness import Person, Story, flat, scores, tenant_with_team

ACCEPT_ME = "Fælles tavlemøde hver tirsdag på Ærø"
ACCEPT_ME_TOO = "Weekendvagten får læseadgang til plejeplanen"
OWN_AGREEMENT = "Vi ringer før hver udskrivning"
PROPOSAL = "Elektronisk tavle på begge matrikler"
SECOND_PROPOSAL = "Fælles sygeplejerske i weekenden"


@dataclass
class FollowUpStory:
    tenant_id: str
    engagement_id: str
    units: dict[str, str]
    agreements: dict[str, str]  # text -> id
    proposals: dict[str, str]
    manager_email: str
    participant_email: str
    manager: Person  # the client admin, by bearer token on the API

    @property
    def pages(self) -> str:
        return f"/t/{self.tenant_id}/e/{self.engagement_id}"

    @property
    def api(self) -> str:
        return f"/engagements/{self.engagement_id}"


async def follow_up_story(site: Story) -> FollowUpStory:
    tenant_id, emails, facilitator, manager, first, second = await tenant_with_team(
        site, "Ærø Kommune", "aeroe"
    )

    await manager.put("/organisation", {"name": "Ærø Kommune"})
    units = {}
    for name in ("Visitationen", "Hjemmeplejen Øst", "Akutteamet"):
        units[name] = (await manager.post("/organisation/units", {"name": name}))["unit_id"]
    visit, home, acute = units.values()
    created = await manager.post(
        "/engagements",
        {
            "title": "Sammenhæng på Ærø",
            "theme_day": "2026-03-10",
            "follow_up_meeting": "2026-04-21",
            "unit_ids": [visit, home, acute],
            "rounds": 2,
            "rating_mode": "individual",
            "min_group_size": 2,
        },
    )
    engagement_id = created["engagement_id"]
    at = f"/engagements/{engagement_id}"

    async def advance(phase: str) -> None:
        await facilitator.post(f"{at}/phase/advance", {"expected_phase": phase}, expect=200)

    await advance("prepared")
    await advance("theme_day_open")
    for rater, counterparts in ((visit, [home, acute]), (home, [visit]), (acute, [visit])):
        await first.put(f"{at}/units/{rater}/relations", {"counterpart_ids": counterparts})
    ratings: dict[tuple[str, str], Any] = {}
    # Visitationen about Hjemmeplejen Øst and about Akutteamet: two raters each, shown.
    # Hjemmeplejen Øst and Akutteamet about Visitationen: one rater each, below the threshold.
    for person, rater, counterpart, given in (
        (first, visit, home, scores(2, 2, 3, 1, 3, 2, 4)),
        (second, visit, home, scores(3, 2, 3, 2, 3, 2, 4)),
        (first, visit, acute, flat(4)),
        (second, visit, acute, flat(3)),
        (first, home, visit, flat(1)),
        (first, acute, visit, flat(5)),
    ):
        answer = await person.post(
            f"{at}/ratings", {"unit_id": rater, "counterpart_id": counterpart, "scores": given}
        )
        ratings.setdefault((rater, counterpart), answer["rating_id"])
    await advance("mapping")
    cards = {}
    for key, sender, receiver, topic, rating in (
        ("handover", visit, home, "Overlevering ved udskrivning", ratings[(visit, home)]),
        ("weekend", home, visit, "Weekendens visitation", ratings[(home, visit)]),
    ):
        sent = await first.post(
            f"{at}/cards",
            {
                "from_unit": sender,
                "to_unit": receiver,
                "topic": topic,
                "reason": "Vi taber tråden",
                "hoped_outcome": "Én fælles plan",
                "motivating_rating_id": rating,
            },
        )
        cards[key] = sent["card_id"]
        await first.post(f"{at}/cards/{sent['card_id']}/accept", {"unit_id": receiver}, expect=200)
    await facilitator.post(f"{at}/schedule", expect=200)
    await advance("dance_cards")
    agreements: dict[str, str] = {}
    proposals: dict[str, str] = {}
    for key, made, proposed in (
        ("handover", [(ACCEPT_ME, True), (OWN_AGREEMENT, False)], [PROPOSAL]),
        ("weekend", [(ACCEPT_ME_TOO, True)], [SECOND_PROPOSAL]),
    ):
        held = await first.post(
            f"{at}/dialogues",
            {
                "card_id": cards[key],
                "notes": "Vi talte om weekenden og om udskrivninger fredag eftermiddag.",
                "participants": ["Ærlige Åse", "Søren"],
                "agreements": [{"text": t, "needs_acceptance": n} for t, n in made],
                "proposals": [{"text": t} for t in proposed],
            },
        )
        agreements.update(zip([t for t, _ in made], held["agreement_ids"], strict=True))
        proposals.update(zip(proposed, held["proposal_ids"], strict=True))
    await advance("dialogues")
    for unit_id in units.values():
        await first.put(f"{at}/wrap-ups/{unit_id}", {"summary": "Med hjem til personalemødet"})
    await advance("wrap_up")
    await facilitator.post(f"{at}/closing-plenary", {"notes": "To aftaler skal godkendes"}, expect=200)
    await advance("closing_plenary")
    return FollowUpStory(
        tenant_id, engagement_id, units, agreements, proposals, emails["manager"], emails["first"], manager
    )
