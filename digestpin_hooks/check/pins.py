"""Pinned references and what a registry's answers say about them.

Pure: verify asks (through a resolver source), this module decides DP006,
DP007, DP008 and DP009 from the answers, and update follows the same pins.
"""
from __future__ import annotations

from digestpin_hooks.check.findings import allowed
from digestpin_hooks.check.findings import pinned_reference
from digestpin_hooks.model import ImageRef
from digestpin_hooks.model import Record
from digestpin_hooks.read.dockerfile.references import SOURCE_FROM
from digestpin_hooks.read.files import LoadedFile
from digestpin_hooks.reference import digest_problem
from digestpin_hooks.reference import Reference

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from typing import Final
    from typing import Iterable
    from typing import Sequence

INDEX_MEDIA_TYPES = frozenset((
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.oci.image.index.v1+json',
))


class Manifest(Record):
    """What the registry says a digest or a tag is."""

    digest: Final[str]
    is_index: Final[bool]
    platforms: Final[tuple[str, ...]]  # 'os/arch[/variant]'


class Unanswered(Record):
    """The registry could not be asked about a pin (refused, 5xx, a hang):
    an error at the pin, not a finding about it."""

    reason: Final[str]


class Pinned(Record):
    """A reference that carries a digest, in its file, with its parsed form:
    what update and verify ask a registry about."""

    loaded: Final[LoadedFile]
    ref: Final[ImageRef]
    reference: Final[Reference]


def platform_name(platform: dict[str, Any]) -> str:
    parts = [str(platform.get('os', '')), str(platform.get('architecture', ''))]
    if platform.get('variant'):
        parts.append(str(platform['variant']))
    return '/'.join(parts)


def _normal_platform(name: str) -> tuple[str, str, str]:
    parts = [p.strip().lower() for p in name.split('/')]
    os_, arch = (parts + ['', ''])[:2]
    variant = parts[2] if len(parts) > 2 else ''
    arch = {'x86_64': 'amd64', 'x86-64': 'amd64', 'aarch64': 'arm64'}.get(arch, arch)
    if arch == 'arm64' and variant == 'v8':
        variant = ''  # containerd's default arm64 variant
    return os_, arch, variant


def provides(platforms: Iterable[str], wanted: str) -> bool:
    """Whether one of ``platforms`` satisfies ``--platform=wanted``."""
    want_os, want_arch, want_variant = _normal_platform(wanted)
    for platform in platforms:
        os_, arch, variant = _normal_platform(platform)
        if (os_, arch) == (want_os, want_arch) and (
            not want_variant or want_variant == variant
        ):
            return True
    return False


def manifest_from(answer: dict[str, Any]) -> Manifest | str:
    """What a checked distribution answer says; a str (why not) when its
    digest is not a valid one, which is then neither used nor printed."""
    descriptor = answer.get('Descriptor') or {}
    digest = descriptor.get('digest', '')
    if not isinstance(digest, str) or digest_problem(digest) is not None:
        return 'the registry answered with a malformed digest'
    platforms = tuple(
        platform_name(p) for p in answer.get('Platforms') or () if isinstance(p, dict)
    )
    return Manifest(
        digest, descriptor.get('mediaType') in INDEX_MEDIA_TYPES, platforms,
    )


def _replacement(pinned: Pinned, digest: str) -> str:
    """The text for the finding's span that pins ``digest``; '' for a
    reference assembled from fields, whose pin is written elsewhere."""
    if pinned.ref.digest_edit:
        return ''
    return pinned.reference.with_digest(digest)


def check_pin(
        pinned: Pinned,
        at_digest: Manifest | str,
        at_tag: Manifest | str | None,
) -> list[tuple[str, str, str]]:
    """(code, message, replacement) for one pin, from the registry's answers.

    A str answer is why the registry did not answer for that reference.
    """
    ref, reference = pinned.ref, pinned.reference
    name, digest = reference.name, reference.digest
    if isinstance(at_digest, str):
        return [('DP007', (
            f'{ref.image!r}: the digest {digest} does not exist in {name} '
            f'({at_digest}); pin it again with digestpin-update (from its '
            f'tag) or by hand'
        ), '')]
    problems: list[tuple[str, str, str]] = []
    if isinstance(at_tag, Manifest) and at_tag.digest != digest:
        if at_tag.is_index and not at_digest.is_index:
            platform = ', '.join(at_digest.platforms) or 'one platform'
            problems.append(('DP008', (
                f'{ref.image!r} pins the {platform} manifest only, while '
                f'{name}:{reference.tag} is a multi-platform index: builds on '
                f'other platforms get the wrong architecture; pin the index '
                f'{at_tag.digest} instead'
            ), _replacement(pinned, at_tag.digest)))
        else:
            problems.append(('DP006', (
                f'{ref.image!r} is stale: {name}:{reference.tag} now resolves '
                f'to {at_tag.digest}; check it and run digestpin-update'
            ), _replacement(pinned, at_tag.digest)))
    elif isinstance(at_tag, str):
        problems.append(('DP006', (
            f'{ref.image!r}: the tag {reference.tag!r} no longer resolves '
            f'({at_tag}); the pin still works, but its tag misleads readers'
        ), ''))
    wanted = ref.platform
    if (
        ref.source == SOURCE_FROM and wanted and '$' not in wanted
        and at_digest.platforms and not provides(at_digest.platforms, wanted)
    ):
        problems.append(('DP009', (
            f'{ref.image!r} provides {", ".join(at_digest.platforms)}, not '
            f'--platform={wanted}'
        ), ''))
    return problems


def pinned_refs(
        loaded: LoadedFile, allow: Sequence[str],
) -> list[Pinned]:
    found = []
    for ref in loaded.refs:
        reference = pinned_reference(ref)
        if reference is not None and not allowed(ref.image, allow):
            found.append(Pinned(loaded, ref, reference))
    return found
