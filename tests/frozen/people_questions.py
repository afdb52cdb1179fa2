"""The questions about people and messages, asked of every copy since the release that added
them (`people_and_messages` in `ADDED_SINCE`: a copy written before has no answer to compare):
the members and waiting invitations of the organisation, who receives which messages and who
turned which off, every unit's personal codes (how many people, how many rated, the slips
revoked; never a code), and what the outbox holds for the organisation and the platform.

The outbox is asked right after the read models are rebuilt, before anything could send: every
message is then as the events left it (waiting, or void), by its key, kind and due time. Tokens
are never asked: the outbox does not hold them, the sender makes them as it writes a message.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import msgspec

from domain.notifications import Topic
from projections.outbox.intents import PLATFORM_ID
from services.application import TenantApplication
from services.bootstrap import Container, build_container
from services.mail.preferences import settings_in
from services.settings import Settings
from tests.http_harness import Person

OUTBOX_LIMIT = 10_000


def outbox_of(settings: Settings, tenant_id: UUID) -> list[dict[str, Any]]:
    """The outbox's messages for the organisation and the platform, after following every log."""
    container = build_container(settings)
    try:
        container.outbox.follow_all([tenant_id])
        store = container.outbox.store
        found = [
            *store.messages(None, tenant_id, OUTBOX_LIMIT),
            *store.messages(None, PLATFORM_ID, OUTBOX_LIMIT),
        ]
        return sorted(
            (
                {
                    "key": m.key,
                    "organisation": m.tenant_id == tenant_id,
                    "kind": m.kind,
                    "due_at": m.due_at.isoformat(),
                    "state": m.state.value,
                }
                for m in found
            ),
            key=lambda row: str(row["key"]),
        )
    finally:
        asyncio.run(container.close())


def _notification_settings(app: TenantApplication, tenant_id: UUID) -> dict[str, Any]:
    settings = settings_in(app, tenant_id)
    if settings is None:
        return {"chosen": False}
    return {
        "chosen": True,
        "receivers": {topic.value: settings.receivers_of(topic).value for topic in Topic},
        "turned_off": {
            address: sorted(topic.value for topic in topics)
            for address, topics in sorted(settings.turned_off.items())
        },
    }


async def ask_people(
    person: Person, container: Container, tenant_id: UUID, documents: list[Any]
) -> dict[str, Any]:
    """Members, invitations, notification settings and personal codes, through the product."""
    codes: dict[str, Any] = {}
    for document in documents:
        eid = document["engagement_id"]
        for unit_id in document["unit_ids"]:
            path = f"{person.base}/engagements/{eid}/units/{unit_id}/personal-codes"
            response = await person.client.get(path, headers=person.headers)
            if response.status_code == 404:
                continue  # no personal codes for this unit
            assert response.status_code == 200, response.text
            codes[f"{eid} {unit_id}"] = response.json()
    settings = await container.offloop(
        container.tenants.call, tenant_id, lambda app: _notification_settings(app, tenant_id)
    )
    return {
        "people": await person.get("/people"),
        "notification_settings": msgspec.to_builtins(settings),
        "personal_codes": codes,
    }
