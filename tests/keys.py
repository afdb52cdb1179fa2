"""The master key every test on the shared PostgreSQL database uses.

The tests of a run share one database, so one control plane and its wrapped tenant keys: like
every process of a deployment, they must share one master key.
"""

from __future__ import annotations

import base64
import secrets

SESSION_MASTER_KEY = base64.b64encode(secrets.token_bytes(32)).decode()
