from datetime import UTC, datetime, timedelta
from uuid import uuid4

from projections.outbox.intents import CalendarEntry, MessageIntent, ToRole
from services.mail.compose import compose, message_id

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SENDER = "Balkort <balkort@mail.example>"


def intent(**changes: object) -> MessageIntent:
    fields: dict[str, object] = {
        "key": "t:e:1:follow_up_meeting_set",
        "tenant_id": uuid4(),
        "due_at": AT,
        "audience": ToRole("client_admin"),
        "kind": "follow_up_meeting_set",
        "params": {"title": "Udskrivning", "meeting": "2026-10-06", "path": "/t/x/e/y/follow-up"},
    }
    return MessageIntent(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_message_is_text_and_html_alternatives_with_a_message_id_of_its_key() -> None:
    message = compose(
        intent(), [("Lene", "lene@x.dk")], "da", sender=SENDER, base_url="https://b.example", at=AT
    )
    assert message.get_content_type() == "multipart/alternative"
    assert message["Message-ID"] == message_id("t:e:1:follow_up_meeting_set", SENDER)
    assert message["Message-ID"].endswith("@mail.example>")
    assert message["To"] == "Lene <lene@x.dk>"
    assert "List-Unsubscribe" not in message
    # Every attempt at the same message carries the same id; another message another.
    again = compose(
        intent(), [("Lene", "lene@x.dk")], "da", sender=SENDER, base_url="", at=AT + timedelta(hours=1)
    )
    assert again["Message-ID"] == message["Message-ID"]
    assert message_id("t:e:2:follow_up_meeting_set", SENDER) != message["Message-ID"]


def test_a_message_with_an_unsubscribe_link_says_so_in_its_headers_and_its_words() -> None:
    unsubscribing = intent(params={**intent().params, "unsubscribe_path": "/unsubscribe/abc"})
    message = compose(
        unsubscribing, [("", "lene@x.dk")], "en", sender=SENDER, base_url="https://b.example/", at=AT
    )
    assert message["List-Unsubscribe"] == "<https://b.example/unsubscribe/abc>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = message.get_body(("html",))
    assert html is not None
    assert 'href="https://b.example/unsubscribe/abc">Unsubscribe</a>' in html.get_content()


def test_a_calendar_entry_rides_along_as_an_ics_attachment() -> None:
    entry = CalendarEntry(uid="u@b", sequence=2, start=AT, end=AT + timedelta(hours=2), summary="Møde")
    message = compose(intent(calendar=entry), [("", "a@x.dk")], "da", sender=SENDER, base_url="", at=AT)
    assert message.get_content_type() == "multipart/mixed"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "REQUEST"
    assert "SEQUENCE:2" in attachment.get_content()
