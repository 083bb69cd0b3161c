"""YAML files -> image references: Compose files, Kubernetes manifests,
GitHub Actions files, and the CI kinds ``ci`` walks.

Each reference is a YAML scalar whose exact span comes from the parser's
positions, so a fix edits the reference text and nothing else: quoting,
comments, anchors, flow style and line endings stay as written.  A reference
inside an anchor is found once, at the anchor, however often it is used.
"""
from __future__ import annotations

import os
import re

from digestpin_hooks.model import AT_RUN_TIME
from digestpin_hooks.model import BASH_OPERATION
from digestpin_hooks.model import BUILT_FROM_VARIABLES
from digestpin_hooks.model import CLOUDBUILD_VALUES
from digestpin_hooks.model import DEFAULT_IN_EXPRESSION
from digestpin_hooks.model import DYNAMIC_VALUE
from digestpin_hooks.model import EMPTY_UNLESS_SET
from digestpin_hooks.model import ESCAPED
from digestpin_hooks.model import EXPANSION_BUDGET
from digestpin_hooks.model import FORM_NOT_EDITED
from digestpin_hooks.model import IMAGE_VOLUME
from digestpin_hooks.model import ImageRef
from digestpin_hooks.model import IN_A_STRING
from digestpin_hooks.model import LONGER_THAN_ANY
from digestpin_hooks.model import NAMES_A_BUILD
from digestpin_hooks.model import NEVER_CLOSED
from digestpin_hooks.model import NO_NAME_AFTER
from digestpin_hooks.model import NO_VALUE
from digestpin_hooks.model import ONLY_DYNAMIC
from digestpin_hooks.model import NOT_A_NAME
from digestpin_hooks.model import NOT_A_NAME_IN_VALUE
from digestpin_hooks.model import NOT_A_SUBSTITUTION
from digestpin_hooks.model import Record
from digestpin_hooks.model import TEMPLATE_PARAMETER
from digestpin_hooks.model import TOO_LONG
from digestpin_hooks.model import VALUE_OF
from digestpin_hooks.read.bounded import MAX_SMALL_FILE_BYTES
from digestpin_hooks.read.bounded import read_regular
from digestpin_hooks.read.found import Found as _Found
from digestpin_hooks.read.found import Pipeline
from digestpin_hooks.read.kinds import BY_NAME
from digestpin_hooks.read.kinds import COMPOSE
from digestpin_hooks.read.kinds import DEVCONTAINER
from digestpin_hooks.read.kinds import GITLAB
from digestpin_hooks.read.kinds import imported
from digestpin_hooks.read.kinds import is_compose_name
from digestpin_hooks.read.kinds import LATER_WINS
from digestpin_hooks.read.variables import always_empty
from digestpin_hooks.read.variables import DotenvError
from digestpin_hooks.read.variables import go_name
from digestpin_hooks.read.variables import interpolate
from digestpin_hooks.read.variables import InterpolationError
from digestpin_hooks.read.variables import read_dotenv
from digestpin_hooks.read.variables import valid_template
from digestpin_hooks.read.yaml_nodes import compose_documents
from digestpin_hooks.read.yaml_nodes import get
from digestpin_hooks.read.yaml_nodes import items
from digestpin_hooks.read.yaml_nodes import NotOfKind
from digestpin_hooks.read.yaml_nodes import parse_once
from digestpin_hooks.read.yaml_nodes import path_words
from digestpin_hooks.read.yaml_nodes import MAX_BYTES
from digestpin_hooks.read.yaml_nodes import Scalar
from digestpin_hooks.read.yaml_nodes import written_paths
from digestpin_hooks.read.yaml_nodes import YamlError
from digestpin_hooks.read.yaml_nodes import YamlMapping
from digestpin_hooks.read.yaml_nodes import YamlSequence
from digestpin_hooks.text import decode
from digestpin_hooks.text import line_above
from digestpin_hooks.text import LineIndex
from digestpin_hooks.text import shortened

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable
    from typing import Final
    from typing import Iterator
    from typing import Mapping
    from digestpin_hooks.read.assembled import Assembled
    from digestpin_hooks.read.assembled import SpanOf
    from digestpin_hooks.read.found import LeftOut
    from digestpin_hooks.read.yaml_nodes import KeyPath
    from digestpin_hooks.read.variables import Interpolated
    from digestpin_hooks.read.yaml_nodes import Node

_NULLS = frozenset(('~', 'null', 'Null', 'NULL'))
# the YAML core schema's tags: of these only str leaves a scalar a string
_CORE_TAG = 'tag:yaml.org,2002:'
_STRING_TAG = _CORE_TAG + 'str'
# yaml.v3's types of a scalar Compose refuses as an image ("must be a
# string"), by the short name of its tag: Compose validates each document
# before it merges them, so the whole file is refused
GO_NOT_STRINGS = {
    'null': 'null', 'bool': 'a boolean', 'int': 'a number', 'float': 'a number',
    'timestamp': 'a timestamp',
}
# how yaml.v3 resolves a plain scalar that is not a string (resolve.go):
# its map of words, then for a scalar starting with a digit, a sign or a
# dot, a timestamp, Go's ParseInt (base 0) and its float pattern, on the
# text with every '_' removed.  The patterns are compiled by re's own
# cache at their first use, not at import: an image rarely starts with a
# digit, and compiling the five cost 0.65 ms of every Compose lint (about
# 2% of issue 22's one-file row)
_GO_WORDS = {
    **dict.fromkeys(('', '~', 'null', 'Null', 'NULL'), 'null'),
    **dict.fromkeys(('true', 'True', 'TRUE', 'false', 'False', 'FALSE'), 'bool'),
    **dict.fromkeys(
        (sign + word for sign in ('', '+', '-') for word in ('.inf', '.Inf', '.INF')), 'float',
    ),
    **dict.fromkeys(('.nan', '.NaN', '.NAN'), 'float'),
}
# strconv.ParseInt/ParseUint(s, 0, 64) of the text without '_': a sign,
# then a base prefix, or a 0 for octal (08 is no int: ParseFloat reads it)
_GO_INT = r'(?P<sign>[-+]?)(?:0[xX](?P<x>[0-9a-fA-F]+)|0[oO](?P<o>[0-7]+)|0[bB](?P<b>[01]+)|0(?P<z>[0-7]*)|(?P<d>[1-9][0-9]*))'
# yaml.v3's yamlStyleFloat, tried (and ParseFloat'd) on the text without '_'
_GO_FLOAT = r'[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?'
# ParseFloat of a scalar that starts with '.', as written: Go takes a '_'
# only between digits
_GO_DOT_FLOAT = r'\.[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+(?:_[0-9]+)*)?'
# yaml.v3's last tries: ParseInt(s[2:], 2 or 8) after 0b/0o (a sign may
# follow the prefix: 0b-1), ParseInt("-" + s[3:]) after -0b/-0o
_GO_PREFIXED = r'(?P<minus>-?)0(?P<base>[bo])(?P<sign>[-+]?)(?P<digits>[0-9]+)'
_INT64 = 2 ** 63
_UINT64 = 2 ** 64
# time.Parse's layouts yaml.v3 tries (2006-1-2T15:4:5.999999999Z07:00, the
# same with t, 2006-1-2 15:4:5.999999999, 2006-1-2); the values' ranges
# are checked apart.  A space of the layout takes a run of spaces, and
# the fraction of a second may follow a comma (Go's time.Parse)
_GO_TIMESTAMP = (
    r'(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})(?:'
    r'[Tt](?P<h>[0-9]{1,2}):(?P<mi>[0-9]{1,2}):(?P<s>[0-9]{1,2})(?:[.,][0-9]+)?'
    r'(?:Z|[-+][0-9]{2}:[0-9]{2})'
    r'| +(?P<h2>[0-9]{1,2}):(?P<mi2>[0-9]{1,2}):(?P<s2>[0-9]{1,2})(?:[.,][0-9]+)?)?'
)
# a service's name, as the Compose schema's patternProperties of services
# (Go's regexp: ASCII only, no case folding)
_SERVICE_NAME = '[a-zA-Z0-9._-]+'
# the Compose specification's top-level keys besides services
_COMPOSE_TOP_LEVEL = frozenset((
    'include', 'volumes', 'networks', 'configs', 'secrets', 'name', 'version',
))
DOCKER_PREFIX = 'docker://'
# where the values of an included Compose file come from
INCLUDED_VALUES = ".env or the include's env_file"
# where a Compose file's values come from (its own .env, an include's)
_COMPOSE_VALUES = frozenset((BY_NAME[COMPOSE].variables_from, INCLUDED_VALUES))
# how deep manifests held in strings are read within such strings
MAX_HELD_DEPTH = 3
# kubectl's copy of the object itself, kept for its three-way merge: a
# record, like status:, that nothing pulls from
_LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration'
# string maps Kubernetes never pulls from: label values cannot even hold
# a digest (63 characters of [A-Za-z0-9_.-]), so a pin there made the
# manifest invalid (and changed a Deployment's immutable selector)
_LABEL_MAPS = frozenset(('labels', 'matchLabels', 'nodeSelector'))
# a KRM function's annotation: ``container: {image: …}``, which kpt and
# kustomize run
_KRM_FUNCTION = 'config.kubernetes.io/function'
_PROPERTIES_RE = re.compile(r'(?:[&!][^\s]*\s+)+')
_VARIABLE_RE = re.compile(r'\$(?:\{\{|\{?([A-Za-z_][A-Za-z0-9_]*))')


class YamlFile(Record):
    """A YAML file's text with the same interface as a Dockerfile's."""

    text: Final[str]
    bom: Final[bool]
    # where each reference's key stands, for ``# digestpin: ignore`` above it
    # line -> offset of the key of each reference: its pragma stands above
    starts: Final[dict[int, int]]
    lines: Final[LineIndex]  # offsets -> line and column, built on first use
    # the documents of a GitLab file that includes others, read alone: its
    # pipeline takes them instead of parsing it again (else None)
    documents: Final[list[Node | None] | None] = None

    def statement_starts(self) -> dict[int, int]:
        return self.starts

    def position(self, offset: int) -> tuple[int, int]:
        return self.lines.position(offset)

    def line_above(self, offset: int) -> str:
        return line_above(self.text, offset)


def _scalar_span(text: str, node: Scalar) -> tuple[int, int] | None:
    """Where the scalar's value stands verbatim, None if it is transformed."""
    start = node.start
    properties = _PROPERTIES_RE.match(text, start, node.end)
    if properties is not None:  # &anchor and !tag come before the value
        start = properties.end()
    raw = text[start:node.end]
    if node.style == '' and raw == node.value:
        return start, node.end
    if node.style in ("'", '"') and raw[1:-1] == node.value and (
        '\\' not in raw and "''" not in raw
    ):
        return start + 1, node.end - 1
    return None


