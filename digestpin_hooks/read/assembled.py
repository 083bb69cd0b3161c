"""References assembled from several fields: Helm values (``image:`` with
``registry``, ``repository``, ``tag``, ``digest``) and Kustomize ``images:``
entries (``name``, ``newName``, ``newTag``, ``digest``).

Such a reference is reported where its mapping starts, and pinned by writing
the digest into the field the tool itself reads: Kustomize's ``digest:``
(added as a key of the entry when it has none), the chart's ``digest:``
when its values have one, else the tag as ``tag: "1.2@sha256:…"`` (which
the chart's ``{{ .Values.image.repository }}:{{ .Values.image.tag }}``
template then renders as a pinned reference).  An added key takes the
entry's own indentation and line ending, after its last line (a comment
there stays on its line); every other edit replaces one scalar's text.
"""
from __future__ import annotations

import re

from digestpin_hooks.model import FORM_NOT_EDITED
from digestpin_hooks.model import ImageRef
from digestpin_hooks.model import NO_NEW_TAG
from digestpin_hooks.model import NO_TAG_APP_VERSION
from digestpin_hooks.model import Record
from digestpin_hooks.model import TEMPLATE_VALUE
from digestpin_hooks.model import UNTAGGED
from digestpin_hooks.read.yaml_nodes import get
from digestpin_hooks.read.yaml_nodes import items
from digestpin_hooks.read.yaml_nodes import NotOfKind
from digestpin_hooks.read.yaml_nodes import path_words
from digestpin_hooks.read.yaml_nodes import Scalar
from digestpin_hooks.read.yaml_nodes import YamlMapping
from digestpin_hooks.read.yaml_nodes import YamlSequence

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable
    from typing import Final
    from typing import Iterator
    from typing import Sequence

    from digestpin_hooks.model import How
    from digestpin_hooks.read.yaml_nodes import KeyPath
    from digestpin_hooks.read.yaml_nodes import Node

    # a scalar -> where its value stands verbatim (None: transformed)
    SpanOf = Callable[[Scalar], 'tuple[int, int] | None']

_NULLS = frozenset(('', '~', 'null', 'Null', 'NULL'))
# plain scalars YAML reads as booleans or numbers: no image name
_NOT_A_STRING_RE = re.compile(
    r'(?:true|True|TRUE|false|False|FALSE|yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF'
    r'|[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\Z',
)


# ``: *name`` after a key: an alias, as the YAML scanner reads one
_ALIAS_RE = re.compile(r'[ \t]*:[ \t]*\*[^\s,\[\]{}]+')
# a YAML line break
_BREAK_RE = re.compile(r'\r\n?|\n')
# a node's anchor and tag (``&x !!map``), then its first character
_PROPERTIES_RE = re.compile(r'(?:[&!][^\s]*\s+)*(.?)')


class Assembled(Record):
    """A reference made of several YAML fields (Helm values, Kustomize)."""

    ref: Final[ImageRef]
    key: Final[Scalar]  # the mapping's first key: a pragma stands above it


def _value(mapping: YamlMapping, name: str) -> Scalar | None:
    """A field's scalar, None when missing or not a scalar; a null is ''."""
    entry = get(mapping, name)
    if entry is None or not isinstance(entry[0], Scalar):
        return None
    return entry[0]


def _text(node: Scalar | None) -> str:
    if node is None or (node.style == '' and node.value in _NULLS):
        return ''
    return node.value


def _added_key(text: str, mapping: YamlMapping, name: str) -> tuple[tuple[int, int], str] | None:
    """Where and what to write to add ``name: {digest}`` to a mapping, in
    its style; None when its last value is not a scalar we can follow."""
    key, (last_key, last) = mapping.pairs[0][0], mapping.pairs[-1]
    if not isinstance(last, Scalar) or not isinstance(key, Scalar):
        return None
    if not isinstance(last_key, Scalar):
        return None
    end = last.end
    if last.start < last_key.end:
        # an alias (``newTag: *t``): its node stands at the anchor, maybe in
        # another entry; the key goes after the alias, where this entry ends
        alias = _ALIAS_RE.match(text, last_key.end)
        if alias is None:
            return None
        end = alias.end()
    properties = _PROPERTIES_RE.match(text, mapping.start)
    if properties is not None and properties.group(1) == '{':
        # flow (after its anchor or tag, ``- &x {…}``): before the brace
        after = end
        while after < len(text) and text[after] in ' \t':
            after += 1
        if text[after:after + 1] != '}':
            return None
        return (end, end), f', {name}: {{digest}}'
    if _BREAK_RE.search(text, last.start, last.end):
        return None  # a value over several lines: left to the user
    # YAML ends a line at \r\n, \n or a lone \r (old Mac files): looking
    # for \n only put a lone-\r file's key at the end of the file, in
    # the last entry, at the indentation of the whole text before it
    found = _BREAK_RE.search(text, end)
    at = len(text) if found is None else found.start()
    # the line's start: after its last \n, or a lone \r after that (a \r
    # looked for from the file's start made every entry cost the file)
    newline_before = text.rfind('\n', 0, key.start)
    line_start = max(newline_before, text.rfind('\r', newline_before + 1, key.start)) + 1
    if found is not None:
        newline = found.group()
    else:  # the last line: ended as the line above is
        newline = (
            '\r\n' if text[line_start - 2:line_start] == '\r\n'
            else text[line_start - 1:line_start] or '\n'
        )
    return (at, at), f'{newline}{" " * (key.start - line_start)}{name}: {{digest}}'


