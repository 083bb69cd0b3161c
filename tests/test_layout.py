"""The package's shape: imports flow one way, no hook imports another, and
only the resolve side touches the network libraries."""
from __future__ import annotations

import ast
import os

import pytest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'digestpin_hooks')
HOOKS = {'lint', 'fix', 'update', 'verify'}


def _runtime_imports(path: str) -> set[str]:
    """Our modules a module imports when it runs (type-only ones aside)."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read())
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, 'id', '') == 'TYPE_CHECKING':
            type_only.update(id(child) for child in ast.walk(node))
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith('digestpin_hooks'):
            if node.module == 'digestpin_hooks':
                found.update(alias.name for alias in node.names if alias.name != '__version__')
            else:
                found.add(node.module.split('.')[1])
    return found


def graph() -> dict[str, set[str]]:
    return {
        name[:-3]: _runtime_imports(os.path.join(PACKAGE, name)) - {name[:-3]}
        for name in os.listdir(PACKAGE) if name.endswith('.py')
    }


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


def test_no_hook_imports_another() -> None:
    edges = graph()
    for hook in HOOKS:
        assert not edges[hook] & HOOKS, (hook, edges[hook] & HOOKS)


# the network libraries and the one module each may be imported by
NETWORK_LIBRARIES = {'docker': '_docker.py', 'requests': '_registry.py', 'urllib3': ''}


@pytest.mark.parametrize(('library', 'owner'), NETWORK_LIBRARIES.items())
def test_only_the_resolve_side_imports_network_libraries(library: str, owner: str) -> None:
    for name in os.listdir(PACKAGE):
        if not name.endswith('.py') or name == owner:
            continue
        with open(os.path.join(PACKAGE, name), encoding='utf-8') as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not any(a.name.split('.')[0] == library for a in node.names), name
            if isinstance(node, ast.ImportFrom):
                assert (node.module or '').split('.')[0] != library, name
