"""Routes for organisations, engagements and every step of the method."""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

ENGAGEMENT_ROUTES: list[ControllerRouterHandler] = []