class _Reads:
    """Where the scalars a use reads stand (ImageRef.reads), worked out once
    per tuple of them: the uses of one set of values share theirs (every
    job reading one long chain of variables had it worked out again); and
    where a scalar stands (the variable that holds an image whole, the
    matrix row's value a use is reported at) and its text, once per scalar
    (every job reading one long value sliced it again, every step reported
    at one long row's value too)."""

    def __init__(self, text: str) -> None:
        self.text = text
        # id of a Found.value_of -> (it, kept alive for its id; its span)
        self._held: dict[int, tuple[Scalar, tuple[int, int] | None]] = {}
        # id of a Found.reads -> (it, kept alive for its id; its spans)
        self._spans: dict[int, tuple[tuple[Scalar, ...], tuple[tuple[int, int], ...]]] = {}
        # a span of the text -> its text, sliced once
        self._written: dict[tuple[int, int], str] = {}
        # (id of spans, one more) -> (those spans, kept; with the one added)
        self._added: dict[
            tuple[int, tuple[int, int]],
            tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]],
        ] = {}

    def spans(self, reads: tuple[Scalar, ...]) -> tuple[tuple[int, int], ...]:
        if id(reads) not in self._spans:
            self._spans[id(reads)] = (reads, tuple(
                _scalar_span(self.text, held) or (held.start, held.end) for held in reads
            ))
        return self._spans[id(reads)][1]

    def held(self, node: Scalar) -> tuple[int, int] | None:
        if id(node) not in self._held:
            self._held[id(node)] = (node, _scalar_span(self.text, node))
        return self._held[id(node)][1]

    def written(self, span: tuple[int, int]) -> str:
        if span not in self._written:
            self._written[span] = self.text[span[0]:span[1]]
        return self._written[span]

    def added(
            self, spans: tuple[tuple[int, int], ...], span: tuple[int, int],
    ) -> tuple[tuple[int, int], ...]:
        key = (id(spans), span)
        if key not in self._added:
            self._added[key] = (spans, tuple(dict.fromkeys((*spans, span))))
        return self._added[key][1]


def _ref(
        text: str, found: _Found, env: dict[str, str] | None, where: str = '.env',
        reads: _Reads | None = None,
        expand: Callable[[str, Mapping[str, str]], Interpolated] | None = None,
) -> ImageRef:
    """The reference of a use; ``expand``: its kind's expansion of
    variables, when not Compose's (GitLab's)."""
    node = found.node
    value = node.value[len(found.prefix):]
    if found.env is not None:  # a GitLab job's values, a matrix row
        env = dict(found.env)
    if reads is None:
        reads = _Reads(text)
    if found.at is not None:  # reported at a matrix row's value
        node = found.at
    span = reads.held(node)
    if span is not None:
        span = (span[0] + len(found.prefix), span[1])
    whole = span or (node.start, node.end)
    # what every reference of this key shares: where it is, its platform
    at = ImageRef(
        source=found.path, image=value, written=reads.written(whole),
        span=whole, editable=False, line=found.key.line,
        platforms=(found.platform,) if found.platform else (), has_variables='$' in value,
    )
    if found.reads:  # a pin written in those values changes this one
        at = at.replace(reads=reads.spans(found.reads))
    if _typed(found.node) or _typed(node):
        # ``image: !!int 1`` pinned is ``!!int 1@sha256:…``, which Go's
        # yaml.v3 (Compose, kubectl) refuses to decode: the file broken
        return at.replace(how=FORM_NOT_EDITED)
    if found.too_long:  # a GitLab value of more variables than any image has
        return at.replace(unresolved=_variables(value) or ('$',), how=TOO_LONG)
    if env is not None and '$' in value:  # Compose, GitLab, Cloud Build
        unreadable = _no_substitution(value) if where == CLOUDBUILD_VALUES else None
        if unreadable is not None:
            return at.replace(
                unresolved=(unreadable[0],), how=NOT_A_SUBSTITUTION, via=unreadable[0],
                detail=unreadable[1], values_from=where,
            )
        dynamic = _dynamic_value(value, env) if where == CLOUDBUILD_VALUES else None
        if dynamic is not None:
            return at.replace(
                unresolved=(dynamic,), how=DYNAMIC_VALUE, via=dynamic, values_from=where,
            )
        # (an image longer than any reference is not made: each use made
        # it, n uses of one value n characters long cost n**2; GitLab's
        # walker bounds its uses' expansions itself: too_long)
        result = (
            interpolate(value, env, longest=EXPANSION_BUDGET) if expand is None
            else expand(value, env)
        )
        # (Cloud Build reads a bash default only with dynamic substitutions)
        only_dynamic = ONLY_DYNAMIC if where == CLOUDBUILD_VALUES and _reads_default(value) else ''
        # (GitLab's os.Expand reads ``${IMG:-alpine:3}`` as one name that
        # no variable has; ``$-`` is the shell's own, and said as any other)
        not_names = [] if expand is None else [
            name for name in result.unresolved if len(name) > 1 and not go_name(name)
        ]
        if not_names:
            return at.replace(
                unresolved=result.unresolved, how=NOT_A_NAME, via=not_names[0],
                values_from=where,
            )
        if result.unresolved:
            return at.replace(
                unresolved=result.unresolved, how=NO_VALUE, values_from=where,
            )
        if result.too_long:  # (its image stays the use's text as written)
            return at.replace(how=LONGER_THAN_ANY)
        if result.value == '' and where in _COMPOSE_VALUES and found.key.value in (
            'image', 'source',
        ):
            # Compose refuses a service whose image is empty ("neither an
            # image nor a build context specified"), and ``compose up``
            # fails to pull an image volume's empty source, unless the
            # shell that runs it sets these variables (its win over the
            # .env's, and are not read here): the shell decides, as for
            # ${IMG:?msg}.  (One empty whatever they hold, ``${A:+}``, the
            # walker refuses or leaves out, as ``image: ""``)
            return at.replace(
                unresolved=_variables(value), how=EMPTY_UNLESS_SET, values_from=where,
                detail=IMAGE_VOLUME if found.key.value == 'source' else '',
            )
        if result.span is not None and span is not None:
            start, end = span[0] + result.span[0], span[0] + result.span[1]
            return at.replace(
                image=result.value, written=text[start:end], span=(start, end),
                editable=True, how=DEFAULT_IN_EXPRESSION, detail=only_dynamic,
            )
        held = found.value_of
        held_span = reads.held(held) if held is not None else None
        if held_span is not None and held_span[1] - held_span[0] == len(result.value) and (
            text.startswith(result.value, held_span[0])
        ):
            # the image is one variable's value, written verbatim: a pin
            # is written there (fix leaves it when other uses would not
            # get the same pin: edit.shared_edits)
            if found.at is held:
                return at.replace(image=result.value, editable=True)
            return at.replace(
                image=result.value, editable=True, edit_at=held_span,
                reads=reads.added(at.reads, held_span),
                how=VALUE_OF, via=_whole(value),
            )
        if found.not_a_name:  # (GitLab: a value expanded to nothing made it)
            holder, name = found.not_a_name
            return at.replace(
                image=result.value, how=NOT_A_NAME_IN_VALUE, via=holder, detail=name,
            )
        return at.replace(image=result.value, how=BUILT_FROM_VARIABLES, detail=only_dynamic)
    if '$' in value:
        return at.replace(
            unresolved=_variables(value) or ('$',),
            how=AT_RUN_TIME,
        )
    for opening, closing in (('<<', '>>'), ('{{', '}}')):
        start = value.find(opening)
        if start >= 0 and value.find(closing, start) >= 0:
            # a CircleCI << parameters.x >> or a {{ template }}
            return at.replace(
                unresolved=(value[start:value.find(closing, start) + 2],),
                has_variables=True,
                how=TEMPLATE_PARAMETER,
            )
    if span is None:
        return at.replace(how=ESCAPED)
    return at.replace(editable=True)


def _no_substitution(value: str) -> tuple[str, str] | None:
    """The first ``${`` of a Cloud Build value that names no substitution
    it documents (``$NAME``, ``${NAME}``): (its text to its ``}``,
    NO_NAME_AFTER) when no name follows it (``${}``, ``${1A}``), (its
    text to its ``}``, BASH_OPERATION) when a bash operation does
    (``${_B/a/b}``, ``${_B:=x}``, ``${_B,,}``, ``${#_B}``: only dynamic
    substitutions apply it, when the build runs), (its text to the end,
    NEVER_CLOSED) when no ``}`` closes it (``${_B:-x``, which Compose's
    interpolation read as ``x``).  None when each names one or a default
    (``${_B:-x}``, ``${_B-x}``), which is read as bash reads it.  One
    pass; ``$$`` is a literal ``$``."""
    opened: list[int] = []  # where each ``${`` not closed yet starts
    i = 0
    while i < len(value):
        if value.startswith('$$', i):
            i += 2
        elif value.startswith('${', i):
            # ``${#_B}``, the length of _B's value, is an operation too
            length = value.startswith('#', i + 2) and _name_start(value[i + 3:i + 4])
            name = i + 3 if length else i + 2
            if not _name_start(value[name:name + 1]):
                end = value.find('}', i)
                return value[i:end + 1] if end >= 0 else value[i:], NO_NAME_AFTER
            after = name + 1
            while _name_start(value[after:after + 1]) or value[after:after + 1].isdigit():
                after += 1
            # (a default, ``${_B:-x}`` or ``${_B-x}``, is read as bash reads it)
            operation = value[after:after + 1] not in ('}', '') and not (
                value.startswith((':-', '-'), after)
            )
            if length or operation:
                closed = _to_close(value, i)
                if closed is None:
                    return value[opened[0] if opened else i:], NEVER_CLOSED
                return closed, BASH_OPERATION
            opened.append(i)
            i += 2
        else:
            if value[i] == '}' and opened:
                opened.pop()
            i += 1
    return (value[opened[0]:], NEVER_CLOSED) if opened else None


# a ``$$`` (a literal ``$``), or a substitution's name after ``$`` or ``${``
# (Cloud Build's patterns are strings, compiled by re's cache at first
# use: a lint of Compose files, which imports this module, needs neither)
_DOLLARS_OR_NAME = r'\$(\$|\{?([A-Za-z_][A-Za-z0-9_]*))'


def _dynamic_value(value: str, env: Mapping[str, str]) -> str | None:
    """The first substitution a Cloud Build value names whose own value
    names others (``$`` in it), which only dynamic substitutions expand;
    None when none does."""
    for m in re.finditer(_DOLLARS_OR_NAME, value):
        name = m.group(2)
        if name is not None and '$' in env.get(name, ''):
            return name
    return None


