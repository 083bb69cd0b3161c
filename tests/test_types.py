"""The package type-checks under mypy --strict (STYLE.md)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_mypy_strict() -> None:
    pytest.importorskip('mypy')
    result = subprocess.run(
        (
            sys.executable, '-m', 'mypy', '--strict', '--ignore-missing-imports',
            '--no-error-summary', 'digestpin_hooks',
        ),
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
