"""What a person does through a one-time link, without being signed in: take up an invitation
(`/invitations/{token}`: sign in with the account the address has, or set a name and a password
for a new one) and set a new password (`/password/forgot`, `/password/reset/{token}`).

A link that does not work (used, withdrawn, replaced by a newer one) and an expired one are
said as such, never as anything about the address. Asking for a new password answers the same
for every address and is limited like signing in (docs/adr/0029).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from domain.errors import DomainError, InvariantViolated, NotFound
from services.access import PUBLIC, Policy
from services.auth.jwt import CSRF_COOKIE
from services.auth.links import read_reset_token
from services.bootstrap import Container
from services.controlplane import OfferedByLink
from services.requests.provenance import correlation_id_of
from services.requests.rate_limits import Throttled
from services.requests.sign_in import authenticate, password_reset_attempt, signed_in
from services.usecases import people
from services.usecases.account import Language
from services.web.forms import Form, FormData, FormInvalid, decode, domain_message, values
from services.web.i18n import gettext as _
from services.web.rendering import NEW_CSRF_STATE, page

Req = Request[Any, Any, Any]


class AcceptForm(msgspec.Struct, frozen=True, kw_only=True):
    password: people.Password
    display_name: people.DisplayName | None = None
    language: Language | None = None


class ForgotForm(msgspec.Struct, frozen=True, kw_only=True):
    email: people.Email


class NewPasswordForm(msgspec.Struct, frozen=True, kw_only=True):
    password: people.Password


def _container(request: Req) -> Container:
    container: Container = request.app.state.container
    return container


def _with_csrf_cookie(request: Req, response: Template) -> Template:
    """A CSRF cookie for someone not signed in, so that the link's form is protected too."""
    if not request.cookies.get(CSRF_COOKIE):
        token = secrets.token_urlsafe(32)
        request.state[NEW_CSRF_STATE] = token
        secure = _container(request).settings.cookie_secure
        response.cookies.append(Cookie(key=CSRF_COOKIE, value=token, samesite="lax", secure=secure, path="/"))
    return response


def _dead_link(error: DomainError) -> Template:
    """A link that does not work, or has expired: said as such (404 and 410)."""
    status = 410 if isinstance(error, InvariantViolated) else 404
    return page("people/link_gone.html", status_code=status, message=domain_message(error))


def _accept_page(
    request: Req, token: str, offer: OfferedByLink, errors: dict[str, str], status: int = 200
) -> Template:
    return _with_csrf_cookie(
        request,
        page(
            "people/accept.html",
            status_code=status,
            token=token,
            offer=offer,
            errors=errors,
            languages=[("da", _("Danish")), ("en", _("English"))],
        ),
    )


@get("/invitations/{token:str}", exclude_from_auth=True)
async def invitation(request: Req, token: FromPath[str]) -> Template:
    """What the invitation offers, and how to take it up: sign in, or set a name and password."""
    try:
        offer = await people.open_invitation(_container(request), token)
    except (NotFound, InvariantViolated) as error:
        return _dead_link(error)
    return _accept_page(request, token, offer, {})


@post("/invitations/{token:str}", exclude_from_auth=True, status_code=303)
async def accept_invitation(request: Req, token: FromPath[str], data: Form) -> Response[Any]:
    """Take up the invitation, signed in (an account) or with a new account; then home."""
    container = _container(request)
    correlation_id = correlation_id_of(request.scope)
    try:
        offer = await people.open_invitation(container, token)
    except InvariantViolated as error:
        await people.refuse_expired_invitation(container, token, correlation_id)
        return _dead_link(error)
    except NotFound as error:
        return _dead_link(error)
    form = values(FormData(data))
    try:
        entry = decode(form, AcceptForm)
    except FormInvalid as invalid:
        return _accept_page(request, token, offer, invalid.errors, 400)
    if offer.has_account:
        try:
            user = await authenticate(request, container, offer.email, entry.password)
        except Throttled as throttled:
            message = _(
                "Too many sign-in attempts. Try again in %(seconds)s seconds.", seconds=throttled.seconds
            )
            return _accept_page(request, token, offer, {"password": message}, 429)
        if user is None:
            return _accept_page(request, token, offer, {"password": _("Wrong password.")}, 401)
    elif entry.display_name is None:
        return _accept_page(request, token, offer, {"display_name": _("Please fill this in.")}, 400)
    command = people.AcceptInvitationByLink(
        token=token, password=entry.password, display_name=entry.display_name, language=entry.language
    )
    provenance = people.link_provenance(offer, "AcceptInvitationByLink", correlation_id, container.clock())
    try:
        await people.accept_invitation_by_link(container, command, offer, provenance)
    except DomainError as error:
        return _accept_page(request, token, offer, {"": domain_message(error)}, 409)
    ttl = timedelta(minutes=container.settings.jwt_ttl_minutes)
    signed = request.app.state.jwt_auth.create_token(identifier=str(offer.invitee_id), token_expiration=ttl)
    response = Redirect(f"/t/{offer.tenant_id}", status_code=303)
    response.cookies.extend(signed_in(None, signed, ttl, secure=container.settings.cookie_secure).cookies)
    return response


