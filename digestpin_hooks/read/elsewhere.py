"""A Compose file read again for lint, which let it go: the file whose
images another project of the run pulls, its build removed (a
BuiltElsewhere's ``unbuilt``), found only once later files were read.

Apart from files.py, so that a run without such a record loads none of it.
"""
from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from digestpin_hooks.model import FileError
    from digestpin_hooks.read.files import BuiltElsewhere
    from digestpin_hooks.read.files import LoadedFile


def read_again(record: BuiltElsewhere) -> LoadedFile | FileError:
    """The file ``record`` names, read again from disk under the name it
    was given and parsed with what the run learnt of it (its images that
    another project pulls or builds); a one-line error when it is no
    longer the file read then (vanished, changed, replaced)."""
    from digestpin_hooks.model import FileError
    from digestpin_hooks.read.bounded import ChangedError
    from digestpin_hooks.read.bounded import MAX_FILE_BYTES
    from digestpin_hooks.read.bounded import read_regular
    from digestpin_hooks.read.files import parse_data
    from digestpin_hooks.read.files import UnreadableFile
    from digestpin_hooks.read.kinds import COMPOSE
    assert record.handed is not None
    path, identity, variables, replaced, unbuilt, renamed, link = record.handed
    not_checked = 'the images another project of the run pulls from it not checked'
    changed = FileError(path, f'changed since it was read: {not_checked}')
    if identity is None:  # (every file read has one)
        return changed
    try:
        # identity asked of what was opened before a byte is read: a file
        # swapped in (a link to outside the repository, a FIFO, a device)
        # is never read; a link followed only if the name was one then
        read = read_regular(path, MAX_FILE_BYTES, follow=link, expect=identity.__eq__)
    except ChangedError:
        return changed
    except OSError as e:  # ReadError among them
        if e.errno is None:  # no longer a regular file, now a link, larger
            return changed
        # why it cannot be opened now (gone, permission removed), in a word
        return FileError(path, (
            f'cannot be read again ({(e.strerror or os.strerror(e.errno)).lower()}): '
            f'{not_checked}'
        ))
    try:
        return parse_data(
            path, read.data, COMPOSE, read.identity, (), None, variables, replaced,
            unbuilt | record.unbuilt, renamed | record.renamed, link=read.link,
        )
    except UnreadableFile as e:  # (it parsed before: not expected)
        return FileError(path, str(e))
