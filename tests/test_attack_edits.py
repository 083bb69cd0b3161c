"""The write paths attacked with hostile files: a run never writes a digest
into a reference it did not resolve, never changes another byte, never
crashes, and says "pinned" only for what is on disk.  Each case states the
exact outcome."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from digestpin_hooks.fix import main as fix_main
from tests.fakes import FakeDaemon
from tests.fakes import knows

A = 'sha256:' + 'a' * 64
B = 'sha256:' + 'b' * 64
IMAGES = {'example.com/a:1': A, 'example.com/b:1': B}


def fix(*args: str) -> int:
    daemon = FakeDaemon(knows(IMAGES))
    try:
        return fix_main(['--docker-host', f'unix://{daemon.path}', *args])
    finally:
        daemon.close()


def test_a_file_named_twice_is_pinned_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """``. Dockerfile``, ``./Dockerfile`` and a symlink to it name one file:
    once read twice, the second write was refused and the run said both
    "pinned" and "not pinned" for one reference, with exit status 2."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'Dockerfile').write_bytes(b'FROM example.com/a:1\n')
    os.symlink('Dockerfile', tmp_path / 'link.Dockerfile')
    assert fix('.', 'Dockerfile', './Dockerfile', 'link.Dockerfile') == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f'Dockerfile:1:6: pinned example.com/a:1 -> example.com/a:1@{A}',
    ]
    assert err.splitlines() == ['summary: 1 pinned']
    assert (tmp_path / 'Dockerfile').read_bytes() == f'FROM example.com/a:1@{A}\n'.encode()
