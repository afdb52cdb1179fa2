"""What every response tells the browser about itself: the content security policy, no framing,
no MIME sniffing, no referrer to other sites, and HTTPS only when the app is served over HTTPS.

Set once, for every response (pages, the API, assets, errors, refusals by middleware), by a
`before_send` hook. The pages carry no inline script or style at all (docs/adr/0018), so the
policy allows scripts and styles from the app itself only; a script injected into a page
does not run, and no other site can frame a decision form to trick a click.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar.types import Message, Scope

from services.settings import Settings

PAGE_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# The API reference (RapiDoc, under /schema) draws itself with style attributes in its shadow
# DOM, which `style-src 'self'` blocks. Styles only, and only there: its script is still the
# app's own file, and the reference has no forms of the product and no tenant's data.
REFERENCE_POLICY = PAGE_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'").replace(
    "img-src 'self'", "img-src 'self' data:"
)
REFERENCE_PATH = "/schema"
# A year, the usual minimum for browsers' preload lists; subdomains are the operator's to decide.
HSTS = "max-age=31536000"

_ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    # Join links and engagement addresses say who a table is: never sent to another site.
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
)


def policy_for(path: str) -> str:
    """The content security policy of the response to `path`."""
    if path == REFERENCE_PATH or path.startswith(f"{REFERENCE_PATH}/"):
        return REFERENCE_POLICY
    return PAGE_POLICY


def security_headers(settings: Settings) -> Callable[[Message, Scope], Awaitable[None]]:
    """The `before_send` hook that adds the headers to every response; a header the response
    set itself is kept."""
    extra = ((b"strict-transport-security", HSTS.encode()),) if settings.served_over_https else ()

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = list(message.get("headers", ()))
        present = {name.lower() for name, _ in headers}
        policy = (b"content-security-policy", policy_for(scope.get("path", "")).encode())
        for name, value in (policy, *_ALWAYS, *extra):
            if name not in present:
                headers.append((name, value))
        message["headers"] = headers

    return add_security_headers
