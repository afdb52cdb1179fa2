"""Forms: decoding a posted form into the same msgspec command the API takes, with errors named
by field and in the user's language, and the CSRF check for forms.

A page handler decodes with `decode(form, Struct)`; a `FormInvalid` carries one message per
field, which the page shows next to that field (`templates/_forms.html`). Posted text obeys the
same rule as the API's (`services.text`): a textarea's CR LF line ends become newlines, and a
value holding a control character, an unpaired surrogate or a non-character is refused at its
field whatever the command, before the command's own Struct checks it. Rules of the method
broken by a command (domain errors) come back in the user's words (`services.web.refusals`),
at the field they concern or for the whole form.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, TypeVar

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Body

from domain.errors import DomainError
from services.auth.jwt import CSRF_COOKIE, CSRF_HEADER
from services.text import first_refused, with_newlines
from services.web.commands import FORM_KEY_FIELD
from services.web.form_errors import explain, field_of
from services.web.i18n import gettext as _
from services.web.refusals import Names, explain_refusal
from services.web.rendering import CSRF_FIELD

S = TypeVar("S", bound=msgspec.Struct)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# A route whose path carries a token signed for one person (a message's link to turn it off),
# which mail programs post to without cookies (RFC 8058 one-click): no CSRF token is asked.
SIGNED_LINK_OPT = "signed_link"


class FormInvalid(Exception):
    """Posted values that do not make a command: messages by field name ("" for the form)."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


# A page handler's `data: Form` is the urlencoded body: one string per field, a list for a
# field sent more than once (checkboxes). Wrap it in `FormData` to read it either way.
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


class FormData:
    """A posted form, read one value (`get`, the last one sent) or all values (`getall`)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = {key: _with_newlines(value) for key, value in data.items()}

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.data.get(key, default)
        return value[-1] if isinstance(value, list) and value else value

    def getall(self, key: str) -> list[Any]:
        value = self.data.get(key, [])
        return value if isinstance(value, list) else [value]

    @property
    def key(self) -> str | None:
        """The form's own key (`_key`), which makes sending it twice record it once."""
        value = self.get(FORM_KEY_FIELD)
        return str(value) if value else None


def _with_newlines(value: Any) -> Any:
    if isinstance(value, str):
        return with_newlines(value)
    if isinstance(value, list):
        return [_with_newlines(v) for v in value]
    return value


def _refused_field(data: Mapping[str, Any]) -> str | None:
    """The first field whose text (at any depth) the text rule refuses."""
    for key, value in data.items():
        if _refuses(value) or first_refused(str(key)) is not None:
            return str(key)
    return None


def _refuses(value: Any) -> bool:
    if isinstance(value, str):
        return first_refused(value) is not None
    if isinstance(value, Mapping):
        return _refused_field(value) is not None
    if isinstance(value, list | tuple):
        return any(_refuses(v) for v in value)
    return False


def values(form: FormData, *, lists: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The form as a dict: blank fields left out (so defaults apply), `lists` kept as lists."""
    out: dict[str, Any] = {}
    for key in form:
        if key in (CSRF_FIELD, FORM_KEY_FIELD):
            continue
        if key in lists:
            out[key] = [v for v in form.getall(key) if str(v).strip()]
            continue
        value = form.get(key)
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                continue
        out[key] = value
    return out


def decode(data: Mapping[str, Any], shape: type[S]) -> S:
    """`data` as a `shape`, with strings converted ("3" → 3, "2026-03-11" → a date)."""
    refused = _refused_field(data)
    if refused is not None:
        raise FormInvalid({refused: _("This text holds a character that cannot be recorded.")})
    try:
        return msgspec.convert(dict(data), type=shape, strict=False)
    except msgspec.ValidationError as error:
        raise FormInvalid({field_of(error): explain(error)}) from None


def domain_message(error: DomainError, names: Names | None = None) -> str:
    """A rule of the method that refused the command, in the user's words (`services.web.refusals`)."""
    return explain_refusal(error, names).message


def domain_field(error: DomainError) -> str:
    """The form's field a refusal concerns ("" when it concerns the whole form)."""
    return explain_refusal(error).field


def refusal(error: FormInvalid | DomainError, names: Names | None = None) -> tuple[dict[str, str], int]:
    """Why a form's command was not recorded, and the status to say it with: 400 for values that
    make no command, 409 for a rule of the method that refused it, shown at the field it
    concerns when there is one."""
    if isinstance(error, FormInvalid):
        return error.errors, 400
    refused = explain_refusal(error, names)
    return {refused.field: refused.message}, 409


async def form_csrf_guard(connection: ASGIConnection[Any, Any, Any, Any], route: BaseRouteHandler) -> None:
    """Double-submit check for page forms: the `_csrf` field (or the `X-CSRF-Token` header HTMX
    sends) must equal the `csrf_token` cookie set at sign-in. A cross-site form cannot read the
    cookie, so it cannot fill the field. Requests with a bearer token are exempt, as on the API."""
    if connection.scope.get("method") not in UNSAFE_METHODS or not isinstance(connection, Request):
        return
    if route.opt.get(SIGNED_LINK_OPT):
        return  # the signed token in the path is the proof: a forged form would need it
    if connection.headers.get("authorization"):
        return  # a bearer token: a browser never sends that header by itself
    expected = connection.cookies.get(CSRF_COOKIE, "")
    given = connection.headers.get(CSRF_HEADER.lower(), "")
    if not given and connection.content_type[0] in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await connection.form()
        given = str(form.get(CSRF_FIELD, ""))
    if not (expected and given and hmac.compare_digest(expected.encode(), given.encode())):
        raise PermissionDeniedException(_("The form had expired. Please try again."))
