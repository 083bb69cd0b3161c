"""Files that change while the daemon is asked: nothing the user did is lost,
and nothing but the file that was read is ever written.

A slow fake daemon holds the image list until the test has changed the file;
fix then re-checks the file right before its rename and refuses.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.fakes import FakeDaemon
from tests.fakes import knows
from tests.output import without_summary

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIGEST = 'sha256:' + 'a' * 64
IMAGES = {'example.com/team/app:1': DIGEST}
ORIGINAL = b'FROM example.com/team/app:1\n'
PINNED = f'FROM example.com/team/app:1@{DIGEST}\n'.encode()


def start_fix(fake: FakeDaemon, *paths: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        (sys.executable, '-m', 'digestpin_hooks', 'fix', '--docker-host',
         f'unix://{fake.path}', *map(str, paths)),
        env={**os.environ, 'PYTHONPATH': ROOT}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )


def wait_for_request(fake: FakeDaemon, path: str) -> None:
    deadline = time.monotonic() + 20
    while not any(path in request for request in fake.requests):
        assert time.monotonic() < deadline, fake.requests
        time.sleep(0.02)


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


def run_while_paused(tmp_path: Path, change: object, *paths: Path) -> tuple[int, str, str]:
    """Start fix, let ``change()`` run while the daemon holds its answer."""
    release = threading.Event()
    fake = FakeDaemon(knows(IMAGES, delay=release))
    try:
        process = start_fix(fake, *paths)
        wait_for_request(fake, '/images/json')
        change()  # type: ignore[operator]
        release.set()
        return finish(process)
    finally:
        release.set()
        fake.close()


def test_an_edit_made_meanwhile_is_kept(tmp_path: Path) -> None:
    path = tmp_path / 'Dockerfile'
    path.write_bytes(ORIGINAL)
    edited = ORIGINAL + b'RUN echo the user typed this\n'
    code, out, err = run_while_paused(tmp_path, lambda: path.write_bytes(edited), path)
    assert code == 2
    assert without_summary(err) == f'{path}: error: changed since it was read: not written\n'
    assert ': pinned ' not in out
    assert path.read_bytes() == edited
    assert sorted(p.name for p in tmp_path.iterdir()) == ['Dockerfile']


def test_a_file_replaced_meanwhile_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / 'Dockerfile'
    path.write_bytes(ORIGINAL)

    def replace() -> None:  # as an editor saves: a new file renamed over
        (tmp_path / 'new').write_bytes(ORIGINAL)
        os.replace(tmp_path / 'new', path)
    code, out, err = run_while_paused(tmp_path, replace, path)
    assert code == 2
    assert without_summary(err) == f'{path}: error: was replaced by another file since it was read: not written\n'
    assert path.read_bytes() == ORIGINAL


def test_a_link_swapped_meanwhile_does_not_write_its_new_target(tmp_path: Path) -> None:
    """The attacker points the link at another file with the very same
    bytes: only the identity check can tell."""
    (tmp_path / '.git').mkdir()
    (tmp_path / 'real.Dockerfile').write_bytes(ORIGINAL)
    victim = tmp_path / 'victim'
    victim.write_bytes(ORIGINAL)
    link = tmp_path / 'Dockerfile'
    link.symlink_to('real.Dockerfile')

    def swap() -> None:
        (tmp_path / 'swap').symlink_to('victim')
        os.replace(tmp_path / 'swap', link)
    code, _, err = run_while_paused(tmp_path, swap, link)
    assert code == 2
    assert without_summary(err) == f'{link}: error: was replaced by another file since it was read: not written\n'
    assert victim.read_bytes() == ORIGINAL
    assert (tmp_path / 'real.Dockerfile').read_bytes() == ORIGINAL
    assert os.readlink(link) == 'victim'


def test_two_runs_at_once_keep_the_first_writers_pins(tmp_path: Path) -> None:
    path = tmp_path / 'Dockerfile'
    path.write_bytes(ORIGINAL)
    other_digest = 'sha256:' + 'b' * 64
    fast = FakeDaemon(knows({'example.com/team/app:1': other_digest}))

    def other_run() -> None:
        code, out, _ = finish(start_fix(fast, path))
        assert code == 1 and ': pinned ' in out
    try:
        code, out, err = run_while_paused(tmp_path, other_run, path)
    finally:
        fast.close()
    assert code == 2, err
    # (the other run renamed its file over: what was opened is asked its
    # identity before its size or bytes)
    assert 'was replaced by another file since it was read' in err and ': pinned ' not in out
    assert path.read_bytes() == f'FROM example.com/team/app:1@{other_digest}\n'.encode()
