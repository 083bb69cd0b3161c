"""Session fixtures, the ``docker`` marker, and no skip under CI."""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that use the real daemon and registry are marked ``docker``:
    ``pytest -m 'not docker'`` runs the rest in a minute."""
    for item in items:
        if 'stack' in getattr(item, 'fixturenames', ()):
            item.add_marker(pytest.mark.docker)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    """Under CI (``CI`` set) a skipped test is a failed one: a missing tool,
    corpus or module must not pass unnoticed."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if os.environ.get('CI') and report.skipped and not hasattr(report, 'wasxfail'):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = 'failed'
        report.longrepr = f'skipped under CI, which must run every test: {reason}'
