"""File kinds: the one table of them, and the kind a file's name says.

Each kind is one ``Kind`` in ``TABLE``: its name (``--kind``, the hook ids'
suffix), the words that name its files (help, hook names), the hooks'
``files:`` pattern, how a folder search recognises it by name, the walker
that reads it and the values its tool fills in.  ``--kind`` choices, the
help text, the folder search, the reader's dispatch and
``.pre-commit-hooks.yaml`` (written by ``scripts/hooks_file.py``) all come
from the table.

Readers are named as ``module:function`` strings and imported when a file
of the kind is read: a lint of Dockerfiles never imports the YAML readers.
"""
from __future__ import annotations

import os
import re

from digestpin_hooks.model import CLOUDBUILD_VALUES
from digestpin_hooks.model import GITLAB_VALUES
from digestpin_hooks.model import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from typing import Callable
    from typing import Final

    # (path, its base name, its '/'-separated parts) -> whether it is the kind's
    Claims = Callable[[str, str, list[str]], bool]

DOCKERFILE = 'dockerfile'
COMPOSE, KUBERNETES, ACTIONS = 'compose', 'kubernetes', 'actions'
GITLAB, BITBUCKET, CIRCLECI, CLOUDBUILD, DRONE = (
    'gitlab-ci', 'bitbucket', 'circleci', 'cloudbuild', 'drone',
)
DEVCONTAINER = 'devcontainer'
HELM, KUSTOMIZE = 'helm', 'kustomize'
# patterns kept as strings: re compiles them on first use (and caches
# them), so that a run over Dockerfiles alone never compiles them
_COMPOSE_NAME = r'(docker-)?compose(\.[^/]+)?\.ya?ml\Z'
_VALUES_NAME = r'values(-[^/]*)?\.ya?ml\Z'
# the names the README's ``files:`` override matches, so that a folder
# search and pre-commit take the same files
_DOCKERFILE_STEMS = ('Dockerfile', 'Containerfile')
_DOCKERFILE_SUFFIXES = ('.Dockerfile', '.dockerfile', '.Containerfile', '.containerfile')
_YAML = ('.yml', '.yaml')
# What a kind's tool does with a key written twice in one mapping: REFUSE
# the file (a one-line error, as for invalid YAML) or LATER_WINS (a later
# key, or a later ``<<`` merge, replaces the earlier one, as Ruby's Psych,
# Go's yaml.v2 and JSON parsers build a map).  Where a tool does not
# document it the file is refused: reading the wrong one of two values
# could let an unpinned image through.
REFUSE, LATER_WINS = 'refuse', 'later wins'


class Kind(Record):
    """One kind of file, and everything the program knows of it."""

    name: Final[str]  # --kind NAME, and the suffix of its hook ids
    title: Final[str]  # its files in words: help, hook names and descriptions
    files: Final[str]  # the hooks' ``files:`` pattern ('' for types alone)
    types: Final[tuple[str, ...]]  # the hooks' identify types (any of them)
    # whether its name says a file is of this kind, in a folder search and
    # with --kind auto (None: its name never does; Kubernetes manifests are
    # found by their content in a folder search)
    claims: Final[Claims | None]
    # 'module:function' that yields where its images are, from its YAML
    # documents ('' for Dockerfiles, which read/dockerfile reads)
    walker: Final[str]
    # the walker assembles references from several fields (Helm, Kustomize)
    # or places those it reads in strings (Kubernetes): it takes the text and
    # a span function too, and yields Assembled items
    assembles: Final[bool] = False
    # a value used through an alias is reported at its anchor's key path
    paths_at_anchor: Final[bool] = True
    # 'module:function' (path, documents) -> the values its tool fills in
    # ($NAME), '' for none; and where a user sets them, for messages
    variables: Final[str] = ''
    variables_from: Final[str] = ''
    # 'module:function' (text, values) -> Interpolated: how its tool expands
    # ``$NAME`` ('': Compose's interpolation, with ``${NAME:-default}``)
    expansion: Final[str] = ''
    duplicates: Final[str] = REFUSE  # REFUSE or LATER_WINS, as its tool reads them
    # how every name it claims ends ((): no such rule), so that a name
    # no kind can claim is told without asking each kind
    endings: Final[tuple[str, ...]] = ()


def imported(target: str) -> Any:
    """The function a table entry names as ``module:function``."""
    module, _, name = target.partition(':')
    return getattr(__import__(module, fromlist=[name]), name)


def is_dockerfile_name(name: str) -> bool:
    """Whether a file name is a Dockerfile's: Dockerfile or Containerfile,
    alone or followed by ``.`` or ``-`` and more, or *.Dockerfile,
    *.dockerfile, *.Containerfile, *.containerfile."""
    if name.startswith(_DOCKERFILE_STEMS):  # one C call for most names
        for stem in _DOCKERFILE_STEMS:
            if name.startswith(stem) and name[len(stem):len(stem) + 1] in ('', '.', '-'):
                return True
    return name.endswith(_DOCKERFILE_SUFFIXES)


