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
from digestpin_hooks.read.bounded import ReadFile
from digestpin_hooks.read.kinds import BY_NAME
from digestpin_hooks.read.kinds import COMPOSE
from digestpin_hooks.read.kinds import GITLAB
from digestpin_hooks.read.kinds import is_dockerfile_name
from digestpin_hooks.read.kinds import kind_of
from digestpin_hooks.read.kinds import KUBERNETES
from digestpin_hooks.read.kinds import LATER_WINS
from digestpin_hooks.read.kinds import yaml_kind

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable
    from typing import Final
    from typing import Iterable
    from typing import Iterator
    from typing import Sequence
    from digestpin_hooks.model import Document
    from digestpin_hooks.model import FileError
    from digestpin_hooks.read.found import Pipeline
    from digestpin_hooks.read.dockerfile.parser import Dockerfile
    from digestpin_hooks.read.dockerfile.parser import DockerfileError
    from digestpin_hooks.read.dockerfile.refusals import UnknownSyntax
    from digestpin_hooks.read.found import LeftOut
    from digestpin_hooks.read.yaml_nodes import Node
    from digestpin_hooks.read.yaml_refs import ComposeInclude
    from digestpin_hooks.read.yaml_refs import ComposeLayer
    from digestpin_hooks.read.yaml_refs import Layers
    # what a Compose file handed on (given, or included) was read as: its
    # name as given, its identity then, what its include entry gave it
    # (variables, replaced, unbuilt, renamed), and whether that name was a
    # symbolic link (followed then, and only then again): a tuple, as a
    # record class more cost every run's import 0.2 M instructions (callgrind)
    HandedOn = tuple[
        str, Identity | None, dict[str, str] | None,
        frozenset[LeftOut], frozenset[str], frozenset[str], bool,
    ]
    DockerfileReader = tuple[
        type[DockerfileError],
        Callable[[bytes], tuple[Dockerfile, list[ImageRef], list[UnknownSyntax]]],
    ]

# folders a search never enters: version control metadata
_SKIPPED_FOLDERS = frozenset(('.git', '.hg', '.svn'))
_SKIPPED_UPPER = frozenset(name.upper() for name in _SKIPPED_FOLDERS)
# the code points HFS+ ignores in a name (git's is_hfs_dotgit): removed
_HFS_IGNORED = dict.fromkeys(
    (*range(0x200C, 0x2010), *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF),
)
# NTFS short (8.3) names of the folders: GIT~1, and git's hashed GI7EBA~1
_SHORT_BASES = frozenset(('git', 'hg', 'svn', 'gi7eba'))


def _version_control(name: str) -> bool:
    """Whether a path component names a version control folder, in any
    spelling a file system git supports reads as one (those git itself
    refuses in a tree: is_ntfs_dotgit, is_hfs_dotgit): in any case, on a
    case-insensitive file system (macOS, Windows) ``.GIT/config`` is git's
    own config, case-folded and upper-cased as NTFS compares names (``.gıt``
    with a dotless i is ``.GIT``); on NTFS with trailing dots and spaces
    (``.git.``), an alternate stream (``.git::$INDEX_ALLOCATION``) or as a
    short name (``GIT~1``); on HFS+ with characters it ignores
    (``.g\u200cit``)."""
    if name.isascii() and name[-1:] not in (' ', '.') and ':' not in name and '~' not in name:
        return name.lower() in _SKIPPED_FOLDERS  # most names, at once
    name = name.translate(_HFS_IGNORED).split(':', 1)[0].rstrip(' .')
    if name.casefold() in _SKIPPED_FOLDERS or name.upper() in _SKIPPED_UPPER:
        return True
    base, tilde, number = name.lower().partition('~')
    return bool(tilde) and base in _SHORT_BASES and number.isdigit()


def _walk(directory: str) -> list[str]:
    """Regular files below ``directory``, never through a symlink: each
    folder's files (sorted), then its folders' (sorted), depth first.

    git is not asked which files it tracks: running it in a tree under
    review would execute that tree's own ``.git/config`` (``core.fsmonitor``
    and friends).  Files git ignores are therefore searched too.  A stack,
    not os.walk: before Python 3.12 os.walk recurses, and a tree 1,000
    folders deep was a RecursionError.
    """
    found: list[str] = []
    folders = [directory]
    while folders:
        root = folders.pop()
        try:
            with os.scandir(root) as entries:
                files, dirs = [], []
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            if not _version_control(entry.name):
                                dirs.append(entry.name)
                        elif entry.is_file(follow_symlinks=False):
                            files.append(entry.name)
                    except OSError:
                        continue
        except OSError:
            continue
        found.extend(os.path.join(root, name) for name in sorted(files))
        folders.extend(os.path.join(root, name) for name in sorted(dirs, reverse=True))
    return found


def files_in_folder(directory: str) -> list[tuple[str, str]]:
    """(path, kind) of the files a folder holds for us: those a kind claims
    by name (Dockerfiles, Compose, Actions, the CI files...), the files a
    ``.gitlab-ci.yml`` there includes from the same project (kind
    ``gitlab-ci``, whatever their names), and the Kubernetes manifests among
    the other ``*.yaml``/``*.yml`` files (found by their content; a
    chart's ``templates/`` are no manifests until rendered).
    """
    return _search_folder(directory)[0]


def _search_folder(directory: str) -> tuple[list[tuple[str, str]], list[FileError]]:
    """What files_in_folder finds, and an error for each root
    ``.gitlab-ci.yml`` whose include wildcards the search ran out of
    comparisons for: that root is not to be read, and the files its
    includes found until then are left out of what is found (read alone,
    they would say the pipeline was read)."""
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
    errors: list[FileError] = []
    for path, _ in list(found):
        if os.path.basename(path) in _GITLAB_ROOTS:
            of_root = includes.of(path)
            if includes.cut:
                errors.append(includes.cut_error(path))
                continue
            for included in of_root:
                if included not in named:
                    named.add(included)
                    found.append((included, GITLAB))
    charts = _Charts()
    found.extend(
        (path, KUBERNETES) for path in other_yaml
        if path not in named and not charts.template(path) and _is_manifest(path)
    )
    return found, errors


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


