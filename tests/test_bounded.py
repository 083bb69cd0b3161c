"""Bounded reads of regular files."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from digestpin_hooks.read.bounded import read_regular
from digestpin_hooks.read.bounded import ReadError


def test_bounded_reads(tmp_path: Path) -> None:
    path = tmp_path / 'f'
    path.write_bytes(b'x' * 10)
    assert read_regular(str(path), 10).data == b'x' * 10
    with pytest.raises(ReadError, match='larger than the limit of 9 bytes'):
        read_regular(str(path), 9)
    with pytest.raises(IsADirectoryError):
        read_regular(str(tmp_path), 10)
    with pytest.raises(ReadError, match='cannot read: No such file'):
        read_regular(str(tmp_path / 'none'), 10)
    link = tmp_path / 'link'
    link.symlink_to(path)
    with pytest.raises(ReadError, match='is a symbolic link'):
        read_regular(str(link), 10, follow=False)
    assert read_regular(str(link), 10).data == b'x' * 10


def test_a_read_tells_a_symlink_by_its_own_open(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name that is no symlink is read without a stat of the name (the
    open that does not follow links tells it); a symlink is followed, and
    said to be one."""
    path = tmp_path / 'Dockerfile'
    path.write_bytes(b'FROM a\n')
    link = tmp_path / 'link'
    link.symlink_to(path)
    stats: list[str] = []
    real_lstat = os.lstat

    def counted(name: str, *args: object, **kwargs: object) -> os.stat_result:
        stats.append(os.fspath(name))
        return real_lstat(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, 'lstat', counted)
    read = read_regular(str(path), 100)
    assert (read.data, read.link, stats) == (b'FROM a\n', False, [])
    read = read_regular(str(link), 100)
    assert (read.data, read.link, stats) == (b'FROM a\n', True, [str(link)])


@pytest.mark.parametrize('target, error', [
    ('missing', 'cannot read: No such file or directory'),
    ('loop', 'cannot read: Too many levels of symbolic links'),
    ('fifo', 'not a regular file (a FIFO, socket or device)'),
])
def test_a_symlink_that_cannot_be_read_says_why_as_before(
        tmp_path: Path, target: str, error: str,
) -> None:
    """A dangling link, a loop of links, a link to a FIFO (never opened
    for blocking): the error of the followed name, with or without
    ``follow``'s refusal of the link itself."""
    if target == 'fifo':
        os.mkfifo(tmp_path / 'fifo')
    if target == 'loop':
        (tmp_path / 'loop').symlink_to(tmp_path / 'loop')
    link = tmp_path / 'link'
    link.symlink_to(tmp_path / target)
    with pytest.raises(ReadError) as raised:
        read_regular(str(link), 100)
    assert str(raised.value) == error
    with pytest.raises(ReadError) as raised:
        read_regular(str(link), 100, follow=False)
    assert str(raised.value) == 'is a symbolic link'


def test_a_symlink_to_a_folder_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / 'folder').mkdir()
    (tmp_path / 'link').symlink_to(tmp_path / 'folder')
    with pytest.raises(IsADirectoryError):
        read_regular(str(tmp_path / 'link'), 100)


def test_a_file_opened_again_is_asked_its_identity_before_a_byte_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``expect``: what was opened is not the file read before (another
    renamed over it, a FIFO swapped in): ChangedError, at once, and no byte
    read."""
    from digestpin_hooks.read.bounded import ChangedError
    path = tmp_path / 'f'
    path.write_bytes(b'x' * 100)
    identity = read_regular(str(path), 100).identity
    assert read_regular(str(path), 100, expect=identity.__eq__).data == b'x' * 100
    counted = [0]
    os_read = os.read

    def counting_read(fd: int, size: int) -> bytes:
        data = os_read(fd, size)
        counted[0] += len(data)
        return data

    monkeypatch.setattr(os, 'read', counting_read)
    (tmp_path / 'g').write_bytes(b'y' * 100)
    os.replace(tmp_path / 'g', path)
    with pytest.raises(ChangedError, match='^changed since it was read$'):
        read_regular(str(path), 100, expect=identity.__eq__)
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(ChangedError, match='^changed since it was read$'):
        read_regular(str(path), 100, expect=identity.__eq__)
    assert counted == [0]
