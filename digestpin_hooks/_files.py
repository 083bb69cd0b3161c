"""Command-line arguments -> the Dockerfiles to read, read and parsed."""
from __future__ import annotations

import os
from typing import Iterator
from typing import NamedTuple
from typing import Sequence

from digestpin_hooks._dockerfile import Dockerfile
from digestpin_hooks._dockerfile import DockerfileError
from digestpin_hooks._dockerfile import image_refs
from digestpin_hooks._dockerfile import ImageRef
from digestpin_hooks._dockerfile import parse
from digestpin_hooks._manifests import parse_yaml
from digestpin_hooks._manifests import YAML_KINDS
from digestpin_hooks._manifests import yaml_kind
from digestpin_hooks._manifests import YamlFile
from digestpin_hooks._yaml import YamlError

# the names a directory search takes for Dockerfiles
DOCKERFILE_PATTERNS = (
    'Dockerfile', 'Containerfile', 'Dockerfile.*', 'Containerfile.*',
    '*.Dockerfile', '*.dockerfile',
)


def is_dockerfile_name(name: str) -> bool:
    import fnmatch
    return any(fnmatch.fnmatchcase(name, p) for p in DOCKERFILE_PATTERNS)


def _git_listed(directory: str) -> list[str] | None:
    """Files git does not ignore under ``directory``; None outside a work tree."""
    import subprocess  # only folder arguments pay for it; pre-commit passes files
    try:
        result = subprocess.run(
            (
                'git', 'ls-files', '--cached', '--others', '--exclude-standard',
                '-z', '--', '.',
            ),
            cwd=directory, capture_output=True, check=False,
        )
    except OSError:
        return None
    if result.returncode != 0:
        return None
    names = result.stdout.decode('utf-8', 'surrogateescape').split('\0')
    return sorted(
        os.path.join(directory, name) for name in names
        if name and os.path.isfile(os.path.join(directory, name))
    )


def _walk(directory: str) -> list[str]:
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d != '.git')
        found.extend(os.path.join(root, f) for f in sorted(files))
    return found


def dockerfiles_in(directory: str) -> list[str]:
    """Dockerfiles, Compose files, workflows and action metadata files.

    Kubernetes manifests have no names of their own: they are read when
    given as files (or through the kubernetes hooks).
    """
    listed = _git_listed(directory)
    candidates = _walk(directory) if listed is None else listed
    return [
        os.path.normpath(path) for path in candidates
        if '.git' not in path.split(os.sep) and (
            is_dockerfile_name(os.path.basename(path))
            or yaml_kind(path) in ('compose', 'actions')
        )
    ]


def expand_paths(arguments: Sequence[str]) -> Iterator[str]:
    """Files as given; directories searched; no argument: the current one."""
    for argument in arguments or ('.',):
        if os.path.isdir(argument):
            yield from dockerfiles_in(argument)
        else:
            yield argument


class LoadedFile(NamedTuple):
    path: str
    data: bytes
    doc: Dockerfile | YamlFile
    refs: list[ImageRef]


class UnreadableFile(ValueError):
    """The file cannot be read as what it is; the message is one line."""


KINDS = ('auto', 'dockerfile', *YAML_KINDS)


def kind_of(path: str, kind: str = 'auto') -> str:
    if kind != 'auto':
        return kind
    if is_dockerfile_name(os.path.basename(path)):
        return 'dockerfile'
    return yaml_kind(path) or 'dockerfile'


def load(path: str, kind: str = 'auto') -> LoadedFile:
    """Read and parse one file as ``kind`` (by its name when 'auto')."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except IsADirectoryError:
        raise UnreadableFile('is a directory') from None
    except OSError as e:
        raise UnreadableFile(f'cannot read: {e.strerror or e}') from None
    kind = kind_of(path, kind)
    try:
        if kind == 'dockerfile':
            doc: Dockerfile | YamlFile = parse(data)
            return LoadedFile(path, data, doc, image_refs(doc))
        doc, refs = parse_yaml(data, path, kind)
    except (DockerfileError, YamlError) as e:
        raise UnreadableFile(str(e)) from None
    return LoadedFile(path, data, doc, refs)
