"""The package's shape: the folders are the pipeline (read -> check ->
resolve -> edit -> report), imports flow one way along it with no cycle, no
hook imports another, and only the resolve step touches the network
libraries."""
from __future__ import annotations

import ast
import os

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'digestpin_hooks')
HOOKS = {'lint', 'fix', 'update', 'verify'}
# each module's step, by its first name; a module may import its own step's
# modules and those of earlier steps, never a later one
STEPS = (
    {'model', 'reference', 'text'},  # the records and grammar every step shares
    {'read'},
    # resolve owns its answer types; check reads them (the answers a source
    # gave), so they come before check, and import nothing of check
    {'resolve.answers'},
    {'check'},
    {'resolve'},
    {'edit'},
    {'report'},
    {'config', 'cli'},  # the options and configuration the hooks share
    {*HOOKS, '__main__', 'console'},  # (console: the entry points, run as -m too)
)


def modules() -> dict[str, str]:
    """Dotted names inside the package (``read.dockerfile.parser``) -> paths."""
    found = {}
    for folder, _, names in os.walk(PACKAGE):
        relative = os.path.relpath(folder, PACKAGE)
        prefix = '' if relative == '.' else relative.replace(os.sep, '.') + '.'
        for name in names:
            if name.endswith('.py'):
                module = prefix + name[:-3]
                if module.endswith('__init__'):
                    module = module[:-len('.__init__')] if '.' in module else ''
                found[module] = os.path.join(folder, name)
    return found


