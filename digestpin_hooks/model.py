"""Neutral records the steps share: an image reference (whatever kind of
file it is in), what could not be read, and what a command reports besides
findings; and ``Record``, what every record of the package is."""
from __future__ import annotations

from operator import attrgetter
from types import CodeType
from types import FunctionType

# ``typing`` is for type checkers only: type checkers take this for True
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Sequence
    from typing import Any
    from typing import ClassVar
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


class _RecordType(type):
    """Makes a record class of the fields it declares: they become its
    ``__slots__`` (a record has no ``__dict__``), their values its
    defaults."""

    def __new__(
            mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any],
    ) -> _RecordType:
        if not bases:  # Record itself
            return super().__new__(mcls, name, bases, namespace)
        # the class's own annotations: strings, never evaluated at run time
        fields = tuple(namespace.get('__annotations__', {}))
        if any(field.startswith('_') for field in fields):
            raise TypeError(f'{name}: a field name does not start with _')
        with_defaults = [field for field in fields if field in namespace]
        if with_defaults != list(fields[len(fields) - len(with_defaults):]):
            raise TypeError(f'{name}: a field without a default follows one with a default')
        defaults = tuple(namespace.pop(field) for field in with_defaults)
        namespace['__slots__'] = fields
        namespace['_fields'] = fields
        namespace['_defaults'] = defaults
        # all the fields' values at once, in C (a tuple for two or more)
        namespace['_getter'] = attrgetter(*fields) if fields else None
        return super().__new__(mcls, name, bases, namespace)


# How a record is built.  Its class refuses ``__setattr__``, so a field is
# stored past the refusal (its slot's own ``__set__``), one C call a field.
#
# A class's first calls do that in a loop, with Python binding keywords and
# defaults through ``_arguments`` renamed to the class's fields: nothing is
# compiled.  Its ``_COMPILE_AFTER``-th call compiles a constructor (70-150
# us, some 40 such calls) that stores each field by name into an object of
# a twin class that allows it (the same slots, so the same layout), which
# then becomes an object of the record's class: one C call, not one a
# field.  A lint of one file compiles none (it makes at most ten of a
# kind); a lint of the corpus (50,000 records) compiles the dozen classes
# it builds.
_COMPILE_AFTER = 16
# a constructor's code by its number of fields, its names ``_0``, ``_1`` ...
# (a class's constructor is this code with its fields' names)
_constructors: dict[int, CodeType] = {}
_calls: dict[type, int] = {}


def _arguments(
        _class: type, _0: object, _1: object, _2: object, _3: object, _4: object, _5: object,
        _6: object, _7: object, _8: object, _9: object, _10: object, _11: object, _12: object,
        _13: object, _14: object, _15: object, _16: object, _17: object, _18: object,
        _19: object, _20: object, _21: object, _22: object, _23: object,
) -> dict[str, object]:
    """Renamed to a record class's fields (``_0`` ... stay unbound, so
    ``locals()`` leaves them out): its arguments by name, ``_class`` too."""
    return locals()


def _binder(cls: type[Record]) -> Callable[..., dict[str, object]]:
    template = _arguments.__code__
    fields = cls._fields
    names = template.co_varnames
    if len(fields) >= len(names):
        raise TypeError(f'{cls.__name__}: a record has at most {len(names) - 1} fields')
    code = template.replace(
        co_argcount=len(fields) + 1,
        co_varnames=(names[0], *fields, *names[len(fields) + 1:]),
        co_name=cls.__name__,
        co_qualname=cls.__qualname__,
    )
    return FunctionType(code, {}, cls.__name__, cls._defaults or None)