# the tags that leave a scalar a string (the YAML core schema's own)
_STRING_TAGS = frozenset(('!', '!!str', '!<tag:yaml.org,2002:str>'))


def _at_field(
        text: str, span_of: SpanOf, node: Scalar, prefix: str = '',
) -> tuple[tuple[int, int], str] | None:
    """Where to write into an existing field: its text replaced by
    ``prefix`` + the digest; an empty field filled.  None when a tag makes
    the field other than a string: ``digest: !!null`` filled read as null
    (PyYAML) or was refused (Go's yaml), ``tag: !!int 1`` no longer parsed."""
    if node.style == '' and node.value in _NULLS:
        # after an anchor or a tag (``digest: &d ~``), which stay
        span: tuple[int, int] | None = (node.end - len(node.value), node.end)
    else:
        span = span_of(node)
    if span is None:
        return None
    properties = text[node.start:span[0]].split()
    if any(p.startswith('!') and p not in _STRING_TAGS for p in properties):
        return None
    if span[0] == span[1] and node.style == '':  # nothing written: filled
        return span, f' {prefix}{{digest}}'
    return span, f'{prefix}{{digest}}'


def _own(mapping: YamlMapping, name: str) -> bool:
    """Whether the mapping writes the key itself (not through a merge)."""
    return any(isinstance(key, Scalar) and key.value == name for key, _ in mapping.pairs)


def _merged_ends(text: str, mapping: YamlMapping) -> list[tuple[int, int]]:
    """Where a key added to each mapping ``mapping`` merges (``<<: *x``,
    through merges of merges) would go, as spans that hold that point: a
    ``digest:`` added to a Kustomize entry that another entry merges is
    read by that entry too, unless it has its own."""
    spans = []
    visited = {id(mapping)}
    todo: list[Node] = [mapping]
    while todo:
        node = todo.pop()
        if not isinstance(node, YamlMapping):
            continue
        for key, value in node.pairs:
            if not (isinstance(key, Scalar) and key.value == '<<' and key.style == ''):
                continue
            for merged in value.items if isinstance(value, YamlSequence) else [value]:
                if isinstance(merged, YamlMapping) and id(merged) not in visited:
                    visited.add(id(merged))
                    todo.append(merged)
                    added = _added_key(text, merged, 'digest') if merged.pairs else None
                    if added is not None:
                        spans.append((merged.start, added[0][0] + 1))
    return spans


def _assembled(
        path: str, mapping: YamlMapping, image: str, *,
        has_tag: bool, digest_field: Scalar | None, edit: tuple[tuple[int, int], str] | None,
        untagged: How, fields: tuple[Scalar | None, ...],
        merged: Sequence[tuple[int, int]] = (), merged_always: bool = False,
) -> Assembled:
    first_key = mapping.pairs[0][0]
    assert isinstance(first_key, Scalar)
    at = ImageRef(
        source=path, image=image, written=image,
        span=(first_key.start, first_key.start), editable=False,
        line=first_key.line, has_variables='$' in image or '{{' in image,
        # its fields, wherever they are written (an alias's value stands at
        # its anchor, which other references may read too)
        reads=tuple((f.start, f.end) for f in fields if f is not None) + (
            tuple(merged) if merged_always else ()
        ),
        reads_unpinned=() if merged_always else tuple(merged),
    )
    if '{{' in image or '$' in image:
        return Assembled(at.replace(
            unresolved=(image,), how=TEMPLATE_VALUE,
        ), first_key)
    if not has_tag and digest_field is None:
        return Assembled(at.replace(unresolved=(UNTAGGED,), how=untagged), first_key)
    if edit is None:
        return Assembled(at.replace(how=FORM_NOT_EDITED), first_key)
    return Assembled(at.replace(editable=True, edit_at=edit[0], digest_edit=edit[1]), first_key)