# a ``$$`` (a literal ``$``), or the start of a bash default ``${NAME:-``
_DOLLARS_OR_DEFAULT = r'\$(\$|\{[A-Za-z_][A-Za-z0-9_]*:?-)'


def _reads_default(value: str) -> bool:
    """Whether a Cloud Build value reads a bash default (``${_B:-x}``,
    ``${_B-x}``), not counting a ``$$`` before a ``{``."""
    return any(m.group(1) != '$' for m in re.finditer(_DOLLARS_OR_DEFAULT, value))


def _name_start(char: str) -> bool:
    """Whether ``char`` can begin a substitution's name (``_`` or a letter)."""
    return char == '_' or char.isascii() and char.isalpha()


def _to_close(value: str, start: int) -> str | None:
    """The ``${…}`` of ``value`` at ``start``, to the ``}`` that closes it
    (the ``${…}`` inside it counted); None when none does."""
    depth = 0
    i = start
    while i < len(value):
        if value.startswith('${', i):
            depth += 1
            i += 2
            continue
        if value[i] == '}':
            depth -= 1
            if depth == 0:
                return value[start:i + 1]
        i += 1
    return None


def _typed(node: Scalar) -> bool:
    """Whether an explicit tag makes the scalar other than a string
    (``!!int``, ``!!bool``, ``!!null``…): a pin written into it would no
    longer be of that type.  Local tags (``!reset``, ``!override``, ``!``)
    are the reading tool's business, not a type."""
    tag = node.tag or ''
    return tag.startswith(_CORE_TAG) and tag != _STRING_TAG


def go_type(node: Scalar) -> str:
    """The short name of the tag Go's yaml.v3 gives a scalar ('str',
    'int', 'null'...), as Compose decodes it: a plain scalar resolved
    (``1``, ``true``, ``2024-01-01``, ``~`` and an empty value are no
    strings), a quoted one a string, a core tag (``!!int 1``) its own; a
    local tag (``!override``) leaves the value a string, but ``!`` alone
    (``! 1``, ``!<!> 1``) is no tag to yaml.v3: the value is resolved."""
    tag = node.tag or ''
    if tag.startswith(_CORE_TAG):
        return tag[len(_CORE_TAG):]
    if (tag and tag != '!') or node.style != '':
        return 'str'
    value = node.value
    if value in _GO_WORDS:
        return _GO_WORDS[value]
    if value[:1] == '.':  # ParseFloat of the text as written
        return 'float' if re.fullmatch(_GO_DOT_FLOAT, value) and _go_finite(value) else 'str'
    if value[:1] not in '+-0123456789':  # ('' is a word above)
        return 'str'
    if _is_go_timestamp(value):
        return 'timestamp'
    plain = value.replace('_', '')
    if _go_int(plain):
        return 'int'
    if re.fullmatch(_GO_FLOAT, plain) and _go_finite(plain):
        return 'float'
    return 'int' if _go_prefixed_int(plain) else 'str'


def _go_finite(number: str) -> bool:
    """Whether ParseFloat takes ``number`` (of Go's syntax) without a
    range error: past the largest float64 it is a string to yaml.v3."""
    import math
    return math.isfinite(float(number.replace('_', '')))


def _go_int(plain: str) -> bool:
    """Whether ParseInt(plain, 0, 64) or ParseUint(plain, 0, 64) takes
    it: a number too large for 64 bits is no int (a decimal one is a
    float after, a 0x one a string)."""
    m = re.fullmatch(_GO_INT, plain)
    if m is None:
        return False
    digits, base = next(
        (m[group], base) for group, base in (('x', 16), ('o', 8), ('b', 2), ('z', 8), ('d', 10))
        if m[group] is not None
    )
    digits = digits.lstrip('0')
    if len(digits) > 64:  # past 64 bits in any base (and no int() of 1 MB)
        return False
    number = int(digits or '0', base)
    if m['sign'] == '-':
        return number <= _INT64
    return number < _INT64 or (not m['sign'] and number < _UINT64)


def _go_prefixed_int(plain: str) -> bool:
    """yaml.v3's last tries for 0b/0o: ParseInt (or ParseUint) of what
    follows the prefix in base 2 or 8, a sign allowed there (``0b-1``);
    after -0b/-0o, ParseInt of ``-`` and what follows."""
    m = re.fullmatch(_GO_PREFIXED, plain)
    if m is None or (m['minus'] and m['sign']):
        return False
    base = 2 if m['base'] == 'b' else 8
    digits = m['digits'].lstrip('0')
    if len(digits) > 64 or any(int(digit) >= base for digit in digits):
        return False
    number = int(digits or '0', base)
    if m['minus'] or m['sign'] == '-':
        return number <= _INT64
    return number < _INT64 or (not m['sign'] and number < _UINT64)


def _is_go_timestamp(value: str) -> bool:
    """Whether time.Parse takes ``value`` in one of yaml.v3's layouts: the
    pattern, a real date and a time of day."""
    import datetime
    m = re.fullmatch(_GO_TIMESTAMP, value)
    if m is None:
        return False
    try:
        datetime.date(int(m['y']), int(m['m']), int(m['d']))
    except ValueError:
        return False
    clock = [int(n) for n in (m['h'] or m['h2'] or 0, m['mi'] or m['mi2'] or 0, m['s'] or m['s2'] or 0)]
    return clock[0] < 24 and clock[1] < 60 and clock[2] < 60


def _left(ref: ImageRef, found: _Found) -> ImageRef:
    """``ref``, left to the user when the walker says why fix must not
    write its text (``found.left``)."""
    if found.left and ref.editable:
        return ref.replace(editable=False, left=found.left)
    return ref


def _whole(value: str) -> str:
    """``NAME`` of a value that is ``$NAME`` or ``${NAME}``."""
    return value.strip('${}')


def _variables(value: str) -> tuple[str, ...]:
    """``$NAME``, ``${NAME}`` and whole ``${{ expression }}`` in a value.

    One pass: an expression ends at the first ``}}`` after it, found with
    str.find, so a value of 30,000 unclosed ``${{`` costs linear time.
    """
    names: dict[str, None] = {}
    position = 0
    closed = True  # False once no ``}}`` is left to close an expression
    while True:
        m = _VARIABLE_RE.search(value, position)
        if m is None:
            break
        position = m.end()
        if m.group(1) is not None:
            names[m.group(1)] = None
            continue
        close = value.find('}}', position) if closed else -1
        if close < 0:
            closed = False  # an unclosed ``${{`` is no variable
            continue
        names[value[m.start():close + 2]] = None
        position = close + 2
    return tuple(names)


def _scalar(entry: tuple[Node, Scalar] | None) -> tuple[Scalar, Scalar] | None:
    """(value, key) when a mapping entry holds a scalar value."""
    if entry is None or not isinstance(entry[0], Scalar):
        return None
    return entry[0], entry[1]


def compose_tag(node: Node) -> str:
    """The tag of a node (``!reset``, ``!override``), else '', as the
    parser resolved it and as Compose's yaml.v3 does: ``!<!reset>`` and
    ``!e!reset`` under ``%TAG !e! !`` are ``!reset``; ``!reset`` under
    ``%TAG ! tag:example.com:`` is not, and Compose pulls its image."""
    return node.tag or ''


def _build(service: Node) -> tuple[Node, Scalar] | None:
    """A service's ``build:``, but none when it is null (``build:``,
    ``build: ~``, untagged): Compose refuses that file (``invalid type
    <nil> for build``), and what it would pull once corrected is its
    image, so the image is reported, not taken for one that is built."""
    build = get(service, 'build')
    if build is not None and isinstance(build[0], Scalar) and not build[0].tag and (
        build[0].style == '' and (build[0].value == '' or build[0].value in _NULLS)
    ):
        return None
    return build


def _extends_a_file(service: Node) -> bool:
    """Whether a service ``extends:`` one of another file."""
    extends = get(service, 'extends')
    return extends is not None and isinstance(extends[0], YamlMapping) and (
        get(extends[0], 'file') is not None
    )


# the files Compose's default loading reads (``docker compose up`` with no
# ``-f``: compose-go's DefaultFileNames)
_DEFAULT_FILES = frozenset((
    'compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml',
))


def overridden_beside(path: str) -> bool:
    """Whether a file of a default name has another Compose file in its
    folder: an override file, which Compose's default loading merges over
    it, or one a ``-f`` names after it (``-f compose.yaml -f
    compose.prod.yaml``).  Either may give a service the image or the
    build this one leaves it without, so what Compose refuses of this file
    alone is no refusal of the project.  A folder that cannot be listed
    counts as holding one: nothing is refused on a guess."""
    name = os.path.basename(path)
    if name not in _DEFAULT_FILES:
        return False
    try:
        with os.scandir(os.path.dirname(path) or '.') as entries:
            return any(entry.name != name and is_compose_name(entry.name) for entry in entries)
    except OSError:
        return True


def read_first(path: str, overridden: bool) -> bool:
    """Whether Compose reads this file as the first of its project, with
    nothing over it: a default name (another, ``compose.prod.yaml``, is
    read when given, most often after the file that gives its services
    their images) and no other Compose file beside it (not
    ``overridden``, as overridden_beside says)."""
    return os.path.basename(path) in _DEFAULT_FILES and not overridden


def refuse_unmapped_services(documents: list[Node | None], first: bool) -> None:
    """YamlError for a service that is no mapping once a Compose file's
    documents are merged up to its own: Compose checks the project after
    each document (``services.web must be a mapping``), where we read the
    other services on.  A null one over a service an earlier document
    defines leaves it as it is (Compose merges nothing over it); a null
    one defined nowhere before is refused only in a file Compose reads
    ``first`` (an earlier file may define it).  The documents are as
    written (tagged)."""
    defined: set[str] = set()
    for document in documents:
        services = get(document, 'services')
        if services is None:
            continue
        if compose_tag(services[0]) == '!reset':
            defined.clear()
            continue
        if not isinstance(services[0], YamlMapping):
            continue
        for name, service, key in items(services[0]):
            tag = compose_tag(service)
            if tag == '!reset':
                defined.discard(name)
                continue
            if isinstance(service, YamlMapping):
                defined.add(name)
                continue
            null = isinstance(service, Scalar) and (
                go_type(service) == 'null'
                or tag == '!override' and service.style == '' and service.value == ''
            )
            if null and tag != '!override' and (name in defined or not first):
                continue
            kind = 'null' if null else _kind_words(service)
            raise YamlError(
                f'line {key.line}: {shortened(f"services.{name}")} is {kind}, not a mapping: '
                f'Compose refuses the file',
            )


