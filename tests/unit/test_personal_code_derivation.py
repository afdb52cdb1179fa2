"""A personal code is derived from its tenant, batch and slip under a subkey of the platform
secret: the same inputs give the same code (a retried request shows the same slips), any other
input another code, and a code is found again under the key it was made with, even after the
platform secret was replaced, while a key nobody holds finds nothing."""

from __future__ import annotations

from uuid import uuid4

from domain.join_code import JoinCode
from services.auth.join_codes import ALPHABET, CODE_LENGTH, digest_of, normalised
from services.auth.personal_codes import code_of_slip, derived_code
from services.auth.secret_keys import SecretKeys
from services.settings import Settings

SECRET = "k9Qw-2xLp7Vb4Nt8Zr1Hs6Jd3Fg5Mc0Ya"
REPLACEMENT = "Tz4Rp8Wk2Lm6Qv0Xn3Bs7Hd1Jf5Gc9Ye"


def keys(secret: str, previous: str | None = None) -> SecretKeys:
    return SecretKeys.load(Settings(jwt_secret=secret, previous_jwt_secret=previous))


def test_a_derived_code_is_a_join_code_and_the_same_for_the_same_slip() -> None:
    key, tenant, batch = keys(SECRET).personal_codes, uuid4(), uuid4()
    code = derived_code(key, tenant, batch, 1, 0)
    assert len(code) == CODE_LENGTH
    assert set(code) <= set(ALPHABET)
    assert normalised(code) == code
    assert derived_code(key, tenant, batch, 1, 0) == code


def test_codes_differ_across_slips_batches_tenants_draws_and_secrets() -> None:
    key, other_key = keys(SECRET).personal_codes, keys(REPLACEMENT).personal_codes
    tenants, batches = [uuid4() for _ in range(3)], [uuid4() for _ in range(3)]
    codes = [
        derived_code(k, tenant, batch, slip, draw)
        for k in (key, other_key)
        for tenant in tenants
        for batch in batches
        for slip in range(1, 41)
        for draw in range(2)
    ]
    assert len(set(codes)) == len(codes) == 2 * 3 * 3 * 40 * 2


def test_derived_codes_use_the_whole_alphabet_in_every_position() -> None:
    key, tenant, batch = keys(SECRET).personal_codes, uuid4(), uuid4()
    codes = [derived_code(key, tenant, batch, slip, 0) for slip in range(1, 2001)]
    for position in range(CODE_LENGTH):
        assert {code[position] for code in codes} == set(ALPHABET)


def test_the_personal_code_key_is_none_of_the_other_keys() -> None:
    secrets = keys(SECRET)
    assert secrets.personal_codes not in (secrets.join_codes, SECRET.encode(), bytes.fromhex(secrets.tokens))


def test_a_slip_is_found_again_under_the_key_and_draw_that_made_it_also_after_the_secret_is_replaced() -> (
    None
):
    before = keys(SECRET)
    tenant, batch = uuid4(), uuid4()
    code = derived_code(before.personal_codes, tenant, batch, 7, 1)
    code_id = JoinCode.create_id(digest_of(before.join_codes, code))
    assert code_of_slip([before.personal_codes], [before.join_codes], tenant, batch, 7, code_id) == (
        f"{code[:5]}-{code[5:]}"
    )
    after = keys(REPLACEMENT, previous=SECRET)
    derive = (after.personal_codes, *after.earlier_personal_codes)
    digest = (after.join_codes, *after.earlier_join_codes)
    assert code_of_slip(derive, digest, tenant, batch, 7, code_id) == f"{code[:5]}-{code[5:]}"
    # Another slip's number, another batch, or the previous secret dropped: not this code.
    assert code_of_slip(derive, digest, tenant, batch, 8, code_id) is None
    assert code_of_slip(derive, digest, tenant, uuid4(), 7, code_id) is None
    dropped = keys(REPLACEMENT)
    assert (
        code_of_slip(
            [dropped.personal_codes],
            [dropped.join_codes, *dropped.earlier_join_codes],
            tenant,
            batch,
            7,
            code_id,
        )
        is None
    )
