"""lint's reading again of a Compose file it let go: the images it builds
that another project of the run pulls (a BuiltElsewhere's ``unbuilt``).

Apart from lint, so that a run without such a record loads none of it.
"""
from __future__ import annotations

from digestpin_hooks.check.findings import findings_for
from digestpin_hooks.model import FileError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from digestpin_hooks.check.findings import Finding
    from digestpin_hooks.check.findings import Policy
    from digestpin_hooks.read.files import BuiltElsewhere


def pulled_elsewhere(
        record: BuiltElsewhere, sources: frozenset[str], policy: Policy,
) -> tuple[list[Finding], FileError | None]:
    """The findings of the images ``sources`` of a Compose file handed on
    before (and let go), which its own project builds and another pulls:
    the file read again from disk, as it was read then, under the name it
    was given; a one-line error when it is no longer the file read."""
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
        return [], changed
    if read.identity != identity:
        return [], changed
    try:
        again = parse_data(
            path, read.data, COMPOSE, read.identity, (), None, variables, replaced,
            unbuilt | record.unbuilt, renamed | record.renamed, link=read.link,
        )
    except UnreadableFile as e:  # (it parsed before: not expected)
        return [], FileError(path, str(e))
    refs = [ref for ref in again.refs if ref.source in sources]
    return findings_for(path, again.doc, refs, policy=policy), None
