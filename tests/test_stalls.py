"""tests/stalls.py: a stalled tool is asked again, and where it waited is
said; a tool that never answers still fails the test."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.stalls import run_unstalled


def test_a_stalled_run_is_asked_again_and_its_output_is_the_answering_run_only(tmp_path: Path) -> None:
    marker = tmp_path / 'stalled-once'
    script = (
        'import os, sys, time\n'
        "print('partial', flush=True)\n"
        f'if not os.path.exists({str(marker)!r}):\n'
        f'    open({str(marker)!r}, "w").close()\n'
        '    time.sleep(30)\n'
        "print('answer')\n"
    )
    with open(tmp_path / 'out', 'w+') as out, pytest.warns(UserWarning, match=r'gave no answer in 1 s, then did: \[\['):
        answer = run_unstalled([sys.executable, '-c', script], seconds=1, stdout=out)
        out.seek(0)
        assert out.read() == 'partial\nanswer\n'
    assert answer.returncode == 0


def test_a_run_that_never_answers_fails_with_where_it_waited() -> None:
    with pytest.raises(AssertionError, match=r'gave no answer in 0\.5 s, 2 times: \[\[.+\], \[.+\]\]'):
        run_unstalled([sys.executable, '-c', 'import time; time.sleep(30)'], seconds=0.5, attempts=2)
