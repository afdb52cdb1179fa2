"""Personal codes derived, not drawn: a slip's code follows from its tenant, its batch and its
number under a subkey of the platform secret (`SecretKeys.personal_codes`).

A batch's id follows from the command that issued it (`PersonalCodes.batch_id`), so a retried
request finds its batch recorded and answers the same codes, derived again; nothing keeps them.
Each is an HMAC-SHA256 read as fifty bits in the join codes' alphabet: as unguessable as a drawn
code without the key, and different for every tenant, batch and slip. What the store keeps is
still only the code's digest (services/auth/join_codes.py), which is how a code derived again is
recognised as its slip's: under the key and draw that make the digest the slip's join code has.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from uuid import UUID

from domain.join_code import JoinCode
from domain.personal_codes import DRAWS_PER_SLIP
from services.auth.join_codes import ALPHABET, CODE_LENGTH, digest_of, grouped

_BITS = 5  # one character of the alphabet


def derived_code(key: bytes, tenant_id: UUID, batch_id: UUID, slip: int, draw: int) -> str:
    """The code (normalised, ungrouped) of slip `slip` of a batch, at its `draw`th derivation."""
    message = f"balkort personal code\x1f{tenant_id}\x1f{batch_id}\x1f{slip}\x1f{draw}".encode()
    mac = hmac.new(key, message, hashlib.sha256).digest()
    bits = int.from_bytes(mac[:8], "big") >> (64 - _BITS * CODE_LENGTH)
    shifts = range(_BITS * (CODE_LENGTH - 1), -1, -_BITS)
    return "".join(ALPHABET[(bits >> shift) & (2**_BITS - 1)] for shift in shifts)


def code_of_slip(
    keys: Iterable[bytes],
    join_code_keys: Iterable[bytes],
    tenant_id: UUID,
    batch_id: UUID,
    slip: int,
    code_id: UUID,
) -> str | None:
    """The code of a slip whose join code is `code_id`, grouped for reading, derived again under
    whichever of `keys` made it; None when none of them did (a platform secret replaced, and
    the previous one no longer configured)."""
    digesting = tuple(join_code_keys)
    for key in keys:
        for draw in range(DRAWS_PER_SLIP):
            code = derived_code(key, tenant_id, batch_id, slip, draw)
            if any(JoinCode.create_id(digest_of(j, code)) == code_id for j in digesting):
                return grouped(code)
    return None
