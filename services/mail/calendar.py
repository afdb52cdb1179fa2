"""An iCalendar (RFC 5545) file for a message's calendar entry: METHOD:REQUEST, or CANCEL when
the entry is cancelled. A later message with the same UID and a higher SEQUENCE updates it."""

from __future__ import annotations

from datetime import UTC, datetime

from projections.outbox.intents import CalendarEntry

PRODUCT_ID = "-//Balkort//Balkort//DA"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _moment(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _fold(line: str) -> list[str]:
    # Lines longer than 75 octets continue on the next line after a space.
    encoded = line.encode()
    if len(encoded) <= 75:
        return [line]
    parts: list[str] = []
    current = ""
    for char in line:
        if len((current + char).encode()) > (75 if not parts else 74):
            parts.append(current)
            current = ""
        current += char
    parts.append(current)
    return [parts[0], *(" " + part for part in parts[1:])]


def ics(entry: CalendarEntry, stamp: datetime) -> bytes:
    """The .ics file of `entry`; `stamp` is when it was made (DTSTAMP)."""
    if entry.all_day:
        when = [
            f"DTSTART;VALUE=DATE:{entry.start.strftime('%Y%m%d')}",
            f"DTEND;VALUE=DATE:{entry.end.strftime('%Y%m%d')}",
        ]
    else:
        when = [f"DTSTART:{_moment(entry.start)}", f"DTEND:{_moment(entry.end)}"]
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT_ID}",
        f"METHOD:{'CANCEL' if entry.cancelled else 'REQUEST'}",
        "BEGIN:VEVENT",
        f"UID:{_escape(entry.uid)}",
        f"SEQUENCE:{entry.sequence}",
        f"DTSTAMP:{_moment(stamp)}",
        *when,
        f"SUMMARY:{_escape(entry.summary)}",
    ]
    if entry.location:
        lines.append(f"LOCATION:{_escape(entry.location)}")
    if entry.description:
        lines.append(f"DESCRIPTION:{_escape(entry.description)}")
    lines += [f"STATUS:{'CANCELLED' if entry.cancelled else 'CONFIRMED'}", "END:VEVENT", "END:VCALENDAR"]
    folded = [part for line in lines for part in _fold(line)]
    return ("\r\n".join(folded) + "\r\n").encode()