def _compile(cls: type[Record]) -> FunctionType:
    fields = cls._fields
    code = _constructors.get(len(fields))
    if code is None:
        names = [f'_{k}' for k in range(len(fields))]
        namespace: dict[str, Any] = {}
        exec(
            f'def __new__(_class, {", ".join(names)}):\n'
            f'    _self = _new(_filler); '
            + ''.join(f'_self.{name} = {name}; ' for name in names)
            + '_become(_self, _class); return _self\n',
            namespace,
        )
        code = _constructors[len(fields)] = namespace['__new__'].__code__
    named = {f'_{k}': field for k, field in enumerate(fields)}
    filler = type.__new__(
        type(cls), cls.__name__, (cls,),
        {'__slots__': (), '__setattr__': object.__setattr__, '__delattr__': object.__delattr__},
    )
    return FunctionType(
        code.replace(
            co_varnames=tuple(named.get(name, name) for name in code.co_varnames),
            co_names=tuple(named.get(name, name) for name in code.co_names),
            co_name=cls.__name__,
            co_qualname=cls.__qualname__,
        ),
        {'_new': object.__new__, '_filler': filler, '_become': object.__dict__['__class__'].__set__},
        cls.__name__,
        cls._defaults or None,
    )


def _refuse(record: Record, name: str, value: object = None) -> None:
    raise AttributeError(f'{type(record).__name__} is immutable: cannot set {name!r}')


if TYPE_CHECKING:
    from typing import dataclass_transform
else:
    def dataclass_transform(**_: object) -> object:
        return lambda record: record


@dataclass_transform(frozen_default=True)
class Record(metaclass=_RecordType):
    """A small immutable record: its fields are the names its class
    declares (``name: Final[type]``, with ``= value`` for a default), in
    order; its constructor takes them in that order, and is built from the
    declarations (type checkers build the same one and check every call,
    ``dataclass_transform``).  Setting or deleting a field raises
    AttributeError.  Two records are equal when they are of one class and
    their fields are equal.

    Why not ``typing.NamedTuple`` or a dataclass: lint runs on every commit,
    and importing ``typing`` and building the records with it made a lint of
    one file 4 ms (15%) slower; ``dataclasses`` imports ``inspect`` (11 ms).
    A class's first calls store each field through its slot; its 16th
    compiles its constructor (see above).  Records do not inherit from one
    another.
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _getter: ClassVar[Any]  # operator.attrgetter of the fields
    _defaults: ClassVar[tuple[object, ...]] = ()
    # made on a class's first call: its slots' setters, in field order, and
    # its arguments' binder (when first called with keywords or defaults)
    _setters: ClassVar[tuple[Callable[[Record, object], None], ...]]
    _bind: ClassVar[Callable[..., dict[str, object]]]

    if not TYPE_CHECKING:  # type checkers see the constructor dataclass_transform makes
        def __new__(cls, *args, **kwargs):
            """A call of a record class that has no compiled constructor yet."""
            calls = _calls[cls] = _calls.get(cls, 0) + 1
            if calls >= _COMPILE_AFTER:
                constructor = _compile(cls)
                cls.__new__ = staticmethod(constructor)
                return constructor(cls, *args, **kwargs)
            if calls == 1:
                cls._setters = tuple(cls.__dict__[field].__set__ for field in cls._fields)
            if kwargs or len(args) != len(cls._fields):
                if '_bind' not in cls.__dict__:
                    cls._bind = staticmethod(_binder(cls))
                bound = cls._bind(cls, *args, **kwargs)
                args = [bound[field] for field in cls._fields]
            record = object.__new__(cls)
            for store, value in zip(cls._setters, args):
                store(record, value)
            return record

    __setattr__ = _refuse
    __delattr__ = _refuse

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (an unknown name: TypeError)."""
        values = list(self._values())
        for name, value in changes.items():
            if name not in self._fields:
                raise TypeError(f'{type(self).__name__} has no field {name!r}')
            values[self._fields.index(name)] = value
        return type(self)(*values)

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._fields}

    def _values(self) -> tuple[Any, ...]:
        if len(self._fields) > 1:
            return self._getter(self)  # type: ignore[no-any-return]
        return (self._getter(self),) if self._fields else ()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record) or type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        """The hash of the fields; a field that holds a list or a dict (the
        YAML reader adds a node's children to it after making it) is left
        out, so hashing never raises and equal records still hash alike."""
        values = self._values()
        try:
            return hash(values)
        except TypeError:
            return hash(tuple(value for value in values if _hashable(value)))

    def __reduce__(self) -> tuple[type[Self], tuple[Any, ...]]:
        """copy and pickle rebuild a record through its constructor."""
        return type(self), self._values()

    def __repr__(self) -> str:
        fields = ', '.join(f'{name}={getattr(self, name)!r}' for name in self._fields)
        return f'{type(self).__name__}({fields})'


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


