"""Which access each route of the HTTP API needs: the API's rows of the declared table.

The accesses themselves (who holds `READ`, `PLAN`, `TAKE_PART_AT_TABLE`, ...) are the one
vocabulary in `services/access.py`, which the routes' options are derived from as well. This table
is the specification the routes are checked against (the isolation matrix in
`tests/integration/test_isolation_matrix.py` walks the app's route table and calls every route as
every kind of caller), written out by hand on purpose: it does not read the routes' options, so a
route that grants more, or less, than declared here is caught, and a route missing from the table
fails the check.

Keys are the method and the path template exactly as Litestar reports it (`route.path`, with the
parameter types, e.g. `/api/v1/tenants/{tenant_id:uuid}`). `OPTIONS` follows one rule for every
path (`services.access.RouteTable.policy_for`).
"""

from __future__ import annotations

from services.access import (
    ACCOUNT,
    ADMINISTER,
    AUDIT,
    CLOSED,
    DECLARED,
    FACILITATE,
    PLAN,
    PUBLIC,
    READ,
    READ_AT_TABLE,
    SEE_PORTFOLIO,
    TAKE_PART_AT_TABLE,
    TENANT_PATH_PREFIX,
    Policy,
)

_T = TENANT_PATH_PREFIX
_E = f"{_T}/engagements/{{engagement_id:uuid}}"

# -- The table ---------------------------------------------------------------------------------

