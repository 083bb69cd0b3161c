"""Read YAML safely into nodes that know where they stand in the text.

PyYAML's event parser (libyaml when present) does the lexing; the composer
here is our own and iterative, so that no input can exhaust the stack, and it
enforces limits before anything is expanded: nesting depth, node count, the
size aliases would expand to (a "billion laughs" document is rejected, never
built), and duplicate keys as the kind's tool reads them (refused, or the
later one taken: each ``Kind``'s ``duplicates``).  Values
are never constructed into Python objects: ``on:`` stays the string ``on``.
"""
from __future__ import annotations

import types

from digestpin_hooks.model import Record
from digestpin_hooks.text import MAX_SHOWN
from digestpin_hooks.text import shortened

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from typing import Final
    from typing import Iterator
    from typing import Union


MAX_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 256
MAX_NODES = 1_000_000
MAX_EXPANDED = 1_000_000  # nodes the document would have with aliases expanded


class YamlError(ValueError):
    """The text is not YAML we can read safely; the message is one line."""


class NotOfKind(YamlError):
    """Valid YAML, but not a file of the kind its name says (a
    ``docker-compose.yml`` without ``services``): skipped, not an error."""


class Scalar(Record):
    """A YAML scalar as written: its text, style and position."""

    value: Final[str]
    style: Final[str]  # '' plain, "'", '"', '|', '>'
    start: Final[int]  # character offsets in the text
    end: Final[int]
    line: Final[int]  # 1-based
    tag: Final[str | None] = None  # an explicit tag as the parser resolved it


class YamlMapping(Record):
    """A YAML mapping, its pairs in order, duplicate keys kept.

    ``later_wins`` says how the kind's tool reads it: a key written again,
    or merged again by a later ``<<``, replaces the earlier one (Ruby's
    Psych, Go's yaml.v2, JSON); else own keys win over merged ones and a
    duplicate was refused when the mapping was read.
    """

    pairs: Final[list[tuple[Node, Node]]]
    start: Final[int]
    line: Final[int]
    later_wins: Final[bool] = False
    tag: Final[str | None] = None  # an explicit tag as the parser resolved it


class YamlSequence(Record):
    """A YAML sequence, its items in order."""

    items: Final[list[Node]]
    start: Final[int]
    line: Final[int]
    # an explicit tag as the parser resolved it (GitLab's ``!reference``;
    # with its %TAG directives and verbatim ``!<…>``, as Go's yaml.v3 and
    # Ruby's Psych resolve it), else ''
    tag: Final[str] = ''


if TYPE_CHECKING:
    Node = Union[Scalar, YamlMapping, YamlSequence]


class _Deferred:
    """A pattern PyYAML compiles when it is imported, compiled when it is
    first used instead.  Importing PyYAML compiles a dozen patterns for its
    pure-Python reader, resolver and constructor, which libyaml's event
    parser never uses: the reader's class of printable characters alone
    costs a one-file lint about 5 ms (a third of its instructions)."""

    __slots__ = ('_arguments', '_compiled')

    def __init__(self, *arguments: Any) -> None:
        self._arguments = arguments
        self._compiled: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._compiled is None:
            self._compiled = _compile_now(*self._arguments)
        return getattr(self._compiled, name)


_compile_now: Any = None

# what PyYAML's constructor and representer import only to build and write
# binary values, which these nodes never are (values stay text).  (datetime
# is imported all the same: the representer's table names its types)
_BUILDING_ONLY = ('base64',)


class _ImportedOnUse(types.ModuleType):
    """A module PyYAML imports, in its modules' names only: imported when
    one of them first uses it.  It is in ``sys.modules`` only while PyYAML
    is imported, so that any other importer gets the module itself."""

    def __getattr__(self, name: str) -> Any:
        import sys
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(__import__(self.__name__), name)