def refuse_imageless_services(text: str, documents: list[Node | None]) -> None:
    """YamlError for a service of a Compose file read first and alone
    (read_first) that, once its documents are merged, has neither an
    image nor a build: Compose refuses the file (``has neither an image
    nor a build context specified``), where we read the other services on.
    Not when a service has ``profiles:`` (Compose reads it only when its
    profile is asked for), nor when the file has ``include:``, nor for a
    service that ``extends:`` another (which may give it either).  The
    documents are as written (tagged); the merge is made only for a
    service that writes neither."""
    candidates: dict[str, int] = {}  # service -> line of its key, first written
    for document in documents:
        if get(document, 'include') is not None:
            return
        services = get(document, 'services')
        if services is None or not isinstance(services[0], YamlMapping):
            continue
        for name, service, key in items(services[0]):
            if not isinstance(service, YamlMapping):
                continue
            if get(service, 'profiles') is not None:
                return
            if get(service, 'extends') is not None:
                candidates[name] = -1  # (never refused)
            elif get(service, 'image') is None and get(service, 'build') is None:
                candidates.setdefault(name, key.line)
    lines = {name: line for name, line in candidates.items() if line >= 0}
    left = _left_imageless(text, documents, lines)
    if left is not None:
        name, line = left
        raise YamlError(
            f'line {line}: {shortened(f"services.{name}")} has neither an image nor a '
            f'build: Compose refuses the file',
        )


def _left_imageless(
        text: str, documents: list[Node | None], lines: dict[str, int],
) -> tuple[str, int] | None:
    """The first of ``lines``' services (name -> line to report) that,
    once the file's documents are merged, has neither an image nor a
    build; None when each has one (the merge is made only when some
    service may be left so)."""
    if not lines:
        return None
    state = _merge(list(enumerate(document_layers(text, documents))))
    for name, line in lines.items():
        if name in state and state[name][0] < 0 and not state[name][1]:
            return name, line
    return None


def refuse_bad_interpolation(documents: list[Node | None]) -> None:
    """YamlError for the first value of a Compose file (any value, not
    only an image; keys are not interpolated, nor a value ``!reset``
    removes: ``documents`` are without them) whose interpolation
    compose-go cannot parse (``${A:-x``, ``${}``, ``${1A}``, ``${A:=x}``):
    Compose refuses the file (``invalid interpolation format``), where we
    read ``${A:-x`` as the image ``x``.  Each node once, however many
    aliases use it; a path is put into words only for the value refused."""
    seen: set[int] = set()
    for document in documents:
        todo: list[tuple[Node, KeyPath]] = [(document, None)] if document is not None else []
        while todo:
            node, path = todo.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, Scalar):
                if '$' in node.value and not valid_template(node.value):
                    raise YamlError(
                        f'line {node.line}: invalid interpolation format for '
                        f'{shortened(path_words(path))} (a $ that starts no variable is written '
                        f'$$): Compose refuses the file',
                    )
            elif isinstance(node, YamlSequence):
                todo.extend((item, (path, i)) for i, item in reversed(list(enumerate(node.items))))
            else:
                todo.extend(
                    (value, (path, key.value)) for key, value in reversed(node.pairs)
                    if isinstance(key, Scalar)
                )


def refuse_reset_images(text: str, documents: list[Node | None]) -> None:
    """YamlError for a service of a Compose file (read whole, alone) whose
    ``image: !reset`` leaves it, once the file's documents and its
    ``extends:`` are merged, no image and no build: Compose refuses the
    file (``has neither an image nor a build context specified``), as for
    ``image: ""``, where we reported nothing for it.  Not when a service
    has ``profiles:`` or extends one of another file (as ``image: ""``).
    The documents are as written (tagged); one pass over their services."""
    removed: dict[str, int] = {}  # service -> line of its last image: !reset
    for document in documents:
        services = get(document, 'services')
        if services is None:
            continue
        if compose_tag(services[0]) == '!reset':
            removed.clear()
        if not isinstance(services[0], YamlMapping):
            continue
        for name, service, _ in items(services[0]):
            if compose_tag(service) in ('!reset', '!override'):
                removed.pop(name, None)  # the service removed, or written anew
            if not isinstance(service, YamlMapping):
                continue
            if get(service, 'profiles') is not None or _extends_a_file(service):
                return  # (Compose may not read it, or it may build)
            image = get(service, 'image')
            if image is not None and compose_tag(image[0]) == '!reset':
                removed[name] = image[1].line
            elif image is not None:
                removed.pop(name, None)
    left = _left_imageless(text, documents, removed)
    if left is not None:
        name, line = left
        raise YamlError(
            f'line {line}: {shortened(f"services.{name}.image")} is removed by !reset and '
            f'the service builds nothing: Compose refuses the file',
        )


def without_resets(text: str, documents: list[Node | None]) -> list[Node | None]:
    """The documents as Compose reads a file: a value tagged ``!reset`` is
    removed (the mapping's entry, the sequence's item), except inside a
    value tagged ``!override``, which Compose takes as written.  Each node
    is looked at once (aliases share theirs), so a file costs one pass."""
    if '!' not in text:  # no tag of any spelling
        return documents
    return _resets_removed(text, documents)


def _resets_removed(text: str, documents: list[Node | None]) -> list[Node | None]:
    """without_resets for a text known to hold a ``!reset`` (a caller that
    asks for each of a file's services tests that once, not once each)."""
    done: dict[int, Node] = {}

    def kept(node: Node, top: bool = False) -> Node:
        if id(node) in done and not top:
            return done[id(node)]
        result = node
        if compose_tag(node) == '!override' or isinstance(node, Scalar):
            pass
        elif isinstance(node, YamlMapping):
            pairs = [
                (key, kept(value)) if compose_tag(value) != '!reset' else (
                    # no service left: still a Compose file
                    key, YamlMapping([], value.start, value.line)
                )
                for key, value in node.pairs
                if compose_tag(value) != '!reset' or (
                    top and isinstance(key, Scalar) and key.value == 'services'
                )
            ]
            if len(pairs) != len(node.pairs) or any(
                a[1] is not b[1] for a, b in zip(pairs, node.pairs)
            ):
                result = node.replace(pairs=pairs)
        else:
            values = [kept(item) for item in node.items if compose_tag(item) != '!reset']
            if len(values) != len(node.items) or any(
                a is not b for a, b in zip(values, node.items)
            ):
                result = node.replace(items=values)
        done[id(node)] = result
        return result
    return [None if d is None else kept(d, top=True) for d in documents]


def _kind_words(node: Node) -> str:
    """What a node is to Compose's yaml.v3, in the words of its refusals:
    'a mapping', 'a sequence', GO_NOT_STRINGS' words, else 'a string'."""
    if isinstance(node, YamlMapping):
        return 'a mapping'
    if isinstance(node, YamlSequence):
        return 'a sequence'
    return GO_NOT_STRINGS.get(go_type(node), 'a string')


def _refuse_unread_documents(documents: list[Node]) -> None:
    """YamlError for the first document of a Compose file that is not a
    mapping: an empty one (a ``---`` that ends the file, or two in a row),
    ``~``, a string, a sequence.  Compose decodes every document of a
    file and refuses the file for such a one (``top-level object must be
    a mapping``), where we read the others on."""
    for at, document in enumerate(documents, 1):
        if isinstance(document, YamlMapping):
            continue
        empty = isinstance(document, Scalar) and (
            document.value == '' and document.style == '' and not document.tag
        )
        kind = 'empty' if empty else _kind_words(document)
        raise YamlError(f'document {at} is {kind}, not a mapping: Compose refuses the file')


def _refuse_no_string(written: tuple[Node, Scalar], path: str) -> None:
    """YamlError for a value Compose's schema takes only as a string (an
    image, a volume's source) that is none as yaml.v3 resolves it (``1``,
    ``true``, ``2024-01-01``, ``~`` or nothing, a list, a mapping):
    Compose refuses the file (``must be a string``), where we read it as
    an image."""
    value, key = written
    refused = _kind_words(value)
    if refused != 'a string':
        raise YamlError(
            f'line {key.line}: {shortened(path)} is {refused}, not a string: '
            f'Compose refuses the file',
        )


def _refuse_unmapped(documents: list[Node]) -> None:
    """YamlError for the first document whose ``services`` is no mapping
    (``services:`` with no value, a list): Compose refuses the file
    (``services must be a mapping``), even for one with no value over
    the services of an earlier document, where we took the file for none
    of Compose's, or read the earlier services on.  (A ``services:
    !reset`` is an empty mapping here: without_resets made it one.)"""
    for document in documents:
        services = get(document, 'services')
        if services is None or isinstance(services[0], YamlMapping):
            continue
        raise YamlError(
            f'line {services[1].line}: services is {_kind_words(services[0])}, not a '
            'mapping: Compose refuses the file',
        )


def _service_name(name: str, key: Scalar) -> bool:
    """True for a key of ``services`` that names a service as Compose's
    schema takes it (``^[a-zA-Z0-9._-]+$``, a string as yaml.v3 resolves
    the key); YamlError for any other, for which Compose refuses the
    file (``services additional properties 'web/1' not allowed``,
    ``non-string key in services: 1``), even a service of a profile, where
    we read its image on."""
    refused = GO_NOT_STRINGS.get(go_type(key))
    if refused is not None:
        raise YamlError(
            f'line {key.line}: the service key {shortened(name)} is {refused}, not a string: '
            f'Compose refuses the file',
        )
    if re.fullmatch(_SERVICE_NAME, name) is None:
        raise YamlError(
            f'line {key.line}: {shortened(f"services.{name}")} is not a service name Compose '
            f'takes (only letters a-z and A-Z, digits, ".", "_" and "-"): Compose refuses '
            f'the file',
        )
    return True


