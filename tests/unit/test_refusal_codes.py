"""A refusal is data: a stable code and its parameters, from which the English and the pages'
sentences are said. Each refusal here is raised through the aggregates, and what a client gets
(code, params, the English detail) is checked; last, every code the house can raise has an
English sentence and a Danish one.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path
from string import Formatter
from uuid import uuid4

import msgspec
import pytest

from domain.default_instrument import DEFAULT_INSTRUMENT
from domain.errors import (
    AlreadyExists,
    DomainError,
    InvariantViolated,
    NotFound,
    NotPermitted,
    Param,
    WrongPhase,
    english,
    sentence_codes,
)
from domain.members import MemberRoster
from domain.organisation import Organisation
from domain.phases import Phase
from domain.refusals import ACTIONS, SENTENCES
from domain.roles import Role
from domain.scheduling import DialogueRequest, propose_schedule
from services.web.i18n import speaking
from services.web.refusals import explain_refusal, said_codes
from tests.unit.factories import (
    ALL_THREES,
    TENANT_ID,
    accepted_card,
    engagement_in,
    provenance,
)

ROOT = Path(__file__).resolve().parents[2]
ERRORS = {"DomainError", "NotFound", "Erased", "WrongPhase", "InvariantViolated", "AlreadyExists"}
ERRORS |= {"NotPermitted", "ConcurrentModification"}

# Refusals only the API and the command line meet (tenants, users, members, instruments, the
# auditors' access logs, the event chain's anchors, concurrent changes): a page says them by their
# rule's general sentence, in Danish as in English.
SAID_BY_THEIR_RULE = frozenset(
    {
        # tenants
        "tenant_needs_name",
        "slug_invalid",
        "tenant_erased",
        "slug_taken",
        "tenant_listed",
        "no_tenant",
        "client_organisation_erased",
        "slug_of_erased_tenant",
        "slug_belonged_to_erased_tenant",
        # users, members and invitations
        "email_invalid",
        "user_needs_display_name",
        "not_a_platform_role",
        "not_a_tenant_role",
        "no_membership",
        "user_deactivated",
        "role_does_not_manage_members",
        "own_role",
        "staff_roles_by_admins",
        "role_by_admins",
        "roster_from_other_tenant",
        "membership_from_other_tenant",
        "role_held_change_it",
        "role_held",
        "no_role_held",
        "invitation_for_another",
        "no_invitation_for",
        "no_such_invitation",
        "email_taken",
        "no_user",
        "no_user_with_email",
        # instruments
        "scale_inverted",
        "no_dimensions",
        "dimension_keys_invalid",
        "band_bounds_not_finite",
        "bands_not_rising",
        "bands_off_scale",
        "instrument_unpublished",
        "no_instrument_version",
        "instrument_needs_name",
        "instrument_name_taken",
        "instrument_listed",
        "no_instrument",
        "instrument_version_out_of_order",
        "builtin_instrument_unchanging",
        # auditors' access logs and the chain's anchors
        "access_moment_without_zone",
        "month_invalid",
        "access_log_from_other_tenant",
        "access_not_by_auditor",
        "access_in_other_tenant",
        "access_in_other_month",
        "http_method_invalid",
        "request_path_invalid",
        "http_status_invalid",
        "digest_invalid",
        "chain_position_invalid",
        "chain_head_reanchored",
        # join codes by id, the audit trail's lineage, concurrent changes
        "no_such_join_code",
        "not_in_lineage",
        "no_lineage_node",
        "role_changed_meanwhile",
        "user_kept_changing",
        "invitations_kept_changing",
        "members_kept_changing",
        "changed_since_version",
        "too_many_concurrent_changes",
    }
)


def refused(command: Callable[[], object]) -> DomainError:
    with pytest.raises(DomainError) as caught:
        command()
    return caught.value


def as_json(error: DomainError) -> object:
    return msgspec.json.decode(msgspec.json.encode(error.params))


# -- Codes and parameters, raised through the aggregates ----------------------------------------------


def test_a_command_in_the_wrong_phase_names_the_action_the_phases_allowed_and_the_phase_now() -> None:
    engagement, units = engagement_in(Phase.MAPPING)
    error = refused(
        lambda: engagement.send_card(uuid4(), units[0], units[1], "Emne", "", "", None, provenance())
    )
    assert isinstance(error, WrongPhase)
    assert (error.code, error.rule, error.state) == ("wrong_phase", "wrong_phase", "mapping")
    assert as_json(error) == {"action": "send_cards", "allowed": ["dance_cards"], "current": "mapping"}
    assert (
        error.message
        == "sending dance cards is possible in phase dance_cards; the engagement is in phase mapping"
    )


def test_several_allowed_phases_are_listed_in_their_order() -> None:
    engagement, _units = engagement_in(Phase.MAPPING)
    error = refused(lambda: engagement.schedule_dialogues(provenance()))
    assert error.params["allowed"] == ("dance_cards", "dialogues")
    assert "in phase dance_cards or dialogues;" in error.message


def test_a_broken_invariant_carries_its_parts_and_what_stands_now() -> None:
    engagement, units = engagement_in(Phase.DANCE_CARDS)
    first = accepted_card(engagement, units[0], units[1])
    second = accepted_card(engagement, units[0], units[2])
    engagement.move_dialogue(first, 2, provenance())
    error = refused(lambda: engagement.move_dialogue(second, 2, provenance()))
    assert isinstance(error, InvariantViolated)
    assert (error.code, as_json(error), error.state) == ("round_taken", {"round": 2}, str(first))
    assert error.message == "a unit of this dialogue is already in a dialogue in round 2"


def test_scores_off_the_instrument_name_what_is_missing_and_unknown() -> None:
    scores = {**ALL_THREES, "weather": 3}
    del scores[DEFAULT_INSTRUMENT.dimension_keys[0]]
    error = refused(lambda: DEFAULT_INSTRUMENT.check_scores(scores))
    assert error.code == "scores_incomplete"
    assert error.params["missing"] == (DEFAULT_INSTRUMENT.dimension_keys[0],)
    assert error.params["unknown"] == ("weather",)
    assert error.message.endswith(f"(missing: {DEFAULT_INSTRUMENT.dimension_keys[0]}; unknown: weather)")


def test_a_unit_outside_the_engagement_is_not_found_by_its_id_as_text() -> None:
    engagement, _units = engagement_in(Phase.MAPPING)
    stranger = uuid4()
    error = refused(lambda: engagement.map_relations(stranger, (), provenance()))
    assert isinstance(error, NotFound)
    assert (error.code, as_json(error)) == ("unit_not_taking_part", {"unit": str(stranger)})
    assert error.message == f"unit {stranger} does not take part in this engagement"


def test_a_name_taken_already_exists_and_says_the_name() -> None:
    organisation = Organisation(tenant_id=TENANT_ID, name="Søby Kommune", provenance=provenance())
    organisation.add_unit(uuid4(), "Visitationen", provenance())
    error = refused(lambda: organisation.add_unit(uuid4(), "visitationen", provenance()))
    assert isinstance(error, AlreadyExists)
    assert (error.code, as_json(error)) == ("unit_name_taken", {"name": "visitationen"})
    assert error.message == "an active unit is already called visitationen"


def test_a_role_that_manages_no_members_is_not_permitted() -> None:
    roster = MemberRoster.open(TENANT_ID, provenance(role=Role.CONSULTANCY_ADMIN))
    error = refused(lambda: roster.invite(uuid4(), None, Role.AUDITOR, provenance(role=Role.PARTICIPANT)))
    assert isinstance(error, NotPermitted)
    assert (error.code, as_json(error)) == ("role_does_not_manage_members", {"actor": "participant"})
    assert error.message == "a participant does not manage members"


def test_pins_that_clash_name_the_unit_and_the_round() -> None:
    card_a, card_b, unit_a, unit_b, unit_c = (uuid4() for _ in range(5))
    requests = [DialogueRequest(card_a, (unit_a, unit_b)), DialogueRequest(card_b, (unit_a, unit_c))]
    error = refused(lambda: propose_schedule(requests, 2, pinned={card_a: 1, card_b: 1}))
    assert error.code == "pins_clash"
    assert as_json(error) == {"unit": str(unit_a), "round": 1}


def test_the_english_of_a_code_is_its_sentence_with_the_parameters_in_place() -> None:
    assert english("slug_taken", {"slug": "soby"}) == "slug 'soby' is taken"
    assert english("scores_off_scale", {"low": 1, "high": 5, "outside": ("a", "b")}) == (
        "scores must lie in 1..5; outside: a, b"
    )
    assert (
        english("no_lineage_node", {"kind": "dance_card", "entity": "x"}) == "no dance card x in the lineage"
    )


# -- Every code has its sentences ---------------------------------------------------------------------


def _raised_codes() -> Iterator[tuple[str, str]]:
    """Each code written where a refusal is made: the first argument of an error's constructor,
    the code `required_text` refuses with, the action `require_phase` is given."""
    for folder in ("domain", "services", "projections"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                name, args = node.func.id, node.args
                if name in ERRORS and args:
                    yield where, _literal(args[0], where)
                elif name == "required_text" and len(args) == 2:
                    yield where, _literal(args[1], where)
                elif name == "require_phase" and len(args) >= 2:
                    yield where, "action:" + _literal(args[1], where)


def _literal(node: ast.expr, where: str) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):  # a code handed on (`required_text`'s `empty`)
        return ""
    pytest.fail(f"{where}: a refusal's code is written as a plain string, not {ast.unparse(node)}")


def test_every_code_raised_has_an_english_sentence_and_every_action_its_words() -> None:
    raised = list(_raised_codes())
    assert len(raised) > 150
    codes = sentence_codes()
    unknown = [
        f"{where}: {code}"
        for where, code in raised
        if code
        and (code.removeprefix("action:") not in ACTIONS if code.startswith("action:") else code not in codes)
    ]
    assert not unknown, "codes without an English sentence:\n" + "\n".join(unknown)


def test_every_code_has_a_danish_sentence_or_is_said_by_its_rule() -> None:
    pages = said_codes()
    assert not pages & SAID_BY_THEIR_RULE
    assert pages | SAID_BY_THEIR_RULE == sentence_codes()


# A value for each parameter a sentence can hold; any other is said as "x".
SAMPLES: dict[str, Param] = {
    "action": "map_relations",
    "allowed": ("mapping",),
    "current": "dialogues",
    "expected": "mapping",
    "status": "accepted",
    "mode": "unit",
    "unit": str(uuid4()),
    "name": "Visitationen",
    "organisation": "Søby Kommune",
    "missing": ("frequent",),
    "unknown": (),
    "outside": ("frequent",),
    "round": 2,
    "rounds": 3,
    "max": 8,
    "min": 5,
    "low": 1,
    "high": 5,
}


@pytest.mark.parametrize("code", sorted(sentence_codes()))
def test_a_page_says_each_code_in_danish(code: str) -> None:
    names = {field for _text, field, _spec, _conversion in Formatter().parse(SENTENCES[code]) if field}
    error = DomainError(code, **{name: SAMPLES.get(name, "x") for name in names})
    with speaking("da"):
        danish = explain_refusal(error).message
    with speaking("en"):
        own = explain_refusal(error).message
    assert danish
    assert danish != own
    assert error.message not in danish


def test_every_refusal_is_raised_with_each_part_its_sentence_names() -> None:
    """A sentence naming a part the raise does not give would be said as its bare code."""
    missing = []
    for folder in ("domain", "services", "projections"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                    continue
                if node.func.id not in ERRORS or not node.args:
                    continue
                code = node.args[0]
                if not (isinstance(code, ast.Constant) and code.value in SENTENCES):
                    continue
                if any(k.arg is None for k in node.keywords):  # parts handed on as **params
                    continue
                given = {k.arg for k in node.keywords}
                named = {
                    field.partition(".")[0].partition("[")[0]
                    for _, field, _, _ in Formatter().parse(SENTENCES[code.value])
                    if field
                }
                if named - given:
                    missing.append(
                        f"{path.relative_to(ROOT)}:{node.lineno} {code.value} {sorted(named - given)}"
                    )
    assert missing == []


def test_a_sentence_missing_a_part_is_said_as_its_code_not_a_failure() -> None:
    assert english("slug_taken", {}) == "slug_taken"
