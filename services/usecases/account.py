"""The signed-in person's own account: the language messages to it are written in."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import msgspec

from domain.provenance import Provenance
from services.bootstrap import Container

Language = Literal["da", "en"]


class ChooseLanguage(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Messages to the account are written in Danish (`da`, the default) or English (`en`)."""

    language: Language


class LanguageOut(msgspec.Struct, frozen=True, kw_only=True):
    """The language messages to the account are written in."""

    language: str


async def choose_language(container: Container, user_id: UUID, c: ChooseLanguage, p: Provenance) -> bool:
    """Records the choice as the person's own action; choosing the language in force records
    nothing (so a retried request is harmless). Answers whether it changed."""
    changed: bool = await container.offloop(container.control.choose_language, user_id, c.language, p)
    return changed


async def language_of(container: Container, user_id: UUID) -> str:
    """The language messages to the account are written in."""
    user = await container.offloop(container.control.user, user_id)
    return user.language
