"""The browsable API reference at /schema: RapiDoc, served by the app itself."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi.plugins import RapidocRenderPlugin


class ApiReference(RapidocRenderPlugin):
    """RapiDoc from our copy of the vendor file, with its page's style as a file. RapiDoc would
    fetch its fonts from Google's servers: the content security policy forbids that (nothing
    comes from elsewhere, docs/adr/0012), so it is told not to and uses the system's fonts."""

    def __init__(self) -> None:
        super().__init__(
            js_url="/static/vendor/rapidoc-min.js",
            favicon="<link rel='icon' type='image/svg+xml' href='/static/favicon.svg'>",
            style="<link rel='stylesheet' href='/static/css/reference.css'>",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        page = super().render(request, openapi_schema)
        return page.replace(b"<rapi-doc ", b'<rapi-doc load-fonts="false" ', 1)
