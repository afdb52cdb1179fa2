"""Why a rule of the method refused a command, in the user's language, and what to do now.

The domain speaks English to developers and the API (`DomainError.message`); the pages say the
same in the method's words. Each refusal's code (`domain.refusals`) has a translated sentence
here, with the refusal's parameters (rounds, phases, units, statuses) put in place: unit ids
become unit names where the page knows them. Where a refusal concerns one field of the form, it
names the field, so the form can show the message next to it.

A code without a sentence of its own is said by its rule's general sentence; on an English page
the domain's own words follow, on a Danish one they never do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.errors import DomainError, Param
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
    """One refusal's parameters, and the unit names the page could give."""

    params: Mapping[str, Param]
    names: Names

    def __getitem__(self, part: str) -> str:
        value = self.params.get(part)
        return "" if value is None else str(value)

    def all(self, part: str) -> tuple[str, ...]:
        """A parameter that holds several values (the phases a command is allowed in)."""
        value = self.params.get(part, ())
        return value if isinstance(value, tuple) else (str(value),)

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


def _phases(allowed: tuple[str, ...]) -> str:
    labels = [f"“{phase_label(value)}”" for value in allowed]
    if len(labels) == 1:
        return labels[0]
    return _("%(phases)s or %(last)s", phases=", ".join(labels[:-1]), last=labels[-1])


def _status(label: Callable[[str], str], value: str) -> str:
    """A status as a word in a sentence: "declined", not "Declined"."""
    return label(value).lower()


# -- Phases -----------------------------------------------------------------------------------------

# Each action's code in `require_phase` (`domain.refusals.ACTIONS`), as the refusal's first sentence.
_ACTIONS: dict[str, Callable[[str], str]] = {
    "revise_preparation": lambda p: _(
        "The preparation can be changed only in the phase %(phases)s.", phases=p
    ),
    "map_relations": lambda p: _("Relations are mapped only in the phase %(phases)s.", phases=p),
    "rate_relations": lambda p: _("Relations are rated only in the phase %(phases)s.", phases=p),
    "send_cards": lambda p: _("Dance cards are sent only in the phase %(phases)s.", phases=p),
    "answer_cards": lambda p: _("Dance cards are answered only in the phase %(phases)s.", phases=p),
    "withdraw_cards": lambda p: _("Dance cards can be withdrawn only in the phase %(phases)s.", phases=p),
    "set_rounds": lambda p: _(
        "The number of dialogue rounds can be changed only in the phase %(phases)s.", phases=p
    ),
    "schedule_dialogues": lambda p: _("Dialogues are scheduled only in the phase %(phases)s.", phases=p),
    "move_dialogues": lambda p: _(
        "Dialogues are moved between rounds only in the phase %(phases)s.", phases=p
    ),
    "record_dialogues": lambda p: _("Dialogues are recorded only in the phase %(phases)s.", phases=p),
    "add_outcomes": lambda p: _("Agreements and proposals are added only in the phase %(phases)s.", phases=p),
    "wrap_up": lambda p: _("A unit's wrap-up is written only in the phase %(phases)s.", phases=p),
    "closing_plenary": lambda p: _("The closing plenary is held only in the phase %(phases)s.", phases=p),
    "decide_agreements": lambda p: _(
        "Agreements are accepted or rejected only in the phase %(phases)s.", phases=p
    ),
    "decide_proposals": lambda p: _("Proposals are decided only in the phase %(phases)s.", phases=p),
    "check_in": lambda p: _("Check-ins on agreements are recorded only in the phase %(phases)s.", phases=p),
}


def _wrong_phase(found: _Found) -> str:
    allowed, current = found.all("allowed"), found["current"]
    phases = _phases(allowed)
    action = _ACTIONS.get(found["action"])
    first = action(phases) if action else _("This is possible only in the phase %(phases)s.", phases=phases)
    now = _("The engagement is in the phase “%(phase)s”.", phase=phase_label(current))
    order = [p.value for p in Phase]
    earlier = current in order and all(order.index(current) < order.index(a) for a in allowed if a in order)
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


# -- The table: each refusal's code, its field, and what the page says ------------------------------


def _fill_in(found: _Found) -> str:
    return _("Please fill this in.")


def _unmapped(found: _Found) -> str:
    return _("Your unit has not mapped this relation. Map it first, then rate it.")


def _no_engagement(found: _Found) -> str:
    return _("There is no such engagement in this client organisation (or not at that time).")


