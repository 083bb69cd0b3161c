"""Span splicing, the diff of a dry run, and a write refused when the file is
no longer the one read."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from digestpin_hooks.edit import apply_edits
from digestpin_hooks.edit import Edit
from digestpin_hooks.edit import rewrite_file
from digestpin_hooks.edit import unified_diff
from digestpin_hooks.edit import WriteRefused


def test_splicing_spans() -> None:
    assert apply_edits('FROM a:1\nFROM b:2\n', [Edit(5, 8, 'a:1@d'), Edit(14, 17, 'b:2@e')]) == (
        'FROM a:1@d\nFROM b:2@e\n'
    )
    assert apply_edits('abc', [Edit(1, 2, 'X'), Edit(1, 2, 'X')]) == 'aXc'
    with pytest.raises(ValueError, match='overlapping edits at 0'):
        apply_edits('abcdef', [Edit(0, 3, 'x'), Edit(2, 4, 'y')])


def test_a_diff_without_a_final_newline_and_on_a_dry_run(tmp_path: Path) -> None:
    assert unified_diff('D', 'FROM a:1', 'FROM a:2') == (
        '--- a/D\n+++ b/D\n@@ -1 +1 @@\n-FROM a:1\n\\ No newline at end of file\n'
        '+FROM a:2\n\\ No newline at end of file\n'
    )
    assert unified_diff('D', 'a\fb\n', 'a\fc\n') == (
        '--- a/D\n+++ b/D\n@@ -1 +1 @@\n-a\fb\n+a\fc\n'
    )
    path = tmp_path / 'Dockerfile'
    path.write_bytes(b'FROM a:1\n')
    import io
    out = io.StringIO()
    assert rewrite_file(
        str(path), b'FROM a:1\n', b'FROM a:2\n', dry_run=True,
        old_text='FROM a:1\n', new_text='FROM a:2\n', stdout=out,
    )
    assert path.read_bytes() == b'FROM a:1\n'
    assert out.getvalue().endswith('-FROM a:1\n+FROM a:2\n')
    assert not rewrite_file(
        str(path), b'FROM a:1\n', b'FROM a:1\n', dry_run=False,
        old_text='', new_text='', stdout=out,
    )


def test_a_file_gone_since_it_was_read_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / 'Dockerfile'
    path.write_bytes(b'FROM a:1\n')
    os.unlink(path)
    path.mkdir()
    with pytest.raises(WriteRefused, match='changed since it was read'):
        rewrite_file(
            str(path), b'FROM a:1\n', b'FROM a:2\n', dry_run=False,
            old_text='', new_text='', stdout=None,  # type: ignore[arg-type]
        )
