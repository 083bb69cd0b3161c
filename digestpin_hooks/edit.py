"""Edits -> bytes -> files: splice exact spans, write atomically, show diffs."""
from __future__ import annotations

import errno
import os
import re
import stat

from digestpin_hooks.model import Record
from digestpin_hooks.read.bounded import ChangedError
from digestpin_hooks.read.bounded import Identity
from digestpin_hooks.read.bounded import read_regular
from digestpin_hooks.read.bounded import ReadError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final
    from typing import Iterable
    from typing import Sequence
    from typing import TextIO

    from digestpin_hooks.check.findings import Shared
    from digestpin_hooks.check.findings import TooLong
    from digestpin_hooks.model import Document
    from digestpin_hooks.model import ImageRef
    from digestpin_hooks.read.files import LoadedFile


class Edit(Record):
    """Replace ``text[start:end]`` with ``text``: one change to a file."""

    start: Final[int]  # offsets in the decoded text (see text.decode)
    end: Final[int]
    text: Final[str]


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Replace each span in one pass over the text: the pieces between the
    edits and the edits' texts, joined once (splicing edit by edit copied
    the whole text for each, quadratic in a file of many references)."""
    pieces = []
    position = previous_start = 0
    for edit in sorted(set(edits), key=lambda e: (e.start, e.end, e.text)):
        if edit.start < position:
            raise ValueError(f'overlapping edits at {previous_start}')
        pieces.append(text[position:edit.start])
        pieces.append(edit.text)
        position, previous_start = edit.end, edit.start
    pieces.append(text[position:])
    return ''.join(pieces)


def _overlap(edit: tuple[int, int], read: tuple[int, int]) -> bool:
    """Whether writing ``edit`` changes text at ``read``: spans that share a
    character, an insertion point strictly inside, or the same point."""
    (a, b), (x, y) = edit, read
    if a == b or x == y:
        return (a, b) == (x, y) or x < a < y or a < x < b
    return a < y and x < b


def shared_edits(
        refs: Sequence[ImageRef], planned: dict[int, Edit],
) -> dict[int, list[int]]:
    """The planned edits (by the index of their reference in ``refs``) that
    would change what another reference reads without giving it the very
    same edit, each with those other references' indices.

    One sweep over spans sorted by start: linear in the references and
    edits, plus the pairs that really overlap.  The references that read
    one tuple of spans (the jobs reading one chain of variables share it)
    are one reader of each of its spans: each span is swept once, not once
    per reference.
    """
    import heapq
    # who reads each span: one reference (where its own pin is written, and
    # what it reads while it is not pinned), or every reference that reads
    # one tuple of spans (ImageRef.reads, by its id: the tuple kept)
    readers: list[list[int]] = []
    spans: list[tuple[tuple[int, int], int]] = []
    shared: dict[int, tuple[tuple[tuple[int, int], ...], list[int]]] = {}
    for index, ref in enumerate(refs):
        shared.setdefault(id(ref.reads), (ref.reads, []))[1].append(index)
        own = [ref.span if ref.edit_at is None else ref.edit_at]
        if index not in planned:
            own.extend(ref.reads_unpinned)
        spans.extend((span, len(readers)) for span in own)
        readers.append([index])
    for read, indices in shared.values():
        spans.extend((span, len(readers)) for span in read)
        readers.append(indices)
    spans.sort()
    found: dict[int, list[int]] = {}
    active: list[tuple[int, int, int]] = []  # (end, start, who), by end
    position = 0
    for index, edit in sorted(planned.items(), key=lambda pair: (pair[1].start, pair[1].end)):
        while position < len(spans) and spans[position][0][0] <= edit.end:
            (start, end), who = spans[position]
            heapq.heappush(active, (end, start, who))
            position += 1
        while active and active[0][0] < edit.start:
            heapq.heappop(active)
        others = {
            reader for end, start, who in active
            if _overlap((edit.start, edit.end), (start, end))
            for reader in readers[who]
            if reader != index and planned.get(reader) != edit
        }
        if others:
            found[index] = sorted(others)
    return found


def read_back(loaded: LoadedFile, text: str, pins: dict[int, str]) -> str:
    """'' when ``text`` reads, with the reader that read ``loaded``, as
    ``loaded`` with exactly ``pins`` (reference index -> digest) applied:
    each pinned reference is its name and tag at that digest, every other
    reference reads as before.  Else what differs, in one line.

    This is the check that a digest never lands where it was not meant,
    made on every write rather than trusted to the edits."""
    from digestpin_hooks.read.files import parse_data
    from digestpin_hooks.read.files import UnreadableFile
    from digestpin_hooks.reference import InvalidReference
    from digestpin_hooks.reference import parse_reference
    from digestpin_hooks.text import encode
    try:
        again = parse_data(
            loaded.path, encode(text, loaded.doc.bom), loaded.kind,
            services=loaded.services, pipeline=loaded.pipeline,
            variables=loaded.variables, replaced=loaded.replaced,
            unbuilt=loaded.unbuilt, renamed=loaded.renamed,
        )
    except UnreadableFile as e:
        return f'the pinned text no longer reads ({e})'
    if len(again.refs) != len(loaded.refs):
        return (
            f'the pinned text has {len(again.refs)} image references, not '
            f'{len(loaded.refs)}'
        )
    for index, (before, after) in enumerate(zip(loaded.refs, again.refs)):
        digest = pins.get(index)
        line, _ = again.doc.position(after.span[0])
        if digest is None:
            if (after.source, after.image, after.written, after.unresolved) != (
                before.source, before.image, before.written, before.unresolved,
            ):
                return f'line {line}: {before.image!r} would read {after.image!r}'
            continue
        try:
            old, new = parse_reference(before.image), parse_reference(after.image)
        except InvalidReference:
            return f'line {line}: {before.image!r} would read {after.image!r}'
        if (
            after.source != before.source or new.name != old.name
            or new.digest != digest or new.tag not in (old.tag, '')
        ):
            return (
                f'line {line}: {before.image!r} would read {after.image!r}, '
                f'not pinned to {digest}'
            )
    return ''


class ReadBackError(ValueError):
    """The edited text does not read back as intended: nothing is written;
    the message is one line."""


def pinned_text(
        loaded: LoadedFile, planned: dict[int, tuple[Edit, str]],
) -> tuple[str, dict[int, Shared | TooLong]]:
    """``loaded``'s text with the planned pins (reference index -> its edit
    and digest) made, but for those whose text other references read too,
    and those that would make a Dockerfile line longer than BuildKit
    reads: (the text, why each of those is left).

    Raises ReadBackError when the text does not read back as exactly those
    pins: a file is then not written at all.
    """
    if not planned:  # nothing to pin: the text as it is
        return loaded.doc.text, {}
    from digestpin_hooks.check.findings import Shared
    doc = loaded.doc
    shared = shared_edits(loaded.refs, {i: edit for i, (edit, _) in planned.items()})
    kept = {i: pin for i, pin in planned.items() if i not in shared}
    reasons: dict[int, Shared | TooLong] = {
        index: Shared(
            doc.position(planned[index][0].start)[0],
            tuple(sorted({doc.position(loaded.refs[j].span[0])[0] for j in others})),
        )
        for index, others in shared.items()
    }
    if loaded.kind == 'dockerfile':
        too_long = _past_line_limit(doc, kept)
        reasons.update(too_long)
        kept = {i: pin for i, pin in kept.items() if i not in too_long}
    text = apply_edits(doc.text, [edit for edit, _ in kept.values()])
    if kept:
        problem = read_back(loaded, text, {i: digest for i, (_, digest) in kept.items()})
        if problem:
            raise ReadBackError(problem)
    return text, reasons


def _past_line_limit(doc: Document, pins: dict[int, tuple[Edit, str]]) -> dict[int, TooLong]:
    """The pins that would make their Dockerfile line longer than the bytes
    BuildKit reads of one line (it refuses the file): every pin of such a
    line.  A pin's text has no line break, so the line is its own."""
    from digestpin_hooks.check.findings import TooLong
    from digestpin_hooks.read.dockerfile.parser import line_bytes
    from digestpin_hooks.read.dockerfile.parser import MAX_LINE_BYTES
    text = doc.text
    by_line: dict[int, list[int]] = {}
    for index, (edit, _) in pins.items():
        by_line.setdefault(doc.position(edit.start)[0], []).append(index)
    too_long: dict[int, TooLong] = {}
    for line, indices in by_line.items():
        edits = sorted((pins[i][0] for i in indices), key=lambda e: e.start)
        start = text.rfind('\n', 0, edits[0].start) + 1
        end = text.find('\n', edits[-1].end)
        end = len(text) if end < 0 else end
        shifted = [Edit(e.start - start, e.end - start, e.text) for e in edits]
        pinned = apply_edits(text[start:end], shifted)
        if line_bytes(pinned, start == 0, doc.bom) > MAX_LINE_BYTES:
            too_long.update((i, TooLong(line, MAX_LINE_BYTES)) for i in indices)
    return too_long


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


