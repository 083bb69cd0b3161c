"""read/yaml_nodes.py: nodes with exact positions, limits, keys as each kind's
tool reads them, and the key path where each node is written."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from digestpin_hooks.read import yaml_nodes
from digestpin_hooks.read.yaml_nodes import compose_documents
from digestpin_hooks.read.yaml_nodes import get
from digestpin_hooks.read.yaml_nodes import items
from digestpin_hooks.read.yaml_nodes import Scalar
from digestpin_hooks.read.yaml_nodes import written_paths
from digestpin_hooks.read.yaml_nodes import YamlError
from digestpin_hooks.read.yaml_nodes import YamlMapping
from digestpin_hooks.read.yaml_nodes import YamlSequence
from digestpin_hooks.text import shortened
from tests.timing import untraced

if TYPE_CHECKING:
    from digestpin_hooks.read.yaml_nodes import Node

SHARED = Path(__file__).resolve().parents[2] / 'shared'


def shape(documents: list[Node | None]) -> list[object]:
    """Documents as plain data: every field, and an alias as the number of
    the node it repeats (so that sharing is compared too)."""
    numbers: dict[int, int] = {}

    def of(node: Node | None) -> object:
        if node is None:
            return None
        if id(node) in numbers:
            return ('alias', numbers[id(node)])
        numbers[id(node)] = len(numbers)
        if isinstance(node, Scalar):
            return node.as_dict()
        if isinstance(node, YamlMapping):
            return (node.start, node.line, node.later_wins, [(of(k), of(v)) for k, v in node.pairs])
        return (node.start, node.line, node.tag, [of(item) for item in node.items])
    return [of(document) for document in documents]


def read(text: str, later_wins: bool = False) -> object:
    try:
        return shape(compose_documents(text, later_wins=later_wins))
    except YamlError as e:
        return str(e)


EDGES = [
    'a: &x [1, {b: "é€😀"}]\nc: *x\nd:\n  <<: *x\n',
    '--- !tag\n- |\n  x\n- >-\n  y\n...\n---\n',
    'a: 1\na: 2\n',
    'k: *nope\n',
    '[' * 300 + ']' * 300,
    'a: [\n',
    '',
    '# only a comment\n',
    '--- &a\nx: 1\n--- *a\n',
]


@pytest.mark.no_cover  # volume: coverage tracing made it 1.5-3x slower
def test_the_pure_python_parser_reads_as_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without libyaml (PyYAML built without it) the same nodes, positions
    and errors: the corpora's YAML files, and edge cases.  The corpora are
    read untraced: coverage's tracer tripled this test's time (42 s of a
    CI run), and the edge cases, traced, run the same code both ways."""
    corpus = [
        path.read_bytes().decode('utf-8-sig', 'replace')  # as read: no BOM
        for folder in ('corpus-yaml', 'corpus-kinds')
        for path in sorted((SHARED / folder).rglob('*.y*ml'))[::7]
    ]
    assert len(corpus) > 100

    def both_ways() -> list[tuple[object, object]]:
        edges = [(read(t), read(t, True)) for t in EDGES]
        with untraced():
            return edges + [(read(t), read(t, True)) for t in corpus]

    with_libyaml = both_ways()
    monkeypatch.setitem(sys.modules, 'yaml._yaml', None)  # import fails
    without = both_ways()
    # the parsers word a few syntax errors differently; all else is equal
    assert len(with_libyaml) == len(without)
    for ours, pure in zip(with_libyaml, without):
        for a, b in zip(ours, pure):
            if isinstance(a, str) and a.startswith('invalid YAML'):
                assert isinstance(b, str) and b.startswith('invalid YAML')
            else:
                assert a == b


BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + ''.join(
        f'{n}: &{n} [{",".join([f"*{p}"] * 9)}]\n'
        for p, n in zip('abcdefgh', 'bcdefghi')
    )
)


def test_a_yaml_bomb_is_refused_where_it_stands() -> None:
    """At the node whose expansion passes the limit, while the file is
    read: what follows is never parsed, not even an error further on."""
    with pytest.raises(YamlError) as e:
        compose_documents(BOMB + 'services: [\n')
    assert str(e.value) == (
        'line 7: aliases would expand to more than 1000000 nodes (a YAML bomb?)'
    )


