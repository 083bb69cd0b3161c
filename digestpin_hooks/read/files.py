"""Command-line arguments -> the files to check (Dockerfiles, Compose files,
Kubernetes manifests, GitHub Actions and CI files), each read by its
kind's reader."""
from __future__ import annotations

import itertools
import os

from digestpin_hooks.model import ImageRef
from digestpin_hooks.model import Record
from digestpin_hooks.read.bounded import Identity
from digestpin_hooks.read.bounded import MAX_FILE_BYTES
from digestpin_hooks.read.bounded import read_regular
from digestpin_hooks.read.bounded import ReadError
from digestpin_hooks.read.dockerfile.parser import DockerfileError
from digestpin_hooks.read.dockerfile.references import read_dockerfile
from digestpin_hooks.read.dockerfile.refusals import UnknownSyntax
from digestpin_hooks.read.kinds import GITLAB
from digestpin_hooks.read.kinds import is_dockerfile_name
from digestpin_hooks.read.kinds import kind_of
from digestpin_hooks.read.kinds import KUBERNETES
from digestpin_hooks.read.kinds import yaml_kind

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final
    from typing import Iterable
    from typing import Sequence
    from digestpin_hooks.model import Document
    from digestpin_hooks.model import FileError

# folders a search never enters: version control metadata
_SKIPPED_FOLDERS = frozenset(('.git', '.hg', '.svn'))


def _walk(directory: str) -> list[str]:
    """Regular files below ``directory``, never through a symlink.

    git is not asked which files it tracks: running it in a tree under
    review would execute that tree's own ``.git/config`` (``core.fsmonitor``
    and friends).  Files git ignores are therefore searched too.
    """
    import stat
    found: list[str] = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_FOLDERS)
        for name in sorted(files):
            path = os.path.join(root, name)
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                continue
            if stat.S_ISREG(mode):
                found.append(path)
    return found


def files_in_folder(directory: str) -> list[tuple[str, str]]:
    """(path, kind) of the files a folder holds for us: those a kind claims
    by name (Dockerfiles, Compose, Actions, the CI files...), the files a
    ``.gitlab-ci.yml`` there includes from the same project (kind
    ``gitlab-ci``, whatever their names), and the Kubernetes manifests among
    the other ``*.yaml``/``*.yml`` files (found by their content; a
    chart's ``templates/`` are no manifests until rendered).
    """
    walked = [os.path.normpath(path) for path in _walk(directory)]
    found: list[tuple[str, str]] = []
    other_yaml = []
    for path in walked:
        kind = 'dockerfile' if is_dockerfile_name(os.path.basename(path)) else yaml_kind(path)
        if kind == KUBERNETES:
            other_yaml.append(path)
        elif kind:
            found.append((path, 'auto'))
    named = {path for path, _ in found}
    includes = _GitlabIncludes(walked)
    for path, _ in list(found):
        if os.path.basename(path) in ('.gitlab-ci.yml', '.gitlab-ci.yaml'):
            for included in includes.of(path):
                if included not in named:
                    named.add(included)
                    found.append((included, GITLAB))
    charts = _Charts()
    found.extend(
        (path, KUBERNETES) for path in other_yaml
        if path not in named and not charts.template(path) and _is_manifest(path)
    )
    return found


class _Charts:
    """Which folders are Helm charts (a Chart.yaml in them), asked once."""

    def __init__(self) -> None:
        self.known: dict[str, bool] = {}

    def template(self, path: str) -> bool:
        """Whether ``path`` is below a chart's ``templates/``."""
        folder = os.path.dirname(path)
        while folder:
            if os.path.basename(folder) == 'templates' and self._chart(
                os.path.dirname(folder),
            ):
                return True
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
        return False

    def _chart(self, folder: str) -> bool:
        if folder not in self.known:
            self.known[folder] = os.path.isfile(os.path.join(folder, 'Chart.yaml'))
        return self.known[folder]


def _is_manifest(path: str) -> bool:
    """Whether a YAML file has a document with top-level ``apiVersion`` and
    ``kind``, read as the file itself would be (regular, bounded); a file
    that cannot be read or parsed is no manifest here, and is left out."""
    from digestpin_hooks.read.yaml_nodes import compose_documents
    from digestpin_hooks.read.yaml_nodes import get
    from digestpin_hooks.read.yaml_nodes import MAX_BYTES
    from digestpin_hooks.read.yaml_nodes import YamlError
    try:
        data = read_regular(path, MAX_FILE_BYTES).data
    except OSError:
        return False
    if len(data) > MAX_BYTES or b'apiVersion' not in data or b'kind' not in data:
        return False
    try:
        documents = compose_documents(data.decode('utf-8'))
    except (UnicodeDecodeError, YamlError):
        return False
    return any(
        get(d, 'apiVersion') is not None and get(d, 'kind') is not None
        for d in documents
    )


