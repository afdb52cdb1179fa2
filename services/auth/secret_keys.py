"""The platform's secrets, and the keys derived from them, each for one purpose.

Two secrets: the master key (`BALKORT_MASTER_KEY`, wraps tenant keys; see
services/persistence/keys.py) and the platform secret (`BALKORT_JWT_SECRET`). Nothing uses the
platform secret itself: HKDF-SHA256 derives one subkey per purpose from it, so a key that leaks
from one use (a token's signature, a join code's digest, a tenant's pseudonym key) tells nothing
about the others.

On PostgreSQL both secrets must be configured (every process of a deployment must hold the same
ones, and losing a master key generated onto one machine's disk would shred every tenant);
a platform secret shorter than 32 bytes is refused everywhere. The embedded default generates
both once into its data directory (mode 0600).

Before these subkeys, join codes were digested and pseudonyms derived with HMACs keyed by the
platform secret directly ("v1"). Both kinds are kept in stored data, so the v1 keys (of the
current secret and of `BALKORT_PREVIOUS_JWT_SECRET`, when a secret was replaced) are derived
too, for verifying only: see docs/adr/0016-secrets-and-derived-keys.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from services.settings import Settings, SettingsError

MIN_SECRET_BYTES = 32
# A long secret made of a handful of characters (`aaaa…`, `1234…`) is not random.
MIN_DISTINCT_CHARACTERS = 10
SECRET_FILE = "jwt-secret"  # noqa: S105 - a file name, not a secret
MAKE_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"  # noqa: S105 - the command that makes one
MAKE_MASTER_KEY = (
    "python -c 'import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())'"
)
SUBKEY_BYTES = 32
_SALT = b"balkort platform secret"


def hkdf(secret: bytes, info: bytes, length: int = SUBKEY_BYTES) -> bytes:
    """HKDF-SHA256 (RFC 5869) of `secret` for the purpose named by `info`."""
    prk = hmac.new(_SALT, secret, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def weakness(secret: str) -> str | None:
    """Why `secret` cannot be a platform secret, or None when it can."""
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return f"it is {len(secret.encode())} bytes long; at least {MIN_SECRET_BYTES} random bytes are needed"
    if len(set(secret)) < MIN_DISTINCT_CHARACTERS:
        return "it repeats a few characters; it must be random"
    return None


def production_problems(settings: Settings) -> list[str]:
    """What keeps `settings` from starting: secrets missing on PostgreSQL, or a weak secret."""
    problems = []
    if settings.jwt_secret:
        why = weakness(settings.jwt_secret)
        if why:
            problems.append(f"BALKORT_JWT_SECRET is too weak: {why}. Make one with: {MAKE_SECRET}")
    elif settings.uses_postgres:
        problems.append(
            "BALKORT_JWT_SECRET is required with DATABASE_URL (every process must sign and check "
            f"with the same secret). Make one with: {MAKE_SECRET}"
        )
    if settings.uses_postgres and not settings.master_key:
        problems.append(
            "BALKORT_MASTER_KEY is required with DATABASE_URL (it wraps every tenant's key: keep it "
            f"in the secret store, with a backup). Make one with: {MAKE_MASTER_KEY}"
        )
    return problems


def fresh_secrets() -> dict[str, str]:
    """A new master key and platform secret, as `Settings` fields: for a deployment made to be
    thrown away (a benchmark's database), never for one whose data must outlive the process."""
    return {
        "master_key": base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
        "jwt_secret": secrets.token_urlsafe(48),
    }


def require_secrets(settings: Settings) -> None:
    """Raises SettingsError, saying how to make them, unless the secrets can be used."""
    problems = production_problems(settings)
    if problems:
        raise SettingsError("cannot start: " + " ".join(problems))


def platform_secret(settings: Settings) -> str:
    """The platform secret: configured, or (embedded default only) generated once into
    `data_dir` (mode 0600), so that restarting does not sign everyone out."""
    require_secrets(settings)
    if settings.jwt_secret:
        return settings.jwt_secret
    path = Path(settings.data_dir) / SECRET_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(48))
    return path.read_text(encoding="ascii").strip()


def legacy_join_code_key(secret: str) -> bytes:
    """v1: how join codes were digested before subkeys (verifying only)."""
    return hmac.new(secret.encode(), b"balkort join codes", hashlib.sha256).digest()


def legacy_pseudonym_key(secret: str, store: str) -> str:
    """v1: how a tenant's pseudonym key was made before subkeys (verifying only)."""
    return hmac.new(secret.encode(), f"pseudonyms:{store}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SecretKeys:
    """The subkeys of the platform secret, one per purpose, and the earlier keys kept for
    verifying what was made under them."""

    root: bytes
    earlier_roots: tuple[str, ...]

    @classmethod
    def load(cls, settings: Settings) -> SecretKeys:
        """The keys for `settings`; raises SettingsError when a secret is missing or weak."""
        secret = platform_secret(settings)
        earlier = [secret]
        if settings.previous_jwt_secret and settings.previous_jwt_secret != secret:
            earlier.append(settings.previous_jwt_secret)
        return cls(root=secret.encode(), earlier_roots=tuple(earlier))

    @property
    def tokens(self) -> str:
        """Signs and checks tokens (HS256); as text, the form the JWT library takes."""
        return hkdf(self.root, b"balkort/tokens/v2").hex()

    @property
    def join_codes(self) -> bytes:
        """Keys the digests of join codes issued from now on."""
        return hkdf(self.root, b"balkort/join-codes/v2")

    @property
    def earlier_join_codes(self) -> tuple[bytes, ...]:
        """Keys of join codes issued before: each is looked up under these too."""
        previous = tuple(hkdf(r.encode(), b"balkort/join-codes/v2") for r in self.earlier_roots[1:])
        return previous + tuple(legacy_join_code_key(r) for r in self.earlier_roots)

    @property
    def personal_codes(self) -> bytes:
        """Derives personal codes (services/auth/personal_codes.py) from now on."""
        return hkdf(self.root, b"balkort/personal-codes/v1")

    @property
    def earlier_personal_codes(self) -> tuple[bytes, ...]:
        """Derived the personal codes of a replaced secret: a batch issued under it is answered
        again (a retried request) under the key it was made with."""
        return tuple(hkdf(r.encode(), b"balkort/personal-codes/v1") for r in self.earlier_roots[1:])

    @property
    def links(self) -> bytes:
        """Keys the one-time links of invitations and forgotten passwords (docs/adr/0029)."""
        return hkdf(self.root, b"balkort/links/v1")

    def pseudonyms(self, store: str) -> str:
        """A tenant store's key for the pseudonyms of individual raters."""
        return hkdf(self.root, f"balkort/pseudonyms/v2/{store}".encode()).hex()

    def earlier_pseudonyms(self, store: str) -> tuple[str, ...]:
        """The store's earlier pseudonym keys: a rater who rated under one keeps it."""
        previous = tuple(
            hkdf(r.encode(), f"balkort/pseudonyms/v2/{store}".encode()).hex() for r in self.earlier_roots[1:]
        )
        return previous + tuple(legacy_pseudonym_key(r, store) for r in self.earlier_roots)
