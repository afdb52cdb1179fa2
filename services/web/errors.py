"""Errors on pages: the API's problem details decide the status and the words, a page shows them.

Not signed in (or signed out by an expired token or a revoked join code) sends the browser to
the sign-in page and back afterwards; anything else is an error page in the user's language.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Request, Response
from litestar.exceptions import NotAuthorizedException
from litestar.response import Redirect
from litestar.types import ExceptionHandlersMap

from services.http.problems import PROBLEM_HANDLERS, Problem
from services.web.i18n import LANGUAGE_COOKIE, set_language
from services.web.i18n import gettext as _
from services.web.rendering import page

Req = Request[Any, Any, Any]


def _problem_for(request: Req, exc: Exception) -> Response[Any]:
    for kind in type(exc).__mro__:
        handler = PROBLEM_HANDLERS.get(kind)
        if handler is not None:
            return handler(request, exc)
    raise exc  # pragma: no cover - `Exception` is always mapped


def _titles() -> dict[int, str]:
    return {
        400: _("Something in the request was not right"),
        403: _("You do not have access to this"),
        404: _("We could not find that"),
        409: _("That is not possible right now"),
        429: _("Too many attempts"),
        503: _("Balkort is busy or a service is away"),
    }


def on_page_error(request: Req, exc: Exception) -> Response[Any]:
    # Guards and authentication may refuse before the router's hook has chosen the language.
    set_language(request.cookies.get(LANGUAGE_COOKIE, ""))
    if isinstance(exc, NotAuthorizedException):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        location = f"/login?next={quote(target, safe='')}"
        if request.headers.get("hx-request"):
            return Response(b"", status_code=401, headers={"HX-Redirect": location})
        return Redirect(location, status_code=303)
    answer = _problem_for(request, exc)
    problem = msgspec.json.decode(answer.content, type=Problem)
    status = problem.status
    title = _titles().get(status, _("Something went wrong") if status >= 500 else _("That did not work"))
    headers = {k: v for k, v in answer.headers.items() if k.lower() == "retry-after"}
    response = page("error.html", status_code=status, title=title, problem=problem)
    response.headers.update(headers)
    return response


def is_page(request: Req) -> bool:
    """A page (or an asset) rather than the API or its documentation."""
    path = request.url.path
    return not (path.startswith("/api/") or path.startswith("/schema") or path == "/healthz")


def page_aware(handlers: ExceptionHandlersMap) -> ExceptionHandlersMap:
    """The app's exception handlers, answering pages with pages. Authentication runs before
    any router's own handlers would, so this sits at the app."""

    def for_pages(api_handler: Any) -> Any:
        def handle(request: Req, exc: Exception) -> Response[Any]:
            return on_page_error(request, exc) if is_page(request) else api_handler(request, exc)

        return handle

    return {kind: for_pages(handler) for kind, handler in handlers.items()}
