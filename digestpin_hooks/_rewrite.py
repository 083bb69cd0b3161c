"""Edits -> bytes -> files: splice exact spans, write atomically, show diffs."""
from __future__ import annotations

import os
import stat
import tempfile

from digestpin_hooks._records import NamedTuple
from digestpin_hooks._records import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Iterable
    from typing import TextIO


class Edit(NamedTuple):
    start: int  # offsets in the decoded text (see _dockerfile.decode)
    end: int
    text: str


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Replace each span, last first, so that no offset moves under another."""
    result = text
    previous_start = len(text) + 1
    for edit in sorted(set(edits), reverse=True):
        if edit.end > previous_start:
            raise ValueError(f'overlapping edits at {edit.start}')
        result = result[:edit.start] + edit.text + result[edit.end:]
        previous_start = edit.start
    return result


def write_atomically(path: str, data: bytes) -> None:
    """Temporary file beside the target, fsync, rename: never half a file.

    The file's permission bits are kept; a symlink is followed, so the link
    stays a link.
    """
    target = os.path.realpath(path)
    mode = stat.S_IMODE(os.stat(target).st_mode)
    folder = os.path.dirname(target)
    fd, temporary = tempfile.mkstemp(
        dir=folder, prefix=f'.{os.path.basename(target)}.', suffix='.digestpin',
    )
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        directory = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(directory)
    except OSError:
        pass
    finally:
        os.close(directory)


def unified_diff(path: str, before: str, after: str) -> str:
    import difflib
    return ''.join(difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True),
        fromfile=f'a/{path}', tofile=f'b/{path}',
    ))


def rewrite_file(
        path: str,
        original: bytes,
        new: bytes,
        *,
        dry_run: bool,
        old_text: str,
        new_text: str,
        stdout: TextIO,
) -> bool:
    """Write (or with ``dry_run`` show) a file whose bytes changed.

    Returns whether they changed; OSError from writing propagates.
    """
    if new == original:
        return False
    if dry_run:
        from digestpin_hooks._text import printable_lines
        stdout.write(printable_lines(unified_diff(path, old_text, new_text)))
    else:
        write_atomically(path, new)
    return True
