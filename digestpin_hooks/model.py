"""Neutral records the steps share: an image reference (whatever kind of
file it is in), what could not be read, and what a command reports besides
findings."""
from __future__ import annotations

from typing import NamedTuple
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Protocol

    class Document(Protocol):
        """What findings need of a parsed file (Dockerfile or YAML)."""

        @property
        def text(self) -> str: ...

        @property
        def bom(self) -> bool: ...

        def statement_starts(self) -> dict[int, int]:
            """Line -> offset where a statement (an instruction, a YAML
            key) holding a reference starts: the pragma is above it."""

        def position(self, offset: int) -> tuple[int, int]: ...

        def line_above(self, offset: int) -> str: ...


class FileError(NamedTuple):
    path: str
    message: str
    line: int = 0  # where in the file, when the error is about one place
    # a file skipped on purpose (a Helm template, a YAML file that is no
    # manifest): said once as a note, and no failure of the run
    skipped: bool = False


def failures(errors: Sequence[FileError]) -> list[FileError]:
    """The errors that fail a run: all but the files skipped on purpose."""
    return [e for e in errors if not e.skipped]


class Note(NamedTuple):
    """Something a command did or noticed that is not a finding (a pin)."""

    path: str
    line: int
    column: int
    message: str


# what an assembled reference (Helm values, Kustomize) without a tag lacks:
# its ``unresolved``, so that check can say what to do
UNTAGGED = '<no tag>'


class ImageRef(NamedTuple):
    """One place where an image is pulled, in any kind of file: what every
    reader produces and every later step reads."""

    # where it stands: FROM, COPY --from... in a Dockerfile, the key path
    # (services.web.image) in a YAML file
    source: str
    image: str  # as written, variables substituted (not normalised)
    written: str  # the text at ``span``
    span: tuple[int, int]  # where the finding points; exactly ``image`` if ``editable``
    editable: bool
    line: int  # where its statement starts: the line a pragma stands above
    unresolved: tuple[str, ...] = ()  # variables with no value: DP003
    note: str = ''  # how the reference came about, for messages
    platform: str = ''  # FROM --platform (or Compose platform:), raw
    feeds: tuple[int, ...] = ()  # for ARG defaults: the FROM lines they feed
    has_variables: bool = False  # the instruction writes it with variables
    # a reference assembled from fields (Helm values, Kustomize): where a pin
    # is written, when not at ``span``, and what, ``{digest}`` standing for
    # the digest ('' : the whole reference with its digest, at ``span``)
    edit_at: tuple[int, int] | None = None
    digest_edit: str = ''


def pin_edit(ref: ImageRef, digest: str, pinned: str) -> tuple[int, int, str]:
    """(start, end, text) that pins ``ref`` to ``digest``; ``pinned`` is
    the reference with its digest, what is written where the reference is
    one scalar."""
    start, end = ref.edit_at or ref.span
    if ref.digest_edit:
        return start, end, ref.digest_edit.replace('{digest}', digest)
    return start, end, pinned
