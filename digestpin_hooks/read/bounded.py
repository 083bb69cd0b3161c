"""Bounded reads of regular files, and the identity a later write re-checks.

Every file digestpin reads (the files it checks, ``.env``, configuration, the
Docker CLI's context store) comes through ``read_regular``: it opens without
blocking, so a FIFO or a device cannot hang the hook; it refuses anything
that is not a regular file; and it never reads more than a limit, so
``/dev/zero`` or a huge file cannot exhaust memory.
"""
from __future__ import annotations

import os
import stat

from digestpin_hooks.model import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable
    from typing import Final

MiB = 1024 * 1024
MAX_FILE_BYTES = 16 * MiB  # a Dockerfile, a YAML file
MAX_SMALL_FILE_BYTES = 1 * MiB  # .env, configuration, context metadata


class ReadError(OSError):
    """The file cannot be read safely; the message is one line."""


class ChangedError(ReadError):
    """The file opened is not the one read before (``read_regular``'s
    ``expect``): told by fstat of what was opened, before any byte of it is
    read."""


class Identity(Record):
    """What a file was when it was read: a reading again compares all of it
    (lint's, read/elsewhere.py); a write, which compares the bytes
    themselves, its device and inode (``same_file``)."""

    device: Final[int]
    inode: Final[int]
    size: Final[int]
    mtime_ns: Final[int]
    mode: Final[int]
    uid: Final[int]
    gid: Final[int]
    links: Final[int]
    # a same-size rewrite with its mtime put back (os.utime) changes it:
    # only the kernel sets it
    ctime_ns: Final[int]

    @classmethod
    def of(cls, st: os.stat_result) -> Identity:
        return cls(
            st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode,
            st.st_uid, st.st_gid, st.st_nlink, st.st_ctime_ns,
        )

    def same_file(self, other: Identity) -> bool:
        return (self.device, self.inode) == (other.device, other.inode)


class ReadFile(Record):
    """A regular file's bytes and the identity a later write re-checks."""

    data: Final[bytes]
    identity: Final[Identity]
    # whether the name read is a symbolic link (followed): the open that
    # refuses to follow one tells it, not a stat of every name
    link: Final[bool] = False


def _size_words(limit: int) -> str:
    if limit % MiB == 0:
        return f'{limit // MiB} MiB'
    return f'{limit} bytes'


_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0)
_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)


def _read(fd: int, size: int) -> bytes:
    try:
        return os.read(fd, size)
    except OSError as e:
        raise ReadError(f'cannot read: {e.strerror or e}') from None


def _cannot_read(e: OSError) -> ReadError:
    error = ReadError(f'cannot read: {e.strerror or e}')
    error.errno = e.errno  # so that a caller can tell a missing file
    return error


def read_regular(
        path: str, limit: int, *, follow: bool = True,
        expect: Callable[[Identity], bool] | None = None,
) -> ReadFile:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    Raises ReadError (a FIFO, a device, a folder, a symlink when ``follow``
    is false, a file over the limit) or IsADirectoryError for a folder.
    ``link`` of what it returns: whether ``path`` is a symlink (followed).

    ``expect``, for a file read before and opened again: whether what was
    opened is still that file, asked of its identity before anything else
    (ChangedError when not), so that no byte of another file (swapped in
    meanwhile, a link to outside the repository) is ever read.
    """
    # first without following a symlink: a name that is none (the common
    # case) opens at once, and one that is refuses (ELOOP), so that no
    # lstat of every name is needed to tell a link
    link = False
    try:
        fd = os.open(path, _OPEN_FLAGS | _NOFOLLOW)
    except IsADirectoryError:
        raise
    except OSError as e:
        if not follow:
            if os.path.islink(path):
                raise ReadError('is a symbolic link') from None
            raise _cannot_read(e) from None
        # a symlink, or a name that cannot be opened: opened as before,
        # following it, and its error if it has one
        link = os.path.islink(path)
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except IsADirectoryError:
            raise
        except OSError as again:
            raise _cannot_read(again) from None
    else:
        if not _NOFOLLOW:  # (no O_NOFOLLOW: a stat tells a link)
            link = os.path.islink(path)
    try:
        st = os.fstat(fd)
        identity = Identity.of(st)
        if expect is not None and not expect(identity):
            raise ChangedError('changed since it was read')
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(st.st_mode):
            raise ReadError('not a regular file (a FIFO, socket or device)')
        if st.st_size > limit:
            raise ReadError(f'larger than the limit of {_size_words(limit)}')
        remaining = limit + 1  # one byte more tells a file that grew
        # the size fstat gave, and one byte more to see the end: a buffer
        # of that size, not of MiB for every small file
        wanted = min(remaining, st.st_size + 1)
        data = _read(fd, wanted)
        if len(data) == wanted:  # it grew since fstat: read on to the end
            chunks = [data]
            remaining -= len(data)
            while remaining > 0:
                wanted = min(remaining, MiB)
                chunk = _read(fd, wanted)
                chunks.append(chunk)
                remaining -= len(chunk)
                if len(chunk) < wanted:
                    break  # a regular file reads short only at its end
            data = b''.join(chunks)
        if len(data) > limit:
            raise ReadError(f'larger than the limit of {_size_words(limit)}')
        return ReadFile(data, identity, link)
    finally:
        os.close(fd)
