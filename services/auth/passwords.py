"""Password hashing with argon2id; the domain only ever sees the resulting hash string."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Passwords:
    """Hashes and verifies passwords. One instance per process; it is thread-safe."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        # Verified against when the email is unknown, so a miss costs what a hit costs.
        self._decoy = self._hasher.hash("balkort decoy password")

    def hash(self, password: str) -> str:
        """Returns an argon2id hash of `password` with a fresh salt."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """True when `password` matches `password_hash`; never raises for a wrong password or a bad hash."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def burn(self, password: str) -> None:
        """Spends the time of one verification, for unknown accounts."""
        self.verify(self._decoy, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with weaker parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True