def _check_unchanged(target: str, original: bytes, identity: Identity | None) -> Identity:
    """Refuse when the file is no longer the one that was read; else what
    it is now (its mode and owner are kept), told by the descriptor read.

    Its device and inode are asked before a byte is read, so that a file
    swapped in is never read; ``target`` is no symlink (``_target``), so
    one swapped in is refused, not followed.  Its bytes are compared, not
    its times: a chmod or touch meanwhile (another hook) does not stop the
    write, which keeps the mode the file has now."""
    try:
        current = read_regular(
            target, len(original), follow=False,
            expect=None if identity is None else identity.same_file,
        )
    except ChangedError:
        raise WriteRefused(
            'was replaced by another file since it was read: not written',
        ) from None
    except (ReadError, IsADirectoryError):
        raise WriteRefused('changed since it was read: not written') from None
    if current.data != original:
        raise WriteRefused('changed since it was read: not written')
    return current.identity


def _writable(st: Identity) -> Identity:
    """``st``, unless writing over the file it tells would split its hard
    links or force a file nobody may write (WriteRefused)."""
    if st.links > 1:
        raise WriteRefused(
            f'has {st.links} hard links: rewriting would split them; '
            f'not written',
        )
    if not st.mode & 0o222:
        raise WriteRefused('is read-only (no write permission bit): not written')
    return st


