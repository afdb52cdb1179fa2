"""The outbox page: the consultancy admin sees what was sent and what waits, per organisation,
downloads a message the embedded default wrote, and sends a failed message again."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

import anyio

from projections.outbox.rows import State
from services.bootstrap import Container
from tests.http_harness import ADMIN, Story
from tests.outbox_story import Organisation, organisation_with_planner, set_follow_up_meeting
from tests.web.conftest import signed_in_browser


async def sent_on_the_embedded_default(container: Container) -> Organisation:
    """An organisation whose follow-up meeting was set, its message written as an .eml file."""
    organisation = await container.offloop(organisation_with_planner, container)
    await container.offloop(set_follow_up_meeting, container, organisation)
    await container.offloop(container.outbox.follow_platform)
    await container.offloop(container.projections.catch_up_now, organisation.tenant_id)
    assert await container.mail.pass_once() == 1
    return organisation


async def test_the_admin_sees_each_message_by_state_and_organisation_and_downloads_the_eml(
    site: Story,
) -> None:
    container = site.container
    organisation = await sent_on_the_embedded_default(container)
    name = container.control.tenant(organisation.tenant_id).name
    browser = await signed_in_browser(site.client, ADMIN, language="da")

    page = await browser.get("/admin/outbox")
    assert "<h1>Udbakke</h1>" in page
    assert "Opfølgningsmøde 6. oktober 2026: Udskrivning 2026" in page
    assert name in page
    assert organisation.planner_email in page
    [row] = container.outbox.store.messages(tenant_id=organisation.tenant_id)
    assert f"/admin/outbox/message.eml?name={row.stored_as}" in page

    browser.speak("en")
    sent = await browser.get(f"/admin/outbox?state=sent&organisation={organisation.tenant_id}")
    assert "Follow-up meeting 6 October 2026: Udskrivning 2026" in sent
    assert "Udskrivning 2026" not in await browser.get("/admin/outbox?state=failed")

    download = await browser.request("GET", f"/admin/outbox/message.eml?name={row.stored_as}")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("message/rfc822")
    message = email.message_from_bytes(download.content, policy=email.policy.default)
    assert message["Message-ID"] == row.message_id
    # Only a message's own file name is served, nothing else under the data dir.
    assert (await browser.request("GET", "/admin/outbox/message.eml?name=../master-key")).status_code == 400


async def test_a_failed_message_is_sent_again_by_the_admin_and_who_asked_is_recorded(site: Story) -> None:
    container = site.container
    organisation = await container.offloop(organisation_with_planner, container)
    await container.offloop(set_follow_up_meeting, container, organisation)
    await container.offloop(container.outbox.follow_platform)
    await container.offloop(container.projections.catch_up_now, organisation.tenant_id)
    store = container.outbox.store
    now = datetime.now(UTC)
    # It failed for good (a server that kept refusing it).
    [row] = store.claim_due(now, now, timedelta(minutes=1), "t", 10)
    assert store.finish_retry(row.key, "t", "550 mailbox unavailable", State.FAILED, None)
    browser = await signed_in_browser(site.client, ADMIN, language="en")
    page = await browser.get("/admin/outbox?state=failed")
    assert "550 mailbox unavailable" in page
    assert "Send again" in page

    assert (await browser.post("/admin/outbox/send-again", {"key": row.key}, csrf=False)).status_code == 403
    answer = await browser.post("/admin/outbox/send-again", {"key": row.key})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin/outbox?state=waiting"
    [again] = store.sent_again(row.key)
    assert again.actor_role == "consultancy_admin"
    # Sent again once: a second ask finds nothing failed.
    assert (await browser.post("/admin/outbox/send-again", {"key": row.key})).status_code == 400
    # The app's own sender was woken by it (and may be sending it right now).
    with anyio.fail_after(10):
        while [m.state for m in store.messages(tenant_id=organisation.tenant_id)] != [State.SENT]:
            await container.mail.pass_once()
            await anyio.sleep(0.05)
