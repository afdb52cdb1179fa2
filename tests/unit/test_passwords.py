from __future__ import annotations

from argon2 import PasswordHasher

from services.auth.passwords import Passwords


def test_a_hash_verifies_its_password_only() -> None:
    passwords = Passwords()
    hashed = passwords.hash("kaffe og kage")
    assert hashed.startswith("$argon2id$")
    assert hashed != passwords.hash("kaffe og kage")  # salted
    assert passwords.verify(hashed, "kaffe og kage")
    assert not passwords.verify(hashed, "kaffe og kagE")
    assert not passwords.verify("not a hash", "kaffe og kage")


def test_hashes_made_with_weaker_parameters_need_rehashing() -> None:
    weak = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)).hash("pw")
    passwords = Passwords()
    assert passwords.verify(weak, "pw")
    assert passwords.needs_rehash(weak)
    assert not passwords.needs_rehash(passwords.hash("pw"))