class FileError(Record):
    """A file that could not be read or handled: one line of its own."""

    path: Final[str]
    message: Final[str]
    line: Final[int] = 0  # where in the file, when the error is about one place
    # a file skipped on purpose (a Helm template, a YAML file that is no
    # manifest): said once as a note, and no failure of the run
    skipped: Final[bool] = False


def failures(errors: Sequence[FileError]) -> list[FileError]:
    """The errors that fail a run: all but the files skipped on purpose."""
    return [e for e in errors if not e.skipped]


class Note(Record):
    """Something a command did or noticed that is not a finding (a pin)."""

    path: Final[str]
    line: Final[int]
    column: Final[int]
    message: Final[str]


# what an assembled reference (Helm values, Kustomize) without a tag lacks:
# its ``unresolved``, so that check can say what to do
UNTAGGED = '<no tag>'
# How a reference came about, when its findings say so (ImageRef.how): a
# reason, as data; check/findings.py alone turns it into words, from it and
# the fields it names (via, detail, unresolved, values_from, line, feeds).
# Plain strings typed as one Literal for type checkers (the How below, so
# that a reader cannot pass words), not an enum.Enum: defining one costs 2.0
# million instructions (callgrind), 1.3% of a one-file lint's 157 million.
AS_WRITTEN: Final = ''  # nothing to say
NO_DEFAULT: Final = 'no-default'  # Dockerfile: no default gives ``unresolved`` a value
NO_VALUE: Final = 'no-value'  # no default, nor a value in the kind's file (values_from)
# Compose: variables (``unresolved``) make the image empty, which Compose
# refuses unless the shell that runs it sets one; that shell is not read
EMPTY_UNLESS_SET: Final = 'empty-unless-set'
# with EMPTY_UNLESS_SET: the value is a volume's source (``type: image``),
# which ``compose up`` fails to pull when empty, not a service's image
IMAGE_VOLUME: Final = 'image-volume'
# Cloud Build: ``via``, a ``${`` of the image, names no substitution
# (``detail``: NO_NAME_AFTER or NEVER_CLOSED); the image is unknown (DP003)
NOT_A_SUBSTITUTION: Final = 'not-a-substitution'
NO_NAME_AFTER: Final = 'no-name-after'  # ``${}``, ``${1A}``
NEVER_CLOSED: Final = 'never-closed'  # ``${_B:-x``
# ``${_B/a/b}``, ``${_B:=x}``, ``${_B,,}``, ``${#_B}``: a bash operation,
# which Cloud Build applies only with dynamic substitutions, when the build
# runs (and leaves as written without them)
BASH_OPERATION: Final = 'bash-operation'
# Cloud Build: the value of the substitution ``via``, which the image reads,
# names other substitutions (``_IMG: gcr.io/${PROJECT_ID}/x``): expanded
# only with dynamic substitutions, when the build runs (DP003)
DYNAMIC_VALUE: Final = 'dynamic-value'
# Cloud Build, with DEFAULT_IN_EXPRESSION or BUILT_FROM_VARIABLES (detail):
# the image is read through a bash default (``${_B:-x}``), which Cloud Build
# reads only with dynamic substitutions (without them: the text as written)
ONLY_DYNAMIC: Final = 'only-dynamic'
VARIES_WITH_PLATFORM: Final = 'varies-with-platform'  # FROM $TARGETPLATFORM…
COPY_FROM_VARIABLE: Final = 'copy-from-variable'  # BuildKit does not expand --from
AT_RUN_TIME: Final = 'at-run-time'  # a variable only its tool's run sets
TEMPLATE_PARAMETER: Final = 'template-parameter'  # << parameters.x >>, {{ x }}
TEMPLATE_VALUE: Final = 'template-value'  # Helm values or Kustomize made of a template
NO_NEW_TAG: Final = 'no-new-tag'  # a Kustomize image with no newTag
NO_TAG_APP_VERSION: Final = 'no-tag-app-version'  # Helm values with no tag
BUILT_FROM_VARIABLES: Final = 'built-from-variables'
DEFAULT_IN_EXPRESSION: Final = 'default-in-expression'  # ${X:-image}: that default
VALUE_OF: Final = 'value-of'  # the value of the variable ``via``, where it is set
ARG_DEFAULT: Final = 'arg-default'  # the default of ARG ``via``, used by ``detail``
ARG_DEFAULT_BUILT: Final = 'arg-default-built'  # ... itself built from variables
QUOTED: Final = 'quoted'  # Dockerfile: with quotes, escapes or across lines
ESCAPED: Final = 'escaped'  # YAML: with escapes or across lines
FORM_NOT_EDITED: Final = 'form-not-edited'  # an assembled reference fix does not edit
TOO_LONG: Final = 'too-long'  # GitLab: not expanded, past EXPANSION_BUDGET (DP003)
# Compose, Cloud Build, Drone and Woodpecker: its variables make it longer
# than EXPANSION_BUDGET, longer than any reference: not made (DP005)
LONGER_THAN_ANY: Final = 'longer-than-any'
# GitLab: ``${IMG:-alpine:3}`` is one variable named ``via`` (IMG:-alpine:3),
# which nothing sets: the runner has no default syntax (DP003)
NOT_A_NAME: Final = 'not-a-name'
# GitLab: the value of the variable ``via`` holds ``${…}`` of a name no
# variable can have (``detail``, B:-x of ``A: "${B:-x}"``), which the
# runner expands to nothing: the image is what is left
NOT_A_NAME_IN_VALUE: Final = 'not-a-name-in-value'
# where GitLab's values are set (its Kind's ``variables_from``): its
# runner has no ``${VAR:-default}``, so the advice for a variable without
# a value is a pinned value there
GITLAB_VALUES: Final = 'variables:'
# where Cloud Build's values are set (its Kind's ``variables_from``): a
# ``${_VAR:-default}`` is read only with dynamic substitutions, so the
# advice for a variable without a value is a default there
CLOUDBUILD_VALUES: Final = 'substitutions:'
# the substitutions Cloud Build sets itself, for every build or for a
# triggered one (cloud.google.com/build/docs/configuring-builds/
# substitute-variable-values, "Using default substitutions"): a user's own
# begin with an underscore, so ``substitutions:`` gives these no default
CLOUDBUILD_BUILT_INS: Final = frozenset({
    'PROJECT_ID', 'BUILD_ID', 'PROJECT_NUMBER', 'LOCATION', 'TRIGGER_NAME',
    'COMMIT_SHA', 'REVISION_ID', 'SHORT_SHA', 'REPO_NAME', 'REPO_FULL_NAME',
    'BRANCH_NAME', 'TAG_NAME', 'REF_NAME', 'TRIGGER_BUILD_CONFIG_PATH',
    'SERVICE_ACCOUNT_EMAIL', 'SERVICE_ACCOUNT',
})
# how many characters of variables (their text as written, and what their
# expansion makes) a GitLab image's expansion may read and make: a little
# more than the longest reference that can be pulled (reference.py's
# MAX_REFERENCE_LENGTH), so that a use costs a constant however many
# variables a value names or how long they grow (n jobs each setting one of
# k variables a value reads cost n, not n times k); the files of
# corpus-kinds and corpus-yaml read and make 256 at most.  The other kinds'
# images are made up to this long (LONGER_THAN_ANY past it)
EXPANSION_BUDGET: Final = 1024
if TYPE_CHECKING:
    from typing import Literal
    How = Literal[
        '', 'no-default', 'no-value', 'empty-unless-set', 'varies-with-platform',
        'copy-from-variable', 'at-run-time', 'template-parameter', 'template-value',
        'no-new-tag', 'no-tag-app-version', 'built-from-variables', 'default-in-expression',
        'value-of', 'arg-default', 'arg-default-built', 'quoted', 'escaped',
        'form-not-edited', 'too-long', 'longer-than-any', 'not-a-name', 'not-a-name-in-value',
        'not-a-substitution', 'dynamic-value',
    ]
