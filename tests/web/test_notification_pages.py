"""Who receives which messages, chosen on a page by the planning group and recorded as events;
and a recipient turning a kind of message off by the signed link in it, without signing in:
once, however often the link is followed, and never with a link changed by hand."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.notifications import NotificationSettings, Receivers, Topic
from domain.roles import Role
from services.mail.unsubscribe import Unsubscribe, key_for, unsubscribe_path
from services.usecases.bus import query
from services.usecases.notifications import notification_settings
from tests.http_harness import Story, tenant_with_team
from tests.web.conftest import Browser, signed_in_browser

ALL_TO_THE_PLANNING_GROUP = {t.value: Receivers.PLANNING_GROUP.value for t in Topic}


async def _events(site: Story, tenant_id: UUID) -> list[Any]:
    settings_id = NotificationSettings.id_for(tenant_id)
    return await query(site.container, tenant_id, lambda app: list(app.events.get(settings_id)))


async def test_the_planning_group_chooses_who_receives_which_messages_and_each_change_is_an_event(
    site: Story,
) -> None:
    team = await tenant_with_team(site, "Søby Kommune", "soeby")
    tenant_id = UUID(team.tenant_id)
    manager = await signed_in_browser(site.client, team.emails["manager"], language="da")
    path = f"/t/{tenant_id}/notifications"
    home = await manager.get(f"/t/{tenant_id}")
    assert f'href="{path}" id="notifications-link">Beskeder og påmindelser</a>' in home
    page = await manager.get(path)
    assert "Beskeder og påmindelser" in page
    assert 'id="f-check_ins-planning_group" name="check_ins" value="planning_group"\n      checked' in page

    choices = {**ALL_TO_THE_PLANNING_GROUP, "check_ins": "both", "digest": "nobody"}
    answer = await manager.post(path, choices)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{path}?saved=1"
    assert "Dine valg er gemt." in await manager.get(f"{path}?saved=1")

    settings = await notification_settings(site.container, tenant_id)
    assert settings is not None
    assert settings.receivers_of(Topic.CHECK_INS) is Receivers.BOTH
    assert settings.receivers_of(Topic.DIGEST) is Receivers.NOBODY
    assert settings.receivers_of(Topic.THEME_DAY) is Receivers.PLANNING_GROUP
    chosen = [e for e in await _events(site, tenant_id) if type(e).__name__ == "ReceiversChosen"]
    assert [(e.topic, e.receivers) for e in chosen] == [
        (Topic.CHECK_INS, Receivers.BOTH),
        (Topic.DIGEST, Receivers.NOBODY),
    ]
    assert {e.provenance.actor_role for e in chosen} == {Role.CLIENT_ADMIN}
    assert {e.provenance.command_name for e in chosen} == {"ChooseReceivers"}

    # The same form sent again records nothing new.
    again = await manager.post(path, choices)
    assert again.status_code == 303
    assert len([e for e in await _events(site, tenant_id) if type(e).__name__ == "ReceiversChosen"]) == 2


async def test_a_choice_left_out_is_named_at_its_field_and_nothing_is_recorded(site: Story) -> None:
    team = await tenant_with_team(site, "Søby Kommune", "soeby")
    manager = await signed_in_browser(site.client, team.emails["manager"], language="en")
    path = f"/t/{team.tenant_id}/notifications"
    choices = {**ALL_TO_THE_PLANNING_GROUP, "theme_day": "everyone"}
    answer = await manager.post(path, choices)
    assert answer.status_code == 400
    assert 'id="f-theme_day-error">Choose who receives these messages.' in answer.text
    assert await notification_settings(site.container, UUID(team.tenant_id)) is None


async def test_participants_may_not_choose_and_a_form_without_its_csrf_token_is_refused(site: Story) -> None:
    team = await tenant_with_team(site, "Søby Kommune", "soeby")
    path = f"/t/{team.tenant_id}/notifications"
    participant = await signed_in_browser(site.client, team.emails["first"])
    await participant.get(path, expect=403)
    assert "notifications-link" not in await participant.get(f"/t/{team.tenant_id}")
    manager = await signed_in_browser(site.client, team.emails["manager"])
    refused = await manager.post(path, ALL_TO_THE_PLANNING_GROUP, csrf=False)
    assert refused.status_code == 403


async def test_a_recipient_turns_a_kind_of_message_off_by_its_link_once_without_signing_in(
    site: Story,
) -> None:
    team = await tenant_with_team(site, "Søby Kommune", "soeby")
    tenant_id = UUID(team.tenant_id)
    key = key_for(site.container.settings)
    link = unsubscribe_path(key, Unsubscribe(tenant_id, Topic.CHECK_INS, "HR@soeby.example"))
    stranger = Browser(site.client)
    stranger.speak("da")
    page = await stranger.get(link)
    assert "hr@soeby.example vil ikke længere modtage beskeder af denne slags" in page
    # Looking at the page (as a mail scanner does) turns nothing off.
    assert await notification_settings(site.container, tenant_id) is None

    done = await stranger.post(link, {})
    assert done.status_code == 200, done.text
    assert "Udført: hr@soeby.example modtager ikke flere beskeder" in done.text
    again = await stranger.post(link, {})
    assert "modtager allerede ikke beskeder af denne slags" in again.text
    # A mail program's one-click unsubscribe (RFC 8058): no cookies, no form token; harmless again.
    one_click = await site.client.post(link, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
    assert one_click.status_code == 200

    settings = await notification_settings(site.container, tenant_id)
    assert settings is not None
    assert settings.is_turned_off("hr@soeby.example", Topic.CHECK_INS)
    assert not settings.is_turned_off("hr@soeby.example", Topic.THEME_DAY)
    [turned_off] = [e for e in await _events(site, tenant_id) if type(e).__name__ == "MessagesTurnedOff"]
    expected_actor = Unsubscribe(tenant_id, Topic.CHECK_INS, "hr@soeby.example").actor_id
    assert turned_off.provenance.actor_id == expected_actor
    assert turned_off.provenance.command_name == "TurnOffMessages"

    # The planning group sees who turned what off.
    manager = await signed_in_browser(site.client, team.emails["manager"], language="en")
    assert "hr@soeby.example" in await manager.get(f"/t/{tenant_id}/notifications")


async def test_one_click_from_a_mail_program_turns_a_kind_of_message_off(site: Story) -> None:
    team = await tenant_with_team(site, "Søby Kommune", "soeby")
    tenant_id = UUID(team.tenant_id)
    link = unsubscribe_path(
        key_for(site.container.settings), Unsubscribe(tenant_id, Topic.THEME_DAY, "b@soeby.example")
    )
    site.client.cookies.clear()
    answer = await site.client.post(link, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
    assert answer.status_code == 200
    settings = await notification_settings(site.container, tenant_id)
    assert settings is not None
    assert settings.is_turned_off("b@soeby.example", Topic.THEME_DAY)


async def test_a_link_changed_by_hand_turns_nothing_off(site: Story) -> None:
    team = await tenant_with_team(site, "Søby Kommune", "soeby")
    tenant_id = UUID(team.tenant_id)
    link = unsubscribe_path(
        key_for(site.container.settings), Unsubscribe(tenant_id, Topic.DIGEST, "a@soeby.example")
    )
    changed = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    stranger = Browser(site.client)
    stranger.speak("en")
    assert "This link is not valid" in await stranger.get(changed, expect=404)
    refused = await stranger.post(changed, {})
    assert refused.status_code == 404
    assert await notification_settings(site.container, tenant_id) is None