def test_expansion_counts_every_document(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yaml_nodes, 'MAX_EXPANDED', 100)
    document = 'a: &a [' + ', '.join(['x'] * 20) + ']\nb: *a\n'  # 45 nodes expanded
    assert len(compose_documents('---\n'.join([document] * 2))) == 2
    with pytest.raises(YamlError) as e:
        compose_documents('---\n'.join([document] * 3))
    assert str(e.value) == 'aliases would expand to more than 100 nodes (a YAML bomb?)'
    with pytest.raises(YamlError) as e:
        compose_documents('a: &a [' + ', '.join(['x'] * 60) + ']\nb: [*a, *a]\n')
    assert str(e.value) == 'line 2: aliases would expand to more than 100 nodes (a YAML bomb?)'


PATHS = (
    '.t: &t\n  image: a:1\n  list: [b:1, {image: c:1}]\n'
    'job:\n  <<: *t\n  more: *t\n'
    '"": {x: d:1}\n'
    '? [complex]\n: {image: e:1}\n'
    '---\n- [f:1, g:1]\n- h:1\n'
)


def test_written_paths_of_the_nodes_asked_for() -> None:
    """Only those asked for, each where it is written (its anchor's path),
    as the walk of every node gives them."""
    documents = compose_documents(PATHS)
    every = written_paths(documents)
    # aliases (job.<<, job.more) are written at the anchor; a value
    # under a complex key has no path
    assert sorted(every.values()) == sorted([
        '', '.t', '.t.image', '.t.list', '.t.list[0]', '.t.list[1]', '.t.list[1].image',
        'job', '', 'x', '', '[0]', '[0][0]', '[0][1]', '[1]',
    ])
    scalars = {
        node.value: id(node) for node in _all(documents) if isinstance(node, Scalar)
    }
    for names in (['a:1'], ['c:1', 'd:1'], ['e:1', 'h:1', 'g:1'], list(scalars)):
        wanted = {scalars[name] for name in names}
        assert written_paths(documents, wanted) == {
            ident: path for ident, path in every.items() if ident in wanted
        }
    assert written_paths(documents, {scalars['a:1']}) == {scalars['a:1']: '.t.image'}
    assert written_paths(documents, {scalars['e:1']}) == {}  # under a complex key



_KEY = 'k' * 250  # a key longer than an error line shows one (200 characters)


@pytest.mark.parametrize(('text', 'wanted', 'whole'), (
    (f'? {_KEY}\n:\n  - {{image: a:1}}\n', 'a:1', f'{_KEY}[0].image'),
    (f'a:\n  ? {_KEY}\n  :\n    b: a:1\n', 'a:1', f'a.{_KEY}.b'),
    # just within (200 characters): as written
    (f'? {"k" * 191}\n:\n  - {{image: a:1}}\n', 'a:1', f'{"k" * 191}[0].image'),
    # a key path of many short keys passing 200 characters
    (''.join(f'{" " * 2 * i}k{i:02}:\n' for i in range(70)) + ' ' * 140 + 'b: a:1\n', 'a:1',
     '.'.join(f'k{i:02}' for i in range(70)) + '.b'),
))
def test_a_key_path_longer_than_200_characters_is_shortened_as_error_lines_show_it(
        text: str, wanted: str, whole: str,
) -> None:
    """A finding's key path (its source) of more than 200 characters is
    its first and last 100, as an error line shows a key path or value
    (text.shortened): the paths of many images under one long key each
    copied it whole (500 KB of GitLab jobs: more than 4 GB).  The walk of
    every node gives the same."""
    documents = compose_documents(text)
    [ident] = [id(node) for node in _all(documents) if isinstance(node, Scalar) and node.value == wanted]
    path = shortened(whole)
    assert (len(whole) > 200) == (path != whole) and len(path) <= 201
    assert written_paths(documents, {ident}) == {ident: path}
    assert written_paths(documents)[ident] == path

def _all(documents: list[Node | None]) -> list[Node]:
    found: list[Node] = []
    todo = [d for d in documents if d is not None]
    while todo:
        node = todo.pop()
        found.append(node)
        if isinstance(node, YamlMapping):
            todo.extend(n for pair in node.pairs for n in pair)
        elif isinstance(node, YamlSequence):
            todo.extend(node.items)
    return found


ITEMS = {
    'plain': ('y: {a: 1, b: 2}\n', False, [('a', '1'), ('b', '2')]),
    'own keys win': ('x: &x {a: 1, b: 2}\ny:\n  <<: *x\n  b: 3\n', False, [('b', '3'), ('a', '1')]),
    'a quoted << is a key': ('x: &x {a: 1}\ny:\n  "<<": 5\n  <<: *x\n', False, [('<<', '5'), ('a', '1')]),
    'later wins': ('y:\n  a: 1\n  a: 2\n  b: 3\n', True, [('a', '2'), ('b', '3')]),
    'a later merge wins': ('y:\n  c: 2\n  <<: [{a: 1}, {a: 2, c: 1}]\n', True, [('a', '1'), ('c', '1')]),
}


