"""Pages: participant."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from services.http.policy import Policy

PAGES: list[ControllerRouterHandler] = []
POLICY: dict[tuple[str, str], Policy] = {}
