"""Every rule of the method a command can break, by its stable code, with its English sentence.

The code is what an API client and the pages act on; the sentence (a `str.format` template over
the refusal's parameters, `domain.errors`) is what a developer reads. A code, once given, keeps
its meaning: a changed rule gets a new code.
"""

from __future__ import annotations

# What `require_phase` calls each action, by the action's code.
ACTIONS: dict[str, str] = {
    "revise_preparation": "revising the preparation",
    "map_relations": "mapping relations",
    "rate_relations": "rating relations",
    "send_cards": "sending dance cards",
    "answer_cards": "answering dance cards",
    "withdraw_cards": "withdrawing dance cards",
    "set_rounds": "setting the number of rounds",
    "schedule_dialogues": "scheduling dialogues",
    "move_dialogues": "moving dialogues",
    "record_dialogues": "recording dialogues",
    "add_outcomes": "adding agreements and proposals",
    "wrap_up": "a unit's wrap-up",
    "closing_plenary": "the closing plenary",
    "decide_agreements": "accepting or rejecting agreements",
    "decide_proposals": "deciding proposals",
    "check_in": "checking in on agreements",
}

SENTENCES: dict[str, str] = {
    # Phases (phases.py, engagement.py)
    "wrong_phase": "{action:action} is possible in phase {allowed:or}; the engagement is in phase {current}",
    "phase_moved_on": "the engagement is in phase {current}, not {expected}",
    "engagement_closed": "the engagement is closed",
    "plenary_not_current": (
        "hold the closing plenary (again, if agreements or proposals came since) before the follow-up meeting"
    ),
    "first_phase": "the engagement is in its first phase",
    # Preparing an engagement (engagement.py)
    "follow_up_before_theme_day": "the follow-up meeting comes after the theme day",
    "title_empty": "the engagement's title must not be empty",
    "step_back_reason_empty": "the reason for stepping back must not be empty",
    "card_topic_empty": "the dance card's topic must not be empty",
    "decline_reason_empty": "the reason for declining must not be empty",
    "agreement_text_empty": "an agreement's text must not be empty",
    "proposal_text_empty": "a proposal's text must not be empty",
    "wrap_up_summary_empty": "the wrap-up's summary must not be empty",
    "decided_by_empty": "who decided must not be empty",
    "too_few_units": "an engagement needs at least two distinct participating units",
    "rounds_out_of_range": "an engagement has between 1 and {max} dialogue rounds",
    "min_group_size_below_one": "the minimum group size for showing ratings is at least 1",
    "individual_group_too_small": "individual ratings are shown only for groups of at least {min} raters",
    # Mapping and rating (engagement.py, instrument.py)
    "unit_not_taking_part": "unit {unit} does not take part in this engagement",
    "this_unit_not_taking_part": "this unit does not take part in this engagement",
    "relation_to_itself": "a unit does not map a relation to itself",
    "relation_mapped_twice": "each relation is mapped once",
    "relation_not_mapped": "a unit rates the relations it has mapped; map this relation first",
    "relation_not_mapped_by_unit": "this relation has not been mapped by the unit",
    "wrong_rating_mode": "this engagement collects {mode} ratings",
    "rating_submitted": "rating {rating} has been submitted already",
    "no_current_rating": "no current rating {rating} in this engagement",
    "scores_incomplete": (
        "a rating needs a score on every dimension of {instrument} v{version}"
        " (missing: {missing:list}; unknown: {unknown:list})"
    ),
    "scores_off_scale": "scores must lie in {low}..{high}; outside: {outside:join}",
    # Dance cards (engagement.py, cards.py)
    "no_card": "no dance card {card} in this engagement",
    "card_to_itself": "a unit does not send a dance card to itself",
    "card_sent": "dance card {card} has been sent already",
    "motivating_rating_elsewhere": "the motivating rating must concern the two units of the card",
    "card_answered_by_invited": "only the invited unit can answer a dance card",
    "card_answered": "the dance card has already been {status}",
    "card_withdrawn_by_inviting": "only the inviting unit can withdraw a dance card",
    "card_not_withdrawable": "a {status} dance card cannot be withdrawn",
    "card_dialogue_held": "the dialogue of this card has been held",
    # Dialogue rounds (engagement.py, scheduling.py)
    "rounds_used": "dialogues have been held in rounds beyond the new number of rounds",
    "card_not_accepted_for_round": "only accepted dance cards are scheduled; this one is {status}",
    "dialogue_round_history": "the dialogue has been held; its round is history",
    "round_out_of_range": "rounds run from 1 to {rounds}",
    "round_taken": "a unit of this dialogue is already in a dialogue in round {round}",
    "card_units_not_distinct": "card {card} must join two distinct units",
    "rounds_negative": "rounds must not be negative, got {rounds}",
    "card_requested_twice": "each card may be requested only once",
    "pinned_card_not_accepted": "pinned card {card} is not among the accepted cards",
    "pin_outside_rounds": "card {card} pinned to round {round}, outside 1..{rounds}",
    "pins_clash": "pins put unit {unit} in two dialogues in round {round}",
    # Dialogues, agreements and proposals (engagement.py)
    "card_not_accepted_for_dialogue": "dialogues follow accepted dance cards; this one is {status}",
    "dialogue_recorded": "the dialogue of this dance card has been recorded already",
    "dialogue_not_recorded": "the dialogue of this dance card has not been recorded yet",
    "erasure_needs_name": "name the participant whose name is to be erased",
    "no_outcomes": "add at least one agreement or proposal",
    "no_dialogue": "no dialogue {dialogue} in this engagement",
    "outcome_ids_taken": "agreement and proposal ids must be new",
    "no_agreement": "no agreement {agreement} in this engagement",
    "no_proposal": "no proposal {proposal} in this engagement",
    "not_on_agenda": "that is not on the follow-up meeting's agenda",
    # The follow-up meeting and afterwards (engagement.py, agreements.py, proposals.py)
    "agreement_needs_no_acceptance": "this agreement needs no management acceptance",
    "agreement_decided": "the agreement has already been {status}",
    "agreement_not_in_force": "check-ins follow agreements in force; this one is {status}",
    "proposal_decided": "the proposal has been {status}; that decision stands",
    "decision_outcome_invalid": "a decision approves, rejects, defers or sends for investigation",
    "investigation_incomplete": "an investigation needs an owner and a due date",
    "owner_without_investigation": "only investigations have an owner and a due date",
    "deferral_date_without_deferral": "only a deferral has a date it is deferred to",
    "due_before_decision": "an investigation's due date cannot lie before the decision",
    "deferred_before_decision": "a proposal cannot be deferred to a day before the decision",
    "check_in_recorded": "check-in {check_in} has been recorded already",
    # The organisation and its units (organisation.py)
    "unit_needs_name": "a unit needs a name",
    "unit_not_in_organisation": "unit {unit} is not part of {organisation}",
    "unit_ended": "unit {name} is {status}",
    "unit_name_taken": "an active unit is already called {name}",
    "unit_ids_taken": "unit ids must be new and distinct",
    "unit_already_called": "the unit is already called {name}",
    "merger_too_few_units": "a merger needs at least two distinct units, each named once",
    "split_too_few_units": "a split needs at least two new units",
    "split_names_not_distinct": "the units a split creates need distinct names",
    "unit_change_before_its_history": "unit {name} last changed on {since}; a change to it cannot take effect earlier",
    "engagement_exists": "engagement {engagement} exists already",
    # Join codes (join_code.py)
    "join_code_expiry_without_zone": "a join code's expiry needs a time zone",
    "join_code_expired_at_issue": "a join code must expire after it is issued; the theme day is over",
    "join_code_other_engagement": "a join code is listed with the engagement it was issued for",
    "join_code_after_theme_day": "a join code expires with its theme day at the latest",
    "join_code_issued": "this join code has been issued already",
    "no_join_code": "no join code {code} for this unit",
    # Personal codes (personal_codes.py)
    "personal_codes_need_individual_rating": (
        "personal codes are for engagements rated by individuals; here each unit rates together"
    ),
    "personal_codes_people": "a batch of personal codes is for 1 to {most} people, not {people}",
    "personal_codes_request_changed": (
        "this request issued personal codes for {issued} people before, not {people}; "
        "send a new request for more"
    ),
    "personal_code_not_derivable": (
        "the code of slip {slip} was made under a platform secret no longer configured; "
        "revoke the slip and issue a new code"
    ),
    "no_personal_code": "no personal code {slip} for this unit",
    "no_personal_codes": "no personal codes were issued for this unit",
    # Client organisations (tenant.py)
    "tenant_needs_name": "a client organisation needs a name",
    "slug_invalid": "slug {slug!r} must be lower-case letters, digits and inner hyphens",
    "tenant_erased": "tenant {tenant} was erased",
    "slug_taken": "slug {slug!r} is taken",
    "tenant_listed": "tenant {tenant} is already listed",
    "no_tenant": "no tenant {tenant}",
    # Users, members and invitations (user.py, members.py, invitation.py)
    "email_invalid": "not an email address: {email!r}",
    "language_unknown": "messages are written in Danish (da) or English (en), not {language!r}",
    "user_needs_display_name": "a user needs a display name",
    "not_a_platform_role": "{role} is not a platform role",
    "not_a_tenant_role": "{role} is not a role within a tenant",
    "no_membership": "{user} holds no membership in tenant {tenant}",
    "user_deactivated": "{user} is deactivated",
    "role_does_not_manage_members": "a {actor} does not manage members",
    "own_role": "nobody changes their own role here; a consultancy admin does",
    "staff_roles_by_admins": "only consultancy admins give or change the roles of the consultancy's staff",
    "role_by_admins": "only consultancy admins give the role {role}",
    "roster_from_other_tenant": "a member roster is opened from within its own tenant",
    "membership_from_other_tenant": "a membership changes from within its own tenant",
    "role_held_change_it": "{user} already holds the role {role} here; change it instead",
    "role_held": "{user} already holds the role {role} here",
    "no_role_held": "{user} holds no role in this client organisation",
    "invitation_for_another": "only the invited person accepts an invitation",
    "no_invitation_for": "no invitation for {user} waits here",
    "no_such_invitation": "no such invitation",
    "role_by_consultancy": "only the consultancy gives, changes or takes away the role {role}",
    "own_account_deactivated": "nobody deactivates their own account; another consultancy admin does",
    "link_expires_in_the_past": "a link must expire after it is issued",
    "invitation_link_invalid": "this invitation link does not work (used, withdrawn or replaced by a newer one)",
    "invitation_link_expired": "this invitation link has expired; ask for a new one",
    "reset_link_invalid": "this link to set a new password does not work (used or replaced by a newer one)",
    "reset_link_expired": "this link to set a new password has expired; ask for a new one",
    # Instruments (instrument.py, instrument_directory.py)
    "scale_inverted": "the scale's minimum must lie below its maximum",
    "no_dimensions": "an instrument needs at least one dimension",
    "dimension_keys_invalid": "dimension keys must be distinct and not empty",
    "band_bounds_not_finite": "strength bands' lower bounds must be finite numbers",
    "bands_not_rising": "strength bands must be given in rising order of their lower bounds",
    "bands_off_scale": "strength bands' lower bounds must lie on the scale {low}..{high}",
    "instrument_unpublished": "instrument {instrument} has no published version",
    "no_instrument_version": "instrument {instrument} has no version {version}",
    "instrument_needs_name": "an instrument needs a name",
    "instrument_name_taken": "instrument name {name!r} is taken",
    "instrument_listed": "instrument {instrument} is already listed",
    "no_instrument": "no instrument {instrument}",
    "instrument_version_out_of_order": "instrument {instrument} is at version {latest}; the next is {next}, not {version}",
    # Auditors' access logs (access_log.py)
    "access_moment_without_zone": "the moment of an access needs a time zone",
    "month_invalid": "a month is written YYYY-MM, not {month!r}",
    "access_log_from_other_tenant": "an access log is opened from within its own tenant",
    "access_not_by_auditor": "only auditors' accesses are recorded here",
    "access_in_other_tenant": "an access is recorded in the tenant it was made in",
    "access_in_other_month": "an access in {month} does not belong in the log of {log_month}",
    "http_method_invalid": "not an HTTP method: {method!r}",
    "request_path_invalid": "a request path starts with '/', not {path!r}",
    "http_status_invalid": "not an HTTP status: {status}",
    # Anchors of the event chain (chain_anchor.py)
    "digest_invalid": "a chain digest is {length} hex digits, got {digest!r}",
    "chain_position_invalid": "a chain head is at a position of 1 or more, not {position}",
    "chain_head_reanchored": "the chain head at position {position} was anchored with another digest",
    # Refusals the application adds around the aggregates (services/)
    "client_organisation_erased": "client organisation {tenant} was erased",
    "slug_of_erased_tenant": "slug {slug!r} was used by an erased tenant",
    "slug_belonged_to_erased_tenant": "slug {slug!r} belonged to an erased tenant",
    "no_such_client_organisation": "no such client organisation",
    "email_taken": "a user with email {email!r} exists",
    "no_user": "no user {user}",
    "no_user_with_email": "no user with email {email!r}",
    "builtin_instrument_unchanging": (
        "the built-in instrument never changes; create an instrument of your own instead"
    ),
    "no_such_join_code": "no join code {code}",
    "organisation_not_established": "the organisation has not been established yet",
    "organisation_established": "the organisation has been established already",
    "no_engagement": "no engagement {engagement}",
    "no_engagement_at": "no engagement {engagement} at {moment}",
    "not_in_lineage": "no {kind} in the lineage",
    "no_lineage_node": "no {kind:words} {entity} in the lineage",
    # Concurrent changes (services/errors.py: ConcurrentModification)
    "role_changed_meanwhile": "the role of {user} here changed meanwhile",
    "user_kept_changing": "user {user} kept changing; try again",
    "invitations_kept_changing": "the invitations kept changing; try again",
    "members_kept_changing": "the members of this organisation kept changing; try again",
    "changed_since_version": "changed since version {expected}; now at version {now}",
    "too_many_concurrent_changes": "too many concurrent changes; try again",
}