_SENTENCES: dict[str, tuple[str, Say]] = {
    # phases.py
    "wrong_phase": ("", _wrong_phase),
    # engagement.py: preparing and moving through the phases
    "follow_up_before_theme_day": (
        "follow_up_meeting",
        lambda f: _("The follow-up meeting comes after the theme day. Choose a later date for it."),
    ),
    "title_empty": ("title", lambda f: _("Give the engagement a title.")),
    "step_back_reason_empty": ("reason", lambda f: _("Say why the engagement steps back a phase.")),
    "decline_reason_empty": ("reason", lambda f: _("Say why your unit declines.")),
    "agreement_text_empty": ("", lambda f: _("Write what the agreement says.")),
    "proposal_text_empty": ("", lambda f: _("Write what the proposal says.")),
    "wrap_up_summary_empty": ("summary", lambda f: _("Write what your unit takes home from the day.")),
    "decided_by_empty": ("decided_by", lambda f: _("Say who made the decision.")),
    "card_topic_empty": ("", _fill_in),
    "too_few_units": (
        "unit_ids",
        lambda f: _("An engagement needs at least two different units. Choose one more."),
    ),
    "rounds_out_of_range": (
        "rounds",
        lambda f: _("Choose between 1 and %(max)s dialogue rounds.", max=f["max"]),
    ),
    "min_group_size_below_one": (
        "min_group_size",
        lambda f: _("The smallest group whose ratings are shown is at least 1."),
    ),
    "individual_group_too_small": (
        "min_group_size",
        lambda f: _(
            "With each participant's own ratings, a group is shown only from %(n)s raters. Raise the number.",
            n=f["min"],
        ),
    ),
    "engagement_closed": ("", lambda f: _("The engagement is closed; there is no phase after it.")),
    "plenary_not_current": (
        "",
        lambda f: _(
            "Hold the closing plenary before the follow-up meeting; again if agreements or proposals "
            "have come since."
        ),
    ),
    "first_phase": ("", lambda f: _("The engagement is in its first phase; there is none to step back to.")),
    "phase_moved_on": ("", _moved_on),
    # engagement.py: mapping and rating
    "unit_not_taking_part": ("", _not_taking_part),
    "this_unit_not_taking_part": ("", _not_taking_part),
    "relation_to_itself": (
        "counterpart_ids",
        lambda f: _("A unit does not map a relation to itself. Untick your own unit."),
    ),
    "relation_mapped_twice": (
        "counterpart_ids",
        lambda f: _("Each relation is mapped once. Tick each unit only once."),
    ),
    "relation_not_mapped": ("", _unmapped),
    "relation_not_mapped_by_unit": ("", _unmapped),
    "wrong_rating_mode": ("", _rating_mode),
    "rating_submitted": (
        "",
        lambda f: _("This rating has been recorded already. Reload the page to see it."),
    ),
    "no_current_rating": (
        "motivating_rating_id",
        lambda f: _("That rating is no longer the current one. Reload the page and choose again."),
    ),
    "scores_incomplete": ("", lambda f: _("Give a score on every question.")),
    "scores_off_scale": (
        "",
        lambda f: _("Every score lies between %(low)s and %(high)s.", low=f["low"], high=f["high"]),
    ),
    # engagement.py and cards.py: dance cards
    "no_card": (
        "",
        lambda f: _("That dance card is not part of this engagement. Reload the page and try again."),
    ),
    "card_to_itself": (
        "to_unit",
        lambda f: _("A unit does not send a dance card to itself. Choose another unit."),
    ),
    "card_sent": ("", lambda f: _("This dance card has been sent already. Reload the page to see it.")),
    "motivating_rating_elsewhere": (
        "motivating_rating_id",
        lambda f: _(
            "The rating a dance card refers to must be between the two units of the card. "
            "Refer to your rating of the unit you invite."
        ),
    ),
    "card_answered_by_invited": ("", lambda f: _("Only the invited unit can answer this dance card.")),
    "card_answered": (
        "",
        lambda f: _(
            "The dance card has already been %(status)s. Reload the page to see it.",
            status=_status(card_status_label, f["status"]),
        ),
    ),
    "card_withdrawn_by_inviting": (
        "",
        lambda f: _("Only the unit that sent the dance card can withdraw it."),
    ),
    "card_not_withdrawable": (
        "",
        lambda f: _(
            "A dance card that has been %(status)s cannot be withdrawn.",
            status=_status(card_status_label, f["status"]),
        ),
    ),
    "card_dialogue_held": (
        "",
        lambda f: _("The dialogue of this dance card has been held, so the card can no longer be withdrawn."),
    ),
    # engagement.py and scheduling.py: dialogue rounds
    "rounds_used": (
        "rounds",
        lambda f: _(
            "Dialogues have been held in the rounds that would go. Keep at least as many rounds as have been used."
        ),
    ),
    "card_not_accepted_for_round": (
        "round",
        lambda f: _(
            "Only accepted dance cards get a dialogue round; this one has been %(status)s.",
            status=_status(card_status_label, f["status"]),
        ),
    ),
    "dialogue_round_history": (
        "round",
        lambda f: _("The dialogue has been held; its round can no longer be changed."),
    ),
    "round_out_of_range": (
        "round",
        lambda f: _("Choose a dialogue round from 1 to %(rounds)s.", rounds=f["rounds"]),
    ),
    "round_taken": (
        "round",
        lambda f: _(
            "A unit of this dialogue already has a dialogue in round %(round)s. "
            "Pick another round, or move that dialogue first.",
            round=f["round"],
        ),
    ),
    "card_units_not_distinct": ("", lambda f: _("A dance card joins two different units.")),
    "rounds_negative": ("rounds", lambda f: _("The number of dialogue rounds cannot be negative.")),
    "card_requested_twice": ("", lambda f: _("Each dance card has one dialogue in the schedule.")),
    "pinned_card_not_accepted": (
        "",
        lambda f: _(
            "A dialogue placed by hand is no longer an accepted dance card. Take it off the schedule and try again."
        ),
    ),
    "pin_outside_rounds": (
        "rounds",
        lambda f: _(
            "A dialogue is placed by hand outside rounds 1 to %(rounds)s. Move it to another round first.",
            rounds=f["rounds"],
        ),
    ),
    "pins_clash": ("", _pins_clash),
    # engagement.py: dialogues, agreements and proposals
    "card_not_accepted_for_dialogue": (
        "",
        lambda f: _(
            "A dialogue follows an accepted dance card; this one has been %(status)s.",
            status=_status(card_status_label, f["status"]),
        ),
    ),
    "dialogue_recorded": (
        "",
        lambda f: _("The dialogue of this dance card has been recorded already. Reload the page to see it."),
    ),
    "dialogue_not_recorded": (
        "",
        lambda f: _("The dialogue of this dance card has not been recorded yet. Record the dialogue first."),
    ),
    "erasure_needs_name": (
        "name",
        lambda f: _("Write the name of the participant whose name is to be erased."),
    ),
    "no_outcomes": ("", lambda f: _("Write at least one agreement or proposal.")),
    "no_dialogue": (
        "",
        lambda f: _("That dialogue is not part of this engagement. Reload the page and try again."),
    ),
    "outcome_ids_taken": (
        "",
        lambda f: _(
            "These agreements and proposals have been recorded already. Reload the page to see them."
        ),
    ),
    "no_agreement": (
        "",
        lambda f: _("That agreement is not part of this engagement. Reload the page and try again."),
    ),
    "no_proposal": (
        "",
        lambda f: _("That proposal is not part of this engagement. Reload the page and try again."),
    ),
    "not_on_agenda": (
        "",
        lambda f: _("That is not on the follow-up meeting's agenda. Choose an item from the agenda."),
    ),
    # engagement.py, agreements.py and proposals.py: the follow-up meeting and afterwards
    "agreement_needs_no_acceptance": (
        "",
        lambda f: _(
            "This agreement is in force without management's acceptance; there is nothing to decide."
        ),
    ),
    "agreement_decided": (
        "",
        lambda f: _(
            "The agreement has already been %(status)s; that decision stands.",
            status=_status(agreement_status_label, f["status"]),
        ),
    ),
    "agreement_not_in_force": ("", _not_followable),
    "proposal_decided": (
        "",
        lambda f: _(
            "The proposal has already been %(status)s; that decision stands.",
            status=_status(proposal_status_label, f["status"]),
        ),
    ),
    "decision_outcome_invalid": (
        "outcome",
        lambda f: _("Choose what the meeting decides: approve, reject, defer or send for investigation."),
    ),
    "investigation_incomplete": (
        "owner",
        lambda f: _("An investigation needs someone to look into it and a date the answer is due."),
    ),
    "owner_without_investigation": (
        "owner",
        lambda f: _(
            "Only an investigation has someone to look into it and a due date. "
            "Clear those fields, or send the proposal for investigation."
        ),
    ),
    "deferral_date_without_deferral": (
        "deferred_until",
        lambda f: _("Only a deferral has a date it is deferred to. Clear the date, or defer the proposal."),
    ),
    "due_before_decision": (
        "due",
        lambda f: _("The date the answer is due cannot lie before the decision. Choose a later date."),
    ),
    "deferred_before_decision": (
        "deferred_until",
        lambda f: _("A proposal cannot be deferred to a day before the decision. Choose a later date."),
    ),
    "check_in_recorded": (
        "",
        lambda f: _("This check-in has been recorded already. Reload the page to see it."),
    ),
    # organisation.py
    "unit_needs_name": ("name", lambda f: _("Give the unit a name.")),
    "unit_not_in_organisation": (
        "",
        lambda f: _("That unit is not part of %(organisation)s.", organisation=f["organisation"]),
    ),
    "unit_ended": ("", _unit_ended),
    "unit_name_taken": (
        "name",
        lambda f: _("An active unit is already called %(name)s. Choose another name.", name=f["name"]),
    ),
    "unit_ids_taken": (
        "",
        lambda f: _("These units have been created already. Reload the page to see them."),
    ),
    "unit_already_called": ("name", lambda f: _("The unit is already called %(name)s.", name=f["name"])),
    "merger_too_few_units": ("unit_ids", lambda f: _("Choose at least two different units to merge.")),
    "split_too_few_units": ("", lambda f: _("A split makes at least two new units. Name one more.")),
    "split_names_not_distinct": ("", lambda f: _("The units a split makes need different names.")),
    "unit_change_before_its_history": (
        "takes_effect",
        lambda f: _(
            "%(name)s last changed on %(since)s; a change to it takes effect that day or later.",
            name=f["name"],
            since=f["since"],
        ),
    ),
    "engagement_exists": (
        "",
        lambda f: _("This engagement has been registered already. Reload the page to see it."),
    ),
    "organisation_not_established": (
        "",
        lambda f: _("The organisation has not been set up yet. Set it up with its units first."),
    ),
    "organisation_established": ("", lambda f: _("The organisation has been set up already.")),
    "no_engagement": ("", _no_engagement),
    "no_engagement_at": ("", _no_engagement),
    "no_such_client_organisation": ("", lambda f: _("There is no such client organisation.")),
    # join_code.py and the join codes' service
    "join_code_expiry_without_zone": (
        "expires_at",
        lambda f: _("Give the join code's expiry with a time zone."),
    ),
    "join_code_expired_at_issue": (
        "expires_at",
        lambda f: _("The theme day is over, so a new join code would expire at once. Choose a later expiry."),
    ),
    "join_code_other_engagement": ("", lambda f: _("This join code belongs to another engagement.")),
    "join_code_after_theme_day": (
        "expires_at",
        lambda f: _("A join code expires with its theme day at the latest. Choose an earlier expiry."),
    ),
    "join_code_issued": (
        "",
        lambda f: _("This join code has been issued already. Reload the page to see it."),
    ),
    "no_join_code": (
        "",
        lambda f: _("That join code is not this unit's. Reload the page and try again."),
    ),
    # personal_codes.py and the personal codes' service
    "personal_codes_need_individual_rating": (
        "people",
        lambda f: _(
            "Personal codes are for engagements where participants rate one by one. Here each unit "
            "rates together: give each table a join code instead."
        ),
    ),
    "personal_codes_people": (
        "people",
        lambda f: _("Give a number of people from 1 to %(most)s.", most=f["most"]),
    ),
    "personal_codes_request_changed": (
        "people",
        lambda f: _(
            "This form issued codes for %(issued)s people already, not %(people)s. Reload the console "
            "to issue codes for more people.",
            issued=f["issued"],
            people=f["people"],
        ),
    ),
    "personal_code_not_derivable": (
        "",
        lambda f: _(
            "The code of slip %(slip)s can no longer be shown. Revoke the slip and issue a new code.",
            slip=f["slip"],
        ),
    ),
    "no_personal_code": (
        "slip",
        lambda f: _("There is no slip number %(slip)s for this unit.", slip=f["slip"]),
    ),
    "no_personal_codes": ("", lambda f: _("No personal codes have been issued for this unit.")),
    # people: invitations, links, accounts (invitation.py, user.py, members.py)
    "role_by_consultancy": ("role", lambda f: _("Only the consultancy gives, changes or removes this role.")),
    "own_account_deactivated": ("", lambda f: _("You cannot deactivate your own account.")),
    "language_unknown": ("language", lambda f: _("Choose Danish or English.")),
    "link_expires_in_the_past": ("", lambda f: _("A link must expire after it is sent.")),
    "invitation_link_invalid": ("", lambda f: _("This invitation link no longer works.")),
    "invitation_link_expired": ("", lambda f: _("This invitation link has expired. Ask for a new one.")),
    "reset_link_invalid": ("", lambda f: _("This link no longer works. Ask for a new one.")),
    "reset_link_expired": ("", lambda f: _("This link has expired. Ask for a new one.")),
}


def said_codes() -> frozenset[str]:
    """Every refusal code a page has a sentence of its own for."""
    return frozenset(_SENTENCES)


def _general(error: DomainError) -> str:
    """The rule's own sentence, for a code without a sentence of its own."""
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
    known = _SENTENCES.get(error.code)
    if known is None:
        return Refusal("", _general(error))
    field, say = known
    return Refusal(field, say(_Found(error.params, names or {})))
