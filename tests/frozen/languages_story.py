"""What the languages copy holds (`tests/frozen/2026-12-07-languages/`): the people copy's story
(`tests/frozen/people_story.py`) as the release that let each person choose the language of
their messages writes it, and then those choices: the planning group's manager chooses English,
the consultant English and later Danish again, and a choice of the language already in force
records nothing.

The people copy stays as its release wrote it; this copy only adds what that release could not
record.
"""

from __future__ import annotations

from datetime import UTC, datetime

from domain.roles import Role
from tests.frozen.people_story import PeopleStory


class LanguagesStory(PeopleStory):
    """The people copy's story, then each person's language for the messages they receive."""

    def write(self) -> None:
        super().write()
        self.languages()
        self.container.projections.catch_up_now(self.tenant_id)

    def languages(self) -> None:
        for key, role, language, day in (
            ("manager", Role.CLIENT_ADMIN, "en", 20),
            ("consultant", Role.CONSULTANT, "en", 21),
            ("consultant", Role.CONSULTANT, "en", 22),
            ("consultant", Role.CONSULTANT, "da", 23),
        ):
            at = datetime(2026, 11, day, 9, tzinfo=UTC)
            self.control.choose_language(
                self.users[key], language, self.actor(key, role).at(at, "ChooseLanguage")
            )
