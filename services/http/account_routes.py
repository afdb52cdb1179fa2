"""The signed-in person's own account through the API: the language messages to it are
written in (docs/adr/0033)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.types import ControllerRouterHandler

from services.auth.principal import Principal
from services.bootstrap import Container
from services.requests.problems import problem_responses
from services.requests.provenance import own_account_provenance
from services.usecases import account
from services.usecases.account import ChooseLanguage, LanguageOut

LANGUAGE = "/api/v1/me/language"


@get(LANGUAGE, responses=problem_responses(401), tags=["auth"])
async def my_language(
    principal: NamedDependency[Principal], container: NamedDependency[Container]
) -> LanguageOut:
    """The language messages to the signed-in person are written in: `da` unless they chose `en`."""
    return LanguageOut(language=await account.language_of(container, principal.user_id))


@put(LANGUAGE, status_code=200, responses=problem_responses(400, 401, 503), tags=["auth"])
async def choose_language(
    data: JSONBody[ChooseLanguage],
    request: Request[Any, Any, Any],
    principal: NamedDependency[Principal],
    container: NamedDependency[Container],
) -> LanguageOut:
    """Messages to the signed-in person are written in `da` (Danish) or `en` (English) from
    now on. A change is an event on their account; choosing the language in force records
    nothing."""
    provenance = own_account_provenance(request, principal, "ChooseLanguage")
    await account.choose_language(container, principal.user_id, data, provenance)
    return LanguageOut(language=data.language)


ACCOUNT_ROUTES: list[ControllerRouterHandler] = [my_language, choose_language]