def compose(
        documents: list[Node | None], unbuilt: frozenset[str] = frozenset(),
        merged: Merged | None = None, renamed: frozenset[str] = frozenset(),
        every_use: bool = False, overridden: bool = False,
) -> Iterator[_Found]:
    """The images a Compose file's services pull; an image its service
    builds is not, but for those of ``unbuilt`` (by source), whose build
    a later file of an include entry removes.  A file of several documents
    is read as Compose merges them (``merged``, by document_merge): only
    what the merge pulls, each where the document that wins writes it.
    An image of ``renamed`` (by source; with it, any use of the same
    anchor) names what the merge of an include entry builds for another
    service: pulled, it is reported, never written (NAMES_A_BUILD), as
    is a volume of type image whose source is its value (a service that
    extends one with such a volume, and builds, mounts what it builds:
    pinned, it would mount the registry's image instead).

    A ``volumes:`` list services share by an alias is read once, at its
    first use (each service's reading found its images again: the square
    of the file), unless ``every_use``: a caller that keeps some services'
    uses only needs each's, and a merge of documents pulls each service's
    own.  An ``image: ""`` is no refusal of a file ``overridden`` (by an
    override file beside it, which may give the service an image)."""
    present = [d for d in documents if d is not None]
    if not present:
        return
    # (an empty document first is refused below, not taken for the file)
    first = next((d for d in present if isinstance(d, YamlMapping)), present[0])
    if isinstance(first, Scalar) and first.value == '' and first.style == '' and not first.tag:
        _refuse_unread_documents(present)  # only empty documents: ``---`` alone
    services = get(first, 'services')
    # a first document with only include:, volumes:... is a Compose file
    # too: its later documents may hold the services
    other_keys = isinstance(first, YamlMapping) and services is None and any(
        key in _COMPOSE_TOP_LEVEL or key.startswith('x-')
        for key, _, _ in items(first)
    )
    if not other_keys and (not isinstance(first, YamlMapping) or services is None):
        raise NotOfKind('not a Compose file: no services mapping at the top')
    _refuse_unread_documents(present)
    _refuse_unmapped(present)
    if other_keys and all(get(d, 'services') is None for d in documents):
        return  # a Compose file with only include:, volumes:...: no image
    # Compose reads every document of a file, each merged over the ones
    # before it as a later file is (``merged``: what the merge pulls)
    named = [
        (at, name, service)
        for at, document in enumerate(documents) if document is not None
        for entry in (get(document, 'services'),)
        if entry is not None and isinstance(entry[0], YamlMapping)
        for name, service, key in items(entry[0])
        if _service_name(name, key) and isinstance(service, YamlMapping)
    ]
    # a service with build: names the image it builds, which is not pulled,
    # neither for the service nor for a volume made of it in this file (a
    # named exception: ``compose up`` pulls such a volume's image before it
    # builds; what is mounted once built is what is built)
    # (of a file of documents: an image its merge builds is never pinned,
    # and the exception holds only for an image written beside the build)
    built = set()
    built_nodes = set()  # the scalars naming them (an anchor's is shared)
    renamed_values: set[str] = set()  # the values of the images of ``renamed``
    # whether an image "" that the merge of the file's documents (and
    # extends: within them) pulls is one Compose refuses: not when a
    # service has a profile (extends: passes it on; Compose reads that
    # service only when it is asked for) or extends a service of another
    # file (which may build)
    empty_refused = merged is not None and not any(
        get(service, 'profiles') is not None or _extends_a_file(service)
        for _, _, service in named
    )
    for at, name, service in named:
        written = get(service, 'image')
        if written is None:
            continue
        # (pinned, ``1@sha256:…``: still no string)
        _refuse_no_string(written, f'services.{name}.image')
        image = _scalar(written)
        if image is None:
            continue
        if always_empty(image[0].value) and not (
            unbuilt or renamed or every_use or overridden
        ) and (
            merged is None and _build(service) is None and get(service, 'profiles') is None
            or empty_refused and merged is not None
            and (at, f'services.{name}.image') in merged.pulled
        ):
            # a file read whole, alone (no later file of its include entry
            # may give an image or a build), and a service of no profile
            # whose image, once the documents and extends: are merged, is
            # this one and no build: Compose refuses it whatever its
            # variables; one of a profile only when that profile is asked for
            raise YamlError(
                f'line {written[1].line}: {shortened(f"services.{name}.image")} is empty and the '
                f'service builds nothing: Compose refuses the file',
            )
        if merged is not None and (at, name) in merged.built:
            built_nodes.add(id(image[0]))
            if _build(service) is not None:
                built.add(image[0].value)
        elif merged is None and _build(service) is not None and (
            f'services.{name}.image' not in unbuilt
        ):
            built.add(image[0].value)
            built_nodes.add(id(image[0]))
        if renamed and f'services.{name}.image' in renamed:
            built_nodes.add(id(image[0]))
            renamed_values.add(image[0].value)
    read: set[int] = set()  # the volumes: lists read (by id)
    for at, name, service in named:
        platform = get(service, 'platform')
        platform_value = (
            platform[0].value if platform and isinstance(platform[0], Scalar) else ''
        )
        image = _scalar(get(service, 'image'))
        # (an image empty whatever its variables hold, ``${A:+}``, is
        # none, as ``image: ""`` is: refused above, or not pulled)
        if image is not None and not always_empty(image[0].value) and (
            (at, f'services.{name}.image') in merged.pulled if merged is not None
            else _build(service) is None or f'services.{name}.image' in unbuilt
        ):
            yield _Found(
                f'services.{name}.image', *image, platform_value,
                left=NAMES_A_BUILD if id(image[0]) in built_nodes else '', service=name,
            )
        # a volume of type image: Compose pulls its source too
        volumes = get(service, 'volumes')
        if volumes is None or not isinstance(volumes[0], YamlSequence):
            continue
        if merged is None and not every_use:
            if id(volumes[0]) in read:
                continue  # its images are found at its first use
            read.add(id(volumes[0]))
        listed = _volumes_path(name)
        for i, volume in enumerate(volumes[0].items):
            kind = _scalar(get(volume, 'type'))
            written_source = get(volume, 'source')
            if kind is not None and kind[0].value == 'image' and written_source is not None:
                _refuse_no_string(written_source, _volume_source(listed, i))
            source = _scalar(written_source)
            if (
                kind is not None and kind[0].value == 'image' and source is not None
                and source[0].value not in built and (
                    merged is None or (at, name, i) in merged.volumes
                )
            ):
                # (no platform: how Compose picks an image volume's
                # platform is not known here, so none is checked)
                yield _Found(
                    _volume_source(listed, i), *source,
                    left=NAMES_A_BUILD if source[0].value in renamed_values else '',
                    service=name, volume=i,
                )


def _volumes_path(name: str) -> str:
    """``services.NAME.volumes``, shortened as yaml_nodes puts a long key
    path into words, made once for a service's volumes: each copied a long
    name whole (500 KB of a service's volumes took 1.4 GB)."""
    return shortened(f'services.{name}.volumes')


def _volume_source(volumes: str, i: int) -> str:
    """The key path of the source of volume ``i`` of ``volumes`` (a
    ``_volumes_path``), shortened alike."""
    return shortened(f'{volumes}[{i}].source')


class Merged(Record):
    """What Compose's merge of a file's documents pulls: (document index,
    source) of each image, (document index, service, place in its volumes)
    of each image volume, and (document index, service) of each image a
    service builds once merged."""

    pulled: Final[frozenset[tuple[int, str]]]
    built: Final[frozenset[tuple[int, str]]]
    volumes: Final[frozenset[tuple[int, str, int]]]


def document_merge(
        text: str, documents: list[Node | None], unbuilt: frozenset[str] = frozenset(),
) -> Merged:
    """A Compose file's documents (as written: their tags not applied yet)
    merged in order, as Compose merges them, each over the ones before as
    a later file is merged (``services: !reset``, a service ``!reset`` or
    ``!override``, ``build: !reset``, a build added, an image or a volume
    of the same target replaced); an image of ``unbuilt`` is pulled though
    it is built (a later file of an include entry removes its build).  One
    pass over the services of all documents."""
    layers = document_layers(text, documents)
    state = _merge(list(enumerate(layers)))
    built = frozenset(
        (image, writer) for image, is_built, _, _, writer in state.values()
        if image >= 0 and is_built and f'services.{writer}.image' not in unbuilt
    )
    images, volumes = _pulled(state, unbuilt)
    return Merged(frozenset(images), built, frozenset(volumes))


def _documents(text: str) -> list[Node]:
    """The documents Compose reads of a file's text (each that is not
    empty: Compose merges them in order), none for text that does not
    parse: reading the file itself says what is wrong with it."""
    try:
        documents = parse_once(text)
    except YamlError:
        return []
    return [d for d in documents if d is not None]


def extends_by_document(text: str) -> list[tuple[int, tuple[str, int, str, str]]]:
    """(service, line, file, base service) of each service of a Compose file
    whose image comes from the service it extends: it names no ``image:``
    and builds none.  ``file`` is '' for a service of the same file.  Each
    with the index of its document among those that are not empty
    (compose_layers' layers)."""
    return [(at, found) for at, found, build in _extends(text) if not build]


def compose_extends_building(text: str) -> list[tuple[int, str, int, str, str, str]]:
    """extends_by_document, and each service that extends another and
    writes ``build:`` (its own or a merge key's), with it: 'build' when it
    builds (the image it builds is named where the service it extends
    names one), '!reset' when it removes the build of the service it
    extends (it pulls that image), '' when it writes none; and each that
    writes ``image:``, with 'image' ('image+build' when it writes
    ``build:`` too): Compose still merges in the volumes of the services it
    extends, whose images it replaces, and their build, which builds its
    image."""
    return [(at, *found, build) for at, found, build in _extends(text)]


def compose_builds(text: str) -> frozenset[str]:
    """The services of a Compose file that build once its documents are
    merged (their own ``build:``; what they take by ``extends:`` aside)."""
    return frozenset(
        name for name, (_, built, _, _, _) in _merge(list(enumerate(compose_layers(text)))).items()
        if built
    )


def _extends(text: str) -> list[tuple[int, tuple[str, int, str, str], str]]:
    found = []
    for at, document in enumerate(_documents(text)):
        services = get(document, 'services')
        if services is None or not isinstance(services[0], YamlMapping):
            continue
        for name, service, key in items(services[0]):
            extends = get(service, 'extends')
            if extends is None:
                continue
            written = _build(service)
            build = (
                ('image' if written is None else 'image+build') if get(service, 'image')
                else '' if written is None else
                ('!reset' if compose_tag(written[0]) == '!reset' else 'build')
            )
            if isinstance(extends[0], Scalar):  # extends: base
                found.append((at, (name, key.line, '', extends[0].value), build))
                continue
            base = _scalar(get(extends[0], 'service'))
            other = _scalar(get(extends[0], 'file'))
            if base is not None:
                found.append((at, (
                    name, key.line, other[0].value if other else '', base[0].value,
                ), build))
    return found


class ComposeInclude(Record):
    """One entry of a Compose file's ``include:``, its values as written
    (Compose interpolates them with the including file's values)."""

    line: Final[int]
    # the files: the first is the included project, the others its
    # overrides; () for an entry that names none, which Compose refuses
    paths: Final[tuple[str, ...]]
    project_directory: Final[str] = ''  # '' for the first file's folder
    env_files: Final[tuple[str, ...] | None] = None  # None: not given


