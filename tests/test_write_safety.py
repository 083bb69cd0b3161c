"""What a write keeps and what it refuses: owner, mode, links, read-only and
immutable files, a full disk, long names, SIGTERM in the middle.

A pin is reported only once it is on disk: when the write fails the
reference stays a finding and the JSON ``pins`` list stays empty.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from digestpin_hooks.fix import main as fix_main
from tests.fakes import FakeDaemon
from tests.fakes import knows
from tests.output import without_summary
from tests.stack import unavailable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIGEST = 'sha256:' + 'c' * 64
ORIGINAL = b'FROM example.com/team/app:1\r\nRUN true'
PINNED = ORIGINAL.replace(b'app:1', f'app:1@{DIGEST}'.encode())


@pytest.fixture
def daemon() -> Iterator[FakeDaemon]:
    fake = FakeDaemon(knows({'example.com/team/app:1': DIGEST}))
    yield fake
    fake.close()


def fix(
        daemon: FakeDaemon, *args: str, capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    code = fix_main(['--docker-host', f'unix://{daemon.path}', *args])
    out, err = capsys.readouterr()
    return code, out, err


def needs_root() -> None:
    if os.geteuid() != 0:
        unavailable('this write-safety test needs root (chown, chattr, mount)')


def assert_not_pinned(path: Path, code: int, out: str, err: str, reason: str) -> None:
    assert code == 2
    assert without_summary(err) == f'{path}: error: {reason}\n'
    assert ': pinned ' not in out
    assert f"{path}:1:6: DP001 'example.com/team/app:1' is not pinned" in out


def test_owner_group_and_setuid_mode_are_kept(
        daemon: FakeDaemon, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    needs_root()
    path = tmp_path / 'Dockerfile'
    path.write_bytes(ORIGINAL)
    os.chown(path, 1234, 5678)
    os.chmod(path, 0o4754)
    code, out, _ = fix(daemon, str(path), capsys=capsys)
    assert code == 1 and ': pinned ' in out
    assert path.read_bytes() == PINNED
    st = os.stat(path)
    assert (st.st_uid, st.st_gid) == (1234, 5678)
    assert stat.S_IMODE(st.st_mode) == 0o4754


def test_a_hard_link_is_not_split(
        daemon: FakeDaemon, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / 'Dockerfile'
    path.write_bytes(ORIGINAL)
    os.link(path, tmp_path / 'other')
    code, out, err = fix(daemon, str(path), capsys=capsys)
    assert_not_pinned(path, code, out, err, 'has 2 hard links: rewriting would split them; not written')
    assert os.stat(path).st_ino == os.stat(tmp_path / 'other').st_ino
    assert path.read_bytes() == ORIGINAL


def test_a_read_only_file_is_not_rewritten(
        daemon: FakeDaemon, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / 'Dockerfile'
    path.write_bytes(ORIGINAL)
    os.chmod(path, 0o444)
    code, out, err = fix(daemon, '--format', 'json', str(path), capsys=capsys)
    assert code == 2
    document = json.loads(out)
    assert document['pins'] == []
    assert [f['code'] for f in document['findings']] == ['DP001']
    assert document['errors'] == [{
        'path': str(path), 'message': 'is read-only (no write permission bit): not written',
    }]
    assert path.read_bytes() == ORIGINAL


def test_an_immutable_file_is_reported_unpinned(
        daemon: FakeDaemon, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    needs_root()
    path = tmp_path / 'Dockerfile'
    path.write_bytes(ORIGINAL)
    if subprocess.run(('chattr', '+i', str(tmp_path))).returncode != 0:
        unavailable('chattr +i does not work on this file system')
    try:
        code, out, err = fix(daemon, str(path), capsys=capsys)
    finally:
        subprocess.run(('chattr', '-i', str(tmp_path)), check=True)
    assert_not_pinned(path, code, out, err, 'cannot write: Operation not permitted')
    assert path.read_bytes() == ORIGINAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ['Dockerfile']


@pytest.fixture
def tiny_disk() -> Iterator[Path]:
    """A 64 KiB tmpfs, really full when filled."""
    needs_root()
    folder = Path(tempfile.mkdtemp(prefix='dpdisk', dir='/tmp'))
    result = subprocess.run(('mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', str(folder)))
    if result.returncode != 0:
        unavailable('cannot mount a tmpfs')
    try:
        yield folder
    finally:
        subprocess.run(('umount', str(folder)), check=True)
        folder.rmdir()


def test_a_full_disk_leaves_the_file_and_no_pin(
        daemon: FakeDaemon, tiny_disk: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tiny_disk / 'Dockerfile'
    path.write_bytes(ORIGINAL)
    with open(tiny_disk / 'filler', 'wb', buffering=0) as f:
        try:
            while True:
                f.write(b'\0' * 512)
        except OSError:
            pass
    code, out, err = fix(daemon, str(path), capsys=capsys)
    assert_not_pinned(path, code, out, err, 'cannot write: No space left on device')
    assert path.read_bytes() == ORIGINAL
    assert sorted(p.name for p in tiny_disk.iterdir()) == ['Dockerfile', 'filler']


def test_a_name_of_250_characters_is_fixed(
        daemon: FakeDaemon, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / ('Dockerfile.' + 'x' * 239)
    assert len(path.name) == 250
    path.write_bytes(ORIGINAL)
    code, out, _ = fix(daemon, str(path), capsys=capsys)
    assert code == 1 and ': pinned ' in out
    assert path.read_bytes() == PINNED


def test_a_link_within_the_repository_is_written_through(
        daemon: FakeDaemon, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / '.git').mkdir()
    (tmp_path / 'docker').mkdir()
    (tmp_path / 'docker' / 'app.Dockerfile').write_bytes(ORIGINAL)
    link = tmp_path / 'Dockerfile'
    link.symlink_to('docker/app.Dockerfile')
    code, out, _ = fix(daemon, str(link), capsys=capsys)
    assert code == 1 and ': pinned ' in out
    assert os.readlink(link) == 'docker/app.Dockerfile'
    assert (tmp_path / 'docker' / 'app.Dockerfile').read_bytes() == PINNED


def test_a_link_out_of_the_repository_is_not_written_through(
        daemon: FakeDaemon, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    outside = tmp_path / 'outside.Dockerfile'
    outside.write_bytes(ORIGINAL)
    repository = tmp_path / 'repository'
    (repository / '.git').mkdir(parents=True)
    link = repository / 'Dockerfile'
    link.symlink_to(outside)
    code, out, err = fix(daemon, str(link), capsys=capsys)
    assert code == 2
    assert without_summary(err) == (
        f'{link}: error: is a symbolic link to {outside}, outside {repository}: '
        f'not written through (pin the target itself)\n'
    )
    assert outside.read_bytes() == ORIGINAL


def fix_signalled_while_writing(path: Path, patch: str) -> subprocess.CompletedProcess[str]:
    """fix of ``path`` in a new process, with a daemon that knows every
    digest (DIGEST) and ``patch`` run first (it sends the signal from
    inside the write)."""
    code = f'''
import os, signal
from digestpin_hooks import edit, fix
from digestpin_hooks.resolve.answers import Found
{patch}
class Knows:
    def digests(self, keys):
        return {{k: Found({DIGEST!r}) for k in keys}}
fix.open_source = lambda *a, **k: Knows()
raise SystemExit(fix.main([{str(path)!r}]))
'''
    return subprocess.run(
        (sys.executable, '-c', code), capture_output=True, text=True,
        env={**os.environ, 'PYTHONPATH': ROOT},
    )


def test_sigterm_during_the_write_removes_the_temporary_file(tmp_path: Path) -> None:
    """SIGTERM (pre-commit's and CI's cancel) unwinds like ^C: exit 143,
    the original whole, no ``.digestpin-*.tmp`` left behind."""
    path = tmp_path / 'Dockerfile'
    path.write_bytes(ORIGINAL)
    result = fix_signalled_while_writing(path, """
