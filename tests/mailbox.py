"""A real SMTP server in the test process (aiosmtpd) that keeps what it accepted, can be taken
down and brought back on the same port, and can hold a message mid-exchange."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mailbox = self.mailbox
        if mailbox.hold.is_set():
            mailbox.holding.set()
            # Held before answering: the client waits for its 250 (or dies waiting).
            await asyncio.to_thread(mailbox.released.wait, 60)
            return "451 try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with mailbox.lock:
            mailbox.received.append((list(envelope.rcpt_tos), message))
        return "250 accepted"


class Mailbox:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.lock = threading.Lock()
        # While set, a message is held before the server answers until `released`, then refused.
        self.hold = threading.Event()
        self.holding = threading.Event()
        self.released = threading.Event()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [message for _, message in self.received]

    def wait_for(self, count: int, seconds: float) -> list[EmailMessage]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if len(self.messages()) >= count:
                return self.messages()
            time.sleep(0.05)
        raise AssertionError(f"{len(self.messages())} messages arrived, not {count}, within {seconds}s")

    def message_to(self, address: str, seconds: float, subject: str = "") -> EmailMessage:
        """The one message delivered to `address` (with a subject beginning `subject`), waiting
        up to `seconds` for it."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                received = list(self.received)
            found = [
                message
                for recipients, message in received
                if address in recipients and str(message["Subject"]).startswith(subject)
            ]
            if found:
                assert len(found) == 1, [message["Subject"] for message in found]
                return found[0]
            time.sleep(0.05)
        arrived = [(message["To"], message["Subject"]) for message in self.messages()]
        raise AssertionError(f"no message to {address} ({subject}...) within {seconds}s; arrived: {arrived}")