class ComposeLayer(Record):
    """What a Compose file sets of each service, as far as merging it with
    the other files of an include entry (``path: [main, override]``)
    changes the images pulled: Compose merges a later file over an earlier
    one, its ``image`` replacing theirs, a ``build`` anywhere making the
    image one that is built, a volume replacing theirs of the same
    ``target``; its ``!reset`` removing what they set, its ``!override``
    replacing it whole."""

    image: Final[bool]  # it writes image:
    build: Final[bool]  # it writes build:
    targets: Final[tuple[str, ...]]  # each volume's target ('' : none), by index
    # what it removes of the earlier files' service: all of it (the
    # service !reset or !override), its image, its build, its volumes
    drops: Final[frozenset[str]] = frozenset()
    # the volumes' targets it takes from the service it extends (whose
    # file is not of the entry): they replace the earlier files' volumes
    # of those targets
    inherited: Final[tuple[str, ...]] = ()
    # the service of the same document whose image (or build) it takes
    # (``extends:`` it, writing neither): Compose resolves a document's
    # extends before it merges the documents, so what a later one does to
    # that service does not change this one; '' : its own
    writer: Final[str] = ''


Layers = list[dict[str, 'ComposeLayer']]  # a file's: one a document


def compose_layers(text: str) -> Layers:
    """Each document of a Compose file (each that is not empty), as layers
    of a merge: Compose merges a file's documents in order, each over the
    ones before (none when the file cannot be read: reading it says what
    is wrong)."""
    try:
        written = parse_once(text)
    except YamlError:
        return []
    return document_layers(text, [d for d in written if d is not None])


def document_layers(text: str, documents: list[Node | None]) -> Layers:
    """Each service of each document, by name, as a layer of a merge (an
    empty document, or one without services, sets none); a document whose
    ``services`` is ``!reset`` removes all before it (the name '' stands
    for every service)."""
    resets = '!' in text  # a tag of any spelling
    return [_layer(text, document, resets) for document in documents]


def _layer(text: str, document: Node | None, resets: bool) -> dict[str, ComposeLayer]:
    services = get(document, 'services')
    if services is not None and compose_tag(services[0]) == '!reset':
        return {'': ComposeLayer(False, False, (), frozenset(('',)))}
    if services is None or not isinstance(services[0], YamlMapping):
        return {}
    # the services as Compose reads them: the document's resets removed in
    # one pass (an anchor many services merge in is looked at once)
    kept: dict[str, Node] = {}
    if resets:
        cleaned = get(_resets_removed(text, [document])[0], 'services')
        if cleaned is not None and isinstance(cleaned[0], YamlMapping):
            kept = {name: service for name, service, _ in items(cleaned[0])}
    layers = {}
    for name, tagged, _ in items(services[0]):
        drops = set()
        if compose_tag(tagged) in ('!reset', '!override'):
            drops.add('')
        for key in ('image', 'build', 'volumes'):
            value = get(tagged, key)
            if value is not None and compose_tag(value[0]) in ('!reset', '!override') and (
                key == 'volumes' or compose_tag(value[0]) == '!reset'
            ):
                drops.add(key)
        service = kept.get(name) if resets else tagged
        if compose_tag(tagged) == '!reset' or not isinstance(service, YamlMapping):
            if drops:
                layers[name] = ComposeLayer(False, False, (), frozenset(drops))
            continue
        volumes = get(service, 'volumes')
        layers[name] = ComposeLayer(
            get(service, 'image') is not None, _build(service) is not None,
            tuple(map(_volume_target, volumes[0].items)) if volumes is not None and (
                isinstance(volumes[0], YamlSequence)
            ) else (),
            frozenset(drops),
        )
    _extended_here(services[0], layers)
    return layers


def _extended_here(services: YamlMapping, layers: dict[str, ComposeLayer]) -> None:
    """Give each service of a document that ``extends:`` one of the same
    document, writing no image, the image that one takes (followed
    MAX_EXTENDS deep inside the document), with the name of the service
    that writes it, and the build of any on the way (its own kept)."""
    bases: dict[str, str] = {}
    own: set[str] = set()  # those that write an image: they take a build only
    for name, service, _ in items(services):
        extends = get(service, 'extends')
        if extends is None or name not in layers:
            continue
        if isinstance(extends[0], Scalar):
            bases[name] = extends[0].value
        elif get(extends[0], 'file') is None:
            named = _scalar(get(extends[0], 'service'))
            if named is not None:
                bases[name] = named[0].value
        if name in bases and layers[name].image:
            own.add(name)
    for name in own:
        # its image is what the build of one on the way builds (unless a
        # ``build: !reset`` on the way, its own first, removes it)
        base = bases[name]
        for _ in range(_MAX_EXTENDS_HERE):
            if layers[name].build or 'build' in layers[name].drops:
                break
            found = layers.get(base)
            if found is None or '' in found.drops or 'build' in found.drops:
                break
            if found.build:
                layers[name] = layers[name].replace(build=True)
                break
            if base not in bases:
                break
            base = bases[base]
    for name, base in bases.items():
        if name in own:
            continue
        build, targets = layers[name].build, layers[name].inherited
        for _ in range(_MAX_EXTENDS_HERE):
            found = layers.get(base)
            if found is None or '' in found.drops:
                break
            build, targets = build or found.build, targets + found.targets
            if found.image:
                layers[name] = layers[name].replace(
                    image=True, build=build, writer=found.writer or base, inherited=targets,
                )
                break
            if base not in bases:
                break
            base = bases[base]
        if build and not layers[name].image:  # a build taken, no image
            layers[name] = layers[name].replace(build=True, inherited=targets)


_MAX_EXTENDS_HERE = 16  # as files.MAX_EXTENDS


def _volume_target(volume: Node) -> str:
    """Where a volume is mounted, which Compose merges volumes by: the
    ``target`` of the long syntax, the second field of ``source:target``."""
    if isinstance(volume, Scalar):
        fields = volume.value.split(':')
        return fields[1] if len(fields) > 1 else fields[0]
    target = _scalar(get(volume, 'target'))
    return target[0].value if target is not None else ''


# a service in a merge: (the owner of its image or -1, built, volume
# target -> (owner, index), untargeted volumes, the service that writes
# its image); the owner is the file (of an include entry) or the document
# (of a file) that wrote it
_Service = tuple[int, bool, dict[str, tuple[int, int]], list[tuple[int, int]], str]


def _merge(layers: list[tuple[int, dict[str, ComposeLayer]]]) -> dict[str, _Service]:
    """Each service once ``layers`` (owner, layer) are merged in order:
    followed layer by layer, each service's state kept: one pass, whatever
    the number of layers and services."""
    state: dict[str, _Service] = {}
    for index, layer in layers:
        if '' in layer:
            state.clear()  # services: !reset
            continue
        for name, service in layer.items():
            image, built, targeted, loose, writer = state.get(name, (-1, False, {}, [], name))
            if '' in service.drops:
                image, built, targeted, loose = -1, False, {}, []
            if 'image' in service.drops:
                image = -1
            if 'build' in service.drops:
                built = False
            if 'volumes' in service.drops:
                targeted, loose = {}, []
            if service.image:
                image, writer = index, service.writer or name
            built = built or service.build
            for target in service.inherited:
                targeted.pop(target, None)
            for i, target in enumerate(service.targets):
                if target:
                    targeted[target] = (index, i)
                else:
                    loose.append((index, i))
            state[name] = image, built, targeted, loose, writer
    return state


def _pulled(
        state: dict[str, _Service], unbuilt: frozenset[str] = frozenset(),
) -> tuple[set[tuple[int, str]], set[tuple[int, str, int]]]:
    """What a merge pulls: (owner, source) of each image not built (or
    built, but of ``unbuilt``), and (owner, service, place) of each volume
    left: a volume by its service's name, not its key path in words, which
    is shortened when long (two services' volumes may be alike so)."""
    pulled: set[tuple[int, str]] = set()
    volumes: set[tuple[int, str, int]] = set()
    for name, (image, built, targeted, loose, writer) in state.items():
        if image >= 0 and (not built or f'services.{writer}.image' in unbuilt):
            pulled.add((image, f'services.{writer}.image'))
        volumes.update((at, name, i) for at, i in (*targeted.values(), *loose))
    return pulled, volumes


def replaced_in(
        files: list[Layers],
) -> list[tuple[frozenset[LeftOut], frozenset[str], frozenset[str]]]:
    """The references of each file of an include entry's files (``files``,
    in order, each its documents' layers) that Compose's merge of them does
    not pull: an image a later file replaces or removes (``!reset``, a
    service ``!override``), or that a build left after the merge makes one
    that is built; a volume a later file mounts at the same target or
    removes.  With them, the images the file writes beside a build that
    the merge pulls: a later file removes the build (``build: !reset``)
    and not the image.  And the images the file writes that the merge
    builds for a service (its own, or one that takes it by ``extends:``):
    where another pulls them, a pin would rename that build.  A file's
    documents are merged in order, as Compose merges them; what one of
    them replaces of another of the same file is left to the file's own
    reading (document_merge)."""
    state = _merge([(index, layer) for index, file in enumerate(files) for layer in file])
    pulled, volumes = _pulled(state)
    builds: set[tuple[int, str]] = {
        (image, f'services.{writer}.image') for image, is_built, _, _, writer in state.values()
        if image >= 0 and is_built
    }
    replaced: list[tuple[frozenset[LeftOut], frozenset[str], frozenset[str]]] = []
    for index, file in enumerate(files):
        here: set[LeftOut] = set()
        unbuilt: set[str] = set()
        for layer in file:
            for name, service in layer.items():
                source = f'services.{service.writer or name}.image'
                if service.image and (index, source) not in pulled:
                    if not service.writer:  # (another's: its own layer says)
                        here.add(source)
                elif service.image and service.build:
                    unbuilt.add(source)
                here.update(
                    (name, i) for i in range(len(service.targets))
                    if (index, name, i) not in volumes
                )
        replaced.append((
            frozenset(here), frozenset(unbuilt),
            frozenset(source for at, source in builds if at == index),
        ))
    return replaced


def compose_includes(text: str) -> list[ComposeInclude]:
    """The entries of a Compose file's ``include:``: ``- path`` or ``- {path:
    p | [p, ...], project_directory: d, env_file: e | [e, ...]}``.  An
    ``include:`` that is no list is one entry naming no file: Compose
    refuses it (`include` must be a list)."""
    found = []
    for document in _documents(text):  # Compose follows each document's
        found.extend(_includes_of(document))
    return found


