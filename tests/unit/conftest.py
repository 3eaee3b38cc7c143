"""Shared fixtures for the unit tests."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run every ``@pytest.mark.anyio`` test on both backends: the kernel is
    written against anyio and must not depend on asyncio."""
    return request.param
