"""File kinds, and the kind a file's name says it is.

The one table of kinds: a reader per kind (``dockerfile.references`` for
Dockerfiles, ``yaml_refs`` for the YAML kinds), ``--kind`` choices, and
what a folder search takes.
"""
from __future__ import annotations

import os
import re

COMPOSE, KUBERNETES, ACTIONS = 'compose', 'kubernetes', 'actions'
GITLAB, BITBUCKET, CIRCLECI, CLOUDBUILD, DRONE = (
    'gitlab-ci', 'bitbucket', 'circleci', 'cloudbuild', 'drone',
)
DEVCONTAINER = 'devcontainer'
HELM, KUSTOMIZE = 'helm', 'kustomize'
CI_KINDS = (
    GITLAB, BITBUCKET, CIRCLECI, CLOUDBUILD, DRONE, DEVCONTAINER, HELM, KUSTOMIZE,
)
YAML_KINDS = (COMPOSE, KUBERNETES, ACTIONS, *CI_KINDS)
KINDS = ('auto', 'dockerfile', *YAML_KINDS)
# what a folder search takes besides Dockerfiles: the kinds with names of
# their own (a Kubernetes manifest has none)
NAMED_YAML_KINDS = (COMPOSE, ACTIONS, *CI_KINDS)
# patterns kept as strings: re compiles them on first use (and caches
# them), so that a run over Dockerfiles alone never compiles them
_COMPOSE_NAME = r'(docker-)?compose(\.[^/]+)?\.ya?ml\Z'
_VALUES_NAME = r'values(-[^/]*)?\.ya?ml\Z'
# the names the README's ``files:`` override matches, so that a folder
# search and pre-commit take the same files
_DOCKERFILE_STEMS = ('Dockerfile', 'Containerfile')
_DOCKERFILE_SUFFIXES = ('.Dockerfile', '.dockerfile', '.Containerfile', '.containerfile')


def is_dockerfile_name(name: str) -> bool:
    """Whether a file name is a Dockerfile's: Dockerfile or Containerfile,
    alone or followed by ``.`` or ``-`` and more, or *.Dockerfile,
    *.dockerfile, *.Containerfile, *.containerfile."""
    for stem in _DOCKERFILE_STEMS:
        if name.startswith(stem) and name[len(stem):len(stem) + 1] in ('', '.', '-'):
            return True
    return name.endswith(_DOCKERFILE_SUFFIXES)


def yaml_kind(path: str) -> str:
    """The YAML kind a file's name says, '' when it says none.

    The names each kind's own tool reads: ``.gitlab-ci.yml`` (and files
    under ``.gitlab/ci/``, where projects keep what it includes),
    ``bitbucket-pipelines.yml``, ``.circleci/*.yml``, ``*cloudbuild*.yaml``
    (or ``.json``), ``.drone.yml``, ``.woodpecker.yml`` and
    ``.woodpecker/*.yml``; ``.devcontainer.json`` and
    ``.devcontainer/devcontainer.json`` (or one folder further down);
    ``kustomization.yaml``; ``values.yaml`` and ``values-*.yaml`` beside a
    ``Chart.yaml`` (the one look at the file system here).
    """
    name = os.path.basename(path)
    if 'cloudbuild' in name and name.endswith(('.yml', '.yaml', '.json')):
        return CLOUDBUILD
    if name in ('kustomization.yaml', 'kustomization.yml', 'Kustomization'):
        return KUSTOMIZE
    parts = path.replace('\\', '/').split('/')
    if name == '.devcontainer.json' or (
        name == 'devcontainer.json' and '.devcontainer' in parts[-3:-1]
    ):
        return DEVCONTAINER
    if not path.endswith(('.yml', '.yaml')):
        return ''
    if re.match(_COMPOSE_NAME, name):
        return COMPOSE
    if re.match(_VALUES_NAME, name) and os.path.isfile(
        os.path.join(os.path.dirname(path), 'Chart.yaml'),
    ):
        return HELM  # a chart's values (a Chart.yaml beside it)
    if name in ('action.yml', 'action.yaml'):
        return ACTIONS
    parts = path.replace('\\', '/').split('/')
    if parts[-3:-1] == ['.github', 'workflows']:
        return ACTIONS
    if name in ('.gitlab-ci.yml', '.gitlab-ci.yaml') or parts[-3:-1] == ['.gitlab', 'ci']:
        return GITLAB
    if name in ('bitbucket-pipelines.yml', 'bitbucket-pipelines.yaml'):
        return BITBUCKET
    if parts[-2:-1] == ['.circleci']:
        return CIRCLECI
    if name in ('.drone.yml', '.drone.yaml', '.woodpecker.yml', '.woodpecker.yaml') or (
        parts[-2:-1] == ['.woodpecker']
    ):
        return DRONE
    return KUBERNETES


def kind_of(path: str, kind: str = 'auto') -> str:
    if kind != 'auto':
        return kind
    if is_dockerfile_name(os.path.basename(path)):
        return 'dockerfile'
    return yaml_kind(path) or 'dockerfile'
