"""Tenant keys: wrapped under the master key, bound to their tenant, re-wrapped on rotation,
deleted for good."""

from __future__ import annotations

import base64
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from uuid import uuid4

import pytest

from services.persistence.keys import KeyUnwrapError, TenantKeys, master_key, unwrap, wrap
from services.settings import Settings, SettingsError


def test_the_master_key_comes_from_the_environment_or_is_generated_once(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    generated = master_key(settings)
    assert len(generated) == 32
    assert master_key(settings) == generated
    assert (tmp_path / "master-key").stat().st_mode & 0o777 == 0o600
    configured = base64.b64encode(os.urandom(32)).decode()
    assert master_key(settings.with_changes(master_key=configured)) == base64.b64decode(configured)
    with pytest.raises(SettingsError, match="base64 of 32 bytes"):
        master_key(settings.with_changes(master_key=base64.b64encode(os.urandom(16)).decode()))


def test_a_wrapped_key_opens_only_under_its_master_key_and_for_its_tenant() -> None:
    master, tenant, key = os.urandom(32), uuid4(), os.urandom(32)
    wrapped = wrap(master, tenant, key)
    assert key not in wrapped
    assert unwrap(master, tenant, wrapped) == key
    with pytest.raises(KeyUnwrapError):
        unwrap(os.urandom(32), tenant, wrapped)
    with pytest.raises(KeyUnwrapError):
        unwrap(master, uuid4(), wrapped)  # moved to another tenant's row


def test_keys_are_created_once_rewrapped_on_rotation_and_deleted_for_good(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    keys = TenantKeys(settings)
    tenant, other = uuid4(), uuid4()
    key = keys.create(tenant)
    assert keys.create(tenant) == key
    assert keys.get(tenant) == key
    other_key = keys.create(other)

    new_master = os.urandom(32)
    assert keys.rewrap(new_master) == 2
    assert TenantKeys(settings, new_master).get(tenant) == key
    with pytest.raises(KeyUnwrapError):
        TenantKeys(settings).get(tenant)  # the old master key (the file) no longer opens it

    assert keys.delete(tenant)
    assert not keys.delete(tenant)
    assert keys.get(tenant) is None
    assert keys.get(other) == other_key
    with closing(sqlite3.connect(tmp_path / "stores" / "tenant-keys.sqlite3")) as conn:
        assert conn.execute("SELECT count(*) FROM tenant_keys").fetchone() == (1,)
    assert tenant.hex.encode() not in (tmp_path / "stores" / "tenant-keys.sqlite3").read_bytes()
