"""The package type-checks under mypy --strict (STYLE.md)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_mypy_strict() -> None:
    """With the docker SDK's and PyYAML's stubs, and no missing import
    ignored: the SDK is checked, not taken as Any."""
    pytest.importorskip('mypy')
    pytest.importorskip('docker-stubs')
    result = subprocess.run(
        (
            sys.executable, '-m', 'mypy', '--strict', '--no-error-summary',
            'digestpin_hooks',
        ),
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
