"""Why a rule of the method refused a command, in the user's language, and what to do now.

The domain speaks English to developers and the API (`DomainError.message`); the pages say the
same in the method's words. Each message the domain raises is recognised by a pattern and said
again as a translated sentence, with its parts (rounds, phases, units, statuses) put in place:
unit ids become unit names where the page knows them. Where a refusal concerns one field of the
form, it names the field, so the form can show the message next to it.

A message no pattern knows is said by its rule's general sentence; on an English page the
domain's own words follow, on a Danish one they never do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.errors import DomainError
from domain.phases import Phase
from services.web.i18n import current_language
from services.web.i18n import gettext as _
from services.web.labels import (
    agreement_status_label,
    card_status_label,
    phase_label,
    proposal_status_label,
)

# Unit names by unit id (a UUID or its text), as a page knows them.
Names = Mapping[Any, str]


@dataclass(frozen=True)
class Refusal:
    """What the form shows: `message` at `field` ("" for the whole form)."""

    field: str
    message: str


@dataclass(frozen=True)
class _Found:
    """One recognised message: its parts, and the unit names the page could give."""

    parts: re.Match[str]
    names: Names

    def __getitem__(self, part: str) -> str:
        return self.parts[part] or ""

    def unit(self, part: str = "unit") -> str | None:
        """The name of the unit whose id is in `part`, when the page knows it."""
        raw = self[part]
        found = self.names.get(raw)
        if found is None:
            try:
                found = self.names.get(UUID(raw))
            except ValueError:
                return None
        return found


Say = Callable[[_Found], str]


def _phases(allowed: str) -> str:
    labels = [f"“{phase_label(value)}”" for value in allowed.split(" or ")]
    if len(labels) == 1:
        return labels[0]
    return _("%(phases)s or %(last)s", phases=", ".join(labels[:-1]), last=labels[-1])


def _status(label: Callable[[str], str], value: str) -> str:
    """A status as a word in a sentence: "declined", not "Declined"."""
    return label(value).lower()


# -- Phases -----------------------------------------------------------------------------------------

# What the domain calls each action in `require_phase`, as the first sentence of the refusal.
_ACTIONS: dict[str, Callable[[str], str]] = {
    "revising the preparation": lambda p: _(
        "The preparation can be changed only in the phase %(phases)s.", phases=p
    ),
    "mapping relations": lambda p: _("Relations are mapped only in the phase %(phases)s.", phases=p),
    "rating relations": lambda p: _("Relations are rated only in the phase %(phases)s.", phases=p),
    "sending dance cards": lambda p: _("Dance cards are sent only in the phase %(phases)s.", phases=p),
    "answering dance cards": lambda p: _("Dance cards are answered only in the phase %(phases)s.", phases=p),
    "withdrawing dance cards": lambda p: _(
        "Dance cards can be withdrawn only in the phase %(phases)s.", phases=p
    ),
    "setting the number of rounds": lambda p: _(
        "The number of dialogue rounds can be changed only in the phase %(phases)s.", phases=p
    ),
    "scheduling dialogues": lambda p: _("Dialogues are scheduled only in the phase %(phases)s.", phases=p),
    "moving dialogues": lambda p: _(
        "Dialogues are moved between rounds only in the phase %(phases)s.", phases=p
    ),
    "recording dialogues": lambda p: _("Dialogues are recorded only in the phase %(phases)s.", phases=p),
    "adding agreements and proposals": lambda p: _(
        "Agreements and proposals are added only in the phase %(phases)s.", phases=p
    ),
    "a unit's wrap-up": lambda p: _("A unit's wrap-up is written only in the phase %(phases)s.", phases=p),
    "the closing plenary": lambda p: _("The closing plenary is held only in the phase %(phases)s.", phases=p),
    "accepting or rejecting agreements": lambda p: _(
        "Agreements are accepted or rejected only in the phase %(phases)s.", phases=p
    ),
    "deciding proposals": lambda p: _("Proposals are decided only in the phase %(phases)s.", phases=p),
    "checking in on agreements": lambda p: _(
        "Check-ins on agreements are recorded only in the phase %(phases)s.", phases=p
    ),
}


def _wrong_phase(found: _Found) -> str:
    allowed, current = found["allowed"], found["current"]
    phases = _phases(allowed)
    action = _ACTIONS.get(found["action"])
    first = action(phases) if action else _("This is possible only in the phase %(phases)s.", phases=phases)
    now = _("The engagement is in the phase “%(phase)s”.", phase=phase_label(current))
    order = [p.value for p in Phase]
    earlier = current in order and all(
        order.index(current) < order.index(a) for a in allowed.split(" or ") if a in order
    )
    if earlier:
        advice = _("The facilitator moves the engagement on when it is time.")
    else:
        advice = _("That phase is over; the facilitator can step back to it if it must be done after all.")
    return f"{first} {now} {advice}"


def _moved_on(found: _Found) -> str:
    return _(
        "The engagement is now in the phase “%(phase)s”: it changed since this page was loaded. "
        "Reload the page and try again.",
        phase=phase_label(found["current"]),
    )


# -- Units --------------------------------------------------------------------------------------------


def _not_taking_part(found: _Found) -> str:
    name = found.unit() if found["unit"] else None
    if name:
        return _("%(unit)s does not take part in this engagement. Choose one of its units.", unit=name)
    return _("That unit does not take part in this engagement. Choose one of its units.")


def _pins_clash(found: _Found) -> str:
    name = found.unit()
    if name:
        return _(
            "Dialogues placed by hand put %(unit)s in round %(round)s twice. Move one of them to another round.",
            unit=name,
            round=found["round"],
        )
    return _(
        "Dialogues placed by hand put one unit in round %(round)s twice. Move one of them to another round.",
        round=found["round"],
    )


def _unit_ended(found: _Found) -> str:
    unit, status = found["name"], found["status"]
    if status == "merged":
        return _("%(unit)s has been merged into another unit. Choose the unit it became.", unit=unit)
    if status == "split":
        return _("%(unit)s has been split into new units. Choose one of those.", unit=unit)
    return _("%(unit)s has been retired. Choose an active unit.", unit=unit)


def _rating_mode(found: _Found) -> str:
    if found["mode"] == "individual":
        return _("This engagement collects each participant's own rating, not one rating for the unit.")
    return _("This engagement collects one rating agreed by the unit, not each participant's own.")


def _not_followable(found: _Found) -> str:
    if found["status"] == "awaiting_acceptance":
        return _("The agreement still awaits management's acceptance. Check in on it once it is accepted.")
    return _(
        "The agreement is %(status)s, so it is not followed up.",
        status=_status(agreement_status_label, found["status"]),
    )


# -- The table: each English message the domain raises, its field, and what the page says -------

_U = r"(?P<unit>[0-9a-fA-F-]{36})"
_ID = r"[0-9a-fA-F-]{36}"
_PHASE = r"[a-z_]+"

_RULES: tuple[tuple[str, str, Say], ...] = (
    # phases.py
    (
        rf"(?P<action>.+) is possible in phase (?P<allowed>{_PHASE}(?: or {_PHASE})*); "
        rf"the engagement is in phase (?P<current>{_PHASE})",
        "",
        _wrong_phase,
    ),
    # engagement.py: preparing and moving through the phases
    (
        r"the follow-up meeting comes after the theme day",
        "follow_up_meeting",
        lambda f: _("The follow-up meeting comes after the theme day. Choose a later date for it."),
    ),
    (r"the engagement's title must not be empty", "title", lambda f: _("Give the engagement a title.")),
    (
        r"the reason for stepping back must not be empty",
        "reason",
        lambda f: _("Say why the engagement steps back a phase."),
    ),
    (r"the reason for declining must not be empty", "reason", lambda f: _("Say why your unit declines.")),
    (r"an agreement's text must not be empty", "", lambda f: _("Write what the agreement says.")),
    (r"a proposal's text must not be empty", "", lambda f: _("Write what the proposal says.")),
    (
        r"the wrap-up's summary must not be empty",
        "summary",
        lambda f: _("Write what your unit takes home from the day."),
    ),
    (r"who decided must not be empty", "decided_by", lambda f: _("Say who made the decision.")),
    (r".+ must not be empty", "", lambda f: _("Please fill this in.")),
    (
        r"an engagement needs at least two distinct participating units",
        "unit_ids",
        lambda f: _("An engagement needs at least two different units. Choose one more."),
    ),
    (
        r"an engagement has between 1 and (?P<max>\d+) dialogue rounds",
        "rounds",
        lambda f: _("Choose between 1 and %(max)s dialogue rounds.", max=f["max"]),
    ),
    (
        r"the minimum group size for showing ratings is at least 1",
        "min_group_size",
        lambda f: _("The smallest group whose ratings are shown is at least 1."),
    ),
    (
        r"individual ratings are shown only for groups of at least (?P<n>\d+) raters",
        "min_group_size",
        lambda f: _(
            "With each participant's own ratings, a group is shown only from %(n)s raters. Raise the number.",
            n=f["n"],
        ),
    ),
    (
        r"the engagement is closed",
        "",
        lambda f: _("The engagement is closed; there is no phase after it."),
    ),
    (
        r"hold the closing plenary \(again, if agreements or proposals came since\) before the follow-up meeting",
        "",
        lambda f: _(
            "Hold the closing plenary before the follow-up meeting; again if agreements or proposals "
            "have come since."
        ),
    ),
    (
        r"the engagement is in its first phase",
        "",
        lambda f: _("The engagement is in its first phase; there is none to step back to."),
    ),
    (rf"the engagement is in phase (?P<current>{_PHASE}), not {_PHASE}", "", _moved_on),
    # engagement.py: mapping and rating
    (
        rf"(?:unit {_U}|this unit) does not take part in this engagement",
        "",
        _not_taking_part,
    ),
    (
        r"a unit does not map a relation to itself",
        "counterpart_ids",
        lambda f: _("A unit does not map a relation to itself. Untick your own unit."),
    ),
    (
        r"each relation is mapped once",
        "counterpart_ids",
        lambda f: _("Each relation is mapped once. Tick each unit only once."),
    ),
    (
        r"a unit rates the relations it has mapped; map this relation first"
        r"|this relation has not been mapped by the unit",
        "",
        lambda f: _("Your unit has not mapped this relation. Map it first, then rate it."),
    ),
    (r"this engagement collects (?P<mode>unit|individual) ratings", "", _rating_mode),
    (
        rf"rating {_ID} has been submitted already",
        "",
        lambda f: _("This rating has been recorded already. Reload the page to see it."),
    ),
    (
        rf"no current rating {_ID} in this engagement",
        "motivating_rating_id",
        lambda f: _("That rating is no longer the current one. Reload the page and choose again."),
    ),
    (
        r"a rating needs a score on every dimension of .+",
        "",
        lambda f: _("Give a score on every question."),
    ),
    (
        r"scores must lie in (?P<low>-?\d+)\.\.(?P<high>-?\d+); outside: .*",
        "",
        lambda f: _("Every score lies between %(low)s and %(high)s.", low=f["low"], high=f["high"]),
    ),
    # engagement.py and cards.py: dance cards
    (
        rf"no dance card {_ID} in this engagement",
        "",
        lambda f: _("That dance card is not part of this engagement. Reload the page and try again."),
    ),
    (
        r"a unit does not send a dance card to itself",
        "to_unit",
        lambda f: _("A unit does not send a dance card to itself. Choose another unit."),
    ),
    (
        rf"dance card {_ID} has been sent already",
        "",
        lambda f: _("This dance card has been sent already. Reload the page to see it."),
    ),
    (
        r"the motivating rating must concern the two units of the card",
        "motivating_rating_id",
        lambda f: _(
            "The rating a dance card refers to must be between the two units of the card. "
            "Refer to your rating of the unit you invite."
        ),
    ),
    (
        r"only the invited unit can answer a dance card",
        "",
        lambda f: _("Only the invited unit can answer this dance card."),
    ),
    (
        r"the dance card has already been (?P<status>[a-z_]+)",
        "",
        lambda f: _(
            "The dance card has already been %(status)s. Reload the page to see it.",
            status=_status(card_status_label, f["status"]),
        ),
    ),
    (
        r"only the inviting unit can withdraw a dance card",
        "",
        lambda f: _("Only the unit that sent the dance card can withdraw it."),
    ),
    (
        r"a (?P<status>[a-z_]+) dance card cannot be withdrawn",
        "",
        lambda f: _(
            "A dance card that has been %(status)s cannot be withdrawn.",
            status=_status(card_status_label, f["status"]),
        ),
    ),
    (
        r"the dialogue of this card has been held",
        "",
        lambda f: _("The dialogue of this dance card has been held, so the card can no longer be withdrawn."),
    ),
    # engagement.py and scheduling.py: dialogue rounds
    (
        r"dialogues have been held in rounds beyond the new number of rounds",
        "rounds",
        lambda f: _(
            "Dialogues have been held in the rounds that would go. Keep at least as many rounds as have been used."
        ),
    ),
    (
        r"only accepted dance cards are scheduled; this one is (?P<status>[a-z_]+)",
        "round",
        lambda f: _(
            "Only accepted dance cards get a dialogue round; this one has been %(status)s.",
            status=_status(card_status_label, f["status"]),
        ),
    ),
    (
        r"the dialogue has been held; its round is history",
        "round",
        lambda f: _("The dialogue has been held; its round can no longer be changed."),
    ),
    (
        r"rounds run from 1 to (?P<rounds>\d+)",
        "round",
        lambda f: _("Choose a dialogue round from 1 to %(rounds)s.", rounds=f["rounds"]),
    ),
    (
        r"a unit of this dialogue is already in a dialogue in round (?P<round>\d+)",
        "round",
        lambda f: _(
            "A unit of this dialogue already has a dialogue in round %(round)s. "
            "Pick another round, or move that dialogue first.",
            round=f["round"],
        ),
    ),
    (
        rf"card {_ID} must join two distinct units",
        "",
        lambda f: _("A dance card joins two different units."),
    ),
    (
        r"rounds must not be negative, got .+",
        "rounds",
        lambda f: _("The number of dialogue rounds cannot be negative."),
    ),
    (
        r"each card may be requested only once",
        "",
        lambda f: _("Each dance card has one dialogue in the schedule."),
    ),
    (
        rf"pinned card {_ID} is not among the accepted cards",
        "",
        lambda f: _(
            "A dialogue placed by hand is no longer an accepted dance card. Take it off the schedule and try again."
        ),
    ),
    (
        rf"card {_ID} pinned to round (?P<round>.+), outside 1\.\.(?P<rounds>\d+)",
        "rounds",
        lambda f: _(
            "A dialogue is placed by hand outside rounds 1 to %(rounds)s. Move it to another round first.",
            rounds=f["rounds"],
        ),
    ),
    (rf"pins put unit {_U} in two dialogues in round (?P<round>\d+)", "", _pins_clash),
    # engagement.py: dialogues, agreements and proposals
    (
        r"dialogues follow accepted dance cards; this one is (?P<status>[a-z_]+)",
        "",
        lambda f: _(
            "A dialogue follows an accepted dance card; this one has been %(status)s.",
            status=_status(card_status_label, f["status"]),
        ),
    ),
    (
        r"the dialogue of this dance card has been recorded already",
        "",
        lambda f: _("The dialogue of this dance card has been recorded already. Reload the page to see it."),
    ),
    (
        r"the dialogue of this dance card has not been recorded yet",
        "",
        lambda f: _("The dialogue of this dance card has not been recorded yet. Record the dialogue first."),
    ),
    (
        r"name the participant whose name is to be erased",
        "name",
        lambda f: _("Write the name of the participant whose name is to be erased."),
    ),
    (
        r"add at least one agreement or proposal",
        "",
        lambda f: _("Write at least one agreement or proposal."),
    ),
    (
        rf"no dialogue {_ID} in this engagement",
        "",
        lambda f: _("That dialogue is not part of this engagement. Reload the page and try again."),
    ),
    (
        r"agreement and proposal ids must be new",
        "",
        lambda f: _(
            "These agreements and proposals have been recorded already. Reload the page to see them."
        ),
    ),
    (
        rf"no agreement {_ID} in this engagement",
        "",
        lambda f: _("That agreement is not part of this engagement. Reload the page and try again."),
    ),
    (
        rf"no proposal {_ID} in this engagement",
        "",
        lambda f: _("That proposal is not part of this engagement. Reload the page and try again."),
    ),
    (
        r"that is not on the follow-up meeting's agenda",
        "",
        lambda f: _("That is not on the follow-up meeting's agenda. Choose an item from the agenda."),
    ),
    # engagement.py, agreements.py and proposals.py: the follow-up meeting and afterwards
    (
        r"this agreement needs no management acceptance",
        "",
        lambda f: _(
            "This agreement is in force without management's acceptance; there is nothing to decide."
        ),
    ),
    (
        r"the agreement has already been (?P<status>[a-z_]+)",
        "",
        lambda f: _(
            "The agreement has already been %(status)s; that decision stands.",
            status=_status(agreement_status_label, f["status"]),
        ),
    ),
    (r"check-ins follow agreements in force; this one is (?P<status>[a-z_]+)", "", _not_followable),
    (
        r"the proposal has been (?P<status>[a-z_]+); that decision stands",
        "",
        lambda f: _(
            "The proposal has already been %(status)s; that decision stands.",
            status=_status(proposal_status_label, f["status"]),
        ),
    ),
    (
        r"a decision approves, rejects, defers or sends for investigation",
        "outcome",
        lambda f: _("Choose what the meeting decides: approve, reject, defer or send for investigation."),
    ),
    (
        r"an investigation needs an owner and a due date",
        "owner",
        lambda f: _("An investigation needs someone to look into it and a date the answer is due."),
    ),
    (
        r"only investigations have an owner and a due date",
        "owner",
        lambda f: _(
            "Only an investigation has someone to look into it and a due date. "
            "Clear those fields, or send the proposal for investigation."
        ),
    ),
    (
        r"only a deferral has a date it is deferred to",
        "deferred_until",
        lambda f: _("Only a deferral has a date it is deferred to. Clear the date, or defer the proposal."),
    ),
    (
        r"an investigation's due date cannot lie before the decision",
        "due",
        lambda f: _("The date the answer is due cannot lie before the decision. Choose a later date."),
    ),
    (
        r"a proposal cannot be deferred to a day before the decision",
        "deferred_until",
        lambda f: _("A proposal cannot be deferred to a day before the decision. Choose a later date."),
    ),
    (
        rf"check-in {_ID} has been recorded already",
        "",
        lambda f: _("This check-in has been recorded already. Reload the page to see it."),
    ),
    # organisation.py
    (r"a unit needs a name", "name", lambda f: _("Give the unit a name.")),
    (
        rf"unit {_U} is not part of (?P<organisation>.+)",
        "",
        lambda f: _("That unit is not part of %(organisation)s.", organisation=f["organisation"]),
    ),
    (r"unit (?P<name>.+) is (?P<status>merged|split|retired)", "", _unit_ended),
    (
        r"an active unit is already called (?P<name>.+)",
        "name",
        lambda f: _("An active unit is already called %(name)s. Choose another name.", name=f["name"]),
    ),
    (
        r"unit ids must be new and distinct",
        "",
        lambda f: _("These units have been created already. Reload the page to see them."),
    ),
    (
        r"the unit is already called (?P<name>.+)",
        "name",
        lambda f: _("The unit is already called %(name)s.", name=f["name"]),
    ),
    (
        r"a merger needs at least two distinct units, each named once",
        "unit_ids",
        lambda f: _("Choose at least two different units to merge."),
    ),
    (
        r"a split needs at least two new units",
        "",
        lambda f: _("A split makes at least two new units. Name one more."),
    ),
    (
        r"the units a split creates need distinct names",
        "",
        lambda f: _("The units a split makes need different names."),
    ),
    (
        rf"engagement {_ID} exists already",
        "",
        lambda f: _("This engagement has been registered already. Reload the page to see it."),
    ),
    (
        r"the organisation has not been established yet",
        "",
        lambda f: _("The organisation has not been set up yet. Set it up with its units first."),
    ),
    (
        r"the organisation has been established already",
        "",
        lambda f: _("The organisation has been set up already."),
    ),
    (
        rf"no engagement {_ID}(?: at .+)?",
        "",
        lambda f: _("There is no such engagement in this client organisation (or not at that time)."),
    ),
    (r"no such client organisation", "", lambda f: _("There is no such client organisation.")),
    # join_code.py and the join codes' service
    (
        r"a join code's expiry needs a time zone",
        "expires_at",
        lambda f: _("Give the join code's expiry with a time zone."),
    ),
    (
        r"a join code must expire after it is issued; the theme day is over",
        "expires_at",
        lambda f: _("The theme day is over, so a new join code would expire at once. Choose a later expiry."),
    ),
    (
        r"a join code is listed with the engagement it was issued for",
        "",
        lambda f: _("This join code belongs to another engagement."),
    ),
    (
        r"a join code expires with its theme day at the latest",
        "expires_at",
        lambda f: _("A join code expires with its theme day at the latest. Choose an earlier expiry."),
    ),
    (
        r"this join code has been issued already",
        "",
        lambda f: _("This join code has been issued already. Reload the page to see it."),
    ),
    (
        rf"no join code {_ID} for this unit",
        "",
        lambda f: _("That join code is not this unit's. Reload the page and try again."),
    ),
)

_PATTERNS: tuple[tuple[re.Pattern[str], str, Say], ...] = tuple(
    (re.compile(pattern), field, say) for pattern, field, say in _RULES
)


def _general(error: DomainError) -> str:
    """The rule's own sentence, for a message no pattern knows."""
    if error.rule == "wrong_phase":
        headline = _("The engagement is not in the right phase for this.")
        advice = _("The facilitator moves the engagement on when it is time.")
    elif error.rule == "not_found":
        headline = _("That no longer exists.")
        advice = _("Reload the page to see how things stand now.")
    elif error.rule == "already_exists":
        headline = _("That has already been recorded.")
        advice = _("Reload the page to see how things stand now.")
    else:
        headline = _("This is not allowed now.")
        advice = _("Reload the page to see how things stand now.")
    if current_language() == "en":
        own = error.message.strip()
        return f"{headline} {own[:1].upper()}{own[1:]}." if own else f"{headline} {advice}"
    return f"{headline} {advice}"


def explain_refusal(error: DomainError, names: Names | None = None) -> Refusal:
    """Why `error` refused the command, in the user's language, and the form's field it concerns
    ("" for the whole form). `names` (unit id → name) lets it name units instead of ids."""
    for pattern, field, say in _PATTERNS:
        parts = pattern.fullmatch(error.message.strip())
        if parts is not None:
            return Refusal(field, say(_Found(parts, names or {})))
    return Refusal("", _general(error))