def _kustomize_entry(
        text: str, span_of: SpanOf, entry: YamlMapping, path: str,
) -> Assembled | None:
    name_node, new_name_node = _value(entry, 'name'), _value(entry, 'newName')
    name = _text(new_name_node) or _text(name_node)
    if not name or not entry.pairs:
        return None
    tag_node = _value(entry, 'newTag')
    tag = _text(tag_node)
    digest_node = _value(entry, 'digest')
    digest = _text(digest_node)
    image = name + (f':{tag}' if tag else '') + (f'@{digest}' if digest else '')
    if digest_node is not None:
        edit = _at_field(text, span_of, digest_node)
    else:
        edit = _added_key(text, entry, 'digest')
    return _assembled(
        path, entry, image, has_tag=bool(tag), digest_field=digest_node if digest else None,
        edit=edit, untagged=NO_NEW_TAG,
        merged=() if _own(entry, 'digest') else _merged_ends(text, entry),
        # with no digest, its pin adds its own key, which wins; a digest it
        # merges loses to one added to a mapping merged before it
        merged_always=digest_node is not None,
        fields=(name_node, new_name_node, tag_node, digest_node),
    )


def kustomize(text: str, documents: list[Node | None], span_of: SpanOf) -> Iterator[Assembled]:
    top = next((d for d in documents if d is not None), None)
    if not isinstance(top, YamlMapping):
        raise NotOfKind('not a Kustomization: no mapping at the top')
    images = get(top, 'images')
    if images is None or not isinstance(images[0], YamlSequence):
        return
    for i, entry in enumerate(images[0].items):
        if isinstance(entry, YamlMapping):
            found = _kustomize_entry(text, span_of, entry, f'images[{i}]')
            if found is not None:
                yield found


def _helm_image(
        text: str, span_of: SpanOf, mapping: YamlMapping, path: KeyPath,
) -> Assembled | None:
    repository_node, registry_node = _value(mapping, 'repository'), _value(mapping, 'registry')
    repository = _text(repository_node)
    if not repository:
        return None
    registry = _text(registry_node)
    tag_node = _value(mapping, 'tag')
    tag = _text(tag_node)
    digest_node = _value(mapping, 'digest')
    sha_node = _value(mapping, 'sha')
    digest = _text(digest_node)
    if not digest and _text(sha_node):
        sha = _text(sha_node)
        digest = sha if ':' in sha else f'sha256:{sha}'
    name = f'{registry}/{repository}' if registry else repository
    tag_digest = ''
    if '@' in tag:  # tag: "1.2@sha256:…", as fix writes it where there is no digest field
        tag, _, tag_digest = tag.partition('@')
    image = name + (f':{tag}' if tag else '') + (
        f'@{digest or tag_digest}' if digest or tag_digest else ''
    )
    if digest_node is not None:
        edit = _at_field(text, span_of, digest_node)
    elif tag_node is not None and tag:
        edit = _at_field(text, span_of, tag_node, prefix=f'{tag}@')
    else:
        edit = None
    if sha_node is not None and _text(sha_node) and digest_node is None:
        edit = None  # the chart's own sha: field: left to the user
    return _assembled(
        path_words(path), mapping, image, has_tag=bool(tag),
        digest_field=digest_node if digest else None, edit=edit,
        untagged=NO_TAG_APP_VERSION,
        fields=(repository_node, registry_node, tag_node, digest_node, sha_node),
    )


def _is_image_key(key: str) -> bool:
    return key == 'image' or key.endswith('Image')


def _is_label_map(key: str) -> bool:
    """Values a chart renders into labels, selectors or annotations
    (``podLabels``, ``commonAnnotations``, ``nodeSelector``): never pulled,
    and a label cannot hold a digest, so a pin there broke the release."""
    return key in ('labels', 'annotations', 'nodeSelector') or key.endswith(
        ('Labels', 'Annotations', 'NodeSelector'),
    )


def helm(
        text: str, documents: list[Node | None], span_of: SpanOf,
) -> Iterator[Assembled | tuple[str, Scalar, Scalar]]:
    """Each image mapping (assembled) and each image string (a scalar with
    its path and key, read like any YAML reference)."""
    seen: set[int] = set()
    for document in documents:
        # each node with its key path, put into words only for an image
        # found (a path made for each node copied its parent's: a list
        # under a long key cost the key's length an item)
        todo: list[tuple[Node, KeyPath, bool]] = [(document, None, False)] if document else []
        while todo:
            node, path, under_image = todo.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, YamlSequence):
                todo.extend(
                    (item, (path, i), False)
                    for i, item in zip(range(len(node.items) - 1, -1, -1), reversed(node.items))
                )
                continue
            if not isinstance(node, YamlMapping):
                continue
            if under_image and node.pairs:
                found = _helm_image(text, span_of, node, path)
                if found is not None:
                    yield found
                    continue
            children: list[tuple[Node, KeyPath, bool]] = []
            for key, value, key_node in items(node):
                if isinstance(value, Scalar):
                    if _is_image_key(key):
                        is_string = value.style != '' or not _NOT_A_STRING_RE.match(value.value)
                        if _text(value) and is_string and id(value) not in seen:
                            seen.add(id(value))
                            yield path_words((path, key)), value, key_node
                    else:  # only marked seen when its turn comes: no path
                        children.append((value, None, False))
                    continue
                if isinstance(value, YamlMapping) and _is_label_map(key):
                    continue
                children.append((value, (path, key), _is_image_key(key)))
            todo.extend(reversed(children))
