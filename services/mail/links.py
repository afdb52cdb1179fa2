"""The one-time link a message carries, made as the message is written (docs/adr/0029): the
outbox keeps what the link opens (`params["link"]`: purpose, ids, issue number), never the
token, which only the holder of the platform secret's link key can make."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from services.auth.links import INVITE, RESET, invitation_token, reset_token


def with_link(params: dict[str, Any], key: bytes) -> dict[str, Any]:
    """`params` with `path` set to the page the link opens, when they name a link."""
    link = params.get("link")
    if not isinstance(link, dict):
        return params
    issue = int(link["issue"])
    if link.get("purpose") == INVITE:
        token = invitation_token(key, UUID(link["tenant_id"]), UUID(link["invitee_id"]), issue)
        return {**params, "path": f"/invitations/{token}"}
    if link.get("purpose") == RESET:
        return {**params, "path": f"/password/reset/{reset_token(key, UUID(link['user_id']), issue)}"}
    return params
