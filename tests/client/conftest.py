"""Fixtures for the client tests: the scripted local HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.client.scripted_server import ScriptedServer, running_server


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    yield from running_server()