# why fix leaves a reference it could otherwise pin (ImageRef.left): it
# stands in a manifest held in a string that is not a literal block (``|``
# with plain indentation), so no pin can be written byte for byte
IN_A_STRING = 'in a string'
# ... or its value, written once behind an anchor, is also the name of the
# image another Compose service builds: a pin would rename that build
NAMES_A_BUILD = 'names a build'
# ... or its value, written once behind an anchor, is a Bitbucket pipe's and
# also a line of a script (a command the step's shell runs): a pin would
# change that command
ALSO_A_COMMAND = 'also a command'
# the source of a reference an ARG's default names and a FROM uses: here,
# so that checking one needs no Dockerfile reader (a Compose file's lint
# imports none)
SOURCE_ARG = 'ARG'


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
    unresolved: Final[tuple[str, ...]] = ()  # variables with no value: DP003
    how: Final[How] = AS_WRITTEN  # how it came about: a reason, for messages
    # the platforms it is pulled for, raw: FROM --platform's, or the
    # ``platform:`` of each Compose service whose image it is (a value
    # behind an anchor may be several services' image)
    platforms: Final[tuple[str, ...]] = ()
    feeds: Final[tuple[int, ...]] = ()  # for ARG defaults: the FROM lines they feed
    has_variables: Final[bool] = False  # the instruction writes it with variables
    # a reference assembled from fields (Helm values, Kustomize): where a pin
    # is written, when not at ``span``, and what, ``{digest}`` standing for
    # the digest ('' : the whole reference with its digest, at ``span``)
    edit_at: Final[tuple[int, int] | None] = None
    digest_edit: Final[str] = ''
    # the other places in the file its value is made of (an ARG default a
    # FROM uses in part, the fields of an assembled reference): a pin
    # written there changes this reference too
    reads: Final[tuple[tuple[int, int], ...]] = ()
    left: Final[str] = ''  # why fix leaves it when nothing else says so (IN_A_STRING)
    # where a key added to a mapping it merges would go (``<<: *x``): read
    # only while it is not pinned itself, since then its own key wins
    reads_unpinned: Final[tuple[tuple[int, int], ...]] = ()
    # with NO_VALUE: where the kind's values are set, in its own words
    # (its Kind's ``variables_from``: '.env', 'variables:', 'substitutions:')
    values_from: Final[str] = ''
    # with ARG_DEFAULT(_BUILT) the ARG's name, with VALUE_OF and
    # NOT_A_NAME_IN_VALUE the variable's, with NOT_A_NAME the name GitLab reads
    via: Final[str] = ''
    # the second word of the reason, after ``via``: with ARG_DEFAULT the
    # instruction that uses the ARG (FROM, COPY --from), with
    # NOT_A_NAME_IN_VALUE the name GitLab reads in ``via``'s value (B:-x),
    # with NOT_A_SUBSTITUTION what is wrong with ``via`` (NEVER_CLOSED).
    # One field for both: a twentieth field of ImageRef cost the Dockerfile
    # corpus lint 0.35 MiB of peak memory (issue 22's row: 20.0 MiB, 19.6
    # with nineteen)
    detail: Final[str] = ''


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


def trust_rule_for(rules: Sequence[TrustRule], normalized_name: str) -> TrustRule | None:
    """The first rule whose ``images`` match the name (fnmatch, case
    sensitive: names are lower-case), or None: the image is not checked."""
    from fnmatch import fnmatchcase
    for rule in rules:
        if any(fnmatchcase(normalized_name, pattern) for pattern in rule.images):
            return rule
    return None
