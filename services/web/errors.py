"""Errors on pages: the API's problem details decide the status, a page says them in the user's
language.

Not signed in (or signed out by an expired token or a revoked join code) sends the browser to
the sign-in page and back afterwards; anything else is an error page in the user's language: a
title per status and a line that says what to do. A refusal by a rule of the method is said by
`services.web.refusals`; the API's fixed details are said in the user's words; any other detail
is English for developers and is shown on English pages only.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Request, Response
from litestar.exceptions import NotAuthorizedException
from litestar.response import Redirect
from litestar.types import ExceptionHandlersMap

from domain.errors import DomainError
from services.auth.guards import NOT_YOUR_UNIT
from services.requests.problems import PROBLEM_HANDLERS, Problem
from services.web.i18n import LANGUAGE_COOKIE, current_language, set_language
from services.web.i18n import gettext as _
from services.web.refusals import explain_refusal
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


def _what_to_do(status: int) -> str:
    """A line for each status that says what to do, when the problem's detail says nothing known."""
    if status >= 500 and status != 503:
        return _("Something went wrong on our side; it has been logged. Try again in a moment.")
    return {
        400: _("Check what was filled in, then try again."),
        403: _("If you should have access, ask the consultancy or your planning group."),
        404: _("The link may be old, or what it led to has been removed."),
        409: _("Reload the page to see how things stand now."),
        429: _("Wait a moment, then try again."),
        503: _("Try again in a moment."),
    }.get(status, _("Go back and try again."))


def _known_details() -> dict[str, str]:
    """The API's fixed details (and the pages' own, said already), in the user's words."""
    busy = _("Balkort is busy right now. Try again in a moment.")
    return {
        "Not allowed in this tenant.": _(
            "You have no access to this client organisation. Ask the consultancy if you should have."
        ),
        "Not allowed here.": _("You have no access to this page."),
        "This route declares no roles.": _("You have no access to this page."),
        NOT_YOUR_UNIT: _(
            "A join code lets you act only as your own unit, in your own engagement. Go back to your own table."
        ),
        "Only consultancy admins may do this.": _("Only the consultancy's administrators may do this."),
        "Only consultancy admins assign consultants.": _(
            "Only the consultancy's administrators may do this."
        ),
        "Only consultancy admins and consultants have a portfolio.": _(
            "Only consultancy admins and consultants have a portfolio."
        ),
        "Auditors are read-only.": _("Auditors can look at everything but change nothing."),
        "Missing or wrong X-CSRF-Token header.": _("The form had expired. Please try again."),
        "The form had expired. Please try again.": _("The form had expired. Please try again."),
        "This dance card is not one of your unit's.": _("This dance card is not one of your unit's."),
        "No such client organisation.": _("There is no such client organisation."),
        "Someone else changed this at the same time; reload and try again.": _(
            "Someone else changed this at the same time. Reload the page and try again."
        ),
        "Slow down.": _("Too many requests at once. Wait a moment, then try again."),
        "Too many wrong join codes; wait before trying again.": _(
            "Too many wrong join codes. Wait a little, then try again, or ask your facilitator."
        ),
        "Join codes cannot be checked right now; retry shortly.": _(
            "Join codes cannot be checked right now. Try again in a moment."
        ),
        "Something went wrong on our side; it has been logged.": _(
            "Something went wrong on our side; it has been logged. Try again in a moment."
        ),
        "Every tenant store is busy; try again shortly.": busy,
        "Idempotency keys cannot be checked right now; retry shortly.": busy,
        "The database cannot be reached right now; retry shortly.": _(
            "The database cannot be reached right now. Try again in a moment."
        ),
        "This client organisation's data cannot be opened right now.": _(
            "This client organisation's data cannot be opened right now. Try again later, or tell the consultancy."
        ),
        "A request with this Idempotency-Key is still in progress; retry later.": _(
            "This form is still being recorded. Wait a moment, then reload the page."
        ),
        "This Idempotency-Key was used with a different request body.": _(
            "This form was sent before with other values. Reload the page and fill it in again."
        ),
    }


def explanation(problem: Problem, exc: Exception) -> str:
    """What the error page says under its title: the refusal or the known detail in the user's
    words, else a line that says what to do (after the English detail, on an English page)."""
    if isinstance(exc, DomainError):
        return explain_refusal(exc).message
    known = _known_details()
    detail = (problem.detail or "").strip()
    if detail in known:
        return known[detail]
    if detail in known.values():  # a page's own refusal, said in the user's language already
        return detail
    if detail and current_language() == "en":
        return f"{detail} {_what_to_do(problem.status)}"
    return _what_to_do(problem.status)


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
    shown = msgspec.structs.replace(problem, detail=explanation(problem, exc))
    response = page("error.html", status_code=status, title=title, problem=shown)
    response.headers.update(headers)
    return response


# Probes and the metrics scrape answer machines: problem details, never a page.
OPERATOR_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def is_page(request: Req) -> bool:
    """A page (or an asset) rather than the API or its documentation."""
    path = request.url.path
    return not (path.startswith("/api/") or path.startswith("/schema") or path in OPERATOR_PATHS)


def page_aware(handlers: ExceptionHandlersMap) -> ExceptionHandlersMap:
    """The app's exception handlers, answering pages with pages. Authentication runs before
    any router's own handlers would, so this sits at the app."""

    def for_pages(api_handler: Any) -> Any:
        def handle(request: Req, exc: Exception) -> Response[Any]:
            return on_page_error(request, exc) if is_page(request) else api_handler(request, exc)

        return handle

    return {kind: for_pages(handler) for kind, handler in handlers.items()}
