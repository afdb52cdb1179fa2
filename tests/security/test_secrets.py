"""Secrets that production cannot start without, and a key of its own for each purpose.

On PostgreSQL the stores do not open without `BALKORT_MASTER_KEY` and a platform secret of at
least 32 random bytes (a copy that made its own would refuse the other copies' tokens, and
losing its disk would shred every tenant); the message says how to make them. Tokens, join
codes and pseudonyms each use a subkey, and what was made under an earlier key keeps working.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from uuid import UUID

import jwt as pyjwt
import pytest
from click.testing import CliRunner

from services.bootstrap import build_container
from services.cli import main
from services.persistence.keys import master_key
from services.settings import Settings, SettingsError
from tests.http_harness import ADMIN, PASSWORD, flat, serving
from tests.integration.test_join_codes_api import theme_day
from tests.keys import SESSION_MASTER_KEY
from tests.security.test_anonymity_differencing import theme_day as individual_theme_day

MAKE_SECRET = "import secrets"


def test_on_postgres_the_stores_do_not_open_without_a_master_key_and_a_platform_secret(
    postgres_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    with pytest.raises(SettingsError) as refused:
        build_container(Settings(data_dir=data_dir, database_url=postgres_url))
    message = str(refused.value)
    assert "BALKORT_MASTER_KEY" in message
    assert "BALKORT_JWT_SECRET" in message
    assert MAKE_SECRET in message
    # Nothing of its own was made up on this machine's disk.
    assert not (data_dir / "jwt-secret").exists()
    assert not (data_dir / "master-key").exists()


def test_on_postgres_a_master_key_alone_is_not_enough(postgres_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url, master_key=SESSION_MASTER_KEY)
    with pytest.raises(SettingsError, match="BALKORT_JWT_SECRET"):
        build_container(settings)
    assert not (tmp_path / "data" / "jwt-secret").exists()


@pytest.mark.parametrize("weak", ["x", "secret", "a" * 64, "0123456789abcdef"])
def test_a_platform_secret_shorter_than_32_random_bytes_is_refused(weak: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="BALKORT_JWT_SECRET"):
        build_container(Settings(data_dir=tmp_path / "data", jwt_secret=weak))


def test_every_command_that_opens_the_stores_says_what_is_missing_and_how_to_make_it(
    postgres_url: str, tmp_path: Path
) -> None:
    env = {"DATABASE_URL": postgres_url, "BALKORT_DATA_DIR": str(tmp_path / "data"), "REDIS_URL": ""}
    for command in (["tenants", "list"], ["audit", "verify", "--tenant", "nobody"]):
        result = CliRunner(env=env).invoke(main, command)
        assert result.exit_code != 0, result.output
        assert "BALKORT_MASTER_KEY" in result.output, result.output
        assert MAKE_SECRET in result.output, result.output
        assert not isinstance(result.exception, SettingsError), "a traceback instead of a message"
    assert not (tmp_path / "data" / "master-key").exists()


def test_the_embedded_default_still_makes_its_own_secrets_readable_only_by_its_owner(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    container = build_container(settings)
    try:
        for name in ("jwt-secret", "master-key"):
            assert (settings.data_dir / name).stat().st_mode & 0o777 == 0o600
        secret = (settings.data_dir / "jwt-secret").read_text().strip()
        # A key derived from the secret, never the secret itself, keys the join codes.
        legacy = hmac.new(secret.encode(), b"balkort join codes", hashlib.sha256).digest()
        assert container.join_code_key not in (secret.encode(), legacy)
    finally:
        container.tenants.close()
        container.control.close()


async def test_a_token_is_not_signed_with_the_platform_secret_itself(backend: Settings) -> None:
    settings = backend.with_changes(jwt_secret=secrets.token_urlsafe(48))
    async with serving(settings, quick_hashes=True) as story:
        signed_in = await story.client.post("/api/v1/auth/login", json={"email": ADMIN, "password": PASSWORD})
        token = signed_in.json()["token"]
        secret = story.container.settings.jwt_secret
        assert secret
        with pytest.raises(pyjwt.InvalidSignatureError):
            pyjwt.decode(token, secret, algorithms=["HS256"])


async def test_join_codes_issued_under_the_replaced_secret_still_let_a_table_join(tmp_path: Path) -> None:
    old, new = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    before = Settings(data_dir=tmp_path / "data", jwt_secret=old)
    async with serving(before, quick_hashes=True) as story:
        day = await theme_day(story)
        code = await day.admin.post(f"{day.engagement}/units/{day.units[0]}/join-codes", {})
    after = before.with_changes(jwt_secret=new, previous_jwt_secret=old)
    async with serving(after, admin=None, quick_hashes=True) as story:
        joined = await story.client.post("/api/v1/join", json={"code": code["code"]})
        assert joined.status_code == 200, joined.text
    # Without the replaced secret the code is unknown: the new key alone does not find it.
    async with serving(before.with_changes(jwt_secret=new), admin=None, quick_hashes=True) as story:
        refused = await story.client.post("/api/v1/join", json={"code": code["code"]})
        assert refused.status_code == 401, refused.text


async def test_a_rater_keeps_their_pseudonym_when_the_platform_secret_is_replaced(tmp_path: Path) -> None:
    old, new = secrets.token_urlsafe(48), secrets.token_urlsafe(48)
    before = Settings(data_dir=tmp_path / "data", jwt_secret=old)
    async with serving(before, quick_hashes=True) as story:
        day = await individual_theme_day(story, threshold=2, raters=1)
        rater = day.raters[0]
        actor = UUID((await story.client.get("/api/v1/me", headers=rater.headers)).json()["user_id"])
        await day.rate(0, flat(3))
        tenant_id, engagement_id = UUID(day.tenant_id), UUID(day.engagement.rsplit("/", 1)[-1])
        recorded = await story.container.offloop(
            story.container.tenants.call,
            tenant_id,
            lambda app: {r.rater for r in app.engagement(engagement_id).ratings.values()},
        )
    assert len(recorded) == 1

    def pseudonym(settings: Settings) -> UUID:
        container = build_container(settings)
        try:
            found: UUID = container.tenants.call(tenant_id, lambda app: app.pseudonym(engagement_id, actor))
            return found
        finally:
            container.tenants.close()
            container.control.close()

    after = before.with_changes(jwt_secret=new, previous_jwt_secret=old)
    assert pseudonym(after) in recorded
    # The pseudonym is kept because the rater rated under it, not because the key stayed.
    assert pseudonym(before.with_changes(jwt_secret=new)) not in recorded


def test_master_keys_are_never_generated_on_postgres_even_when_asked_for_directly(
    postgres_url: str, tmp_path: Path
) -> None:
    with pytest.raises(SettingsError, match="BALKORT_MASTER_KEY"):
        master_key(Settings(data_dir=tmp_path / "data", database_url=postgres_url))
    assert not (tmp_path / "data" / "master-key").exists()