# how each kind's name says it: the names each kind's own tool reads, as the
# table's ``files:`` patterns say (tests/test_kinds.py checks they agree)

def _dockerfile(path: str, name: str, parts: list[str]) -> bool:
    return is_dockerfile_name(name)


def _cloudbuild(path: str, name: str, parts: list[str]) -> bool:
    return 'cloudbuild' in name and name.endswith((*_YAML, '.json'))


def _kustomize(path: str, name: str, parts: list[str]) -> bool:
    return name in ('kustomization.yaml', 'kustomization.yml', 'Kustomization')


def _devcontainer(path: str, name: str, parts: list[str]) -> bool:
    return name == '.devcontainer.json' or (
        name == 'devcontainer.json' and '.devcontainer' in parts[-3:-1]
    )


def _compose(path: str, name: str, parts: list[str]) -> bool:
    return is_compose_name(name)


def is_compose_name(name: str) -> bool:
    """Whether a file of this name (no folder) is read as a Compose file."""
    return name.endswith(_YAML) and re.match(_COMPOSE_NAME, name) is not None


def _helm(path: str, name: str, parts: list[str]) -> bool:
    # a chart's values: a Chart.yaml beside it (the one look at the disk)
    return re.match(_VALUES_NAME, name) is not None and os.path.isfile(
        os.path.join(os.path.dirname(path), 'Chart.yaml'),
    )


def _actions(path: str, name: str, parts: list[str]) -> bool:
    return name in ('action.yml', 'action.yaml') or (
        name.endswith(_YAML) and parts[-3:-1] == ['.github', 'workflows']
    )


def _gitlab(path: str, name: str, parts: list[str]) -> bool:
    return name in ('.gitlab-ci.yml', '.gitlab-ci.yaml') or (
        name.endswith(_YAML) and parts[-3:-1] == ['.gitlab', 'ci']
    )


def _bitbucket(path: str, name: str, parts: list[str]) -> bool:
    return name in ('bitbucket-pipelines.yml', 'bitbucket-pipelines.yaml')


def _circleci(path: str, name: str, parts: list[str]) -> bool:
    return name.endswith(_YAML) and parts[-2:-1] == ['.circleci']


def _drone(path: str, name: str, parts: list[str]) -> bool:
    return name in ('.drone.yml', '.drone.yaml', '.woodpecker.yml', '.woodpecker.yaml') or (
        name.endswith(_YAML) and parts[-2:-1] == ['.woodpecker']
    )


_CI = 'digestpin_hooks.read.ci:'
_YAML_REFS = 'digestpin_hooks.read.yaml_refs:'
_ASSEMBLED = 'digestpin_hooks.read.assembled:'

