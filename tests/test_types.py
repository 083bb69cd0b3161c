"""The package type-checks under mypy --strict (STYLE.md)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def test_record_fields_are_final_for_type_checkers(tmp_path: Path) -> None:
    """A NamedTuple refused a field assignment at run time; a Record's
    fields are ``Final``, so the type checker refuses it, and ``replace``
    keeps the record's type."""
    pytest.importorskip('mypy')
    snippet = os.path.join(tmp_path, 'uses_a_record.py')
    with open(snippet, 'w') as f:
        f.write(
            'from digestpin_hooks.model import Note\n'
            "note = Note('D', 3, 6, 'pinned')\n"
            'note.line = 4\n'
            'moved: Note = note.replace(line=4)\n'
            'path, line, column, message = note\n',
        )
    result = subprocess.run(
        (sys.executable, '-m', 'mypy', '--strict', '--no-error-summary', snippet),
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, 'MYPYPATH': ROOT},
    )
    errors = [line for line in result.stdout.splitlines() if ': error: ' in line]
    assert [e.split(': error: ')[1] for e in errors] == [
        'Cannot assign to final attribute "line"  [misc]',
        '"Note" object is not iterable  [misc]',
    ], result.stdout + result.stderr
