"""`/account`: the signed-in person chooses the language their messages are written in
(docs/adr/0033), by the same use case as the API's `/api/v1/me/language`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from services.access import ACCOUNT, Policy
from services.requests.commands import container_of
from services.requests.provenance import own_account_provenance
from services.usecases import account
from services.usecases.account import ChooseLanguage, Language
from services.web.forms import Form, FormData
from services.web.i18n import gettext as _
from services.web.rendering import page

Req = Request[Any, Any, Any]
PATH = "/account"


def _options() -> list[tuple[str, str]]:
    return [("da", _("Danish")), ("en", _("English"))]


@get(PATH, include_in_schema=False)
async def account_page(request: Req, saved: FromQuery[bool] = False) -> Template:
    """The person's own account: the language of their messages, and the form to choose it."""
    return await _page(request, saved=saved)


@post(PATH, include_in_schema=False, status_code=303)
async def choose_language(request: Req, data: Form) -> Response[Any]:
    form = FormData(data)
    chosen = str(form.get("language", ""))
    if chosen not in ("da", "en"):
        return await _page(request, errors={"language": _("Choose Danish or English.")}, status_code=400)
    language: Language = "en" if chosen == "en" else "da"
    provenance = own_account_provenance(request, request.user, "ChooseLanguage")
    await account.choose_language(
        container_of(request), request.user.user_id, ChooseLanguage(language=language), provenance
    )
    return Redirect(f"{PATH}?saved=1", status_code=303)


async def _page(
    request: Req, *, errors: Mapping[str, str] | None = None, status_code: int = 200, saved: bool = False
) -> Template:
    language = await account.language_of(container_of(request), request.user.user_id)
    return page(
        "account/page.html",
        status_code=status_code,
        options=_options(),
        chosen=language,
        errors=errors or {},
        saved=saved,
    )


PAGES: list[ControllerRouterHandler] = [account_page, choose_language]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", PATH): ACCOUNT,
    ("POST", PATH): ACCOUNT,
}