def _includes_of(document: Node) -> list[ComposeInclude]:
    include = get(document, 'include')
    if include is None or isinstance(include[0], Scalar) and (
        include[0].style == '' and include[0].value in _NULLS
    ):
        return []
    if not isinstance(include[0], YamlSequence):
        return [ComposeInclude(include[1].line, ())]
    found = []
    for entry in include[0].items:
        if isinstance(entry, Scalar):
            found.append(ComposeInclude(entry.line, (entry.value,) if entry.value else ()))
            continue
        if not isinstance(entry, YamlMapping):
            found.append(ComposeInclude(entry.line, ()))
            continue
        project = _scalar(get(entry, 'project_directory'))
        env_file = get(entry, 'env_file')
        found.append(ComposeInclude(
            entry.line, _strings(get(entry, 'path')),
            project[0].value if project is not None else '',
            _strings(env_file) if env_file is not None else None,
        ))
    return found


def _strings(entry: tuple[Node, Scalar] | None) -> tuple[str, ...]:
    """A string or a list of strings, as Compose's string-or-list fields."""
    if entry is None:
        return ()
    node = entry[0]
    nodes = node.items if isinstance(node, YamlSequence) else [node]
    return tuple(n.value for n in nodes if isinstance(n, Scalar) and n.value)


def _is_manifest(document: Node | None) -> bool:
    return get(document, 'apiVersion') is not None and get(document, 'kind') is not None


def kubernetes(
        text: str, documents: list[Node | None], span_of: SpanOf | None = None,
        depth: int = 0,
) -> Iterator[tuple[str, Scalar, Scalar] | Assembled]:
    """Every ``image:`` key whose value is a string, at any depth: the pod
    spec's containers, and Argo templates, Tekton steps and sidecars,
    operators' spec.image... (as Renovate reads them); and the references
    of the manifests held in strings (Argo's ``resource.manifest``), placed
    in ``text``.  An object's ``status:`` is what the cluster reports, never
    what it pulls: it is not read."""
    if depth == 0 and any(d is not None for d in documents) and not any(
        _is_manifest(d) for d in documents
    ):
        raise NotOfKind(
            'not a Kubernetes manifest: no document has apiVersion and kind',
        )
    seen: set[int] = set()
    for document in documents:
        # each node with its key path (put into words only for what is
        # found: a path made for each node copied its parent's)
        todo: list[tuple[Node, KeyPath, Scalar | None]] = (
            [(document, None, None)] if document else []
        )
        while todo:
            node, path, key_node = todo.pop()
            if id(node) in seen:
                continue  # an alias: found once, at its anchor
            seen.add(id(node))
            if isinstance(node, Scalar):
                if '\n' in node.value:  # else it holds no manifest: no generator made
                    yield from _held_manifests(text, node, key_node or node, path, depth)
                continue
            if isinstance(node, YamlSequence):
                todo.extend(
                    (item, (path, i), None)
                    for i, item in zip(range(len(node.items) - 1, -1, -1), reversed(node.items))
                )
                continue
            is_object = path is None or _is_manifest(node)
            # an annotation is a string a tool may read (a KRM function's
            # manifest, below), never an image the cluster pulls
            last = path[1] if path is not None else None
            annotations = isinstance(last, str) and (
                last == 'annotations' or last.endswith('.annotations')
            )
            children: list[tuple[Node, KeyPath, Scalar | None]] = []
            for key, value, key_node in items(node):
                if (key == 'status' and is_object) or key == _LAST_APPLIED:
                    continue  # what the cluster reports; kubectl's copy
                if key in _LABEL_MAPS and isinstance(value, YamlMapping):
                    continue
                if key == 'image' and isinstance(value, Scalar) and not annotations:
                    if id(value) not in seen:
                        seen.add(id(value))
                        yield path_words((path, key)), value, key_node
                    continue
                children.append((value, (path, key), key_node))
            todo.extend(reversed(children))


def _held_manifests(
        text: str, node: Scalar, key: Scalar, key_path: KeyPath, depth: int,
) -> Iterator[Assembled]:
    """The references of the manifests a string holds (a YAML document with
    ``apiVersion`` and ``kind``, or a KRM function's annotation), placed in
    ``text``: each at its own place, and pinnable, when the string is a
    literal block with plain indentation; else at the string, left to be
    pinned by hand.

    Strings within strings are read MAX_HELD_DEPTH deep: each level reads
    parts of the one above, so a file costs at most that many readings."""
    # imported here, as for parse_yaml: Compose and Actions files need none
    from digestpin_hooks.read.assembled import Assembled
    value = node.value
    function = key.value == _KRM_FUNCTION
    if depth >= MAX_HELD_DEPTH or '\n' not in value or not function and (
        'apiVersion' not in value or 'kind' not in value
    ):
        return
    try:
        documents = compose_documents(value)
    except YamlError:
        return  # a string that is no YAML is only a string
    if not function and not any(_is_manifest(d) for d in documents):
        return
    rows = _literal_rows(text, node)
    inner: list[tuple[ImageRef, Scalar]] = []
    for item in kubernetes(value, documents, None, depth + 1):
        if isinstance(item, Assembled):
            inner.append((item.ref, item.key))
        elif item[1].value and not (item[1].style == '' and item[1].value in _NULLS):
            inner.append((_ref(value, _Found(*item), None), item[2]))
    path = path_words(key_path) if inner else ''
    for ref, inner_key in inner:
        source = shortened(f'{path}.{ref.source}') if path else ref.source
        placed = None
        if rows is not None:
            start, end = _placed(rows, ref.span[0]), _placed(rows, ref.span[1])
            at = _placed(rows, inner_key.start)
            if text[start:end] == ref.written:
                line = node.line + 1 + _row(rows, inner_key.start)
                placed = Assembled(
                    ref.replace(source=source, span=(start, end), line=line),
                    inner_key.replace(start=at, end=at, line=line),
                )
        yield placed or Assembled(
            ref.replace(
                source=source, span=(node.start, node.end), line=key.line,
                editable=False, left=IN_A_STRING if ref.editable else ref.left,
            ),
            key,
        )


def _literal_rows(text: str, node: Scalar) -> tuple[list[int], list[int]] | None:
    """Where each line of a literal block scalar starts, in the value and in
    ``text``; None when the value is not its lines verbatim after plain
    indentation (a folded or quoted string, tabs, escapes)."""
    if node.style != '|':
        return None
    position = text.find('\n', node.start, node.end)
    if position < 0:
        return None
    position += 1  # the lines start after the header (| and its indicators)
    inner_starts: list[int] = []
    outer_starts: list[int] = []
    inner = 0
    for line in node.value.split('\n'):
        newline = text.find('\n', position)
        row_end = len(text) if newline < 0 else newline
        row = text[position:row_end].removesuffix('\r')
        indent = len(row) - len(line)
        if line and (indent < 0 or row[indent:] != line or row[:indent].strip(' ')):
            return None
        inner_starts.append(inner)
        outer_starts.append(position + max(indent, 0))
        inner += len(line) + 1
        if newline < 0:
            break
        position = newline + 1
    return inner_starts, outer_starts


def _row(rows: tuple[list[int], list[int]], offset: int) -> int:
    """The line (0-based) of an offset in a literal block's value."""
    import bisect
    return max(bisect.bisect_right(rows[0], offset) - 1, 0)


def _placed(rows: tuple[list[int], list[int]], offset: int) -> int:
    """An offset in a literal block's value -> its offset in the file."""
    index = _row(rows, offset)
    return rows[1][index] + offset - rows[0][index]


def _docker_prefix(node: Scalar) -> str:
    return DOCKER_PREFIX if node.value.startswith(DOCKER_PREFIX) else ''


def actions(documents: list[Node | None]) -> Iterator[_Found]:
    top = next((d for d in documents if d is not None), None)
    if top is None:
        return
    jobs = get(top, 'jobs')
    runs = get(top, 'runs')
    if jobs is not None and isinstance(jobs[0], YamlMapping):
        # a job, or its container, services or steps, that aliases share is
        # read once: its images are reported once, at its first use (each
        # alias's reading found them again: the square of the file)
        read: set[int] = set()
        for job_id, job, _ in items(jobs[0]):
            if not isinstance(job, YamlMapping) or id(job) in read:
                continue
            read.add(id(job))
            # (its key path in words once, shortened: each use copied a
            # long job id whole, as yaml_nodes._words says)
            job_path = shortened(f'jobs.{job_id}')
            # the runner strips docker:// from job and service containers
            # (actions/runner PipelineTemplateConverter): the rest is the image
            container = get(job, 'container')
            if container is not None and id(container[0]) not in read:
                read.add(id(container[0]))
                node, key = container
                if isinstance(node, YamlMapping):
                    image = _scalar(get(node, 'image'))
                    if image is not None:
                        yield _Found(
                            shortened(f'{job_path}.container.image'), *image,
                            prefix=_docker_prefix(image[0]),
                        )
                elif isinstance(node, Scalar):
                    yield _Found(
                        shortened(f'{job_path}.container'), node, key,
                        prefix=_docker_prefix(node),
                    )
            services = get(job, 'services')
            if services is not None and isinstance(services[0], YamlMapping) and (
                id(services[0]) not in read
            ):
                read.add(id(services[0]))
                for name, service, _ in items(services[0]):
                    image = _scalar(get(service, 'image'))
                    if image is not None:
                        yield _Found(
                            shortened(f'{job_path}.services.{name}.image'), *image,
                            prefix=_docker_prefix(image[0]),
                        )
            steps = get(job, 'steps')
            if steps is not None and isinstance(steps[0], YamlSequence) and (
                id(steps[0]) not in read
            ):
                read.add(id(steps[0]))
                for i, step in enumerate(steps[0].items):
                    uses = _scalar(get(step, 'uses'))
                    if uses is not None and uses[0].value.startswith(DOCKER_PREFIX):
                        yield _Found(
                            shortened(f'{job_path}.steps[{i}].uses'), *uses,
                            prefix=DOCKER_PREFIX,
                        )
    elif runs is not None and isinstance(runs[0], YamlMapping):
        using = _scalar(get(runs[0], 'using'))
        image = _scalar(get(runs[0], 'image'))
        if (
            using is not None and using[0].value.lower() == 'docker'
            and image is not None and image[0].value.startswith(DOCKER_PREFIX)
        ):
            yield _Found('runs.image', *image, prefix=DOCKER_PREFIX)
    else:
        raise NotOfKind(
            'not a GitHub Actions workflow (no jobs mapping) or action '
            '(no runs mapping)',
        )




