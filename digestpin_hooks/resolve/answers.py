"""What a source answers, and what it is asked: the one vocabulary of resolve.

Every source (``sources.SOURCES``) is asked questions keyed by a typed key,
never by a string: a ``TagKey`` (what digest does this tag name now?) or a
``DigestKey`` (what is this digest: does it exist, which platforms?).  Each
question gets one answer:

- ``Found``: the digest, and the manifest when the source read it;
- ``Missing``: the source says there is no such thing (a 404, no local image);
- ``Failed``: the source could not answer at that reference (a 401, 429 or
  5xx, a hang, a wrong answer); ``unreachable`` when no connection could be
  made at all;
- ``Untrusted``: found, but its signatures fail the trust policy.

A key a source has nothing to say about is left out of its answers.
``SourceError`` is the one failure of a whole source (no daemon, no
registry reachable at all): what ``--offline-ok`` forgives when it is
``unreachable``.

check and the hooks import these; this module imports nothing of check, and
nothing that touches the network.
"""
from __future__ import annotations

from digestpin_hooks.model import Record
from digestpin_hooks.reference import split_domain

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from typing import Callable
    from typing import Collection
    from typing import Final
    from typing import Mapping
    from typing import Protocol
    from typing import Sequence
    from typing import Union

    from digestpin_hooks.model import FileError
    from digestpin_hooks.reference import Reference

    Answer = Union['Found', 'Missing', 'Failed', 'Untrusted']
    Key = Union['TagKey', 'DigestKey']
    # name:tag keys -> each one's answer (fix and update)
    Digests = Callable[[Sequence['TagKey']], Mapping['TagKey', Answer]]
    # pins -> what the source says of each pin's digest and tag (verify)
    # (the pins that name a platform: their single image's platform is read)
    Manifests = Callable[
        [Sequence[Reference], Collection['DigestKey']], Mapping[Key, Answer],
    ]

    class Source(Protocol):
        """One ``--source``: a class in ``sources.SOURCES``."""

        def __init__(self, options: SourceOptions) -> None: ...

        def digests(self, keys: Sequence[TagKey]) -> Mapping[TagKey, Answer]:
            """The digest each name:tag names now (fix, update)."""

        def manifests(
                self, pins: Sequence[Reference], platformed: Collection[DigestKey] = ...,
        ) -> Mapping[Key, Answer]:
            """Each pin's digest (with its manifest) and its tag (verify);
            ``platformed``: the pins that name a platform, whose single
            image's platform the answer must carry."""

INDEX_MEDIA_TYPES = frozenset((
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.oci.image.index.v1+json',
))


class TagKey(Record):
    """What digest ``repository:tag`` names (``docker.io/library/node``,
    ``20``): both normalised, as Docker reads them."""

    repository: Final[str]
    tag: Final[str]


class DigestKey(Record):
    """What ``repository@digest`` is."""

    repository: Final[str]
    digest: Final[str]


class Manifest(Record):
    """What the registry says a digest or a tag is."""

    digest: Final[str]
    is_index: Final[bool]
    platforms: Final[tuple[str, ...]]  # 'os/arch[/variant]'


class Found(Record):
    """The source knows it: its digest, and its manifest when it was read
    (None: only the digest is known, as from a tag or a local image)."""

    digest: Final[str]
    manifest: Final[Manifest | None] = None


class Missing(Record):
    """The source says there is no such thing: why, and what the user can
    do about it, one line each."""

    reason: Final[str]
    hint: Final[str] = ''


# what a Failed of one reference adds, in fix and update: that reference
# failed, not the run
OTHERS_ASKED = 'the other references were asked all the same'


class Failed(Record):
    """The source could not answer at this reference (refused, 401, 429,
    5xx, a hang, a wrong answer): why, one line, no credential in it.
    ``unreachable``: no connection could be made at all."""

    reason: Final[str]
    unreachable: Final[bool] = False
    hint: Final[str] = ''


class Untrusted(Record):
    """Found, and its signatures fail the trust policy: a finding of the
    reference (exit 1), not a failure to resolve (exit 2)."""

    digest: Final[str]
    reason: Final[str]
    hint: Final[str] = ''


class SourceOptions(Record):
    """What every source is built from: the options of ``--source``."""

    docker_host: Final[str | None]
    timeout: Final[float]
    refresh: Final[bool] = False  # pull: pull every key, not just the missing
    insecure: Final[tuple[str, ...]] = ()
    # registry: kept-alive connections to each registry at once
    # (--connections; registry.CONNECTIONS_PER_REGISTRY by default)
    connections: Final[int] = 8


class SourceError(Exception):
    """A source that cannot be asked at all (no daemon, no registry
    reachable, a broken setup); one line.

    ``unreachable``: nothing answered at all (what --offline-ok forgives);
    ``file_errors``: the files that could not be read before it failed,
    still to be shown (see ``after``).
    """

    def __init__(
            self, message: str, *, unreachable: bool = False,
            file_errors: Sequence[FileError] = (),
    ) -> None:
        super().__init__(message)
        self.unreachable = unreachable
        self.file_errors = tuple(file_errors)

    def after(self, file_errors: Sequence[FileError]) -> SourceError:
        """The same failure, coming after these unreadable files."""
        return SourceError(
            str(self), unreachable=self.unreachable, file_errors=file_errors,
        )


def tag_key(reference: Reference) -> TagKey:
    return TagKey(reference.normalized_name, reference.normalized_tag)


def digest_key(reference: Reference) -> DigestKey:
    return DigestKey(reference.normalized_name, reference.digest)


def familiar(key: TagKey | DigestKey) -> str:
    """``docker.io/library/node``, ``20`` -> ``node:20``, as docker prints
    it, unless the short name reads back as another image: Docker Hub's
    ``localhost/app`` or ``my.org/app`` would name a registry, and
    ``library/a/b`` without ``library/`` would be ``docker.io/a/b``, so
    these keep their whole name (the daemon is asked about this image)."""
    name = key.repository
    if name.startswith('docker.io/'):
        path = name[len('docker.io/'):]
        official = path[len('library/'):] if path.startswith('library/') else ''
        if official and '/' not in official:
            name = official
        elif not split_domain(path)[0]:
            name = path
    if isinstance(key, TagKey):
        return f'{name}:{key.tag}'
    return f'{name}@{key.digest}'


def platform_name(platform: Mapping[str, Any]) -> str:
    parts = [str(platform.get('os', '')), str(platform.get('architecture', ''))]
    if platform.get('variant'):
        parts.append(str(platform['variant']))
    return '/'.join(parts)