def _yaml() -> Any:
    """PyYAML, imported (once) with the patterns its own modules compile at
    import deferred to their first use (``_Deferred``), and the modules it
    needs only to build values imported on first use (``_ImportedOnUse``);
    every other caller of ``re.compile`` meanwhile gets a compiled pattern
    as always."""
    import sys
    yaml = sys.modules.get('yaml')
    if yaml is not None:
        return yaml
    import re
    global _compile_now
    _compile_now = compile_now = re.compile

    def deferred(*arguments: Any) -> Any:
        caller = sys._getframe(1).f_globals.get('__name__', '')
        if caller == 'yaml' or caller.startswith('yaml.'):
            return _Deferred(*arguments)
        return compile_now(*arguments)
    stand_ins = {
        name: _ImportedOnUse(name) for name in _BUILDING_ONLY if name not in sys.modules
    }
    sys.modules.update(stand_ins)
    setattr(re, 'compile', deferred)
    try:
        import yaml
    finally:
        setattr(re, 'compile', compile_now)
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
    return yaml


def _parser(text: str) -> Any:
    """libyaml's event parser when PyYAML was built with it, else the pure
    one: both give the same events, with marks in characters."""
    yaml = _yaml()
    try:
        from yaml._yaml import CParser
    except ImportError:
        return yaml.SafeLoader(text)
    return CParser(text)


def parse_once(text: str, *, later_wins: bool = False) -> list[Node | None]:
    """compose_documents(text), parsed once a run (parse_cache): the
    documents (or the error) a text gave before, while its run keeps them.
    Keyed by the text itself, which is what is parsed: the same text is the
    same documents, never a stale parse of a file since changed (and nodes
    are never changed: a reader that drops some makes new ones).  Compose's
    readers of one file (its include: entries, the services it extends,
    its layers in a merge, the file read itself) each take its text.  Read
    as Compose's yaml.v3 reads it: an anchor lasts past its document."""
    from digestpin_hooks.read import parse_cache

    def parse() -> list[Node | None] | YamlError:
        try:
            return compose_documents(text, later_wins=later_wins, stream_anchors=True)
        except YamlError as e:
            return e

    found = parse_cache.kept_parse((text, later_wins), parse)
    if isinstance(found, YamlError):
        raise type(found)(*found.args)
    return found