POLICY: dict[tuple[str, str], Policy] = {
    # Public: liveness, sign-in, the API's own documentation.
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,  # names its checks' states, nothing of any tenant
    # Only Prometheus, with BALKORT_METRICS_TOKEN: no product token opens it (docs/adr/0023).
    ("GET", "/metrics"): CLOSED,
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/join"): PUBLIC,  # a join code for a token; wrong codes are rate limited
    ("GET", "/schema"): PUBLIC,
    ("GET", "/schema/rapidoc"): PUBLIC,
    ("GET", "/schema/openapi.json"): PUBLIC,
    ("GET", "/schema/{path:str}"): PUBLIC,
    # The signed-in account: answers only about the caller and what it may see.
    ("POST", "/api/v1/auth/logout"): ACCOUNT,
    ("GET", "/api/v1/me"): ACCOUNT,
    ("GET", "/api/v1/me/language"): ACCOUNT,
    ("PUT", "/api/v1/me/language"): ACCOUNT,
    ("GET", "/api/v1/tenants"): ACCOUNT,  # only the tenants the caller may act in
    # Roles offered to the caller, and taking one up: only the caller's own invitations.
    ("GET", "/api/v1/me/invitations"): ACCOUNT,
    ("POST", "/api/v1/me/invitations/{invitation_id:uuid}/accept"): ACCOUNT,
    # Instruments: shared by the consultancy, read by everyone signed in, loaded by admins.
    ("GET", "/api/v1/instruments"): ACCOUNT,
    ("GET", "/api/v1/instruments/{instrument_id:uuid}"): ACCOUNT,
    ("POST", "/api/v1/instruments"): ADMINISTER,
    ("POST", "/api/v1/instruments/{instrument_id:uuid}/versions"): ADMINISTER,
    # Platform administration: onboarding tenants, registering users.
    ("POST", "/api/v1/tenants"): ADMINISTER,
    ("POST", "/api/v1/users"): ADMINISTER,
    # People (docs/adr/0029): every account, and deactivating one.
    ("GET", "/api/v1/users"): ADMINISTER,
    ("POST", "/api/v1/users/{user_id:uuid}/deactivate"): ADMINISTER,
    # Through an invitation's or a forgotten password's one-time link, or asking for one: the
    # link's token (or the address's inbox) is the credential; the answers never tell which
    # addresses have accounts, and asking is limited like signing in.
    ("POST", "/api/v1/auth/invitation"): PUBLIC,
    ("POST", "/api/v1/auth/invitation/accept"): PUBLIC,
    ("POST", "/api/v1/password-resets"): PUBLIC,
    ("POST", "/api/v1/password-resets/new-password"): PUBLIC,
    # The consultancy's portfolio: staff only, over the tenants each may act in.
    ("GET", "/api/v1/portfolio"): SEE_PORTFOLIO,
    # A tenant and its members.
    ("GET", _T): READ,
    # Who may change whose role within these is a rule of its own (docs/adr/0017, 0029): the
    # planning group manages its own and the participants' roles, the consultancy the rest.
    ("POST", f"{_T}/members"): PLAN,
    ("PUT", f"{_T}/members/{{user_id:uuid}}"): PLAN,
    ("DELETE", f"{_T}/members/{{user_id:uuid}}"): PLAN,
    ("GET", f"{_T}/people"): PLAN,
    ("POST", f"{_T}/invitations"): PLAN,
    ("POST", f"{_T}/invitations/{{invitee_id:uuid}}/resend"): PLAN,
    ("DELETE", f"{_T}/invitations/{{invitee_id:uuid}}"): PLAN,
    # Who receives which messages (docs/adr/0031).
    ("GET", f"{_T}/notifications"): PLAN,
    ("PUT", f"{_T}/notifications"): PLAN,
    # The organisation: units, renames, mergers, splits, retirements.
    ("GET", f"{_T}/organisation"): READ,
    ("PUT", f"{_T}/organisation"): PLAN,
    ("POST", f"{_T}/organisation/units"): PLAN,
    ("POST", f"{_T}/organisation/mergers"): PLAN,
    ("POST", f"{_T}/organisation/units/{{unit_id:uuid}}/rename"): PLAN,
    ("POST", f"{_T}/organisation/units/{{unit_id:uuid}}/retire"): PLAN,
    ("POST", f"{_T}/organisation/units/{{unit_id:uuid}}/split"): PLAN,
    # Engagements: preparation and phases.
    ("GET", f"{_T}/engagements"): READ,
    ("POST", f"{_T}/engagements"): PLAN,
    ("GET", _E): READ_AT_TABLE,
    ("PUT", f"{_E}/preparation"): PLAN,
    ("PUT", f"{_E}/rounds"): FACILITATE,
    ("POST", f"{_E}/phase/advance"): FACILITATE,
    ("POST", f"{_E}/phase/back"): FACILITATE,
    # Join codes for the unit tables: issued, listed, revoked, printed as QR codes by facilitators.
    ("POST", f"{_E}/units/{{unit_id:uuid}}/join-codes"): FACILITATE,
    ("GET", f"{_E}/units/{{unit_id:uuid}}/join-codes"): FACILITATE,
    ("POST", f"{_E}/units/{{unit_id:uuid}}/join-codes/{{code_id:uuid}}/revoke"): FACILITATE,
    ("GET", f"{_E}/units/{{unit_id:uuid}}/join-codes/{{code_id:uuid}}/qr.svg"): FACILITATE,
    ("GET", f"{_E}/units/{{unit_id:uuid}}/join-codes/{{code_id:uuid}}/qr.png"): FACILITATE,
    # Personal codes, a join code per person where individuals rate: issued in batches, counted
    # (people and how many rated, never who), revoked by slip or all at once, by facilitators.
    ("POST", f"{_E}/units/{{unit_id:uuid}}/personal-codes"): FACILITATE,
    ("GET", f"{_E}/units/{{unit_id:uuid}}/personal-codes"): FACILITATE,
    ("POST", f"{_E}/units/{{unit_id:uuid}}/personal-codes/revoke"): FACILITATE,
    ("POST", f"{_E}/units/{{unit_id:uuid}}/personal-codes/{{slip:int}}/revoke"): FACILITATE,
    # The theme day: mapping and ratings, dance cards, the schedule, dialogues, wrap-ups.
    ("PUT", f"{_E}/units/{{unit_id:uuid}}/relations"): TAKE_PART_AT_TABLE,
    ("GET", f"{_E}/relations"): READ_AT_TABLE,
    ("POST", f"{_E}/ratings"): TAKE_PART_AT_TABLE,
    ("GET", f"{_E}/cards"): READ_AT_TABLE,
    ("POST", f"{_E}/cards"): TAKE_PART_AT_TABLE,
    ("POST", f"{_E}/cards/{{card_id:uuid}}/accept"): TAKE_PART_AT_TABLE,
    ("POST", f"{_E}/cards/{{card_id:uuid}}/decline"): TAKE_PART_AT_TABLE,
    ("POST", f"{_E}/cards/{{card_id:uuid}}/withdraw"): TAKE_PART_AT_TABLE,
    ("POST", f"{_E}/schedule"): FACILITATE,
    ("PUT", f"{_E}/cards/{{card_id:uuid}}/round"): FACILITATE,
    ("POST", f"{_E}/dialogues"): TAKE_PART_AT_TABLE,
    ("POST", f"{_E}/dialogues/{{dialogue_id:uuid}}/outcomes"): TAKE_PART_AT_TABLE,
    ("PUT", f"{_E}/wrap-ups/{{unit_id:uuid}}"): TAKE_PART_AT_TABLE,
    # Erasing a person's name from the dialogues: the planning group, on a data subject's request.
    ("POST", f"{_E}/participants/redactions"): PLAN,
    ("POST", f"{_E}/closing-plenary"): FACILITATE,
    # The follow-up meeting and afterwards: decisions and check-ins.
    ("GET", f"{_E}/agreements"): READ,
    ("POST", f"{_E}/agreements/{{agreement_id:uuid}}/decision"): PLAN,
    ("POST", f"{_E}/agreements/{{agreement_id:uuid}}/check-ins"): PLAN,
    ("GET", f"{_E}/proposals"): READ,
    ("POST", f"{_E}/proposals/{{proposal_id:uuid}}/decision"): PLAN,
    # Read models and live updates.
    ("GET", f"{_E}/board"): READ_AT_TABLE,
    ("GET", f"{_E}/matrix"): READ,
    ("GET", f"{_E}/dashboard"): READ,
    ("GET", f"{_E}/events"): READ_AT_TABLE,
    ("GET", f"{_T}/longitudinal"): READ,
    # The audit trail, its exports and decision lineage.
    ("GET", f"{_T}/audit"): AUDIT,
    ("GET", f"{_T}/audit/export.csv"): AUDIT,
    ("GET", f"{_T}/audit/export.jsonl"): AUDIT,
    # The verifiable hash chain over the trail: its export and its check.
    ("GET", f"{_T}/audit/export/chain.jsonl"): AUDIT,
    ("GET", f"{_T}/audit/verify"): AUDIT,
    ("GET", f"{_T}/lineage/{{kind:str}}/{{entity_id:str}}"): AUDIT,
}


DECLARED.declare("api", POLICY)
