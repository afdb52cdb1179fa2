"""The sender: messages whose time has come (by the product's clock) are leased, composed,
handed to the transport and marked — each outcome written only by the holder of the lease.

Exactly once, as far as it can be had (docs/adr/0030): a sender that dies before the transport
accepted a message leaves it leased; the lease runs out and another pass sends it. A sender
that dies after the server accepted it but before marking it sent leaves the one window: the
message goes again, with the same Message-ID (and, on the embedded default, into the same .eml
file, so there it is not doubled at all)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from typing import NamedTuple
from uuid import UUID, uuid4

import anyio
import anyio.to_thread
import msgspec

from domain.roles import Role
from projections.outbox.intents import PLATFORM_ID, Audience, ToAddress, ToRole, ToUser
from projections.outbox.rows import Outgoing, State
from projections.outbox.store import SqlOutbox
from projections.outbox.topics import roles_reached, topic_of, turned_off
from services.mail.compose import compose, message_id
from services.mail.preferences import SettingsOf, no_settings
from services.mail.render import UnknownMessageKind
from services.mail.transport import DeliveryFailed, Transport
from services.mail.unsubscribe import Unsubscribe, unsubscribe_path
from services.settings import Settings

logger = logging.getLogger("balkort.outbox")

PASS_LIMIT = 50


class Recipient(NamedTuple):
    """Whom a message goes to: the account and the role it was reached under, when known."""

    name: str
    address: str
    user_id: UUID | None
    role: str | None
    language: str  # the one the account chose, or the one the message was asked in


class Sender:
    def __init__(
        self,
        store: SqlOutbox,
        transport: Transport,
        settings: Settings,
        *,
        clock: Callable[[], datetime],
        erased: Callable[[UUID], bool],
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        settings_of: SettingsOf = no_settings,
        unsubscribe_key: bytes | None = None,
        link_key: bytes = b"",
    ) -> None:
        self.settings_of = settings_of
        self.unsubscribe_key = unsubscribe_key
        self.store = store
        # Makes the one-time links messages carry (services/mail/links.py).
        self.link_key = link_key
        self.transport = transport
        self.settings = settings
        self.clock = clock
        self.erased = erased
        self.wall = wall
        self._wake = anyio.Event()

    def wake(self) -> None:
        """Look for messages due now rather than at the next poll."""
        self._wake.set()

    async def pass_once(self) -> int:
        """Sends what is due; returns how many messages were sent."""
        token = uuid4().hex
        lease = timedelta(seconds=self.settings.outbox_lease_seconds)
        claimed = await anyio.to_thread.run_sync(
            self.store.claim_due, self.clock(), self.wall(), lease, token, PASS_LIMIT
        )
        sent = 0
        for outgoing in claimed:
            sent += await self._send(outgoing, token)
        return sent

    async def _send(self, outgoing: Outgoing, token: str) -> int:
        tenant_id = outgoing.tenant_id
        if tenant_id != PLATFORM_ID and await anyio.to_thread.run_sync(self.erased, tenant_id):
            await anyio.to_thread.run_sync(
                self.store.finish_void, outgoing.key, token, "the organisation was erased"
            )
            return 0
        recipients = await anyio.to_thread.run_sync(self._reached, outgoing, tenant_id)
        if not recipients:
            await anyio.to_thread.run_sync(
                self.store.finish_void, outgoing.key, token, "nobody to send it to"
            )
            return 0
        at = self.wall()
        try:
            copies = self._copies(outgoing, recipients, at)
        except UnknownMessageKind:
            await self._failed(
                outgoing, token, f"no templates for messages of kind {outgoing.kind!r}", final=True
            )
            return 0
        addresses = [r.address for r in recipients]
        stored: list[str] = []
        try:
            for key, message, to in copies:
                stored.append(await self.transport.deliver(key, message, to))
        except DeliveryFailed as error:
            # Copies delivered already go again with the next attempt, under the same Message-ID.
            await self._failed(outgoing, token, str(error))
            return 0
        stored_as = ", ".join(name for name in stored if name)
        marked = await anyio.to_thread.run_sync(
            self.store.finish_sent,
            outgoing.key,
            token,
            at,
            message_id(outgoing.key, self.settings.mail_from),
            stored_as,
            ", ".join(addresses),
        )
        if not marked:
            logger.warning("message %s was sent after its lease ran out", outgoing.key)
        return 1

    async def _failed(self, outgoing: Outgoing, token: str, error: str, final: bool = False) -> None:
        attempts = outgoing.attempts + 1
        if final or attempts >= self.settings.outbox_max_attempts:
            state, next_at = State.FAILED, None
        else:
            wait = min(
                self.settings.outbox_retry_seconds * 2 ** (attempts - 1),
                self.settings.outbox_max_retry_seconds,
            )
            state, next_at = State.FAILING, self.wall() + timedelta(seconds=wait)
        logger.warning("sending message %s failed (attempt %d): %s", outgoing.key, attempts, error)
        await anyio.to_thread.run_sync(self.store.finish_retry, outgoing.key, token, error, state, next_at)

    def _reached(self, outgoing: Outgoing, tenant_id: UUID) -> list[Recipient]:
        """Whom the message reaches as the organisation's settings stand now: a message to the
        planning group goes to the roles chosen for its topic, and not to an address that
        turned its topic off."""
        audience, kind = outgoing.intent.audience, outgoing.kind
        chosen = None if tenant_id == PLATFORM_ID else self.settings_of(tenant_id)
        if isinstance(audience, ToRole):
            roles = sorted(roles_reached(chosen, kind, audience.role))
            found = [
                Recipient(p.name, p.email, p.user_id, role, p.language)
                for role in roles
                for p in self.store.role_holders(tenant_id, role)
            ]
        else:
            found = self._recipients(audience, tenant_id)
        unique = {r.address.lower(): r for r in found}
        return [r for r in unique.values() if not turned_off(chosen, kind, r.address)]

    def _copies(
        self, outgoing: Outgoing, recipients: list[Recipient], at: datetime
    ) -> list[tuple[str, EmailMessage, list[str]]]:
        """The message as delivered, each recipient's in their own language: one to all its
        recipients who read one language, or, when its recipients can turn its topic off, one to
        each with the link that turns it off for them alone."""
        intent = outgoing.intent
        base_url = self.settings.public_url or f"http://{self.settings.host}:{self.settings.port}"
        topic = topic_of(outgoing.kind)
        if topic is None or self.unsubscribe_key is None or intent.tenant_id == PLATFORM_ID:
            languages = sorted({r.language for r in recipients})
            copies = []
            for language in languages:
                readers = [r for r in recipients if r.language == language]
                # One language: the message is the outbox's own (its Message-ID from the key).
                key = intent.key if len(languages) == 1 else f"{intent.key}/{language}"
                message = compose(
                    msgspec.structs.replace(intent, key=key),
                    [(r.name, r.address) for r in readers],
                    language,
                    sender=self.settings.mail_from,
                    base_url=base_url,
                    at=at,
                    link_key=self.link_key,
                )
                copies.append((key, message, [r.address for r in readers]))
            return copies
        copies = []
        for r in recipients:
            link = Unsubscribe(intent.tenant_id, topic, r.address, r.user_id, Role(r.role or "client_admin"))
            own = msgspec.structs.replace(
                intent,
                # One recipient: the message is the outbox's own (its Message-ID from the key).
                key=intent.key if len(recipients) == 1 else f"{intent.key}/{r.address.lower()}",
                params={**intent.params, "unsubscribe_path": unsubscribe_path(self.unsubscribe_key, link)},
            )
            message = compose(
                own,
                [(r.name, r.address)],
                r.language,
                sender=self.settings.mail_from,
                base_url=base_url,
                at=at,
                link_key=self.link_key,
            )
            copies.append((own.key, message, [r.address]))
        return copies

    def _recipients(self, audience: Audience, tenant_id: UUID) -> list[Recipient]:
        """Whom an address or an account is, and the language to write to them in: the
        account's own choice, or for an address the language the message was asked in."""
        match audience:
            case ToAddress(email=email, name=name, language=language):
                return [Recipient(name, email, None, None, language)] if parseaddr(email)[1] else []
            case ToUser(user_id=user_id):
                person = self.store.person(user_id)
                if person is None or not person.active:
                    return []
                return [Recipient(person.name, person.email, user_id, None, person.language)]
            case ToRole(role=role):
                return [
                    Recipient(p.name, p.email, p.user_id, role, p.language)
                    for p in self.store.role_holders(tenant_id, role)
                ]

    async def run(self, follow: Callable[[], object] | None = None) -> None:
        """Until cancelled: follow the logs (when told how), send what is due, wait."""
        while True:
            try:
                if follow is not None:
                    await anyio.to_thread.run_sync(follow)
                while await self.pass_once() == PASS_LIMIT:
                    pass
            except Exception:
                logger.exception("an outbox pass failed; trying again at the next")
            with anyio.move_on_after(self.settings.outbox_poll_seconds):
                await self._wake.wait()
            self._wake = anyio.Event()
