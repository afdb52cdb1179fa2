"""The HTTP integration tests' fixture: the app on each backend, with the consultancy admin."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.settings import Settings
from tests.http_harness import Story, serving


@pytest.fixture
async def story(backend: Settings) -> AsyncIterator[Story]:
    async with serving(backend) as started:
        yield started
