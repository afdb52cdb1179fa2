"""Turning a topic of messages off by the link in a message (`/unsubscribe/{token}`): no
sign-in, the signed token is the proof. The page says what the link turns off and asks for a
click (a mail scanner that fetches every link must not turn anything off); the click records
the choice as an event in the organisation's store, with the recipient as its actor. Following
the link again, or sending the form twice, records nothing new. A mail program's one-click
unsubscribe (RFC 8058: a POST without cookies, announced by the message's List-Unsubscribe-Post
header) is the same click, so the form asks for no CSRF token: the signed token is the proof."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid5

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from domain.provenance import Provenance
from services.access import PUBLIC, Policy
from services.mail.unsubscribe import PATH_PREFIX, TokenInvalid, Unsubscribe, key_for, read_token
from services.requests.commands import container_of
from services.requests.provenance import correlation_id_of
from services.usecases.bus import execute
from services.usecases.notifications import TurnOffMessages
from services.web.forms import SIGNED_LINK_OPT
from services.web.notifications.words import topic_label
from services.web.rendering import page

Req = Request[Any, Any, Any]
PATH = PATH_PREFIX + "{token:str}"
# A link's choice is one command, however often it is followed.
UNSUBSCRIBE_COMMANDS = UUID("5e0b7c3a-2f1d-5b8e-9a4c-3d6e7f8a9b0c")


def _read(request: Req, token: str) -> Unsubscribe | None:
    try:
        return read_token(key_for(container_of(request).settings), token)
    except TokenInvalid:
        return None


def _answer(request: Req, what: Unsubscribe | None, *, done: bool = False, news: bool = False) -> Template:
    return page(
        "notifications/unsubscribe.html",
        status_code=200 if what is not None else 404,
        what=what,
        topic=topic_label(what.topic) if what else "",
        done=done,
        news=news,
    )


@get(PATH, exclude_from_auth=True, include_in_schema=False, opt={SIGNED_LINK_OPT: True})
async def unsubscribe_page(request: Req, token: FromPath[str]) -> Template:
    """What the link turns off, and the button that does it."""
    return _answer(request, _read(request, token))


@post(PATH, exclude_from_auth=True, include_in_schema=False, status_code=200, opt={SIGNED_LINK_OPT: True})
async def unsubscribe(request: Req, token: FromPath[str]) -> Response[Any]:
    """Turns the topic off for the link's recipient; recorded once however often it is sent."""
    what = _read(request, token)
    if what is None:
        return _answer(request, None)
    now = datetime.now(UTC)
    command = TurnOffMessages(tenant_id=what.tenant_id, topic=what.topic, address=what.address)
    provenance = Provenance(
        actor_id=what.actor_id,
        actor_role=what.role,
        tenant_id=what.tenant_id,
        occurred_at=now,
        recorded_at=now,
        command_id=uuid5(UNSUBSCRIBE_COMMANDS, token),
        command_name=command.command_name,
        correlation_id=correlation_id_of(request.scope),
    )
    news = await execute(container_of(request), what.tenant_id, command, provenance)
    return _answer(request, what, done=True, news=news)


PAGES: list[ControllerRouterHandler] = [unsubscribe_page, unsubscribe]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", PATH): PUBLIC,
    ("POST", PATH): PUBLIC,
}
