from datetime import UTC, date, datetime, time, timedelta
from uuid import uuid4

import pytest

from domain.preparation import Preparation
from domain.roles import Role
from projections.outbox.intents import CalendarEntry, RuleContext, ToRole
from projections.outbox.registry import intents_for
from services.mail.calendar import ics
from services.mail.render import UnknownMessageKind, render, subject


class _Provenance:
    recorded_at = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


class _Prepared:
    """Shaped like Engagement.Prepared, whose qualname the rules are keyed by."""

    def __init__(self, follow_up: date | None) -> None:
        self.originator_id = uuid4()
        self.originator_version = 1
        self.provenance = _Provenance()
        self.preparation = Preparation(
            title="Samarbejde om udskrivning",
            focus="",
            target_group="",
            work_process="",
            planning_group=(),
            theme_day=date(2026, 4, 1),
            follow_up_meeting=follow_up,
        )


_Prepared.__qualname__ = "Engagement.Prepared"


def test_a_follow_up_meeting_set_on_preparation_is_sent_to_the_planning_group_with_its_calendar_entry():
    tenant_id = uuid4()
    event = _Prepared(date(2026, 6, 15))
    decided = intents_for(event, RuleContext(tenant_id=tenant_id, position=7))
    [intent] = [i for i in decided if i.kind == "follow_up_meeting_set"]
    assert intent.audience == ToRole(Role.CLIENT_ADMIN.value)
    assert intent.kind == "follow_up_meeting_set"
    assert intent.due_at == _Provenance.recorded_at
    assert intent.calendar is not None
    assert intent.calendar.all_day
    assert intent.key == f"{tenant_id}:{event.originator_id}:1:follow_up_meeting_set"
    # The same event decides the same message on every rebuild.
    assert intents_for(event, RuleContext(tenant_id=tenant_id, position=7)) == decided


def test_an_engagement_prepared_without_a_follow_up_meeting_causes_no_message():
    decided = intents_for(_Prepared(None), RuleContext(tenant_id=uuid4(), position=1))
    assert [i.kind for i in decided if i.kind.startswith("follow_up")] == []


def test_a_message_is_rendered_in_danish_by_default_and_in_english_beside_it_with_absolute_links():
    params = {"title": "Udskrivning <hurtigt>", "meeting": "2026-06-15", "path": "/t/x/follow-up"}
    subject, text, html = render("follow_up_meeting_set", "da", {**params, "base_url": "https://b.example/"})
    assert subject == "Opfølgningsmøde 15. juni 2026: Udskrivning <hurtigt>"
    assert "https://b.example/t/x/follow-up" in text
    assert "Udskrivning &lt;hurtigt&gt;" in html
    assert 'lang="da"' in html
    subject_en, text_en, _ = render("follow_up_meeting_set", "en", params)
    assert subject_en == "Follow-up meeting 15 June 2026: Udskrivning <hurtigt>"
    assert "Prepare the meeting here: /t/x/follow-up" in text_en
    # A language not offered falls back to Danish.
    assert (
        render("follow_up_meeting_set", "sv", params)[0] == render("follow_up_meeting_set", "da", params)[0]
    )


def test_an_unknown_kind_of_message_is_refused_by_name():
    with pytest.raises(UnknownMessageKind):
        render("no_such_message", "da", {})


def test_a_calendar_entry_becomes_an_ics_request_and_a_cancellation_with_the_same_uid():
    start = datetime.combine(date(2026, 6, 15), time(), tzinfo=UTC)
    entry = CalendarEntry(
        uid="follow-up-1@balkort",
        sequence=3,
        start=start,
        end=start + timedelta(days=1),
        summary="Opfølgning; 2026, del " + "x" * 80,
        all_day=True,
    )
    text = ics(entry, datetime(2026, 3, 2, tzinfo=UTC)).decode()
    assert "METHOD:REQUEST\r\n" in text
    assert "DTSTART;VALUE=DATE:20260615\r\n" in text
    assert "SEQUENCE:3\r\n" in text
    assert "SUMMARY:Opfølgning\\; 2026\\, del" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    cancelled = ics(CalendarEntry(**{**_fields(entry), "cancelled": True}), datetime(2026, 3, 2, tzinfo=UTC))
    assert b"METHOD:CANCEL" in cancelled
    assert b"UID:follow-up-1@balkort" in cancelled


def _fields(entry: CalendarEntry) -> dict[str, object]:
    return {name: getattr(entry, name) for name in entry.__struct_fields__}


def test_an_invitations_subject_is_read_from_the_outbox_params_without_the_link_the_sender_adds() -> None:
    params = {
        "tenant_name": "Nordby Kommune",
        "role": "client_admin",
        "expires_at": "2026-12-14T03:35:31+00:00",
        "link": {"purpose": "invite", "tenant_id": str(uuid4()), "invitee_id": str(uuid4()), "issue": 1},
    }
    with pytest.raises(Exception, match="'path' is undefined"):
        render("invitation", "da", params)
    assert subject("invitation", "da", params) == "Invitation til Nordby Kommune i Balkort"
    assert subject("invitation", "en", params) == render("invitation", "en", {**params, "path": "/x"})[0]
    with pytest.raises(UnknownMessageKind):
        subject("no_such_kind", "da", params)