@get("/password/forgot", exclude_from_auth=True)
async def forgot_page(request: Req) -> Template:
    """Ask for a link to set a new password."""
    return _with_csrf_cookie(request, page("people/forgot.html", errors={}, form={}, sent=False))


@post("/password/forgot", exclude_from_auth=True, status_code=200)
async def forgot(request: Req, data: Form) -> Template:
    """Sends the link when the address has an active account; says the same for every address."""
    form = values(FormData(data))
    try:
        entry = decode(form, ForgotForm)
    except FormInvalid as invalid:
        return page("people/forgot.html", status_code=400, errors=invalid.errors, form=form, sent=False)
    container = _container(request)
    try:
        await password_reset_attempt(request, container, entry.email)
    except Throttled as throttled:
        message = _("Too many requests. Try again in %(seconds)s seconds.", seconds=throttled.seconds)
        response = page(
            "people/forgot.html", status_code=429, errors={"email": message}, form=form, sent=False
        )
        response.headers["Retry-After"] = str(throttled.seconds)
        return response
    command = people.RequestPasswordReset(email=entry.email)
    await people.request_password_reset(container, command, correlation_id_of(request.scope))
    return page("people/forgot.html", errors={}, form={}, sent=True)


async def _reset_link_works(request: Req, token: str) -> DomainError | None:
    container = _container(request)
    link = read_reset_token(container.link_key, token)
    if link is None:
        return NotFound("reset_link_invalid")
    user = await container.offloop(container.control.find_user, link.user_id)
    if user is None:
        return NotFound("reset_link_invalid")
    try:
        user.check_reset_link(link.issue, container.clock())
    except DomainError as error:
        return error
    return None


@get("/password/reset/{token:str}", exclude_from_auth=True)
async def reset_page(request: Req, token: FromPath[str]) -> Template:
    """Set a new password through the link."""
    problem = await _reset_link_works(request, token)
    if problem is not None:
        return _dead_link(problem)
    return _with_csrf_cookie(request, page("people/reset.html", token=token, errors={}))


@post("/password/reset/{token:str}", exclude_from_auth=True, status_code=303)
async def reset(request: Req, token: FromPath[str], data: Form) -> Response[Any]:
    """Sets the new password (the link is then used up) and goes on to sign in."""
    form = values(FormData(data))
    try:
        entry = decode(form, NewPasswordForm)
    except FormInvalid as invalid:
        return page("people/reset.html", status_code=400, token=token, errors=invalid.errors)
    command = people.ResetPassword(token=token, password=entry.password)
    try:
        await people.reset_password(_container(request), command, correlation_id_of(request.scope))
    except (NotFound, InvariantViolated) as error:
        return _dead_link(error)
    return page("people/password_set.html")


PAGES: list[ControllerRouterHandler] = [invitation, accept_invitation, forgot_page, forgot, reset_page, reset]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", "/invitations/{token:str}"): PUBLIC,
    ("POST", "/invitations/{token:str}"): PUBLIC,
    ("GET", "/password/forgot"): PUBLIC,
    ("POST", "/password/forgot"): PUBLIC,
    ("GET", "/password/reset/{token:str}"): PUBLIC,
    ("POST", "/password/reset/{token:str}"): PUBLIC,
}