@pytest.mark.parametrize(('text', 'later_wins', 'expected'), list(ITEMS.values()), ids=list(ITEMS))
def test_get_reads_as_items_do(text: str, later_wins: bool, expected: list[tuple[str, str]]) -> None:
    top = compose_documents(text, later_wins=later_wins)[0]
    assert isinstance(top, YamlMapping)
    mapping = top.pairs[-1][1]
    assert isinstance(mapping, YamlMapping)
    assert [(key, getattr(value, 'value', None)) for key, value, _ in items(mapping)] == expected
    for key, value in expected:
        found = get(mapping, key)
        assert found is not None and isinstance(found[0], Scalar) and found[0].value == value
    assert get(mapping, 'missing') is None


def test_get_builds_no_items_of_a_mapping_that_merges_nothing(
        monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lookup most walkers do, key by key, is a look along the pairs;
    only a mapping with ``<<`` is read through ``items``."""
    calls: list[YamlMapping] = []

    def counting(mapping: YamlMapping) -> list[tuple[str, Node, Scalar]]:
        calls.append(mapping)
        return items(mapping)
    monkeypatch.setattr(yaml_nodes, 'items', counting)
    top = compose_documents('x: &x {image: a:1}\ny: {image: b:1, tag: t}\nz: {<<: *x}\n')[0]
    assert isinstance(top, YamlMapping)
    for key, image in (('x', 'a:1'), ('y', 'b:1'), ('z', 'a:1')):
        entry = get(top, key)
        assert entry is not None
        found = get(entry[0], 'image')
        assert found is not None and isinstance(found[0], Scalar) and found[0].value == image
    assert len(calls) == 1  # z's, with its merge key


def test_pyyaml_is_imported_without_compiling_its_patterns() -> None:
    """libyaml's parser uses none of the patterns PyYAML compiles when it
    is imported (the pure reader's class of printable characters alone is
    a third of a one-file lint's instructions), nor base64, which PyYAML
    imports to build binary values: each is compiled or imported when
    first used, so PyYAML still reads and writes as it did for any other
    caller, and a later ``import base64`` gets the module itself."""
    import subprocess
    code = (
        'import re, sys\n'
        'callers = []\n'
        'compile = re.compile\n'
        'def counting(*arguments):\n'
        "    callers.append(sys._getframe(1).f_globals.get('__name__', ''))\n"
        '    return compile(*arguments)\n'
        're.compile = counting\n'
        'from digestpin_hooks.read.yaml_nodes import compose_documents\n'
        "compose_documents('a: b\\n')\n"
        "print(sorted({c for c in callers if c == 'yaml' or c.startswith('yaml.')}))\n"
        "print('base64' in sys.modules)\n"
        're.compile = compile\n'
        'import yaml\n'
        "print(yaml.safe_load('a: 2001-12-14\\nb: yes\\nc: 0x1F\\nd: ~\\n<<: {e: 1}\\n'))\n"
        "print(yaml.safe_load('!!binary aGk='), yaml.safe_dump(b'hi').split())\n"
        'import base64\n'
        'print(type(base64).__name__, base64.b64encode(b"hi"))\n'
        'try:\n'
        "    yaml.load('a: \\x07', Loader=yaml.SafeLoader)\n"
        'except yaml.YAMLError as e:\n'
        '    print(type(e).__name__)\n'
    )
    result = subprocess.run((sys.executable, '-c', code), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        '[]\n'
        'False\n'
        "{'e': 1, 'a': datetime.date(2001, 12, 14), 'b': True, 'c': 31, 'd': None}\n"
        "b'hi' ['!!binary', '|', 'aGk=']\n"
        "module b'aGk='\n"
        'ReaderError\n'
    )


def test_an_anchor_ends_with_its_document_but_for_compose() -> None:
    """An alias in a later document to an anchor of an earlier one: YAML
    ends an anchor with its document, and so do the kinds whose tools
    read a stream document by document (kubectl); Compose's yaml.v3 keeps
    anchors over the stream, so its parse (parse_once) takes the alias
    as the latest anchor of that name."""
    text = 'a: &x 1\n---\na: &x 2\n---\nb: *x\n'
    with pytest.raises(YamlError, match=r'line 5: alias \*x names no finished anchor'):
        compose_documents(text)
    last = yaml_nodes.parse_once(text)[2]
    found = get(last, 'b')
    assert found is not None and isinstance(found[0], Scalar)
    assert (found[0].value, found[0].line) == ('2', 3)
