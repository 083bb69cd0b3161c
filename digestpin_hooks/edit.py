"""Edits -> bytes -> files: splice exact spans, write atomically, show diffs."""
from __future__ import annotations

import os
import re
import stat
import tempfile

from digestpin_hooks.model import Record
from digestpin_hooks.read.bounded import Identity
from digestpin_hooks.read.bounded import read_regular
from digestpin_hooks.read.bounded import ReadError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final
    from typing import Iterable
    from typing import TextIO

    from digestpin_hooks.read.files import LoadedFile


class Edit(Record):
    """Replace ``text[start:end]`` with ``text``: one change to a file."""

    start: Final[int]  # offsets in the decoded text (see text.decode)
    end: Final[int]
    text: Final[str]

    def __init__(self, start: int, end: int, text: str) -> None:
        self.start = start
        self.end = end
        self.text = text


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Replace each span, last first, so that no offset moves under another."""
    result = text
    previous_start = len(text) + 1
    for edit in sorted(set(edits), key=lambda e: (e.start, e.end, e.text), reverse=True):
        if edit.end > previous_start:
            raise ValueError(f'overlapping edits at {edit.start}')
        result = result[:edit.start] + edit.text + result[edit.end:]
        previous_start = edit.start
    return result


class WriteRefused(OSError):
    """The file is not written: it changed, or writing would harm it."""


def _repository_root(folder: str) -> str:
    """The nearest folder at or above ``folder`` that holds ``.git``; the
    folder itself outside a repository (git is never run)."""
    current = folder
    while True:
        if os.path.lexists(os.path.join(current, '.git')):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return folder
        current = parent


def _target(path: str) -> str:
    """The file a write of ``path`` replaces: a symlink's target, when it
    lies in the link's own repository (or folder, outside one)."""
    if not os.path.islink(path):
        return path
    target = os.path.realpath(path)
    root = _repository_root(os.path.realpath(os.path.dirname(path) or '.'))
    if os.path.commonpath((root, target)) != root:
        raise WriteRefused(
            f'is a symbolic link to {target}, outside {root}: not written '
            f'through (pin the target itself)',
        )
    return target


def _check_unchanged(target: str, original: bytes, identity: Identity | None) -> os.stat_result:
    """Refuse when the file is no longer the one that was read."""
    try:
        current = read_regular(target, len(original))
    except (ReadError, IsADirectoryError):
        raise WriteRefused('changed since it was read: not written') from None
    if identity is not None and not identity.same_file(current.identity):
        raise WriteRefused(
            'was replaced by another file since it was read: not written',
        )
    if current.data != original:
        raise WriteRefused('changed since it was read: not written')
    return os.stat(target)


def write_atomically(
        path: str, data: bytes, *, original: bytes, identity: Identity | None,
) -> None:
    """Temporary file beside the target, fsync, re-check, rename.

    Never half a file; never over a file that changed since it was read
    (an edit the user made meanwhile, another run, a symlink swapped to
    point elsewhere): then WriteRefused and nothing is written.  Mode, owner
    and group are kept; a symlink stays a link.  A file with other hard
    links, or one nobody may write, is refused rather than split or forced.
    """
    target = _target(path)
    st = _check_unchanged(target, original, identity)
    if st.st_nlink > 1:
        raise WriteRefused(
            f'has {st.st_nlink} hard links: rewriting would split them; '
            f'not written',
        )
    mode = stat.S_IMODE(st.st_mode)
    if not mode & 0o222:
        raise WriteRefused('is read-only (no write permission bit): not written')
    folder = os.path.dirname(target) or '.'
    # a short name of our own: target names near 255 bytes must still work
    fd, temporary = tempfile.mkstemp(dir=folder, prefix='.digestpin-', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            try:
                os.fchown(f.fileno(), st.st_uid, st.st_gid)
            except PermissionError:
                pass  # not root: the file stays ours, as any editor leaves it
            os.fchmod(f.fileno(), mode)  # after chown, which clears setuid
            os.fsync(f.fileno())
        # the last look, right before the rename replaces it
        if _check_unchanged(target, original, identity).st_ino != st.st_ino:
            raise WriteRefused('was replaced since it was read: not written')
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


def write_error(error: OSError) -> str:
    """The one-line message for a file that could not be written."""
    if isinstance(error, WriteRefused):
        return str(error)
    return f'cannot write: {error.strerror or error}'


def _lines(text: str) -> list[str]:
    """Lines split at ``\\n`` only (not at ``\\f``, ``\\v`` or U+2028, as
    str.splitlines would), each with its ending."""
    return re.findall(r'[^\n]*\n|[^\n]+', text)


def unified_diff(path: str, before: str, after: str) -> str:
    """``diff -u`` of two texts, with git's marker for a last line that has
    no newline."""
    import difflib
    out = []
    for line in difflib.unified_diff(
        _lines(before), _lines(after), fromfile=f'a/{path}', tofile=f'b/{path}',
    ):
        out.append(line)
        if not line.endswith('\n'):
            out.append('\n\\ No newline at end of file\n')
    return ''.join(out)


def rewrite_file(
        path: str,
        original: bytes,
        new: bytes,
        *,
        dry_run: bool,
        old_text: str,
        new_text: str,
        stdout: TextIO,
        identity: Identity | None = None,
) -> bool:
    """Write (or with ``dry_run`` show) a file whose bytes changed.

    Returns whether they changed; OSError from writing propagates
    (WriteRefused when the file changed since it was read).
    """
    if new == original:
        return False
    if dry_run:
        from digestpin_hooks.text import printable_lines
        stdout.write(printable_lines(unified_diff(path, old_text, new_text)))
    else:
        write_atomically(path, new, original=original, identity=identity)
    return True


def rewrite_loaded(
        loaded: LoadedFile, text: str, *, dry_run: bool, stdout: TextIO,
) -> bool:
    """rewrite_file for a file as the read step gave it (its bytes, text,
    BOM and identity), now holding ``text``."""
    from digestpin_hooks.text import encode
    return rewrite_file(
        loaded.path, loaded.data, encode(text, loaded.doc.bom),
        dry_run=dry_run, old_text=loaded.doc.text, new_text=text,
        stdout=stdout, identity=loaded.identity,
    )