def compose_documents(
        text: str, *, later_wins: bool = False, stream_anchors: bool = False,
) -> list[Node | None]:
    """The documents of a YAML stream, as nodes (None for an empty one).

    An anchor ends with its document, as YAML says and as the tools that
    read a stream document by document (kubectl) take it, unless
    ``stream_anchors``: Go's yaml.v3 (Compose) keeps a stream's anchors,
    so an alias of a later document is the latest anchor of its name in
    any document before.

    A key repeated in one mapping is an error unless ``later_wins`` (the
    kind's tool takes the later one, as GitLab's Ruby and Helm's yaml.v2 do):
    then every mapping is read that way by ``items``.

    One pass over the parser's events, each dispatched on its class, with
    the open collection in locals: this loop is most of a YAML file's lint.
    The size each node would have with its aliases expanded is added up as
    it is read (an alias adds its anchor's size), so a "billion laughs"
    document is refused at the node that passes the limit, without a second
    walk and before anything is expanded.
    """
    yaml = _yaml()
    from yaml.events import AliasEvent
    from yaml.events import DocumentEndEvent
    from yaml.events import DocumentStartEvent
    from yaml.events import MappingEndEvent
    from yaml.events import MappingStartEvent
    from yaml.events import ScalarEvent
    from yaml.events import SequenceEndEvent
    from yaml.events import SequenceStartEvent
    from yaml.events import StreamEndEvent

    next_event = _parser(text).get_event
    documents: list[Node | None] = []
    anchors: dict[str, tuple[Node, int]] = {}  # name -> node, expanded size
    # the open collections' parents, each as the locals below
    stack: list[tuple[Any, str | None, int, Any, Any, bool]] = []
    no_key: Any = object()
    # the open collection (None at a document's top), its anchor, its
    # expanded size so far, the list its children go to (pairs of a
    # mapping, items of a sequence), and a mapping's key waiting for its
    # value (``no_key`` when none; always ``no_key`` in a sequence)
    current: Any = None
    in_mapping = False
    anchor: str | None = None
    size = 0
    children: Any = None
    key: Any = no_key
    root: Node | None = None
    count = 0  # nodes as written, aliases included
    total = 0  # nodes of the stream with aliases expanded
    check = not later_wins
    try:
        while True:
            event = next_event()
            kind = event.__class__
            if kind is ScalarEvent:
                count += 1
                if count > MAX_NODES:
                    raise YamlError(f'more than {MAX_NODES} nodes')
                mark = event.start_mark
                node: Any = Scalar(
                    event.value, event.style or '', mark.index, event.end_mark.index,
                    mark.line + 1, event.tag,
                )
                node_size = 1
                if event.anchor:
                    anchors[event.anchor] = (node, 1)
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                count += 1
                mark = event.start_mark
                if count > MAX_NODES:
                    raise YamlError(f'more than {MAX_NODES} nodes')
                if len(stack) >= MAX_DEPTH:
                    raise YamlError(
                        f'line {mark.line + 1}: nested more than {MAX_DEPTH} '
                        f'levels deep',
                    )
                stack.append((current, anchor, size, children, key, in_mapping))
                in_mapping = kind is MappingStartEvent
                if in_mapping:
                    current = YamlMapping(
                        [], mark.index, mark.line + 1, later_wins, event.tag,
                    )
                    children = current.pairs
                else:
                    current = YamlSequence([], mark.index, mark.line + 1, event.tag or '')
                    children = current.items
                anchor = event.anchor
                size = 1
                key = no_key
                continue
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                node = current
                node_size = size
                if check and kind is MappingEndEvent and len(children) > 1:
                    _check_duplicates(children)
                if anchor:
                    anchors[anchor] = (node, size)
                current, anchor, size, children, key, in_mapping = stack.pop()
            elif kind is AliasEvent:
                count += 1
                if count > MAX_NODES:
                    raise YamlError(f'more than {MAX_NODES} nodes')
                target = anchors.get(event.anchor or '')
                if target is None:
                    line = event.start_mark.line + 1
                    raise YamlError(
                        f'line {line}: alias *{event.anchor} names no '
                        f'finished anchor',
                    )
                node, node_size = target
            elif kind is DocumentStartEvent:
                root = None
                if not stream_anchors:
                    anchors.clear()
                continue
            elif kind is DocumentEndEvent:
                documents.append(root)
                continue
            elif kind is StreamEndEvent:
                break
            else:  # the stream's start
                continue
            if current is None:
                root = node
                total += node_size
                if total > MAX_EXPANDED:
                    raise YamlError(
                        f'aliases would expand to more than {MAX_EXPANDED} '
                        f'nodes (a YAML bomb?)',
                    )
                continue
            size += node_size
            if size > MAX_EXPANDED:
                raise YamlError(
                    f'line {current.line}: aliases would expand to more than '
                    f'{MAX_EXPANDED} nodes (a YAML bomb?)',
                )
            if key is not no_key:
                children.append((key, node))
                key = no_key
            elif in_mapping:
                key = node
            else:
                children.append(node)
    except yaml.YAMLError as e:
        raise YamlError(_one_line(e)) from None
    except RecursionError:
        raise YamlError(f'nested more than {MAX_DEPTH} levels deep') from None
    return documents


def _one_line(e: Exception) -> str:
    mark = getattr(e, 'problem_mark', None)
    problem = getattr(e, 'problem', None) or str(e)
    where = f'line {mark.line + 1}, column {mark.column + 1}: ' if mark else ''
    return f'invalid YAML: {where}{" ".join(str(problem).split())}'


def _check_duplicates(pairs: list[tuple[Node, Node]]) -> None:
    """Refuse a key written twice in one mapping (``<<`` may be repeated).
    Most mappings have none: one set of the keys tells, and only then are
    they looked at one by one for the first repeated."""
    keys = [key.value for key, _ in pairs if isinstance(key, Scalar)]
    if len(set(keys)) == len(keys):
        return
    seen: dict[str, int] = {}
    for key, _ in pairs:
        if isinstance(key, Scalar) and key.value != '<<':
            if key.value in seen:
                raise YamlError(
                    f'line {key.line}: duplicate key {key.value!r} (first on '
                    f'line {seen[key.value]})',
                )
            seen[key.value] = key.line