def _imports(path: str, known: set[str], *, type_only_too: bool = False) -> set[str]:
    """Our modules a module imports when it runs (and, asked, those it
    imports for type checking only)."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read())
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if type_only_too:
            break
        if isinstance(node, ast.If) and getattr(node.test, 'id', '') == 'TYPE_CHECKING':
            type_only.update(id(child) for child in ast.walk(node))
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only or not isinstance(node, ast.ImportFrom):
            continue
        if node.module is None or not node.module.startswith('digestpin_hooks'):
            continue
        base = node.module[len('digestpin_hooks.'):]
        for alias in node.names:
            submodule = f'{base}.{alias.name}' if base else alias.name
            found.add(submodule if submodule in known else base)
    return found - {'', '__version__'}


def graph(*, type_only_too: bool = False) -> dict[str, set[str]]:
    paths = modules()
    known = set(paths)
    return {
        module: _imports(path, known, type_only_too=type_only_too) - {module}
        for module, path in paths.items() if module
    }


def step_of(module: str) -> int:
    for index, names in enumerate(STEPS):
        if module in names:
            return index
    first = module.split('.')[0]
    for index, names in enumerate(STEPS):
        if first in names:
            return index
    raise AssertionError(f'{module} belongs to no step: give it a folder of the pipeline')


def test_the_graph_sees_the_subpackages() -> None:
    edges = graph()
    assert 'read.dockerfile.references' in edges['read.files']
    assert 'resolve.answers' in edges['resolve.sources']
    assert 'cli' in edges['lint']


def test_no_import_cycle() -> None:
    edges = graph()
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        assert module not in visiting, ' -> '.join([*visiting[visiting.index(module):], module])
        if module in done:
            return
        visiting.append(module)
        for imported in edges.get(module, ()):
            visit(imported)
        visiting.pop()
        done.add(module)
    for module in edges:
        visit(module)


def test_imports_flow_one_way_along_the_pipeline() -> None:
    backwards = [
        f'{module} -> {imported}'
        for module, imports in graph(type_only_too=True).items()
        for imported in imports
        if step_of(imported) > step_of(module)
    ]
    assert backwards == []


def test_resolve_imports_nothing_of_check() -> None:
    """check and the hooks import the answer types from resolve, never the
    other way: resolve owns what its sources answer."""
    backwards = [
        f'{module} -> {imported}'
        for module, imports in graph(type_only_too=True).items()
        if module.startswith('resolve')
        for imported in imports if imported.startswith('check')
    ]
    assert backwards == []


def test_the_answer_types_import_only_the_shared_records() -> None:
    assert graph(type_only_too=True)['resolve.answers'] <= {'model', 'reference'}


def test_no_hook_imports_another() -> None:
    edges = graph()
    for hook in HOOKS:
        assert not edges[hook] & HOOKS, (hook, edges[hook] & HOOKS)


# the network libraries and the one module each may be imported by
NETWORK_LIBRARIES = {
    'docker': 'resolve.daemon', 'requests': '', 'urllib3': '',
    'ssl': 'resolve.registry', 'socket': 'resolve.registry',
    'sigstore': 'resolve.keyless',  # heavy, and it brings requests and tuf along
}


@pytest.mark.parametrize(('library', 'owner'), NETWORK_LIBRARIES.items())
def test_only_the_resolve_step_imports_network_libraries(library: str, owner: str) -> None:
    for module, path in modules().items():
        if module == owner:
            continue
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not any(a.name.split('.')[0] == library for a in node.names), module
            if isinstance(node, ast.ImportFrom):
                assert (node.module or '').split('.')[0] != library, module


def test_subpackages_are_light() -> None:
    # importing read.files must not pull in a whole step: __init__ modules
    # hold their docstring only
    for module, path in modules().items():
        if path.endswith('__init__.py') and module:
            with open(path, encoding='utf-8') as f:
                tree = ast.parse(f.read())
            assert len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr), module


def _type_checking_blocks(tree: ast.Module) -> list[ast.If]:
    return [
        node for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, 'id', '') == 'TYPE_CHECKING'
    ]


@pytest.mark.parametrize('module', sorted(modules()))
def test_typing_is_for_type_checkers_only(module: str) -> None:
    """lint runs on every commit, and importing ``typing`` costs it 2.6 ms:
    the package imports it under ``if TYPE_CHECKING:`` only, with its own
    ``TYPE_CHECKING = False`` (which type checkers take for True)."""
    with open(modules()[module], encoding='utf-8') as f:
        tree = ast.parse(f.read())
    type_only = {id(n) for block in _type_checking_blocks(tree) for n in ast.walk(block)}
    at_run_time = [
        node.lineno for node in ast.walk(tree)
        if id(node) not in type_only and (
            isinstance(node, ast.ImportFrom) and node.module == 'typing'
            or isinstance(node, ast.Import) and any(a.name == 'typing' for a in node.names)
        )
    ]
    assert at_run_time == [], f'{module} imports typing at run time, line {at_run_time}'
    if _type_checking_blocks(tree):
        assert any(
            isinstance(node, ast.Assign) and getattr(node.targets[0], 'id', '') == 'TYPE_CHECKING'
            and getattr(node.value, 'value', None) is False
            for node in tree.body
        ), module


def _records() -> list[tuple[str, ast.ClassDef]]:
    found = []
    for module, path in modules().items():
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read())
        found += [
            (f'{module}.{node.name}', node) for node in ast.walk(tree)
            if isinstance(node, ast.ClassDef)
            and any(getattr(base, 'id', '') == 'Record' for base in node.bases)
        ]
    return found


# every record class of the package, read once for the tests below
RECORDS = _records()


def test_records_are_found() -> None:
    names = {name for name, _ in RECORDS}
    assert {'model.ImageRef', 'check.findings.Finding', 'edit.Edit'} <= names
    assert len(names) >= 30


@pytest.mark.parametrize(('name', 'record'), RECORDS, ids=[name for name, _ in RECORDS])
def test_a_record_declares_its_fields_only(name: str, record: ast.ClassDef) -> None:
    """A record declares its fields (``name: Final[type]``, ``= value`` for
    a default) and Record builds its constructor from them: no record
    writes an ``__init__`` or ``__new__`` (nor a ``__slots__``, a
    ``__setattr__``), so the declarations are the one place a field is
    written."""
    declared = [node for node in record.body if isinstance(node, ast.AnnAssign)]
    assert declared, name
    assert all(
        isinstance(node.target, ast.Name) and ast.unparse(node.annotation).startswith('Final[')
        for node in declared
    ), name
    written = sorted(
        node.name for node in record.body
        if isinstance(node, ast.FunctionDef)
        and node.name in {'__init__', '__new__', '__setattr__', '__delattr__'}
    ) + sorted(
        target.id for node in record.body if isinstance(node, ast.Assign)
        for target in node.targets if isinstance(target, ast.Name)
    )
    assert written == [], f'{name} writes {written}: a record declares its fields only'


def _reasons() -> dict[str, str]:
    """model's reasons of how a reference came about: the name of each
    constant -> its value, the values being those of the ``How`` type."""
    with open(os.path.join(PACKAGE, 'model.py')) as f:
        tree = ast.parse(f.read())
    (alias,) = [
        node for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ['How']
    ]
    assert isinstance(alias.value, ast.Subscript)
    values = set(ast.literal_eval(alias.value.slice))
    constants = {
        node.target.id: node.value.value for node in tree.body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
        and isinstance(node.value, ast.Constant) and node.value.value in values
    }
    assert set(constants.values()) == values, 'each reason is one constant'
    return constants


def test_readers_give_reasons_as_data_not_words() -> None:
    """How a reference came about (ImageRef.how) is one of model's reasons,
    given by name, with its parameters in fields of their own (via, detail,
    values_from): no module writes a note in words for another to read
    back, and none but check/findings.py holds the words."""
    reasons = _reasons()
    from digestpin_hooks.check.findings import _HOW_WORDS
    words = {text for text in _HOW_WORDS.values() if text}
    given = 0
    for module, path in modules().items():
        with open(path) as f:
            tree = ast.parse(f.read())
        # the names a function takes as a reason (``untagged: How``)
        parameters = {
            arg.arg for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            for arg in (*node.args.args, *node.args.kwonlyargs)
            if arg.annotation is not None and ast.unparse(arg.annotation) == 'How'
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword):
                assert node.arg not in ('note', 'why'), f'{module}: {node.arg}= is gone: how='
                if node.arg == 'how' or node.arg in parameters:
                    given += 1
                    choices, todo = [], [node.value]  # a name, or a choice of names
                    while todo:
                        choice = todo.pop()
                        if isinstance(choice, ast.IfExp):
                            todo += [choice.body, choice.orelse]
                        else:
                            choices.append(choice)
                    assert all(
                        isinstance(c, ast.Name) and (c.id in reasons or c.id in parameters)
                        for c in choices
                    ), f'{module}: {ast.unparse(node)} is not one of the reasons of model.py'
            if module != 'check.findings' and isinstance(node, ast.Constant):
                assert node.value not in words, f'{module} writes a reason in words: {node.value!r}'
    assert given >= len(reasons) - 1  # each reason but AS_WRITTEN is given somewhere


def test_every_reason_has_words() -> None:
    import digestpin_hooks.model as model
    from digestpin_hooks.check.findings import how_words
    ref = model.ImageRef(
        source='FROM', image='$A', written='$A', span=(5, 7), editable=False, line=3,
        unresolved=('A',), via='A', detail='FROM', values_from='.env',
    )
    said = {name: how_words(ref.replace(how=getattr(model, name))) for name in _reasons()}
    assert said.pop('AS_WRITTEN') == ''
    assert all(said.values()), said
    assert len(set(said.values())) == len(said), 'each reason its own words'