def parse_yaml(
        data: bytes, path: str, kind: str, pipeline: Pipeline | None = None,
        variables: dict[str, str] | None = None, unbuilt: frozenset[str] = frozenset(),
        renamed: frozenset[str] = frozenset(), services: tuple[str, ...] = (),
        replaced: frozenset[LeftOut] = frozenset(),
) -> tuple[YamlFile, list[ImageRef]]:
    """Read a YAML file of ``kind`` into its image references; a GitLab
    file of a ``pipeline`` is read with the pipeline's other files, a
    Compose file another includes with the ``variables`` it gives it, and
    the images of ``unbuilt`` it builds, whose build a later file of its
    include entry removes, and those of ``renamed``, which that entry's
    merge builds for a service (never written); of ``services`` only, when
    it names some, and without the uses of ``replaced`` (an image by
    source, an image volume by service and place)."""
    if len(data) > MAX_BYTES:
        raise YamlError(f'larger than {MAX_BYTES // (1024 * 1024)} MiB')
    if data.find(b'\0') >= 0:  # bytes' ``in`` raises a TypeError inside
        raise YamlError('binary file (it contains NUL bytes)')
    try:
        text, bom = decode(data, 'strict')
    except UnicodeDecodeError as e:
        raise YamlError(f'not UTF-8 (byte {e.start}), which YAML must be') from None
    # a pipeline holds its files' documents, read from this very text
    read = dict(pipeline.files).get(path) if pipeline is not None else None
    if read is not None:
        documents = read
    elif kind == DEVCONTAINER:
        from digestpin_hooks.read.jsonc import parse_jsonc
        documents = parse_jsonc(text)
    elif kind == COMPOSE:  # its includes, extends and layers parse it once
        documents = parse_once(text, later_wins=BY_NAME[kind].duplicates == LATER_WINS)
    else:
        documents = compose_documents(
            text, later_wins=BY_NAME[kind].duplicates == LATER_WINS,
        )
    # a Compose file read whole, on its own (not for an include entry)
    alone = kind == COMPOSE and variables is None and not (
        unbuilt or renamed or services or replaced
    )
    overridden = kind == COMPOSE and overridden_beside(path)
    first = alone and read_first(path, overridden)
    # (Compose checks each file once its own documents are read, before a
    # later one is merged: a null service of a default file is refused
    # even under an override file, which is merged after)
    checked_alone = alone and read_first(path, False)
    if first and all(d is None for d in documents):
        raise YamlError('the file holds no document: Compose refuses the file')
    merged = None
    if kind == COMPOSE and (sum(d is not None for d in documents) > 1 or 'extends' in text):
        # (read before the tags are applied; a service extending one of
        # its document takes that one's image, which its build builds)
        merged = document_merge(text, documents, unbuilt)
    written = documents  # (with their tags, which !reset removes below)
    if kind == COMPOSE:  # what Compose's !reset removes is not pulled
        documents = without_resets(text, documents)
    of_kind = BY_NAME[kind]
    walk = imported(of_kind.walker)
    assembled: list[Assembled] = []
    found: list[_Found] = []
    if of_kind.assembles:
        # the kinds that place references in strings (Helm values,
        # Kustomize, manifests); a Compose file's lint does not load them
        from digestpin_hooks.read.assembled import Assembled
        for item in walk(text, documents, lambda node: _scalar_span(text, node)):
            if isinstance(item, Assembled):
                assembled.append(item)
            else:
                here, node, key = item
                found.append(_Found(here, node, key))
    elif pipeline is not None:
        layers = [documents if p == path else d for p, d in pipeline.files]
        found = list(walk(documents, layers))
    elif unbuilt or renamed or merged is not None or services or replaced or overridden:
        found = list(compose(  # (a Compose file)
            documents, unbuilt, merged, renamed, every_use=bool(services or replaced),
            overridden=overridden,
        ))
    else:
        found = list(walk(documents))
    if kind == COMPOSE and '$' in text:  # (a Compose file: its walker said so)
        refuse_bad_interpolation(documents)
    if kind == COMPOSE:
        refuse_unmapped_services(written, checked_alone)
    if kind == COMPOSE and '!' in text and not (unbuilt or renamed or services or replaced) and (
        not overridden
    ):
        refuse_reset_images(text, written)
    if first:
        refuse_imageless_services(text, written)
    if services or replaced:
        # before an alias's uses are made one: the use kept must be one of
        # these services' (a service not extended, or replaced, may be the
        # first to use the anchor)
        names = set(services)
        found = [
            f for f in found
            if (f.path if f.volume < 0 else (f.service, f.volume)) not in replaced
            and (not names or f.service in names)
        ]
    if of_kind.paths_at_anchor:
        # a value used through an alias or a merge key is reported once,
        # where it is written (its anchor), with that path
        paths = written_paths(documents, {id(f.node) for f in found})
        found = [f.replace(path=paths.get(id(f.node), f.path)) for f in found]
    env = None
    if of_kind.variables and any(f.env is None for f in found):
        # (a walker that gives each use its values, GitLab's, needs not the file's)
        env = imported(of_kind.variables)(path, documents)
    where = of_kind.variables_from
    expand = imported(of_kind.expansion) if of_kind.expansion else None
    if variables is not None:
        env, where = variables, INCLUDED_VALUES
    if env is not None and any('$' in f.platform for f in found):
        # a Compose ``platform:`` with variables, read as Compose reads it
        found = [
            f.replace(platform=_interpolated_platform(f.platform, env)) if '$' in f.platform
            else f for f in found
        ]
    # a scalar used through aliases is one reference, at its anchor (one
    # for each prefix it is read with: a Bitbucket pipe's image follows
    # docker://, a step image's is the whole text, and their pins differ:
    # both reported, neither written); an empty or null value names no image,
    # but for a Compose volume's source "": ``compose up`` pulls it, and
    # fails (``invalid reference format``), as for ``${A:-}`` (a null one
    # Compose refuses, and so did compose())
    unique: dict[tuple[int, str, object, int], _Found] = {}
    # the platforms of each place's uses: the value behind an anchor of
    # two services of other ``platform:``s (or of one that names none and
    # one that names one) is pulled for each, and checked for each
    platforms: dict[tuple[int, str, object, int], list[str]] = {}
    for f in reversed(found):
        if (
            (f.node.value not in ('', f.prefix) or kind == COMPOSE and f.key.value == 'source')
            and not (f.node.style == '' and f.node.value in _NULLS)
        ):
            key = (id(f.node), f.prefix, f.expansion or f.env, id(f.at))
            unique[key] = f
            if f.platform:
                platforms.setdefault(key, []).append(f.platform)
    # (by the use kept: its reference is made with its own platform only)
    several: dict[int, tuple[str, ...]] = {}
    for key, named in platforms.items():
        first_use = unique[key]
        every = tuple(dict.fromkeys(reversed(named)))  # in the uses' order
        if every != ((first_use.platform,) if first_use.platform else ()):
            several[id(first_use)] = every
    found = sorted(unique.values(), key=lambda f: f.node.start)
    reads = _Reads(text)
    try:
        # one reference per place and image: a scalar used with several
        # sets of values (a template's jobs, matrix rows) is one reference
        # for each image it makes
        made = [_left(_ref(text, f, env, where, reads, expand), f) for f in found]
        if several:
            made = [
                ref.replace(platforms=several[id(f)]) if id(f) in several else ref
                for ref, f in zip(made, found)
            ]
        refs = list({
            (ref.span, ref.image, ref.unresolved): ref for ref in reversed(made)
        }.values())
    except InterpolationError as e:
        raise YamlError(str(e)) from None
    starts = {f.key.line: f.key.start for f in reversed(found)}
    for item in reversed(assembled):
        starts[item.key.line] = item.key.start
    refs.extend(item.ref for item in assembled)
    refs.sort(key=lambda ref: (ref.span[0], ref.image))
    # (a root of a pipeline names its includes: only such files keep them)
    kept = documents if kind == GITLAB and pipeline is None and 'include' in text else None
    return YamlFile(text, bom, starts, LineIndex(text), kept), refs


def _interpolated_platform(written: str, env: dict[str, str]) -> str:
    """A Compose service's ``platform:`` with the project's values, as the
    image beside it is read (a default when the .env gives none); as
    written, and so left unchecked (it holds a ``$``), when they leave it
    unknown or Compose could not read it, or would make it longer than any
    image name (EXPANSION_BUDGET: not made, as such an image is not, so
    that services reading one long value cost its length, not its square)."""
    try:
        result = interpolate(written, env, longest=EXPANSION_BUDGET)
    except InterpolationError:
        return written
    if result.too_long or result.unresolved or result.missing is not None or not result.value:
        return written
    return result.value


def dotenv(path: str, documents: list[Node | None]) -> dict[str, str]:
    """The ``.env`` beside a Compose file (the variables of the table of
    kinds take the documents too)."""
    return dotenv_in(os.path.dirname(path) or '.')


def _env_not_read(named: str, why: str) -> YamlError:
    return YamlError(
        f'{os.path.normpath(named)}: not read ({why}); Compose reads it, so the '
        f'values it gives are unknown',
    )


def dotenv_in(folder: str) -> dict[str, str]:
    """The ``.env`` of a Compose project's folder, when it is safe to read;
    YamlError for one Compose cannot read, and so refuses the project for
    (an unclosed quote, a key with a space), and for one that is there but
    not read here, whose values are then unknown.

    Only a regular file in that very folder, or a symlink to one there, and
    at most 1 MiB of UTF-8: a link to ``/proc/self/environ``, ``.git/config``
    or a FIFO would put secrets in messages or hang the hook.  Compose reads
    all of these, so what they would give a variable is unknown, and a
    ``${IMG:-a:1}`` default is no answer: read as empty, a padded ``.env``
    that set IMG had ``a:1`` reported and pinned where Compose pulls IMG's
    value.  A ``.env`` that is not there (or a link to nothing) gives none.
    """
    named = os.path.join(folder, '.env')
    if not os.path.lexists(named):
        return {}
    env_path = named
    if os.path.islink(env_path):
        env_path = os.path.realpath(env_path)
        if os.path.dirname(env_path) != os.path.realpath(folder):
            raise _env_not_read(named, 'a link out of its folder')
    try:
        data = read_regular(env_path, MAX_SMALL_FILE_BYTES, follow=False).data
        text = data.decode('utf-8')
    except FileNotFoundError:
        return {}  # a link to nothing, or gone since: Compose reads none either
    except UnicodeDecodeError:
        raise _env_not_read(named, 'not UTF-8') from None
    except OSError as e:
        raise _env_not_read(
            named, 'a folder' if isinstance(e, IsADirectoryError) else str(e),
        ) from None
    try:
        return read_dotenv(text)
    except DotenvError as e:
        raise YamlError(
            f'{os.path.normpath(named)}: {e} (Compose refuses the project)',
        ) from None