def items(mapping: YamlMapping) -> list[tuple[str, Node, Scalar]]:
    """(key, value, key node) of a mapping, ``<<`` merge keys applied as
    Compose and Kubernetes apply them: own keys win over merged ones, and
    earlier merged mappings over later ones.  A ``later_wins`` mapping is
    read as its tool reads it instead (``_items_in_order``).

    That is the first occurrence of each key in a depth-first walk (own
    keys, then each merged mapping in turn); the walk keeps its own stack
    and visits each mapping once, so no merge chain can exhaust Python's
    stack or take exponential time.
    """
    own = _own_items(mapping)
    if own is not None:
        return own
    if mapping.later_wins:
        return _items_in_order(mapping)
    result: list[tuple[str, Node, Scalar]] = []
    seen_keys: set[str] = set()
    visited: set[int] = set()
    todo: list[Node] = [mapping]
    while todo:
        node = todo.pop()
        if not isinstance(node, YamlMapping) or id(node) in visited:
            continue
        visited.add(id(node))
        sources: list[Node] = []
        for key, value in node.pairs:
            if not isinstance(key, Scalar):
                continue
            if key.value == '<<' and key.style == '':
                sources.extend(value.items if isinstance(value, YamlSequence) else [value])
            elif key.value not in seen_keys:
                seen_keys.add(key.value)
                result.append((key.value, value, key))
        todo.extend(reversed(sources))
    return result


def _own_items(mapping: YamlMapping) -> list[tuple[str, Node, Scalar]] | None:
    """(key, value, key node) of a mapping that merges nothing and repeats
    no key, as written (what both readings of ``items`` come to then), or
    None for the others: most mappings, read without a walk."""
    result = [(key.value, value, key) for key, value in mapping.pairs if isinstance(key, Scalar)]
    keys = {key for key, _, _ in result}
    if len(keys) < len(result) or '<<' in keys:
        return None
    return result