# The table.  A name is matched against the kinds in this order, the first
# that claims it wins (``ci.cloudbuild.yaml`` is Cloud Build, a Compose
# file under .github/workflows is Compose).
TABLE = (
    Kind(
        DOCKERFILE, 'Dockerfiles',
        r'(^|/)(Dockerfile|Containerfile)([.-][^/]*)?$|\.([Dd]ocker|[Cc]ontainer)file$',
        ('dockerfile',), _dockerfile, '',
    ),
    Kind(
        CLOUDBUILD, 'Cloud Build configs', r'(^|/)[^/]*cloudbuild[^/]*\.(ya?ml|json)$',
        ('yaml', 'json'), _cloudbuild, _CI + 'cloudbuild',
        variables=_CI + 'cloudbuild_substitutions', variables_from=CLOUDBUILD_VALUES,
        duplicates=REFUSE,  # gcloud's ruamel.yaml: DuplicateKeyError
        endings=(*_YAML, '.json'),
    ),
    Kind(
        KUSTOMIZE, 'Kustomizations', r'(^|/)(kustomization\.ya?ml|Kustomization)$',
        ('file',), _kustomize, _ASSEMBLED + 'kustomize', assembles=True,
        duplicates=REFUSE,  # kustomize reads a kustomization strictly
        endings=('kustomization.yaml', 'kustomization.yml', 'Kustomization'),
    ),
    Kind(
        DEVCONTAINER, 'dev containers',
        r'(^|/)\.devcontainer\.json$|(^|/)\.devcontainer/([^/]+/)?devcontainer\.json$',
        ('json',), _devcontainer, _CI + 'devcontainer',
        duplicates=LATER_WINS,  # the dev containers CLI's jsonc-parser
        endings=('devcontainer.json',),
    ),
    Kind(
        COMPOSE, 'Compose files', r'(^|/)(docker-)?compose(\.[^/]*)?\.ya?ml$',
        ('yaml',), _compose, _YAML_REFS + 'compose', paths_at_anchor=False,
        variables=_YAML_REFS + 'dotenv', variables_from='.env',
        duplicates=REFUSE,  # compose-go (yaml.v3): "mapping key already defined"
        endings=_YAML,
    ),
    Kind(
        HELM, 'Helm chart values', r'(^|/)values(-[^/]*)?\.ya?ml$',
        ('yaml',), _helm, _ASSEMBLED + 'helm', assembles=True,
        duplicates=LATER_WINS,  # sigs.k8s.io/yaml over yaml.v2 (helm/helm#4107)
        endings=_YAML,
    ),
    Kind(
        ACTIONS, 'GitHub Actions workflows and actions',
        r'(^|/)\.github/workflows/[^/]+\.ya?ml$|(^|/)action\.ya?ml$',
        ('yaml',), _actions, _YAML_REFS + 'actions', paths_at_anchor=False,
        duplicates=REFUSE,  # GitHub's parser: "'x' is already defined"
        endings=_YAML,
    ),
    Kind(
        GITLAB, 'GitLab CI files', r'(^|/)\.gitlab-ci\.ya?ml$|(^|/)\.gitlab/ci/[^/]+\.ya?ml$',
        ('yaml',), _gitlab, _CI + 'gitlab',
        # its walker reports each image at the path where it is written
        paths_at_anchor=False,
        variables=_CI + 'gitlab_variables', variables_from=GITLAB_VALUES,
        # the runner's Go os.Expand: ``${IMG:-alpine:3}`` is one variable
        expansion='digestpin_hooks.read.variables:expand_as_gitlab',
        duplicates=LATER_WINS,  # Ruby's Psych
        endings=_YAML,
    ),
    Kind(
        BITBUCKET, 'Bitbucket Pipelines files', r'(^|/)bitbucket-pipelines\.ya?ml$',
        ('yaml',), _bitbucket, _CI + 'bitbucket',
        duplicates=REFUSE,  # not documented
        endings=_YAML,
    ),
    Kind(
        CIRCLECI, 'CircleCI configs', r'(^|/)\.circleci/[^/]+\.ya?ml$',
        ('yaml',), _circleci, _CI + 'circleci',
        duplicates=REFUSE,  # not documented
        endings=_YAML,
    ),
    Kind(
        DRONE, 'Drone and Woodpecker pipelines',
        r'(^|/)\.(drone|woodpecker)\.ya?ml$|(^|/)\.woodpecker/[^/]+\.ya?ml$',
        ('yaml',), _drone, _CI + 'drone',
        duplicates=REFUSE,  # Woodpecker's yaml.v3 refuses (Drone's yaml.v2 takes the later)
        endings=_YAML,
    ),
    # last: other *.yaml/*.yml files given as arguments are read as manifests
    Kind(
        KUBERNETES, 'Kubernetes manifests',
        r'(^|/)(k8s|kube|kubernetes|manifests|deploy|deployments?)/.*\.ya?ml$',
        ('yaml',), None, _YAML_REFS + 'kubernetes', assembles=True,
        paths_at_anchor=False,
        duplicates=REFUSE,  # kubectl --validate=strict, the default since 1.27
    ),
)
BY_NAME = {kind.name: kind for kind in TABLE}
KINDS = ('auto', *BY_NAME)
# how a name that any kind after Dockerfile may claim ends (*.yaml and
# *.yml are manifests when no kind claims them); None when a kind has no
# such rule, and each kind is asked
_CLAIMED_ENDINGS = None if any(
    kind.claims is not None and not kind.endings for kind in TABLE[1:]
) else tuple(dict.fromkeys(
    (*_YAML, *(e for kind in TABLE[1:] for e in kind.endings)),
))


def yaml_kind(path: str, name: str = '') -> str:
    """The kind a file's name says other than Dockerfile: the first kind of
    the table that claims it; else ``kubernetes`` for other
    ``*.yaml``/``*.yml`` files, '' for the rest.  ``name``: the path's
    base name, when the caller has it."""
    name = name or os.path.basename(path)
    if _CLAIMED_ENDINGS is not None and not name.endswith(_CLAIMED_ENDINGS):
        return ''  # most Dockerfiles not named as such: no kind to ask
    parts = path.replace('\\', '/').split('/')
    for kind in TABLE[1:]:
        if kind.claims is not None and kind.claims(path, name, parts):
            return kind.name
    return KUBERNETES if name.endswith(_YAML) else ''


_SLASH_ONLY = os.sep == '/' and os.altsep is None


def kind_of(path: str, kind: str = 'auto') -> str:
    if kind != 'auto':
        return kind
    # (os.path.basename's own cut, where the separator is only /)
    name = path[path.rfind('/') + 1:] if _SLASH_ONLY else os.path.basename(path)
    if is_dockerfile_name(name):
        return DOCKERFILE
    return yaml_kind(path, name) or DOCKERFILE
