"""A message as MIME: plain text and HTML as alternatives, the .ics attached when there is a
calendar entry, a Message-ID made from the outbox key (a message sent twice — see
docs/adr/0030 — is recognisably the same one), and List-Unsubscribe when it has a link."""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

from projections.outbox.intents import MessageIntent
from services.mail.calendar import ics
from services.mail.links import with_link
from services.mail.render import render


def message_id(key: str, sender: str) -> str:
    """`<digest-of-key@sender's domain>`: the same for every attempt at the same message."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "balkort.invalid"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def compose(
    intent: MessageIntent,
    recipients: list[tuple[str, str]],
    language: str,
    *,
    sender: str,
    base_url: str,
    at: datetime,
    link_key: bytes = b"",
) -> EmailMessage:
    """The message of `intent` to `recipients` ((name, address) pairs) in `language`; a link it
    names (an invitation's, a forgotten password's) is made with `link_key`."""
    params: dict[str, Any] = {**with_link(dict(intent.params), link_key), "base_url": base_url}
    subject, text, html = render(intent.kind, language, params)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(formataddr(recipient) for recipient in recipients)
    message["Date"] = format_datetime(at)
    message["Message-ID"] = message_id(intent.key, sender)
    message["Content-Language"] = language
    unsubscribe = intent.params.get("unsubscribe_path")
    if isinstance(unsubscribe, str) and unsubscribe:
        message["List-Unsubscribe"] = f"<{base_url.rstrip('/')}{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    if intent.calendar is not None:
        message.make_mixed()
        message.add_attachment(
            ics(intent.calendar, at),
            maintype="text",
            subtype="calendar",
            filename="invitation.ics" if not intent.calendar.cancelled else "cancellation.ics",
            params={"method": "CANCEL" if intent.calendar.cancelled else "REQUEST"},
        )
    return message