def _openable_folder(folder: str) -> bool:
    """Whether os.scandir could open ``folder`` (as the walk does),
    without listing it."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
    except (OSError, ValueError):
        return False
    os.close(fd)
    return True


class _GitlabIncludes:
    """The files root ``.gitlab-ci.yml`` files include locally, among the
    files one folder search found (regular files, no symlink, inside the
    folder): by path or by glob (``ci/*.yml``) from the project root, the
    folder of the root file, nested includes followed to GitLab's limit.

    A glob is matched against the files below its root that start with its
    text before the first ``*`` only (a range of the sorted paths), and all
    globs of a search share one budget of 150 comparisons per file found
    (a name the glob reads counts one more for each 32 characters, and
    more with a long pattern, see ``Glob.cost``; one that cannot end as the
    glob does counts one): GitLab's 150 includes of one root over the whole
    tree fit where their ends rule most names out (``ci/*.yml`` beside the
    other files), about 75 that read every name of 32 to 63 characters
    (``**.yml`` over a tree of YAML files); neither a tree of nested roots
    nor long patterns and names make the search quadratic, nor the names
    read in Python more than about 32 times 150 characters a file found.
    A root whose globs need more than the budget left is ``cut``: the
    globs it had yet to search may match, so what ``of`` found is no
    answer, and its caller says so (``cut_error``), never a glob that
    matched nothing.  Each file is parsed once per search, however many
    roots include it.
    Given no search (``walked`` None), the folder is listed only for the
    first glob: a path named is looked up alone, as the listing would have
    found it, so that a pipeline of named includes costs the same in a
    repository of 100,000 files as in one of ten.
    """

    def __init__(
            self, walked: list[str] | None,
            known: dict[str, tuple[bytes, list[Node | None]]] | None = None,
            folder: str = '.',
    ) -> None:
        self.folder = folder
        self.sorted: list[str] = []
        self.files: set[str] = set()
        self.budget = 0  # glob comparisons left
        self.limit = 0  # the comparisons the search allows
        # whether the budget ran out in the last ``of``: what it found is
        # not all the root includes
        self.cut = False
        self.walked = walked is not None
        self.openable: dict[str, bool] = {}  # folder -> whether scandir could open it
        if walked is not None:
            self._found(walked)
        self.names: dict[str, list[str]] = {}  # path -> its local includes
        # path -> the bytes read and their documents, which the pipeline
        # takes again when it reads the same bytes
        # (the GitLab files already read: ``known``)
        self.parsed = dict(known or {})

    def _found(self, walked: list[str]) -> None:
        self.sorted = sorted(walked)
        self.files = set(walked)
        self.budget = self.limit = 150 * len(walked) + 1024

    def _matches(self, root: str, name: str) -> list[str]:
        import bisect
        pattern = name.lstrip('/')
        # GitLab: a wildcard path has a '*'; '?' and '[' are characters
        if '*' not in pattern:
            path = os.path.normpath(os.path.join(root, pattern))
            if not self.walked:
                return [path] if self._walk_finds(path) else []
            return [path] if path in self.files else []
        if not self.walked:
            self.walked = True
            self._found([os.path.normpath(p) for p in _walk(self.folder)])
        glob = Glob(pattern)
        prefix = root + os.sep if root else ''
        # the names below root that start with the pattern's text before
        # its first '*': a range of the sorted paths
        start = prefix + pattern[:pattern.index('*')].replace('/', os.sep)
        matches = []
        for path in itertools.islice(self.sorted, bisect.bisect_left(self.sorted, start), None):
            if not path.startswith(start):
                break
            self.budget -= glob.cost(path)
            if self.budget < 0:
                self.cut = True  # what is left unread may match
                return []
            if glob.matches(path[len(prefix):].replace(os.sep, '/')):
                matches.append(path)
        return matches

    def _walk_finds(self, path: str) -> bool:
        """Whether ``_walk(folder)`` would list ``path`` (normalised): below
        the folder, each folder on the way a real one (no symlink, no
        ``.git``), that can be opened (a folder scandir cannot open is
        skipped by the walk), and the file itself regular, no symlink.
        A name the walk lists but ``lstat`` cannot reach (a folder readable
        but not searchable) is a file no one can read either: the pipeline
        left it out.  On a case-insensitive file system a name in another
        case is found here, where the listing (git's case) did not."""
        import stat
        base = os.path.normpath(self.folder)
        if base == '.':
            prefix = ''
        else:
            prefix = base if base.endswith(os.sep) else base + os.sep
        if not path.startswith(prefix) or os.path.isabs(path[len(prefix):]):
            return False
        parts = path[len(prefix):].split(os.sep)
        if any(part in ('', '.', '..') for part in parts):
            return False
        here = self.folder
        try:
            for at, part in enumerate(parts):
                if here not in self.openable:
                    self.openable[here] = _openable_folder(here)
                if not self.openable[here]:
                    return False
                here = os.path.join(here, part)
                mode = os.lstat(here).st_mode
                if at < len(parts) - 1 and (
                        not stat.S_ISDIR(mode) or _version_control(part)
                ):
                    return False
            return stat.S_ISREG(mode)
        except (OSError, ValueError):
            return False

    def _includes(self, path: str) -> list[str]:
        """The local includes a file names, parsed on first use."""
        from digestpin_hooks.read.ci import gitlab_local_includes
        from digestpin_hooks.read.yaml_nodes import compose_documents
        from digestpin_hooks.read.yaml_nodes import YamlError
        from digestpin_hooks.text import decode
        if path not in self.names and path in self.parsed:
            self.names[path] = gitlab_local_includes(self.parsed[path][1])
        if path not in self.names:
            try:
                data = read_regular(path, MAX_FILE_BYTES).data
                documents = compose_documents(
                    decode(data, 'strict')[0],
                    later_wins=BY_NAME[GITLAB].duplicates == LATER_WINS,
                )
                self.parsed[path] = (data, documents)
                self.names[path] = gitlab_local_includes(documents)
            except (OSError, UnicodeDecodeError, YamlError):
                # reading the file itself reports what is wrong with it
                self.names[path] = []
        return self.names[path]

    def of(self, root_file: str) -> list[str]:
        from digestpin_hooks.read.ci import MAX_INCLUDES
        root = os.path.dirname(root_file)
        included: list[str] = []
        todo = [root_file]
        seen = {root_file}
        self.cut = False
        while todo and len(included) < MAX_INCLUDES and not self.cut:
            current = todo.pop()
            for name in self._includes(current):
                for path in self._matches(root, name):
                    if path not in seen:
                        seen.add(path)
                        included.append(path)
                        todo.append(path)
        return included[:MAX_INCLUDES]

    def cut_error(self, root_file: str) -> FileError:
        """The error of a root whose search ``of`` cut short."""
        from digestpin_hooks.model import FileError
        return FileError(root_file, (
            f'include: the wildcards need more name comparisons than the search '
            f'allows ({self.limit:,}: 150 a file searched, and 1,024): the pipeline '
            f'is not read; name the included files or narrow the wildcards'
        ))


class Glob:
    """An ``include: local:`` wildcard path matched as GitLab matches it
    (``Repository#search_files_by_wildcard_path``): the path is taken
    literally but for ``**/`` (any run of folders, or none), then ``**``
    (any text, ``/`` included) and then ``*`` (any text without ``/``),
    read in that order from the left; ``?``, ``[``, ``]``, ``{`` and ``}``
    are the characters themselves, and the whole name must match.  One
    difference, on the side of reading more: ``**`` crosses a line feed in
    a name, where the ``.`` of GitLab's RE2 expression does not.

    No regular expression is made: a backtracking one grows with the
    number of stars.  The wildcards of a run are reduced to one of
    ``*``, ``**/``, ``**`` or ``*`` then ``**/`` (the same names), and the
    name is read once, the places of the pattern it can be at held as the
    bits of an int (RE2's own bound: the name's length times the
    pattern's, over a machine word); a pattern of more characters to match
    than the name has is no match, so that factor is at most the name's,
    and a search charges each comparison to its budget by it (``cost``).
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.wild = '*' in pattern
        # the characters a name must have: all but the stars and the '/'
        # of each ``**/`` (counted without reading the pattern in Python)
        self.literals = len(pattern) - pattern.count('*') - (len(pattern.split('**/')) - 1)
        self.built = False  # the bits, made for the first name long enough
        self.size = 0  # places
        # what every name it matches has, checked at C speed before the
        # name is read in Python: the text after its last star at its end
        # (without the '/' of a last ``**/``, which may match nothing), and
        # without ``**`` as many '/' as it has (``*`` crosses none)
        tail = pattern[pattern.rfind('*') + 1:]
        self.tail = tail[1:] if tail.startswith('/') else tail
        self.slashes = -1 if '**' in pattern else pattern.count('/')

    def cost(self, name: str) -> int:
        """What a comparison with ``name`` costs a search's budget: one,
        one more for each 32 characters it reads in Python, and one more
        for each 4,096 bits of places it may hold while it reads the name.
        (Charged one a comparison whatever the name's length, 1,000 names
        of 4,200 characters and 300 globs ``**z…`` read all in 48 s.)"""
        if not self._possible(name):
            return 1
        if not self.built:
            self._build()
        return 1 + (len(name) >> 5) + (len(name) * self.size >> 12)

    def _possible(self, name: str) -> bool:
        """Whether ``name`` passes what matches checks before reading it."""
        return self.wild and self.literals <= len(name) and name.endswith(self.tail) and (
            self.slashes < 0 or name.count('/') == self.slashes
        )

    def _build(self) -> None:
        # the places (bits) of: each character read, loops on any character,
        # on any but '/', and places reached without reading from the one
        # before (skip1) or from two before (skip2); each list made into an
        # int at once (an int grown a bit at a time is quadratic)
        by_char: dict[str, list[int]] = {}
        loop_any: list[int] = []
        loop_no_slash: list[int] = []
        skip1: list[int] = []
        skip2: list[int] = []
        place = 0
        for token in _wildcard_tokens(self.pattern):
            place += 1
            if len(token) == 1:
                by_char.setdefault(token, []).append(place)
                continue
            skip1.append(place - 1)
            if token == _STAR:
                loop_no_slash.append(place)
            elif token == _ANY:
                loop_any.append(place)
            else:  # _FOLDERS: any text then '/' (two places), or nothing
                skip2.append(place - 1)
                loop_any.append(place)
                place += 1
                by_char.setdefault('/', []).append(place)
        self.by_char = {c: _bits(places) for c, places in by_char.items()}
        self.loop_any = _bits(loop_any)
        self.loop_no_slash = _bits(loop_no_slash)
        self.skip1 = _bits(skip1)
        self.skip2 = _bits(skip2)
        self.accept = 1 << place
        self.size = place + 1
        self.start = self._closed(1)
        self.built = True

    def _closed(self, places: int) -> int:
        skip1, skip2 = self.skip1, self.skip2
        while True:
            more = places | (places & skip1) << 1 | (places & skip2) << 2
            if more == places:
                return places
            places = more

    def matches(self, name: str) -> bool:
        if not self.wild:
            return name == self.pattern
        if not self._possible(name):
            return False
        if not self.built:
            self._build()
        places = self.start
        character = self.by_char.get
        loop_any, loop_no_slash = self.loop_any, self.loop_no_slash
        loop_both = loop_any | loop_no_slash
        skips = self.skip1 | self.skip2
        for c in name:
            places = (
                (places << 1) & character(c, 0)
                | places & (loop_any if c == '/' else loop_both)
            )
            if places & skips:
                places = self._closed(places)
            elif not places:
                return False
        return bool(places & self.accept)


def _bits(places: list[int]) -> int:
    """An int with the bits of ``places`` set."""
    if not places:
        return 0
    bitmap = bytearray(places[-1] // 8 + 1)
    for place in places:
        bitmap[place >> 3] |= 1 << (place & 7)
    return int.from_bytes(bitmap, 'little')


_STAR = '[^/]*'  # GitLab's ``*``
_ANY = '.*'  # ``**``
_FOLDERS = '(.*/)?'  # ``**/``


def _wildcard_tokens(pattern: str) -> list[str]:
    """The pattern as GitLab rewrites it, a character or a wildcard each,
    each run of wildcards reduced to one that matches the same names."""
    tokens: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            tokens.extend(_reduced(run))
            run.clear()

    for i, piece in enumerate(pattern.split('**/')):
        if i:
            run.append(_FOLDERS)
        for j, part in enumerate(piece.split('**')):
            if j:
                run.append(_ANY)
            for k, text in enumerate(part.split('*')):
                if k:
                    run.append(_STAR)
                if text:
                    flush()
                    tokens.extend(text)
    flush()
    return tokens


def _reduced(run: list[str]) -> list[str]:
    """A run of wildcards as one of ``*``, ``**/``, ``**``, ``*`` ``**/``:
    ``**`` next to any other is ``**``; ``**/`` then ``*`` is ``**`` too
    (the folders up to the last '/', the rest); two alike are one."""
    if _ANY in run:
        return [_ANY]
    alternating = [w for k, w in enumerate(run) if k == 0 or run[k - 1] != w]
    if any(a == _FOLDERS and b == _STAR for a, b in zip(alternating, alternating[1:])):
        return [_ANY]
    return alternating


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
    # the Compose services it was read for, when other files extend them
    # (its references are theirs only); () for the whole file
    services: Final[tuple[str, ...]] = ()
    # the GitLab pipeline it was read in (its root file and local includes)
    pipeline: Final[Pipeline | None] = None
    # the values a Compose file that includes it gives it (None: its .env)
    variables: Final[dict[str, str] | None] = None
    # the references of a Compose file that a later file of the include
    # entry that names it replaces (an image by source, an image volume by
    # service and place: found.LeftOut): Compose does not pull them
    replaced: Final[frozenset[LeftOut]] = frozenset()
    # the images (by source) it writes beside a build that a later file of
    # that entry removes (or a later document of its own): Compose pulls them
    unbuilt: Final[frozenset[str]] = frozenset()
    # the images (by source) it writes that the merge of that entry builds
    # for a service (its own, or one extending it): reported, never written
    renamed: Final[frozenset[str]] = frozenset()
    # whether the name it was read by is a symbolic link (told by the read)
    link: Final[bool] = False


class BuiltElsewhere(Record):
    """A Compose file handed on before (given, or included) writes images
    (by source) that a service of another file read later in the run
    extends and builds, or that an include entry merging it builds: a
    digest written there would rename that build, which Docker refuses.
    load_all reads the file's bytes it holds again with them ``renamed``
    (reported, never written), and those it builds that such a service or
    entry pulls, the build removed, ``unbuilt`` (reported too); lint,
    which has let the file go, reads it again for those, and for the
    advice of the findings of ``renamed`` it holds."""

    real: Final[str]  # the file's real path
    renamed: Final[frozenset[str]]
    # the images it builds that a project of the run pulls (an include
    # entry, or a service extending it, removes the build): reported
    unbuilt: Final[frozenset[str]] = frozenset()
    # what the file was handed on as (load_each says it): lint reads it
    # again from disk for the images of ``unbuilt`` and ``renamed``
    handed: Final[HandedOn | None] = None


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
    return parse_data(path, read.data, kind, read.identity, link=read.link)


# (DockerfileError, read_dockerfile) once imported: an import statement
# run for every file looks the module up each time, and a ``from`` import
# of a module (no package) raises and drops two AttributeErrors for its
# missing ``__path__``
_DOCKERFILE_READER: DockerfileReader | None = None


def _dockerfile_reader() -> DockerfileReader:
    # imported here: a run over YAML files only loads no Dockerfile reader
    from digestpin_hooks.read.dockerfile.parser import DockerfileError
    from digestpin_hooks.read.dockerfile.references import read_dockerfile
    global _DOCKERFILE_READER
    _DOCKERFILE_READER = DockerfileError, read_dockerfile
    return _DOCKERFILE_READER


def parse_data(
        path: str, data: bytes, kind: str = 'auto', identity: Identity | None = None,
        services: tuple[str, ...] = (), pipeline: Pipeline | None = None,
        variables: dict[str, str] | None = None, replaced: frozenset[LeftOut] = frozenset(),
        unbuilt: frozenset[str] = frozenset(), renamed: frozenset[str] = frozenset(), *,
        link: bool = False,
) -> LoadedFile:
    """Parse ``data`` as the file ``path`` of ``kind``: what load() does
    after reading, and what a write reads back before it is made; the
    references of ``services`` only, when it names some; a Compose file
    with the ``variables`` a file that includes it gives it, without the
    references the other files of its include entry replace, with the
    images it builds whose build they remove (``unbuilt``), and those the
    entry's merge builds (``renamed``: left unwritten)."""
    kind = kind_of(path, kind)
    if kind == 'dockerfile':
        error, read_dockerfile = _DOCKERFILE_READER or _dockerfile_reader()
        try:
            dockerfile, refs, unknown = read_dockerfile(data)
        except error as e:
            raise UnreadableFile(str(e)) from None
        if link:  # (a keyword costs every other file's record a little)
            return LoadedFile(
                path, data, dockerfile, refs, identity, tuple(unknown), kind, link=True,
            )
        return LoadedFile(path, data, dockerfile, refs, identity, tuple(unknown), kind)
    from digestpin_hooks.read.yaml_nodes import NotOfKind
    from digestpin_hooks.read.yaml_nodes import YamlError
    from digestpin_hooks.read.yaml_refs import parse_yaml
    if kind == KUBERNETES and b'{{' in data and _Charts().template(path):
        # a Helm (Go) template is no manifest until it is rendered, even
        # when it parses; elsewhere a file that parses is a manifest, its
        # {{ }} those of Argo's, Tekton's... own parameters
        raise SkippedFile('skipped: a template ({{ }}), not a manifest yet')
    try:
        yaml_file, refs = parse_yaml(
            data, path, kind, pipeline, variables, unbuilt, renamed, services, replaced,
        )
    except NotOfKind as e:
        # a file the kind's name patterns take that is not of the kind
        raise SkippedFile(f'skipped: {e}') from None
    except YamlError as e:
        if b'{{' in data:
            # a Go, Helm or Jinja template: no YAML until it is rendered
            raise SkippedFile(
                f'skipped: a template ({{{{ }}}}) that is no valid YAML before '
                f'it is rendered ({e})',
            ) from None
        raise UnreadableFile(str(e)) from None
    # (the references of other services, and those replaced, parse_yaml
    # left out: before an anchor's uses are made one)
    return LoadedFile(
        path, data, yaml_file, refs, identity, kind=kind, services=services,
        pipeline=pipeline, variables=variables, replaced=replaced, unbuilt=unbuilt,
        renamed=renamed, link=link,
    )


def load_all(
        paths: Iterable[str], kind: str = 'auto',
) -> tuple[list[LoadedFile], list[FileError]]:
    """Every file that can be read, and a one-line error for each other;
    with the parts of other Compose files that services of those extend.

    A file named twice (``. Dockerfile``, ``./a`` and ``a``, a symlink and
    its target) is read once, as the first name gives it: read twice, it
    would be written twice, and the second write, refused because the
    first changed the file, made a pinned reference a finding and an
    error as well.  A name that is no symlink is preferred: a link out of
    the repository is not written through, its target's own name is."""
    from digestpin_hooks.model import FileError
    loaded: list[LoadedFile] = []
    errors: list[FileError] = []
    # real path -> where its Compose file is in ``loaded``: made at the
    # first BuiltElsewhere (they come last), never in a run without one
    at: dict[str, list[int]] | None = None
    for each in load_each(paths, kind):
        if isinstance(each, FileError):
            errors.append(each)
        elif isinstance(each, BuiltElsewhere):
            if at is None:
                at = {}
                for i, file in enumerate(loaded):
                    if file.kind == COMPOSE:
                        at.setdefault(os.path.realpath(file.path), []).append(i)
            for i in at.get(each.real, ()):
                file = loaded[i]
                if each.renamed <= file.renamed and each.unbuilt <= file.unbuilt:
                    continue
                try:  # its bytes as read, parsed again (within the run's cache)
                    loaded[i] = parse_data(
                        file.path, file.data, file.kind, file.identity, file.services,
                        file.pipeline, file.variables, file.replaced,
                        file.unbuilt | each.unbuilt, file.renamed | each.renamed,
                        link=file.link,
                    )
                except UnreadableFile as e:  # (it parsed before: not expected)
                    errors.append(FileError(file.path, str(e)))
                    loaded[i] = file.replace(refs=[])  # nothing of it written
        else:
            loaded.append(each)
    return loaded, errors


def load_each(
        paths: Iterable[str], kind: str = 'auto',
) -> Iterator[LoadedFile | FileError | BuiltElsewhere]:
    """What load_all returns, one file at a time and in the same order, so
    that a caller done with a file lets it go (lint of thousands of files
    then holds one): the files given (folders searched), then the Compose
    files those include, then the parts of other Compose files that
    services of those extend; last, a BuiltElsewhere for each Compose file
    handed on whose image a service of a file read after it extends and
    builds (load_all reads it again with that image left; a file is known
    only once read, and none handed on is held for it).

    A file is handed on as soon as it is read while nothing read later can
    change it: until the first GitLab file (a pipeline is read again with
    the files it includes) or the first name that is a symlink (a later
    name of the same file would be preferred to it); from there on the
    files are held, and handed on at the end as load_all always did.
    Within it each Compose text is parsed once (parse_cache)."""
    from digestpin_hooks.read import parse_cache
    parse_cache.open_run()
    try:
        yield from _load_each_once(paths, kind)
    finally:
        parse_cache.close_run()


def _load_each_once(
        paths: Iterable[str], kind: str,
) -> Iterator[LoadedFile | FileError | BuiltElsewhere]:
    from digestpin_hooks.model import FileError
    # the files handed on or held as Compose files: an include or an
    # extended file among them is read as given (one read as another kind,
    # a Dockerfile, is read as Compose too, which Compose includes it as)
    compose_read: list[str] = []
    # and the identity each was read with, whether its name was a link (a
    # BuiltElsewhere's HandedOn)
    compose_identities: list[Identity | None] = []
    compose_links: list[bool] = []
    # and its bytes: a service of a later file may extend one of its
    # services (_extended reads those bytes, never the file again); while
    # they add up to MAX_HELD_BYTES, so that a run of many large Compose
    # files holds no more (None: past it, read again if extended, its
    # identity asked before a byte is read)
    compose_data: list[bytes | None] = []
    holding = [0]  # the bytes held

    def hold(data: bytes) -> bytes | None:
        if holding[0] + len(data) > MAX_HELD_BYTES:
            return None
        holding[0] += len(data)
        return data

    # the files handed on, each kind's by _same_file: one int a file, 44
    # bytes, where a tuple of device, inode and kind took 124 (125 kB kept
    # over the 2,960 files of the Dockerfile corpus instead of 350 kB)
    seen: dict[str, set[int]] = {}
    held: list[LoadedFile] | None = None
    composing: list[LoadedFile] = []  # Compose files that may extend or include others
    said: set[str] = set()  # the real paths of the files with an error said
    for each in _load_each(paths, kind):
        if isinstance(each, FileError):
            said.add(os.path.realpath(each.path))
            yield each
            continue
        if held is None and (each.kind == GITLAB or each.link):
            held = []
        if held is not None:
            held.append(each)
            continue
        identity = each.identity
        if identity is not None:
            key = identity.device << 128 | identity.inode  # _same_file's
            of_kind = seen.get(each.kind)
            if of_kind is None:
                of_kind = seen[each.kind] = set()
            elif key in of_kind:
                continue  # named before, by a name that is no link: read once
            of_kind.add(key)
        if each.kind == COMPOSE:  # (only then may it name others)
            compose_read.append(each.path)
            compose_identities.append(identity)
            compose_links.append(each.link)
            compose_data.append(hold(each.data))
            if _composes(each):
                composing.append(each)
        yield each
    if held:
        at: dict[tuple[int, str], int] = {}
        once: list[LoadedFile] = []
        for file in held:
            if file.identity is None:
                once.append(file)
                continue
            key = _same_file(file.identity)
            if key in seen.get(file.kind, ()):
                continue  # handed on already, under a name that is no link
            held_key = (key, file.kind)
            if held_key not in at:
                at[held_key] = len(once)
                once.append(file)
            elif once[at[held_key]].link and not file.link:  # (told by the read)
                once[at[held_key]] = file
        if kind in ('auto', GITLAB):
            cut, unread = _pipelines(once)
            for error in cut:  # one line a file (a folder search may have said it)
                if os.path.realpath(error.path) not in said:
                    said.add(os.path.realpath(error.path))
                    yield error
            once = [file for at, file in enumerate(once) if at not in unread]
        for file in once:
            if file.kind == COMPOSE:
                compose_read.append(file.path)
                compose_identities.append(file.identity)
                compose_links.append(file.link)
                compose_data.append(hold(file.data))
            if _composes(file):
                composing.append(file)
            yield file
    if composing:  # only then is each path resolved (a stat of each part)
        # real path -> the identity each was read with: a file handed on
        # that _extended reads again must still be it
        read_as = {
            os.path.realpath(path): identity
            for path, identity in zip(compose_read, compose_identities)
        }
        given = set(read_as)
        # real path -> the bytes the run read it as (the first name's)
        held_data: dict[str, bytes] = {}
        for path, data in zip(compose_read, compose_data):
            if data is not None:
                held_data.setdefault(os.path.realpath(path), data)
        including = [f for f in composing if b'include' in f.data]
        merging: set[str] = set()  # the files an include entry merges with others
        # real path -> what a file handed on was read as, for lint to read
        # it again (BuiltElsewhere): the files included, as they are read;
        # the files given, at the first record
        handed: dict[str, HandedOn] = {}
        for read in _included(including, given, merging) if including else ():
            if isinstance(read, LoadedFile):
                real = os.path.realpath(read.path)
                given.add(real)
                read_as[real] = read.identity
                if real not in held_data:
                    data = hold(read.data)
                    if data is not None:
                        held_data[real] = data
                handed[real] = (
                    read.path, read.identity, read.variables, read.replaced,
                    read.unbuilt, read.renamed, read.link,
                )
                if b'extends' in read.data:  # else let go once handed on
                    composing.append(read)
            elif isinstance(read, BuiltElsewhere):
                read = _handed(read, handed, compose_read, compose_identities, compose_links)
            yield read
        extending = [f for f in composing if b'extends' in f.data]
        for read in _extended(
                extending, given, kind, merging, read_as, held_data,
        ) if extending else ():
            if isinstance(read, BuiltElsewhere):
                read = _handed(read, handed, compose_read, compose_identities, compose_links)
            yield read


def _handed(
        record: BuiltElsewhere, handed: dict[str, HandedOn], compose_read: list[str],
        identities: list[Identity | None], links: list[bool],
) -> BuiltElsewhere:
    """The record with what its file was handed on as (the first name
    given for it, else as included)."""
    if '' not in handed:  # the files given, once ('': done), the first name of each
        nothing: frozenset[str] = frozenset()
        handed[''] = ('', None, None, nothing, nothing, nothing, False)
        for path, identity, link in reversed(list(zip(compose_read, identities, links))):
            handed[os.path.realpath(path)] = (
                path, identity, None, nothing, nothing, nothing, link,
            )
    return record.replace(handed=handed.get(record.real))


def _same_file(identity: Identity) -> int:
    """A file's device and inode as one int (an inode number has at most
    128 bits: ReFS's file ids; most have 64 or fewer)."""
    return identity.device << 128 | identity.inode


def _composes(file: LoadedFile) -> bool:
    """Whether a file may be a Compose file that names others.  Only a
    Compose file: every file this takes is held to the end of the run, and
    a Dockerfile that says ``include`` (``/usr/include``, ``--include``)
    held so kept 173 files of the Dockerfile corpus, 4 MiB, alive."""
    # find, not ``in``: bytes' ``in`` first tries the operand as an integer
    # and raises (and drops) a TypeError for every bytes operand
    return file.kind == COMPOSE and (
        file.data.find(b'extends') >= 0 or file.data.find(b'include') >= 0
    )


_GITLAB_ROOTS = ('.gitlab-ci.yml', '.gitlab-ci.yaml')


def _pipelines(loaded: list[LoadedFile]) -> tuple[list[FileError], set[int]]:
    """Read again, as one pipeline, each root ``.gitlab-ci.yml`` read that
    includes other files of its project, and those of them read too: jobs
    extend templates of other files, and the root's variables and
    ``default:`` reach every job (GitLab merges the files into one).  A
    file of two pipelines is read in the first.

    A GitLab file read without the root that includes it (pre-commit
    passes only the files that changed) is read in that root's pipeline
    too, as GitLab reads it: the root is the repository's own
    ``.gitlab-ci.yml`` (at the nearest folder above with a ``.git``), read
    but not reported, and only when it includes the file, directly or
    through other includes.

    A root whose include wildcards need more comparisons than the search
    allows is an error, and is not read: nor is any GitLab file below its
    folder that no other pipeline read, which it may include (read alone,
    such a file would say the pipeline was read, and a hidden include
    would be no finding).  Returned: those errors, and where in ``loaded``
    the files not read are."""
    roots = [
        f.path for f in loaded
        if f.kind == GITLAB and b'include' in f.data
        and os.path.basename(f.path) in _GITLAB_ROOTS
    ]
    if not any(f.kind == GITLAB for f in loaded):
        return [], set()
    by_real = {
        os.path.realpath(f.path): i for i, f in enumerate(loaded) if f.kind == GITLAB
    }
    # the documents of the GitLab files read alone (parse_yaml keeps them)
    known = {
        os.path.normpath(f.path): (f.data, documents) for f in loaded
        if f.kind == GITLAB and (documents := getattr(f.doc, 'documents', None)) is not None
    }
    done: set[int] = set()
    errors: list[FileError] = []
    for root in roots:
        if by_real[os.path.realpath(root)] not in done:
            errors.extend(_read_in_pipeline(loaded, root, by_real, done, known))
    for root in _roots_of_others(loaded, by_real, done):
        errors.extend(_read_in_pipeline(loaded, root, by_real, done, known, _shown(root)))
    if not errors:
        return [], set()
    cut = {os.path.dirname(os.path.realpath(e.path)) for e in errors}
    return errors, {
        at for real, at in by_real.items() if at not in done and _below(real, cut)
    }


def _below(path: str, folders: set[str]) -> bool:
    """Whether a path is below one of ``folders`` (paths of its form,
    normalised): its own folders looked up, not each of ``folders``
    compared with it."""
    folder = os.path.dirname(path)
    while folder not in folders:
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent
    return True


def _roots_of_others(
        loaded: list[LoadedFile], by_real: dict[str, int], done: set[int],
) -> list[str]:
    """The repository roots (``.gitlab-ci.yml`` at the top of the
    repository, a regular file, not a link) of the GitLab files read in no
    pipeline yet, when the root was not given and includes something; each
    once."""
    roots: list[str] = []
    tops: set[str] = set()
    for at in by_real.values():
        if at in done:
            continue
        top = _repository(loaded[at].path)
        if top in tops or _whole_file_system(top):
            continue  # (from /, the search for its includes walked it all)
        tops.add(top)
        for name in _GITLAB_ROOTS:
            root = os.path.join(top, name)
            try:
                data = read_regular(root, MAX_FILE_BYTES, follow=False).data
            except (ReadError, OSError):
                continue
            if root not in by_real and b'include' in data:
                roots.append(root)  # (given, it was read as a root already)
            break
    return roots


def _read_in_pipeline(
        loaded: list[LoadedFile], root_path: str, by_real: dict[str, int], done: set[int],
        known: dict[str, tuple[bytes, list[Node | None]]], shown: str = '',
) -> list[FileError]:
    """Read the files of ``loaded`` that the root includes (directly or
    through other includes: GitLab's, found below its folder as a folder
    search finds them) again, with the root and its includes as their
    pipeline; the others read are left as they are.  ``known``: the
    documents of files already parsed, which are not parsed again.  The
    root's error (naming it ``shown``, else as given), when its include
    wildcards need more comparisons than the search allows (nothing is
    read again then)."""
    from digestpin_hooks.read.found import Pipeline
    from digestpin_hooks.read.yaml_nodes import compose_documents
    from digestpin_hooks.read.yaml_nodes import YamlError
    from digestpin_hooks.text import decode
    folder = os.path.dirname(root_path) or '.'
    includes = _GitlabIncludes(None, known, folder)
    included = includes.of(os.path.normpath(root_path))
    if includes.cut:
        return [includes.cut_error(shown or root_path)]
    paths = [*included, root_path]
    if not any(by_real.get(os.path.realpath(p)) not in (None, *done) for p in paths):
        return []  # none of the files read is of this pipeline
    files = []
    for path in paths:
        at = by_real.get(os.path.realpath(path))
        try:
            data = loaded[at].data if at is not None else read_regular(
                path, MAX_FILE_BYTES,
            ).data
            parsed = includes.parsed.get(os.path.normpath(path))
            if parsed is not None and parsed[0] == data:
                documents = parsed[1]  # the same bytes, read once
            else:
                documents = compose_documents(decode(data, 'strict')[0], later_wins=True)
        except (ReadError, OSError, UnicodeDecodeError, YamlError):
            continue  # reading the file itself says what is wrong
        files.append((loaded[at].path if at is not None else path, documents))
    if len(files) < 2:
        return []
    pipeline = Pipeline(files)
    for path, _ in files:
        at = by_real.get(os.path.realpath(path))
        if at is None or at in done:
            continue
        done.add(at)
        file = loaded[at]
        try:
            loaded[at] = parse_data(
                file.path, file.data, file.kind, file.identity, pipeline=pipeline,
            )
        except UnreadableFile:
            continue  # read alone, it was read: keep that reading
    return []


def _shown(path: str) -> str:
    """``path`` as an error names it: from the working folder when it is
    below it (a root found from a file given is found by its real path)."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # (on another drive)
        return path
    above = relative == os.pardir or relative.startswith(os.pardir + os.sep)
    return path if above else relative


def _load_each(paths: Iterable[str], kind: str = 'auto') -> Iterator[LoadedFile | FileError]:
    from digestpin_hooks.model import FileError
    for path in paths:
        try:
            yield load(path, kind)
        except IsAFolder:
            in_folder, cut = _search_folder(path)
            yield from cut
            if cut:  # nor a GitLab file by its name below such a root
                roots = {error.path for error in cut}
                folders = {os.path.dirname(root) for root in roots}
                in_folder = [
                    (found, found_kind) for found, found_kind in in_folder
                    if found not in roots and not (
                        (found_kind == GITLAB or yaml_kind(found) == GITLAB)
                        and _below(found, folders)
                    )
                ]
            if not in_folder and not cut:
                yield FileError(path, (
                    'no file to check in this folder (no Dockerfile, no file '
                    'of a kind by its name, no Kubernetes manifest)'
                ), skipped=True)
            for found_path, found_kind in in_folder:
                yield from _load_each([found_path], found_kind if kind == 'auto' else kind)
        except SkippedFile as e:
            yield FileError(path, str(e), skipped=True)
        except UnreadableFile as e:
            yield FileError(path, str(e))


# the bytes of the Compose files of a run held for extends: (as many as
# one YAML file may have): past them a file is read again if extended
MAX_HELD_BYTES = 8 * 1024 * 1024

# how many services deep Compose's ``extends:`` is followed from a file
MAX_EXTENDS = 16


def _repository(path: str) -> str:
    """The repository a file is in: the nearest folder above it with a
    ``.git``, else the file's own folder."""
    folder = start = os.path.dirname(os.path.realpath(path))
    while True:
        if os.path.exists(os.path.join(folder, '.git')):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return start
        folder = parent


def _extended(
        extending: list[LoadedFile], given: set[str], kind: str, merging: set[str],
        read_as: dict[str, Identity | None], held: dict[str, bytes],
) -> Iterator[LoadedFile | FileError | BuiltElsewhere]:
    """Add the services other Compose files hold that services of the files
    read extend (``extends: {file: …, service: …}``) and take their image
    from: each such file read once, its references those of the extended
    services only, so that the image is reported, and pinned, where it is
    written.  Followed inside the repository only, MAX_EXTENDS deep; a
    cycle is an error, as it is to Compose.  A file of several documents
    that no include entry merges with others (``merging``: that merge says
    it) is merged document over document, as Compose merges them: a later
    one's build makes the image a service extending takes one it builds.
    A file read already (``given``: handed on) whose image such a service
    builds is not parsed again here: a BuiltElsewhere names it and the
    images, after the files read for their services.  Its services are
    followed (what they extend, what they build) in the bytes the run read
    it as (``held``, by real path), never read from disk again; were those
    bytes not held, it would be read only if it is still the file read
    then (``read_as``: its identity, asked before a byte is read), and one
    that is not, or cannot be read, taken to build every image it is asked
    of (never written, and lint's reading it again says what became of
    it).  A file outside the run is read once, and one that cannot be read
    is one line of error."""
    from digestpin_hooks.model import FileError
    from digestpin_hooks.read.yaml_refs import compose_builds
    from digestpin_hooks.read.yaml_refs import compose_extends_building
    from digestpin_hooks.read.yaml_refs import compose_layers
    from digestpin_hooks.read.yaml_refs import replaced_in
    from digestpin_hooks.text import decode
    from digestpin_hooks.text import shortened
    errors: list[FileError] = []
    wanted: dict[str, tuple[str, set[str]]] = {}  # real path -> (path, services)
    texts: dict[str, str | None] = {}
    unread: set[str] = set()  # the real paths of those that could not be read
    # real path -> a file outside the run as read here (its services are
    # parsed from these bytes), or why it could not be (said once)
    reads: dict[str, ReadFile | str] = {}

    def text_of(path: str, data: bytes | None = None) -> str | None:
        """The text of the file at ``path``: ``data``, its bytes read
        already, those the run read it as, or read here (a file handed on
        and not held: if it is still the file read then); once a file."""
        real = os.path.realpath(path)
        if real not in texts:
            texts[real] = None
            if data is None:
                data = held.get(real)
            if data is None:
                was = read_as.get(real)
                try:
                    read = read_regular(
                        path, MAX_FILE_BYTES, expect=None if was is None else was.__eq__,
                    )
                except (ReadError, OSError) as e:
                    unread.add(real)
                    if real not in given:  # (lint's reading again says it)
                        # (an IsADirectoryError's message is the bare path)
                        why = 'is a directory' if isinstance(e, IsADirectoryError) else str(e)
                        reads[real] = why
                        errors.append(FileError(path, why))
                    return None
                reads[real] = read
                data = read.data
            try:
                texts[real] = decode(data, 'strict')[0]
            except UnicodeDecodeError:
                unread.add(real)  # (parsing the file says it: it is wanted)
        return texts[real]

    # (real path, service) -> whether a service that extends it pulls its
    # image: not when a later file of its include entry replaces it
    pulls: dict[tuple[str, str], bool] = {}
    # real path -> service -> (file, base, its build: compose_extends_building)
    # of its first extends: each file's read once, however many services
    # follow through it (was once a service)
    extends_in: dict[str, dict[str, tuple[str, str, str]]] = {}

    def first_extends(target: str) -> dict[str, tuple[str, str, str]]:
        real = os.path.realpath(target)
        if real not in extends_in:
            found: dict[str, tuple[str, str, str]] = {}
            for _, s, _, o, b, build in compose_extends_building(text_of(target) or ''):
                found.setdefault(s, (o, b, build))
            extends_in[real] = found
        return extends_in[real]

    builds_in: dict[str, frozenset[str]] = {}  # real path -> its services that build

    # (real path, service) -> whether a service that extends it, its build
    # removed by a later file of its include entry, pulls its image though
    # it is written beside a build
    unbuilt: set[tuple[str, str]] = set()
    # (real path, service) whose image a service that extends it builds
    # (its own build:, one of a service on the way, or the merge of its
    # include entry adding one): never written
    renamed: set[tuple[str, str]] = set()
    for file in extending:
        top = _repository(file.path)
        text = text_of(file.path, file.data)  # as it was read, not read again
        # of each document: the images its merge with the others replaces,
        # those it builds (each document a layer of its own)
        documents: list[tuple[frozenset[LeftOut], frozenset[str], frozenset[str]]] = []
        if (
            text and os.path.realpath(file.path) not in merging
            and len(compose_layers(text)) > 1
        ):
            documents = replaced_in([[layer] for layer in _layers_of(file.data, file.path)])
        for at, service, line, other, base, build in compose_extends_building(text or ''):
            source = f'services.{service}.image'
            # (a service writing its own image takes only the volumes of
            # those it extends: their images are replaced)
            own = build.startswith('image')
            # (one that writes no build: a build on the way builds its
            # image, reported, never written: a digest would rename it)
            built_on_the_way = build == 'image'
            pulled = not own and build != 'build' and source not in file.replaced
            builds_removed = build == '!reset' or source in file.unbuilt
            builds = not own and (build == 'build' or source in file.renamed)
            if at < len(documents) and not own:
                pulled = pulled and source not in documents[at][0]
                builds = builds or source in documents[at][2]
            path = file.path
            chain = [(os.path.realpath(path), service)]
            problem = ''
            who = shortened(f'services.{service}')  # (a key of a megabyte, as written)
            while not problem:
                target = path
                if other:
                    target = os.path.normpath(os.path.join(os.path.dirname(path), other))
                if '\0' in target:  # no system call takes it (Python: ValueError)
                    problem = (
                        f'{who} extends {shortened(target)}, a file with a NUL byte: not read'
                    )
                    break
                real = os.path.realpath(target)
                why = _outside(top, target)
                if (real, base) in chain:
                    problem = (
                        f'{who} extends a cycle of services (back to '
                        f'{shortened(base)!r} in {shortened(target)})'
                    )
                elif len(chain) > MAX_EXTENDS:
                    problem = f'{who} extends more than {MAX_EXTENDS} services deep'
                elif why:
                    problem = f'{who} extends {shortened(target)}, {why}: not read'
                else:
                    chain.append((real, base))
                    pulls[real, base] = pulls.get((real, base), False) or pulled
                    if builds_removed and pulled:
                        unbuilt.add((real, base))
                    if builds:
                        renamed.add((real, base))
                    if real not in given:
                        wanted.setdefault(real, (target, set()))[1].add(base)
                    further = first_extends(target).get(base)
                    if built_on_the_way:
                        if real not in builds_in:
                            builds_in[real] = compose_builds(text_of(target) or '')
                        if base in builds_in[real] or real in unread:
                            renamed.add((os.path.realpath(file.path), service))
                            built_on_the_way = False
                        elif further is not None and further[2] in ('!reset', 'image+build'):
                            built_on_the_way = False  # its build (removed) is theirs
                    if further is None or further[2].startswith('image'):
                        # a service that builds its image: so do those
                        # extending it that take it and keep the build
                        if pulled and not builds_removed:
                            if real not in builds_in:
                                builds_in[real] = compose_builds(text_of(target) or '')
                            if base in builds_in[real] or real in unread:
                                renamed.add((real, base))
                        if further is None:
                            break
                    path, (other, base, build) = target, further
                    if build.startswith('image'):  # its image replaces theirs: their volumes only
                        pulled, builds = False, False
                    elif build == 'build':  # it builds the image of the services it extends
                        pulled, builds = False, True
                    elif build == '!reset':  # it pulls that image
                        builds_removed = True
            if problem:
                errors.append(FileError(file.path, problem, line))
    # the files handed on already (given, or included) whose image a
    # service extending it builds: read again by load_all (BuiltElsewhere)
    elsewhere: dict[str, set[str]] = {}
    for real, base in renamed:
        if real in given:
            elsewhere.setdefault(real, set()).add(f'services.{base}.image')
    # and those whose image a service extending it pulls, its build
    # removed: that project pulls the image its own project builds there
    removed: dict[str, set[str]] = {}
    for real, base in unbuilt:
        if real in given:
            if real not in builds_in:
                builds_in[real] = compose_builds(text_of(real) or '')
            if base in builds_in[real]:
                removed.setdefault(real, set()).add(f'services.{base}.image')
                elsewhere.setdefault(real, set()).add(f'services.{base}.image')
            elif real in unread:
                # handed on, and no longer readable (gone, changed, its
                # permission removed): whether it builds the image is not
                # known, so its record is made all the same (unbuilt only:
                # nothing renamed), and lint's reading it again says what
                # became of it in one line (was no record, and no word)
                removed.setdefault(real, set()).add(f'services.{base}.image')
                elsewhere.setdefault(real, set())
    for real, (path, services) in wanted.items():
        try:
            read = reads.get(real) or read_regular(path, MAX_FILE_BYTES)
            if isinstance(read, str):
                continue  # said when it was read
            yield parse_data(
                path, read.data, COMPOSE, read.identity, tuple(sorted(services)),
                replaced=frozenset(
                    f'services.{base}.image' for base in services if not pulls[real, base]
                ),
                unbuilt=frozenset(
                    f'services.{base}.image' for base in services if (real, base) in unbuilt
                ),
                renamed=frozenset(
                    f'services.{base}.image' for base in services if (real, base) in renamed
                ),
            )
        except IsADirectoryError:
            errors.append(FileError(path, 'is a directory'))
        except ReadError as e:
            errors.append(FileError(path, str(e)))
        except UnreadableFile as e:
            errors.append(FileError(path, str(e), skipped=isinstance(e, SkippedFile)))
    for real in sorted(elsewhere):
        yield BuiltElsewhere(
            real, frozenset(elsewhere[real]), frozenset(removed.get(real, ())),
        )
    yield from errors



def _remote(name: str) -> bool:
    """Whether Compose takes an include from elsewhere: an ``oci://``
    artifact or a git repository (a URL, or ``git@host:path``)."""
    import re
    return '://' in name or re.match(r'[A-Za-z0-9_.-]+@[^/:]+:', name) is not None


def _whole_file_system(top: str) -> bool:
    """Whether a repository's top is ``/`` (a ``/.git``, or a file given in
    ``/``, as in a build container that copied the repository there): then
    /proc, /run/secrets... would all be inside it."""
    return os.path.dirname(top) == top


def _outside(top: str, path: str) -> str:
    """Why an included, extended or env_file is not read ('' when it is):
    its real path out of the repository, or in its version control folder,
    where actions/checkout keeps the job's token (``.git/config``); every
    path when the repository would be the whole file system."""
    if _whole_file_system(top):
        return f'in no repository (its top would be {top}, the whole file system)'
    real = os.path.realpath(path)
    if os.path.commonpath((top, real)) != top:
        return f'outside the repository ({top})'
    below = os.path.relpath(real, top).split(os.sep)
    metadata = next((part for part in below if _version_control(part)), None)
    if metadata is not None:
        return f"in the repository's {metadata} folder"
    return ''


# what an include entry's merge does to one of its files: the references
# the others replace, the images it builds that they unbuild, the images
# it writes that the merge builds
_Merged = tuple['frozenset[LeftOut]', frozenset[str], frozenset[str]]
_NOTHING_MERGED: _Merged = (frozenset(), frozenset(), frozenset())


class _Including(Record):
    """A Compose file whose includes are followed, as Compose reads it:
    from its project folder, with its values, reached through ``chain``."""

    path: Final[str]
    project: Final[str]  # the folder its include paths are relative to
    env: Final[dict[str, str]]
    chain: Final[tuple[tuple[str, str], ...]]  # (real path, path) from the root


class _Includes:
    """The Compose files that files read include, followed from each file
    given with the rules of GitLab's includes (see ``_included``)."""

    def __init__(self, given: set[str]) -> None:
        self.given = given
        # real paths whose includes were followed, or are to be: each once
        self.done: set[str] = set()
        # real path -> the entries of its include:, until they are followed
        # (its bytes are let go as soon as it is read: 150 files of 16 MiB
        # are not held at once)
        self.includes: dict[str, list[ComposeInclude]] = {}
        self.errors: list[FileError] = []
        self.count = 0  # files included from the file given followed now
        self.dotenv: dict[str, dict[str, str]] = {}  # project folder -> its .env
        # real path -> an env_file's values, or why it cannot be read
        self.env_files: dict[str, dict[str, str] | str] = {}
        # real path -> a file of an include entry that merges several, with
        # the references the others replace: read again at the end (its
        # bytes are not held meanwhile), without the references replaced
        # wherever it is included (one entry that includes it alone, or
        # from which nothing replaces them, and they are pulled)
        # (and the images it builds that the merge pulls, wherever included)
        self.merged: dict[str, tuple[_Including, _Merged]] = {}
        # real path -> what a file of such an entry sets of each service:
        # each file parsed for it once, however often it is named
        self.layers: dict[str, Layers] = {}
        # real path -> what an entry's merge does to a file handed on
        # already (given): the images it unbuilds and builds (BuiltElsewhere)
        self.elsewhere: dict[str, _Merged] = {}

    def follow(self, root: LoadedFile) -> Iterator[LoadedFile]:
        """Read what ``root`` includes, and what those include, each file
        handed on as soon as it is read."""
        from digestpin_hooks.model import FileError
        from digestpin_hooks.read.yaml_nodes import YamlError
        from digestpin_hooks.read.yaml_refs import dotenv_in
        real_root = os.path.realpath(root.path)
        if real_root in self.done:
            return
        self.done.add(real_root)
        self.includes[real_root] = _includes_in(root.data)
        top = _repository(root.path)
        folder = os.path.dirname(root.path)
        try:
            values = dotenv_in(folder or '.')
        except YamlError as e:  # (a file without images did not read it)
            self.errors.append(FileError(root.path, str(e)))
            return
        todo = [_Including(root.path, folder, values, ((real_root, root.path),))]
        self.count = 0
        while todo:
            here = todo.pop()
            found = []
            for file, read, replaced in self._entries(here, top):
                found.append(file)
                self.includes[file.chain[-1][0]] = _includes_in(read.data)
                if replaced is not None:  # read at the end, in the entry's order
                    self.merged[file.chain[-1][0]] = file, replaced
                    continue
                if read.data.find(b'build') >= 0:
                    # an entry of one file, whose builds a later entry that
                    # merges it may remove (then Compose pulls their
                    # images): read at the end too, nothing replaced
                    self.merged[file.chain[-1][0]] = file, _NOTHING_MERGED
                    continue
                loaded = self._load(file, read)
                if loaded is not None:
                    yield loaded
            todo.extend(reversed(found))

    def merged_files(self) -> Iterator[LoadedFile]:
        """The files include entries merge others over, each without the
        references replaced wherever it is included."""
        from digestpin_hooks.model import FileError
        for file, (replaced, unbuilt, renamed) in self.merged.values():
            try:
                read = read_regular(file.path, MAX_FILE_BYTES)
            except ReadError as e:  # changed since it was read first
                self.errors.append(FileError(file.path, str(e)))
                continue
            loaded = self._load(file, read, replaced, unbuilt, renamed)
            if loaded is not None:
                yield loaded

    def _again(self, real: str, merged: _Merged = _NOTHING_MERGED) -> None:
        """A file included before is included again, with ``merged``
        (what is replaced, what unbuilt, what built): only what no entry
        that includes it pulls is left out; what any builds is not written."""
        if real in self.merged:
            file, (before, unbuilt, renamed) = self.merged[real]
            self.merged[real] = file, (
                before & merged[0], unbuilt | merged[1], renamed | merged[2],
            )

    def _entries(
            self, here: _Including, top: str,
    ) -> Iterator[tuple[_Including, ReadFile, _Merged | None]]:
        """The files ``here`` includes and has not included before, each
        as soon as it is read (an entry's files once all are read, when it
        merges several) with the references the entry's other files
        replace (None: an entry of one file); an error (a note for a remote include) for each entry that
        cannot be followed."""
        from digestpin_hooks.read.yaml_refs import replaced_in
        from digestpin_hooks.model import FileError
        from digestpin_hooks.read.ci import MAX_INCLUDES
        from digestpin_hooks.read.variables import interpolate
        from digestpin_hooks.read.variables import InterpolationError
        entries = self.includes.pop(here.chain[-1][0])
        if len(entries) > MAX_INCLUDES:
            self.errors.append(FileError(here.path, (
                f'include: more than {MAX_INCLUDES} entries: the rest are not read'
            ), entries[MAX_INCLUDES].line))
        for entry in entries[:MAX_INCLUDES]:
            written = (*entry.paths, entry.project_directory, *(entry.env_files or ()))
            try:
                value = {w: interpolate(w, here.env).value for w in written}
            except InterpolationError as e:  # Compose refuses it too
                self.errors.append(FileError(here.path, f'include: {e}', entry.line))
                continue

            def at(written: str) -> str:
                return os.path.normpath(os.path.join(here.project, value[written]))
            names = [value[name] for name in entry.paths]
            if not names:
                self.errors.append(FileError(
                    here.path, 'include: an entry names no file (Compose refuses it)',
                    entry.line,
                ))
                continue
            if any(_remote(name) for name in names):
                self.errors.append(FileError(
                    here.path, f'include: {names[0]} is not read (a remote include)',
                    entry.line, skipped=True,
                ))
                continue
            nul = next((v for v in value.values() if '\0' in v), None)
            if nul is not None:  # no system call takes it (Python: ValueError)
                self.errors.append(FileError(
                    here.path, f'include: {nul} names a file with a NUL byte: not read',
                    entry.line,
                ))
                continue
            if len(names) > MAX_INCLUDES:  # each merged over the others: bounded
                self.errors.append(FileError(here.path, (
                    f'include: an entry of more than {MAX_INCLUDES} files: not read'
                ), entry.line))
                continue
            targets = [at(name) for name in entry.paths]
            project = at(entry.project_directory) if entry.project_directory else (
                os.path.dirname(targets[0])
            )
            env: dict[str, str] | None = None  # its values, once a file is read
            problem = ''
            # the entry's files, when it merges several: (real path, the
            # file and its bytes when read now), in order
            merging: list[tuple[str, tuple[_Including, ReadFile] | None]] = []
            for target in targets:
                real = os.path.realpath(target)
                why = _outside(top, target)
                if any(r == real for r, _ in here.chain):
                    problem = 'include cycle: ' + ' includes '.join(
                        [path for _, path in here.chain] + [target],
                    )
                elif why:
                    problem = f'includes {target}, {why}: not read'
                elif real in self.done:
                    # included before (its includes followed, or to be): read once
                    if len(targets) == 1:
                        self._again(real)
                    else:
                        merging.append((real, None))
                    continue
                elif self.count >= MAX_INCLUDES:
                    problem = f'includes more than {MAX_INCLUDES} files: the rest are not read'
                else:
                    try:
                        if env is None:
                            # the including file's values win over the project's
                            env = {**self._values(entry, project, at, top), **here.env}
                        self.count += 1
                        read = read_regular(target, MAX_FILE_BYTES)
                    except IsADirectoryError:
                        problem = f'includes {target}: is a directory'
                    except ReadError as e:  # (no values yet: its env_file's)
                        problem = f'include: {e}' if env is None else f'includes {target}: {e}'
                    else:
                        self.done.add(real)
                        file = _Including(
                            target, project, env, (*here.chain, (real, target)),
                        )
                        if len(targets) == 1:
                            yield file, read, None
                        else:
                            self.layers[real] = _layers_of(read.data, target)
                            merging.append((real, (file, read)))
                if problem:
                    self.errors.append(FileError(here.path, problem, entry.line))
                    break
            if len(targets) == 1:
                continue
            if len(merging) < len(targets):  # not all read: nothing merged
                for real, new in merging:
                    if new is None:
                        self._again(real)
                    else:
                        yield (*new, None)
                continue
            for real, _ in merging:
                if real not in self.layers:  # included before, by an entry of one file
                    self.layers[real] = _layers_of(_bytes_of(real), real)
            replacing = replaced_in([self.layers[real] for real, _ in merging])
            for (real, new), replaced in zip(merging, replacing):
                if new is None:
                    self._again(real, replaced)
                else:
                    yield (*new, replaced)

    def _values(
            self, entry: ComposeInclude, project: str, at: Callable[[str], str], top: str,
    ) -> dict[str, str]:
        """The values an entry gives the files it includes: those of its
        ``env_file`` (a later file's win), else of the ``.env`` in its
        project folder; ReadError for an env_file Compose could not read or
        that is outside the repository or in its ``.git``.

        Asked only for an entry that includes a file not read before, and
        each file read once a run: files that include the same files with
        the same large env_file (150 files of 150 entries) cost one read of
        it, not one an entry."""
        from digestpin_hooks.read.yaml_nodes import YamlError
        from digestpin_hooks.read.yaml_refs import dotenv_in
        # which files are outside depends on the file given: asked each time
        if entry.env_files is None:
            env = os.path.join(project, '.env')
            why = _outside(top, env)
            if why:
                if not os.path.lexists(env):
                    return {}
                # Compose reads it: what it gives is unknown, and a default
                # of the included file no answer (as yaml_refs.dotenv_in)
                raise ReadError(
                    f'{os.path.normpath(env)}: not read ({why}); Compose reads it, so '
                    f'the values it gives are unknown',
                )
            if project not in self.dotenv:
                try:
                    self.dotenv[project] = dotenv_in(project or '.')
                except YamlError as e:  # Compose refuses the project too
                    raise ReadError(str(e)) from None
            return self.dotenv[project]
        values: dict[str, str] = {}
        # a file named twice (or by a link to it) gives its values where it
        # is named last: merged there only
        last: dict[str, str] = {}  # real path -> its name, by where named last
        for name in map(at, entry.env_files):
            real = os.path.realpath(name)
            last.pop(real, None)
            last[real] = name
        for real, name in last.items():
            why = _outside(top, name)
            if why:
                raise ReadError(f'env_file {name} is {why}: not read')
            if real not in self.env_files:
                try:
                    self.env_files[real] = _env_file(name)
                except ReadError as e:
                    self.env_files[real] = str(e)
            read = self.env_files[real]
            if isinstance(read, str):
                raise ReadError(read)
            values.update(read)
        return values

    def _load(
            self, file: _Including, read: ReadFile, replaced: frozenset[LeftOut] = frozenset(),
            unbuilt: frozenset[str] = frozenset(), renamed: frozenset[str] = frozenset(),
    ) -> LoadedFile | None:
        """An included file read whole, with the values it is given, but
        the references the other files of its entry replace, and with the
        images it builds whose build they remove (None: it is given too, or
        cannot be read)."""
        from digestpin_hooks.model import FileError
        real = file.chain[-1][0]
        if real in self.given:
            if renamed or unbuilt:  # handed on already: read again by load_all
                before = self.elsewhere.get(real, _NOTHING_MERGED)
                # (an image it builds that the entry pulls is its own
                # project's build: never written either)
                self.elsewhere[real] = (
                    before[0], before[1] | unbuilt, before[2] | renamed | unbuilt,
                )
            return None
        self.given.add(real)
        try:
            return parse_data(
                file.path, read.data, COMPOSE, read.identity, variables=file.env,
                replaced=replaced, unbuilt=unbuilt, renamed=renamed,
            )
        except UnreadableFile as e:
            self.errors.append(FileError(
                file.path, str(e), skipped=isinstance(e, SkippedFile),
            ))
            return None


def _includes_in(data: bytes) -> list[ComposeInclude]:
    """The entries of a Compose file's ``include:`` (none when it cannot be
    read: reading the file itself says what is wrong)."""
    from digestpin_hooks.read.yaml_refs import compose_includes
    from digestpin_hooks.text import decode
    try:
        return compose_includes(decode(data, 'strict')[0])
    except UnicodeDecodeError:
        return []


def _layers_of(data: bytes | None, path: str) -> Layers:
    """What a Compose file (``path``) sets of each service, as layers of an
    include entry's merge, one a document (none when it cannot be read).
    Compose resolves a file's ``extends:`` before it merges the file over
    the others, so a service that takes its image from the service it
    extends sets that image (or build), and that service's volumes, in its
    layer: followed as ``_extended`` follows it (inside the repository,
    MAX_EXTENDS deep; a file that cannot be read sets nothing; of a file
    of several documents, the last that sets the service)."""
    from digestpin_hooks.read.yaml_refs import compose_layers
    from digestpin_hooks.read.yaml_refs import extends_by_document
    from digestpin_hooks.text import decode
    if data is None:
        return []

    def text_of(data: bytes | None) -> str:
        try:
            return decode(data, 'strict')[0] if data is not None else ''
        except UnicodeDecodeError:
            return ''
    text = text_of(data)
    layers = compose_layers(text)
    top = _repository(path)
    # path -> (each service's layer of the last document that sets it, the
    # file and base of each service's first extends): each file read once,
    # however many services follow through it
    files: dict[str, tuple[dict[str, ComposeLayer], dict[str, tuple[str, str]]]] = {}

    def file_at(at: str, here: str | None) -> tuple[
            dict[str, ComposeLayer], dict[str, tuple[str, str]]]:
        if at not in files:
            if here is None:
                here = text_of(_bytes_of(at))
            last: dict[str, ComposeLayer] = {}
            for each in compose_layers(here):
                last.update(each)
            extending: dict[str, tuple[str, str]] = {}
            for _, (s, _, o, b) in extends_by_document(here):
                extending.setdefault(s, (o, b))
            files[at] = last, extending
        return files[at]

    for document, (service, _, other, base) in extends_by_document(text):
        if document >= len(layers) or service not in layers[document]:  # !reset, or no mapping
            continue
        if layers[document][service].writer:  # of the same document: taken already
            continue
        layer = layers[document]
        at, targets = path, list(layer[service].targets)
        here: str | None = text
        for _ in range(MAX_EXTENDS):
            if other:
                at = os.path.normpath(os.path.join(os.path.dirname(at), other))
                if '\0' in at or _outside(top, at):
                    break
                here = None
            last, extending = file_at(at, here)
            found = last.get(base)
            if found is None:
                break
            targets.extend(found.targets)
            if found.image or found.build:
                layer[service] = layer[service].replace(
                    image=found.image, build=found.build, inherited=tuple(targets),
                )
                break
            further = extending.get(base)
            if further is None:
                break
            other, base = further
    return layers


def _bytes_of(real: str) -> bytes | None:
    """A file included before, read again for what it sets in a merge
    (None: it can no longer be read; its own reading says why)."""
    try:
        return read_regular(real, MAX_FILE_BYTES).data
    except (ReadError, OSError):
        return None


def _env_file(name: str) -> dict[str, str]:
    """The values an include's ``env_file`` gives; ReadError for one that
    Compose could not read."""
    from digestpin_hooks.read.bounded import MAX_SMALL_FILE_BYTES
    from digestpin_hooks.read.variables import DotenvError
    from digestpin_hooks.read.variables import read_dotenv
    try:
        text = read_regular(name, MAX_SMALL_FILE_BYTES).data.decode('utf-8')
        return read_dotenv(text)
    except IsADirectoryError:
        raise ReadError(f'env_file {name}: is a directory') from None
    except ReadError as e:
        raise ReadError(f'env_file {name}: {e}') from None
    except UnicodeDecodeError:
        raise ReadError(f'env_file {name}: not UTF-8') from None
    except DotenvError as e:  # Compose refuses the project too
        raise ReadError(f'env_file {name}: {e}') from None


def _included(
        including: list[LoadedFile], given: set[str], merging: set[str],
) -> Iterator[LoadedFile | FileError | BuiltElsewhere]:
    """The Compose files the files read include (``include:``), each read
    once, whole, with the values Compose gives it there: those of the
    including file, and where it has none, those of the entry's
    ``env_file`` or else of the ``.env`` in the included project's folder
    (its ``project_directory``, by default the first file's folder).
    Paths, ``project_directory`` and ``env_file`` are relative to the
    including project's folder, and interpolated with its values.

    The rules of GitLab's includes: inside the repository only, at most
    MAX_INCLUDES files from one file given, a cycle refused (as Compose
    refuses it), a remote include (``oci://``, git) not read but noted.  A
    file Compose cannot read, and so refuses the project, is one error
    line.  An included file given too is read as given, once.  The real
    path of each file an entry merges with others is added to ``merging``."""
    includes = _Includes(given)
    for root in including:
        yield from includes.follow(root)
    yield from includes.merged_files()
    merging.update(includes.layers)
    for real, (_, unbuilt, renamed) in sorted(includes.elsewhere.items()):
        yield BuiltElsewhere(real, renamed, unbuilt)
    yield from includes.errors
