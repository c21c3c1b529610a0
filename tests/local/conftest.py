"""A running LocalServer (port 0, one per xdist worker) with the test stack built against it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from local_stack import Stack, build_stack

from cogapi.local.server import LocalServer


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    with LocalServer(port=0) as server:
        yield build_stack(server, server.endpoint)
