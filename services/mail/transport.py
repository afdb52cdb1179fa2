"""Where a composed message goes: an SMTP server (`BALKORT_SMTP_URL`), or, on the embedded
default without one, an .eml file per message under the data dir."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
import anyio.to_thread

from services.settings import Settings, SettingsError


class Transport(Protocol):
    async def deliver(self, key: str, message: EmailMessage, recipients: list[str]) -> str:
        """Hands the message on; returns where it was stored ("" when sent over SMTP).
        Raises `DeliveryFailed` when it could not (retried later)."""
        ...


class DeliveryFailed(RuntimeError):
    """The message was not accepted (server away, refused, timed out): try again later."""


@dataclass(frozen=True)
class SmtpLocation:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool | None

    @classmethod
    def from_url(cls, url: str) -> SmtpLocation:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"}:
            raise SettingsError(f"BALKORT_SMTP_URL must be smtp:// or smtps://, got {parts.scheme!r}")
        query = parse_qs(parts.query)
        starttls = query.get("starttls", [""])[0].lower()
        implicit = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname or "127.0.0.1",
            port=parts.port or (465 if implicit else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=implicit,
            # Asked for, refused, or (unset) used when the server offers it.
            start_tls=None if implicit or not starttls else starttls in {"1", "true", "yes", "on"},
        )


class SmtpTransport:
    def __init__(self, location: SmtpLocation, timeout: float) -> None:
        self.location = location
        self.timeout = timeout

    async def deliver(self, key: str, message: EmailMessage, recipients: list[str]) -> str:
        where = self.location
        try:
            await aiosmtplib.send(
                message,
                recipients=recipients,
                hostname=where.hostname,
                port=where.port,
                username=where.username,
                password=where.password,
                use_tls=where.use_tls,
                start_tls=where.start_tls,
                timeout=self.timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise DeliveryFailed(f"{type(error).__name__}: {error}") from error
        return ""


def eml_name(key: str) -> str:
    """The file a message is written to: the same for every attempt, so writing it again
    replaces it rather than adding a second."""
    return f"{hashlib.sha256(key.encode()).hexdigest()[:40]}.eml"


class FileTransport:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def deliver(self, key: str, message: EmailMessage, recipients: list[str]) -> str:
        name = eml_name(key)
        data = message.as_bytes()
        await anyio.to_thread.run_sync(self._write, name, data)
        return name

    def _write(self, name: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self.directory / f".{name}.partial"
        partial.write_bytes(data)
        os.replace(partial, self.directory / name)


def outbox_directory(settings: Settings) -> Path:
    return settings.data_dir / "outbox"


def transport_for(settings: Settings) -> Transport:
    if settings.smtp_url:
        return SmtpTransport(SmtpLocation.from_url(settings.smtp_url), settings.smtp_timeout_seconds)
    return FileTransport(outbox_directory(settings))
