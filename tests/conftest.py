from __future__ import annotations

from typing import Iterator

import pytest

from tests.fakes import FakeDaemon
from tests.stack import Stack
from tests.stack import start_stack


@pytest.fixture(scope='session')
def stack() -> Iterator[Stack]:
    """A real dockerd and registry for the whole session (see stack.py)."""
    yield from start_stack()


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[FakeDaemon]:
    """A fake Engine API on a unix socket, with the rules given as param."""
    daemon = FakeDaemon(request.param)
    yield daemon
    daemon.close()
