from __future__ import annotations

from enum import Enum


class Role(str, Enum):
    """Who acts. The role is recorded on every event as the authority the actor acted under."""

    CONSULTANCY_ADMIN = "consultancy_admin"
    CONSULTANT = "consultant"
    CLIENT_ADMIN = "client_admin"
    PARTICIPANT = "participant"
    AUDITOR = "auditor"