real_fsync = os.fsync
def fsync_then_terminated(fd):
    real_fsync(fd)
    os.kill(os.getpid(), signal.SIGTERM)
edit.os.fsync = fsync_then_terminated
""")
    assert result.returncode == 143, result.stderr
    assert result.stderr == 'digestpin-fix: terminated\n'
    assert path.read_bytes() == ORIGINAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ['Dockerfile']


@pytest.mark.parametrize(('number', 'status', 'said'), [
    ('SIGTERM', 143, 'digestpin-fix: terminated'),
    ('SIGINT', 130, 'digestpin-fix: interrupted'),
])
def test_a_signal_as_the_temporary_file_is_made_leaves_none(
        tmp_path: Path, number: str, status: int, said: str,
) -> None:
    """SIGTERM or ^C the moment the temporary file exists, before its name
    is known to the write (it arrived inside tempfile.mkstemp, whose name
    came back only after the file was made): the temporary file was left
    behind beside the original."""
    path = tmp_path / 'Dockerfile'
    path.write_bytes(ORIGINAL)
    result = fix_signalled_while_writing(path, f"""
real_open = os.open
def open_then_signal(name, *args, **kwargs):
    fd = real_open(name, *args, **kwargs)
    if os.path.basename(name).startswith('.digestpin-'):
        os.kill(os.getpid(), signal.{number})
    return fd
os.open = open_then_signal
""")
    assert (result.returncode, result.stderr) == (status, f'{said}\n')
    assert path.read_bytes() == ORIGINAL
    assert sorted(p.name for p in tmp_path.iterdir()) == ['Dockerfile']


def test_chattr_and_mount_are_here() -> None:
    """The tests above need these tools; under CI their absence fails."""
    for tool in ('chattr', 'mount', 'umount'):
        if shutil.which(tool) is None:
            unavailable(f'{tool} is not installed')