def _keep_mode_and_owner(fd: int, st: Identity) -> None:
    """Give the temporary file ``fd`` the owner, group and mode ``st`` tells."""
    mode = stat.S_IMODE(st.mode)
    try:
        os.fchown(fd, st.uid, st.gid)
    except PermissionError:
        # not root: the file stays ours, as any editor leaves it; a setuid
        # or setgid bit kept would make it run as us, so it goes (as
        # ``cp -p`` drops it when it cannot keep the owner)
        mode &= ~(stat.S_ISUID | stat.S_ISGID)
    os.fchmod(fd, mode)  # after chown, which clears setuid


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
    st = _writable(_check_unchanged(target, original, identity))
    folder = os.path.dirname(target) or '.'
    # a short name of our own (target names near 255 bytes must still
    # work), named before the file is made, inside the try that removes
    # it: a SIGTERM or ^C right after tempfile.mkstemp made the file, before
    # its name came back, left it behind
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_CLOEXEC', 0) | getattr(os, 'O_NOFOLLOW', 0)
    temporary = ''
    try:
        for _ in range(100):
            temporary = os.path.join(folder, f'.digestpin-{os.urandom(6).hex()}.tmp')
            try:
                fd = os.open(temporary, flags, 0o600)
                break
            except FileExistsError:
                temporary = ''  # another's file: never removed
        else:
            raise FileExistsError(errno.EEXIST, 'no unused temporary file name', folder)
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            _keep_mode_and_owner(f.fileno(), st)
            os.fsync(f.fileno())
            # the last look, right before the rename replaces it: a hard
            # link made or a chmod or chown by another hook since the first
            # is seen here (a link is not split, the mode and owner it has
            # now are kept), with the temporary file still open
            now = _check_unchanged(target, original, identity)
            if not now.same_file(st):
                raise WriteRefused('was replaced since it was read: not written')
            if (now.mode, now.uid, now.gid) != (st.mode, st.uid, st.gid) or now.links > 1:
                _keep_mode_and_owner(f.fileno(), _writable(now))
                os.fsync(f.fileno())
        os.replace(temporary, target)
    except BaseException:
        try:
            if temporary:
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
