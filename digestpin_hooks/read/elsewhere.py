"""A Compose file read again for lint, which let it go: the file whose
images another project of the run pulls, its build removed (a
BuiltElsewhere's ``unbuilt``), found only once later files were read.

Apart from files.py, so that a run without such a record loads none of it.
"""
from __future__ import annotations

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
    from digestpin_hooks.read.bounded import MAX_FILE_BYTES
    from digestpin_hooks.read.bounded import read_regular
    from digestpin_hooks.read.bounded import ReadError
    from digestpin_hooks.read.files import parse_data
    from digestpin_hooks.read.files import UnreadableFile
    from digestpin_hooks.read.kinds import COMPOSE
    assert record.handed is not None
    path, identity, variables, replaced, unbuilt, renamed = record.handed
    changed = FileError(
        path, 'changed since it was read: the images another project of '
        'the run pulls from it not checked',
    )
    try:
        read = read_regular(path, MAX_FILE_BYTES)
    except (ReadError, OSError):
        return changed
    if read.identity != identity:
        return changed
    try:
        return parse_data(
            path, read.data, COMPOSE, read.identity, (), None, variables, replaced,
            unbuilt | record.unbuilt, renamed | record.renamed, link=read.link,
        )
    except UnreadableFile as e:  # (it parsed before: not expected)
        return FileError(path, str(e))
