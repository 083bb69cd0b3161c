"""File kinds, and the kind a file's name says it is.

The one table of kinds: a reader per kind (``_dockerfile_refs`` for
Dockerfiles, ``_yaml_refs`` for the YAML kinds), ``--kind`` choices, and
what a folder search takes.
"""
from __future__ import annotations

import os
import re

COMPOSE, KUBERNETES, ACTIONS = 'compose', 'kubernetes', 'actions'
YAML_KINDS = (COMPOSE, KUBERNETES, ACTIONS)
KINDS = ('auto', 'dockerfile', *YAML_KINDS)
_COMPOSE_NAME_RE = re.compile(r'(docker-)?compose(\.[^/]+)?\.ya?ml\Z')

# the names the README's ``files:`` override matches, so that a folder
# search and pre-commit take the same files
_DOCKERFILE_NAME_RE = re.compile(
    r'(?:Dockerfile|Containerfile)(?:[.-].*)?\Z|.*\.(?:[Dd]ocker|[Cc]ontainer)file\Z',
    re.DOTALL,
)


def is_dockerfile_name(name: str) -> bool:
    """Whether a file name is a Dockerfile's: Dockerfile or Containerfile,
    alone or followed by ``.`` or ``-`` and more, or *.Dockerfile,
    *.dockerfile, *.Containerfile, *.containerfile."""
    return _DOCKERFILE_NAME_RE.match(name) is not None


def yaml_kind(path: str) -> str:
    """The YAML kind a file's name says, '' when it says none."""
    if not path.endswith(('.yml', '.yaml')):
        return ''
    name = os.path.basename(path)
    if _COMPOSE_NAME_RE.match(name):
        return COMPOSE
    if name in ('action.yml', 'action.yaml'):
        return ACTIONS
    parts = path.replace('\\', '/').split('/')
    if parts[-3:-1] == ['.github', 'workflows']:
        return ACTIONS
    return KUBERNETES


def kind_of(path: str, kind: str = 'auto') -> str:
    if kind != 'auto':
        return kind
    if is_dockerfile_name(os.path.basename(path)):
        return 'dockerfile'
    return yaml_kind(path) or 'dockerfile'
