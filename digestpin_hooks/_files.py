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
    listed = _git_listed(directory)
    candidates = _walk(directory) if listed is None else listed
    return [
        os.path.normpath(path) for path in candidates
        if is_dockerfile_name(os.path.basename(path))
        and '.git' not in path.split(os.sep)
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
    doc: Dockerfile
    refs: list[ImageRef]


def load(path: str) -> LoadedFile:
    """Read and parse one Dockerfile; problems raise DockerfileError."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except IsADirectoryError:
        raise DockerfileError('is a directory') from None
    except OSError as e:
        raise DockerfileError(f'cannot read: {e.strerror or e}') from None
    doc = parse(data)
    return LoadedFile(path, data, doc, image_refs(doc))
