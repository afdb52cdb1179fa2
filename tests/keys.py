"""The master key every test on the shared PostgreSQL database uses.

The tests of a run share one database, so one control plane and its wrapped tenant keys: like
every process of a deployment, they must share one master key.
"""

from __future__ import annotations

import base64
import secrets

SESSION_MASTER_KEY = base64.b64encode(secrets.token_bytes(32)).decode()

# The platform secret of every test on PostgreSQL, for the same reason: one control plane, so
# one key for join codes' digests and tenants' pseudonyms (and tokens that every app accepts).
SESSION_JWT_SECRET = secrets.token_urlsafe(48)
# Both, as Settings fields and as the environment of a process started by a test.
SESSION_SECRETS: dict[str, str] = {"master_key": SESSION_MASTER_KEY, "jwt_secret": SESSION_JWT_SECRET}
SESSION_SECRETS_ENV: dict[str, str] = {
    "BALKORT_MASTER_KEY": SESSION_MASTER_KEY,
    "BALKORT_JWT_SECRET": SESSION_JWT_SECRET,
}