def _items_in_order(mapping: YamlMapping) -> list[tuple[str, Node, Scalar]]:
    """(key, value, key node) as Ruby's Psych and Go's yaml.v2 build a map:
    the pairs assigned in order, a ``<<`` merging its mapping (or, for a
    list, its mappings, earlier ones winning) over what came before it, so
    the last assignment of a key wins.

    That is the first occurrence of each key in a walk of the pairs from
    last to first that enters each merged mapping where its ``<<`` stands:
    its own stack, each mapping once, linear as ``items``.
    """
    found: dict[str, tuple[str, Node, Scalar]] = {}
    visited = {id(mapping)}
    # each iterator yields pairs (of a mapping, last first) or the sources
    # of one ``<<``, in order, to enter
    stack: list[Iterator[tuple[Node, Node] | Node]] = [reversed(mapping.pairs)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
        elif not isinstance(entry, tuple):
            if isinstance(entry, YamlMapping) and id(entry) not in visited:
                visited.add(id(entry))
                stack.append(reversed(entry.pairs))
        else:
            key, value = entry
            if not isinstance(key, Scalar):
                continue
            if key.value == '<<' and key.style == '':
                stack.append(iter(value.items if isinstance(value, YamlSequence) else [value]))
            elif key.value not in found:
                found[key.value] = (key.value, value, key)
    return sorted(found.values(), key=lambda item: item[2].start)


def written_paths(
        documents: list[Node | None], wanted: set[int] | None = None,
) -> dict[int, str]:
    """Each node (by id) -> the key path where it is written: an anchored
    node's path is its anchor's, however many aliases and merge keys use it
    later.  One walk in document order, each node once.

    With ``wanted``, only those nodes' paths: the walk keeps each node's
    parent and step, stops once it has met them all, and only their paths
    are put into words (most of a file's nodes are no reference).
    """
    if wanted is None:
        return _all_written_paths(documents)
    # id -> (its parent's id, its key or index); a document's top: (0, None)
    links: dict[int, tuple[int, str | int | None]] = {}
    remaining = len(wanted)
    for document in documents:
        if document is None or not remaining:
            continue
        todo: list[tuple[Node, int, str | int | None]] = [(document, 0, None)]
        while todo:
            node, parent, step = todo.pop()
            ident = id(node)
            if ident in links:
                continue  # an alias: written earlier
            links[ident] = (parent, step)
            if ident in wanted:
                remaining -= 1
                if not remaining:
                    break
            # a scalar not asked for is left out: it is no one's parent, so
            # no path goes through it (most nodes are such scalars)
            if node.__class__ is YamlSequence:
                items = node.items
                todo.extend(
                    (item, ident, i)
                    for i, item in zip(range(len(items) - 1, -1, -1), reversed(items))
                    if item.__class__ is not Scalar or id(item) in wanted
                )
            elif node.__class__ is YamlMapping:
                todo.extend(
                    (value, ident, key.value)
                    for key, value in reversed(node.pairs)
                    if isinstance(key, Scalar)
                    and (value.__class__ is not Scalar or id(value) in wanted)
                )
    paths = {}
    for target in wanted:
        if target not in links:
            continue
        steps: list[str | int] = []
        ident = target
        while ident:
            ident, step = links[ident]
            if step is not None:
                steps.append(step)
        steps.reverse()
        paths[target] = _words(steps)
    return paths


def _words(steps: list[str | int]) -> str:
    """Steps of a key path, its top's first, in words (``a.b[0].c``) as
    an error line shows a path: longer than MAX_SHOWN characters, its first
    and last half of them, ``…`` between (``text.shortened``).  Made of
    those ends only: the paths of many nodes under one long key each
    copied it whole (500 KB of GitLab jobs took more than 4 GB)."""
    pieces: list[str] = []
    total = 0  # characters in pieces (a key after none, or after '', has no dot)
    for step in steps:
        piece = f'[{step}]' if isinstance(step, int) else step
        if total and not isinstance(step, int):
            pieces.append('.')
            total += 1
        pieces.append(piece)
        total += len(piece)
    if total <= MAX_SHOWN:
        return ''.join(pieces)
    half = MAX_SHOWN // 2
    head: list[str] = []
    length = 0
    for piece in pieces:
        if length >= half:
            break
        head.append(piece[:half - length])
        length += len(head[-1])
    tail: list[str] = []
    length = 0
    for piece in reversed(pieces):
        if length >= half:
            break
        tail.append(piece[max(0, len(piece) - (half - length)):])
        length += len(tail[-1])
    return f'{"".join(head)}\u2026{"".join(reversed(tail))}'


if TYPE_CHECKING:
    # a key path as a chain of steps, its parent's first: (parent, key or
    # index), None at a document's top.  A walker hands each child its
    # parent's chain and one step, and puts a path into words only for what
    # it reports: a path made for every node copied its parent's for each
    # child (a list under a long key cost the key's length an item)
    KeyPath = Union[tuple['KeyPath', Union[str, int]], None]


def path_words(path: KeyPath) -> str:
    """A key path in words: ``a.b[0].c``, shortened as ``_words`` says."""
    steps: list[str | int] = []
    while path is not None:
        path, step = path
        steps.append(step)
    steps.reverse()
    return _words(steps)


def _all_written_paths(documents: list[Node | None]) -> dict[int, str]:
    paths: dict[int, str] = {}
    for document in documents:
        todo: list[tuple[Node, str]] = [(document, '')] if document is not None else []
        while todo:
            node, path = todo.pop()
            if id(node) in paths:
                continue  # an alias: written earlier
            paths[id(node)] = path
            # (each shortened as it is made, as ``_words`` makes it whole:
            # a path made of a shortened one and a step is that path
            # shortened, and a node's children copy no more of it)
            if isinstance(node, YamlSequence):
                todo.extend(
                    (item, shortened(f'{path}[{i}]'))
                    for i, item in reversed(list(enumerate(node.items)))
                )
            elif isinstance(node, YamlMapping):
                todo.extend(
                    (value, shortened(f'{path}.{key.value}' if path else key.value))
                    for key, value in reversed(node.pairs) if isinstance(key, Scalar)
                )
    return paths


def get(mapping: Node | None, name: str) -> tuple[Node, Scalar] | None:
    """The value and key node of ``name`` in a mapping, as ``items`` reads
    it.  A mapping that merges nothing is looked through as written (its
    first ``name``, or its last when later keys win), without building its
    items."""
    if not isinstance(mapping, YamlMapping):
        return None
    found = None
    for written, value in mapping.pairs:
        if isinstance(written, Scalar):
            if written.value == '<<' or name == '<<':
                break  # merge keys: read by items, below
            if written.value == name and (found is None or mapping.later_wins):
                found = (value, written)
    else:
        return found
    for key, value, key_node in items(mapping):
        if key == name:
            return value, key_node
    return None