class _GitlabIncludes:
    """The files root ``.gitlab-ci.yml`` files include locally, among the
    files one folder search found (regular files, no symlink, inside the
    folder): by path or by glob (``ci/*.yml``) from the project root, the
    folder of the root file, nested includes followed to GitLab's limit.

    A glob is matched against the files below its root only (a range of the
    sorted paths), and all globs of a search share one budget of 150
    comparisons per file found: GitLab's 150 includes of one root over the
    whole tree fit, and no tree of nested roots makes the search quadratic.
    """

    def __init__(self, walked: list[str]) -> None:
        self.sorted = sorted(walked)
        self.files = set(walked)
        self.budget = 150 * len(walked) + 1024  # glob comparisons left

    def _matches(self, root: str, name: str) -> list[str]:
        import bisect
        import fnmatch
        pattern = name.lstrip('/')
        if not any(c in pattern for c in '*?['):
            path = os.path.normpath(os.path.join(root, pattern))
            return [path] if path in self.files else []
        prefix = root + os.sep if root else ''
        matches = []
        for path in itertools.islice(self.sorted, bisect.bisect_left(self.sorted, prefix), None):
            self.budget -= 1
            if self.budget < 0 or not path.startswith(prefix):
                break
            if fnmatch.fnmatchcase(path[len(prefix):].replace(os.sep, '/'), pattern):
                matches.append(path)
        return matches

    def of(self, root_file: str) -> list[str]:
        from digestpin_hooks.read.ci import gitlab_local_includes
        from digestpin_hooks.read.ci import MAX_INCLUDES
        from digestpin_hooks.read.yaml_nodes import compose_documents
        from digestpin_hooks.read.yaml_nodes import YamlError
        root = os.path.dirname(root_file)
        included: list[str] = []
        todo = [root_file]
        seen = {root_file}
        while todo and len(included) < MAX_INCLUDES:
            current = todo.pop()
            try:
                data = read_regular(current, MAX_FILE_BYTES).data
                documents = compose_documents(data.decode('utf-8'), duplicates=True)
            except (OSError, UnicodeDecodeError, YamlError):
                continue  # reading the file itself reports what is wrong with it
            for name in gitlab_local_includes(documents):
                for path in self._matches(root, name):
                    if path not in seen:
                        seen.add(path)
                        included.append(path)
                        todo.append(path)
        return included[:MAX_INCLUDES]


def paths_or_here(arguments: Sequence[str]) -> list[str]:
    """The arguments, or the current folder when there are none.

    Folders are searched by load_all when it finds one: a stat() of every
    file pre-commit passes would cost more than the search saves.
    """
    return list(arguments) or ['.']


class LoadedFile(Record):
    """A file read and parsed: its bytes, its document, its references."""

    path: Final[str]
    data: Final[bytes]
    doc: Final[Document]
    refs: Final[list[ImageRef]]
    # what the file was when read: a write re-checks it (None: not from disk)
    identity: Final[Identity | None] = None
    # instructions and flags BuildKit v0.32 does not know (DP010)
    unknown: Final[tuple[UnknownSyntax, ...]] = ()
    kind: Final[str] = 'auto'  # what it was read as ('auto': by its name)


class UnreadableFile(ValueError):
    """The file cannot be read as what it is; the message is one line."""


class SkippedFile(UnreadableFile):
    """A file the hooks' patterns match but that is not for them (a Helm
    template, a YAML file that is no Kubernetes manifest): a note, not an
    error."""


class IsAFolder(UnreadableFile):
    """A folder where a file was expected: load_all searches it instead."""


def load(path: str, kind: str = 'auto') -> LoadedFile:
    """Read and parse one file as ``kind`` (by its name when 'auto')."""
    try:
        read = read_regular(path, MAX_FILE_BYTES)
    except IsADirectoryError:
        raise IsAFolder('is a directory') from None
    except ReadError as e:
        raise UnreadableFile(str(e)) from None
    return parse_data(path, read.data, kind, read.identity)


def parse_data(
        path: str, data: bytes, kind: str = 'auto', identity: Identity | None = None,
) -> LoadedFile:
    """Parse ``data`` as the file ``path`` of ``kind``: what load() does
    after reading, and what a write reads back before it is made."""
    kind = kind_of(path, kind)
    if kind == 'dockerfile':
        try:
            dockerfile, refs, unknown = read_dockerfile(data)
        except DockerfileError as e:
            raise UnreadableFile(str(e)) from None
        return LoadedFile(path, data, dockerfile, refs, identity, tuple(unknown), kind)
    from digestpin_hooks.read.yaml_refs import parse_yaml
    from digestpin_hooks.read.yaml_nodes import YamlError
    if kind == KUBERNETES and b'{{' in data:
        # a Helm (Go) template is no manifest until it is rendered
        raise SkippedFile('skipped: a template ({{ }}), not a manifest yet')
    try:
        yaml_file, refs = parse_yaml(data, path, kind)
    except YamlError as e:
        if str(e).startswith('not a '):
            # a file the kind's name patterns take that is not of the kind
            raise SkippedFile(f'skipped: {e}') from None
        if b'{{' in data:
            # a Go, Helm or Jinja template: no YAML until it is rendered
            raise SkippedFile(
                f'skipped: a template ({{{{ }}}}) that is no valid YAML before '
                f'it is rendered ({e})',
            ) from None
        raise UnreadableFile(str(e)) from None
    return LoadedFile(path, data, yaml_file, refs, identity, kind=kind)


def load_all(
        paths: Iterable[str], kind: str = 'auto',
) -> tuple[list[LoadedFile], list[FileError]]:
    """Every file that can be read, and a one-line error for each other."""
    from digestpin_hooks.model import FileError
    loaded: list[LoadedFile] = []
    errors: list[FileError] = []
    for path in paths:
        try:
            loaded.append(load(path, kind))
        except IsAFolder:
            in_folder = files_in_folder(path)
            if not in_folder:
                errors.append(FileError(path, (
                    'no file to check in this folder (no Dockerfile, no file '
                    'of a kind by its name, no Kubernetes manifest)'
                ), skipped=True))
            for found_path, found_kind in in_folder:
                found, found_errors = load_all(
                    [found_path], found_kind if kind == 'auto' else kind,
                )
                loaded.extend(found)
                errors.extend(found_errors)
        except SkippedFile as e:
            errors.append(FileError(path, str(e), skipped=True))
        except UnreadableFile as e:
            errors.append(FileError(path, str(e)))
    return loaded, errors
