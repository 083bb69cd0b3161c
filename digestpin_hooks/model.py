"""Neutral records the steps share: an image reference (whatever kind of
file it is in), what could not be read, and what a command reports besides
findings; and ``Record``, what every record of the package is."""
from __future__ import annotations

# ``typing`` is for type checkers only: type checkers take this for True
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any
    from typing import Final
    from typing import Protocol
    from typing import Self

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


class Record:
    """A small immutable record: its fields are the ``Final`` names its class
    declares, in order, which its own ``__init__`` sets (type checkers
    refuse any later assignment); two records are equal when they are of
    one class and their fields are equal.

    Why not ``typing.NamedTuple`` or a dataclass: lint runs on every commit,
    and importing ``typing`` and building the records with it made a lint of
    one file 4 ms (15%) slower; ``dataclasses`` imports ``inspect`` (11 ms).
    Nothing is generated: every record writes its constructor out, so type
    checkers check every call.  Records do not inherit from one another.
    """

    _fields: tuple[str, ...] = ()

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        # the class's own annotations: strings, never evaluated at run time
        cls._fields = tuple(cls.__dict__.get('__annotations__', {}))

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (an unknown name: TypeError)."""
        fields = self.as_dict()
        fields.update(changes)
        return type(self)(**fields)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._fields}

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record) or type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ', '.join(f'{name}={getattr(self, name)!r}' for name in self._fields)
        return f'{type(self).__name__}({fields})'


class FileError(Record):
    """A file that could not be read or handled: one line of its own."""

    path: Final[str]
    message: Final[str]
    line: Final[int]  # where in the file, when the error is about one place
    # a file skipped on purpose (a Helm template, a YAML file that is no
    # manifest): said once as a note, and no failure of the run
    skipped: Final[bool]

    def __init__(
            self,
            path: str,
            message: str,
            line: int = 0,
            skipped: bool = False,
    ) -> None:
        self.path = path
        self.message = message
        self.line = line
        self.skipped = skipped


def failures(errors: Sequence[FileError]) -> list[FileError]:
    """The errors that fail a run: all but the files skipped on purpose."""
    return [e for e in errors if not e.skipped]


class Note(Record):
    """Something a command did or noticed that is not a finding (a pin)."""

    path: Final[str]
    line: Final[int]
    column: Final[int]
    message: Final[str]

    def __init__(self, path: str, line: int, column: int, message: str) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.message = message


# what an assembled reference (Helm values, Kustomize) without a tag lacks:
# its ``unresolved``, so that check can say what to do
UNTAGGED = '<no tag>'
# why fix leaves a reference it could otherwise pin (ImageRef.left): it
# stands in a manifest held in a string that is not a literal block (``|``
# with plain indentation), so no pin can be written byte for byte
IN_A_STRING = 'in a string'


class ImageRef(Record):
    """One place where an image is pulled, in any kind of file: what every
    reader produces and every later step reads."""

    # where it stands: FROM, COPY --from... in a Dockerfile, the key path
    # (services.web.image) in a YAML file
    source: Final[str]
    image: Final[str]  # as written, variables substituted (not normalised)
    written: Final[str]  # the text at ``span``
    span: Final[tuple[int, int]]  # where the finding points; exactly ``image`` if ``editable``
    editable: Final[bool]
    line: Final[int]  # where its statement starts: the line a pragma stands above
    unresolved: Final[tuple[str, ...]]  # variables with no value: DP003
    note: Final[str]  # how the reference came about, for messages
    platform: Final[str]  # FROM --platform (or Compose platform:), raw
    feeds: Final[tuple[int, ...]]  # for ARG defaults: the FROM lines they feed
    has_variables: Final[bool]  # the instruction writes it with variables
    # a reference assembled from fields (Helm values, Kustomize): where a pin
    # is written, when not at ``span``, and what, ``{digest}`` standing for
    # the digest ('' : the whole reference with its digest, at ``span``)
    edit_at: Final[tuple[int, int] | None]
    digest_edit: Final[str]
    # the other places in the file its value is made of (an ARG default a
    # FROM uses in part, the fields of an assembled reference): a pin
    # written there changes this reference too
    reads: Final[tuple[tuple[int, int], ...]]
    left: Final[str]  # why fix leaves it when nothing else says so (IN_A_STRING)

    def __init__(
            self,
            source: str,
            image: str,
            written: str,
            span: tuple[int, int],
            editable: bool,
            line: int,
            unresolved: tuple[str, ...] = (),
            note: str = '',
            platform: str = '',
            feeds: tuple[int, ...] = (),
            has_variables: bool = False,
            edit_at: tuple[int, int] | None = None,
            digest_edit: str = '',
            reads: tuple[tuple[int, int], ...] = (),
            left: str = '',
    ) -> None:
        self.source = source
        self.image = image
        self.written = written
        self.span = span
        self.editable = editable
        self.line = line
        self.unresolved = unresolved
        self.note = note
        self.platform = platform
        self.feeds = feeds
        self.has_variables = has_variables
        self.edit_at = edit_at
        self.digest_edit = digest_edit
        self.reads = reads
        self.left = left


def pin_edit(ref: ImageRef, digest: str, pinned: str) -> tuple[int, int, str]:
    """(start, end, text) that pins ``ref`` to ``digest``; ``pinned`` is
    the reference with its digest, what is written where the reference is
    one scalar."""
    start, end = ref.edit_at or ref.span
    if ref.digest_edit:
        return start, end, ref.digest_edit.replace('{digest}', digest)
    return start, end, pinned


class TrustRule(Record):
    """One ``[[tool.digestpin.trust]]`` rule: which images (fnmatch on the
    normalized name), and who must have signed them.  Read by config, applied
    by resolve; it lives here because both steps hold it."""

    images: Final[tuple[str, ...]]
    key: Final[str]  # a cosign public key (PEM), its path made absolute; '' when keyless
    issuer: Final[str]  # keyless: the OIDC issuer in the certificate
    identity: Final[str]
    identity_regexp: Final[str]
    attestations: Final[tuple[str, ...]]  # predicate types also required
    tlog: Final[bool]  # key rules: a transparency-log entry is required
    number: Final[int]  # 1-based, in the order of the file: for messages

    def __init__(
            self,
            images: tuple[str, ...],
            key: str,
            issuer: str,
            identity: str,
            identity_regexp: str,
            attestations: tuple[str, ...],
            tlog: bool,
            number: int,
    ) -> None:
        self.images = images
        self.key = key
        self.issuer = issuer
        self.identity = identity
        self.identity_regexp = identity_regexp
        self.attestations = attestations
        self.tlog = tlog
        self.number = number


def trust_rule_for(rules: Sequence[TrustRule], normalized_name: str) -> TrustRule | None:
    """The first rule whose ``images`` match the name (fnmatch, case
    sensitive: names are lower-case), or None: the image is not checked."""
    from fnmatch import fnmatchcase
    for rule in rules:
        if any(fnmatchcase(normalized_name, pattern) for pattern in rule.images):
            return rule
    return None
