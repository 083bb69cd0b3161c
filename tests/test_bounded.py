"""Bounded reads of regular files."""
from __future__ import annotations

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
