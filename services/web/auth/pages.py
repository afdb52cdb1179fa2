"""Signing in and out on the pages, joining a unit table by code, and choosing a language."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from domain.roles import Role
from services.auth.join_codes import participant_principal
from services.auth.jwt import AUTH_COOKIE, CSRF_COOKIE
from services.auth.jwt import principal_of as account_principal
from services.auth.principal import Principal
from services.bootstrap import Container
from services.requests.rate_limits import Throttled
from services.requests.sign_in import authenticate, redeem_join_code, sign_out, signed_in
from services.text import name_rule, text_rule
from services.web.forms import Form, FormData, FormInvalid, decode, values
from services.web.i18n import LANGUAGE_COOKIE, language_of
from services.web.i18n import gettext as _
from services.web.rendering import NEW_CSRF_STATE, page, principal_of

Req = Request[Any, Any, Any]
YEAR = 365 * 24 * 3600


class SignIn(msgspec.Struct, frozen=True):
    email: Annotated[str, name_rule(min_length=3, max_length=320)]
    password: Annotated[str, text_rule(min_length=1, max_length=1024)]


class JoinIn(msgspec.Struct, frozen=True):
    code: Annotated[str, name_rule(min_length=4, max_length=32)]


def home_of(principal: Principal) -> str:
    """Where someone lands after signing in."""
    if principal.is_unit_scoped:
        tenant_id = next(iter(principal.memberships))
        return f"/t/{tenant_id}/e/{principal.engagement_id}/u/{principal.unit_id}"
    if principal.is_consultancy_admin or principal.platform_role is Role.CONSULTANT:
        return "/portfolio"
    if len(principal.memberships) == 1:
        tenant_id, role = next(iter(principal.memberships.items()))
        return f"/t/{tenant_id}/audit" if role is Role.AUDITOR else f"/t/{tenant_id}"
    return "/organisations"


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never an address elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _with_csrf_cookie(request: Req, response: Template) -> Template:
    """A CSRF cookie before signing in, so the sign-in form itself is protected."""
    if not request.cookies.get(CSRF_COOKIE):
        token = secrets.token_urlsafe(32)
        request.state[NEW_CSRF_STATE] = token
        secure = request.app.state.container.settings.cookie_secure
        response.cookies.append(Cookie(key=CSRF_COOKIE, value=token, samesite="lax", secure=secure, path="/"))
    return response


@get("/", exclude_from_auth=True, include_in_schema=False)
async def front(request: Req) -> Redirect:
    """The front door: the sign-in page, or home for someone signed in."""
    return Redirect("/login")


@get("/login", exclude_from_auth=True, include_in_schema=False)
async def login_page(request: Req, next: FromQuery[str | None] = None) -> Template:
    return _with_csrf_cookie(request, page("login.html", next=_safe_next(next), errors={}, form={}))


@post("/login", exclude_from_auth=True, include_in_schema=False, status_code=303)
async def login(request: Req, data: Form, container: NamedDependency[Container]) -> Response[Any]:
    form = values(FormData(data))
    target = _safe_next(form.pop("next", None))
    try:
        credentials = decode(form, SignIn)
    except FormInvalid as invalid:
        return page("login.html", status_code=400, next=target, errors=invalid.errors, form=form)
    try:
        user = await authenticate(request, container, credentials.email, credentials.password)
    except Throttled as throttled:
        errors = {
            "": _("Too many sign-in attempts. Try again in %(seconds)s seconds.", seconds=throttled.seconds)
        }
        return _throttled(
            page("login.html", status_code=429, next=target, errors=errors, form=form), throttled
        )
    if user is None:
        errors = {"": _("Wrong email or password.")}
        return page("login.html", status_code=401, next=target, errors=errors, form=form)
    ttl = timedelta(minutes=container.settings.jwt_ttl_minutes)
    token = request.app.state.jwt_auth.create_token(identifier=str(user.id), token_expiration=ttl)
    answer = signed_in(None, token, ttl, secure=container.settings.cookie_secure)
    return _redirect(target or home_of(account_principal(user)), answer.cookies)


@get("/join", exclude_from_auth=True, include_in_schema=False)
async def join_page(request: Req, code: FromQuery[str | None] = None) -> Template:
    """The page a unit table's QR code opens, with the code filled in."""
    return _with_csrf_cookie(request, page("join.html", errors={}, form={"code": code or ""}))


@post("/join", exclude_from_auth=True, include_in_schema=False, status_code=303)
async def join(request: Req, data: Form, container: NamedDependency[Container]) -> Response[Any]:
    form = values(FormData(data))
    try:
        entry = decode(form, JoinIn)
    except FormInvalid as invalid:
        return page("join.html", status_code=400, errors=invalid.errors, form=form)
    try:
        redeemed = await redeem_join_code(request, container, entry.code)
    except Throttled as throttled:
        message = _(
            "Too many wrong codes have been typed. Try again in %(seconds)s seconds, "
            "and check the code on your table's card.",
            seconds=throttled.seconds,
        )
        return _throttled(page("join.html", status_code=429, errors={"code": message}, form=form), throttled)
    if redeemed is None:
        errors = {"code": _("That code is not valid. Check it, or ask your facilitator.")}
        return page("join.html", status_code=400, errors=errors, form=form)
    code, token, ttl = redeemed
    answer = signed_in(None, token, ttl, secure=container.settings.cookie_secure)
    return _redirect(home_of(participant_principal(code)), answer.cookies)


@post("/logout", include_in_schema=False, status_code=303)
async def logout(request: Req, container: NamedDependency[Container]) -> Redirect:
    await sign_out(request, container)
    secure = container.settings.cookie_secure
    response = Redirect("/login", status_code=303)
    response.cookies.extend(
        [
            Cookie(
                key=AUTH_COOKIE, value="", max_age=0, httponly=True, samesite="lax", secure=secure, path="/"
            ),
            Cookie(key=CSRF_COOKIE, value="", max_age=0, samesite="lax", secure=secure, path="/"),
        ]
    )
    return response


@post("/language", exclude_from_auth=True, include_in_schema=False, status_code=303)
async def choose_language(request: Req, data: Form) -> Redirect:
    """Danish or English, kept in a cookie for this browser; back to the page it was chosen on."""
    form = FormData(data)
    language = language_of(str(form.get("language", "")))
    back = _safe_next(str(form.get("next", ""))) or "/"
    response = Redirect(back, status_code=303)
    response.cookies.append(
        Cookie(
            key=LANGUAGE_COOKIE,
            value=language,
            max_age=YEAR,
            samesite="lax",
            secure=request.app.state.container.settings.cookie_secure,
            path="/",
        )
    )
    return response


@get("/organisations", include_in_schema=False)
async def organisations(request: Req, container: NamedDependency[Container]) -> Template:
    """The client organisations the signed-in account may act in."""
    principal = principal_of(request)
    assert principal is not None  # noqa: S101 - the route needs a token
    tenants = await container.offloop(container.control.tenants)
    mine = [(t, principal.role_in(t.id)) for t in tenants if principal.can_access(t.id)]
    return page("organisations.html", tenants=mine)


def _throttled(response: Template, throttled: Throttled) -> Template:
    """The page says the wait; `Retry-After` says the same."""
    response.headers["Retry-After"] = str(throttled.seconds)
    return response


def _redirect(target: str, cookies: list[Cookie]) -> Redirect:
    response = Redirect(target, status_code=303)
    response.cookies.extend(cookies)
    return response


AUTH_PAGES = [front, login_page, login, join_page, join, logout, choose_language, organisations]
