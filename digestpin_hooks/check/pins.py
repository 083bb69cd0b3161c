"""Pinned references and what a registry's answers say about them.

Pure: verify asks (through a source's ``manifests``), this module decides DP006,
DP007, DP008 and DP009 from the answers, and update follows the same pins.
"""
from __future__ import annotations

from digestpin_hooks.check.findings import allowed
from digestpin_hooks.check.findings import pinned_reference
from digestpin_hooks.model import ImageRef
from digestpin_hooks.model import Record
from digestpin_hooks.read.dockerfile.references import SOURCE_FROM
from digestpin_hooks.read.files import LoadedFile
from digestpin_hooks.reference import Reference
from digestpin_hooks.resolve.answers import Found

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final
    from typing import Iterable
    from typing import Sequence

    from digestpin_hooks.resolve.answers import Answer


class Pinned(Record):
    """A reference that carries a digest, in its file, with its parsed form:
    what update and verify ask a registry about."""

    loaded: Final[LoadedFile]
    ref: Final[ImageRef]
    reference: Final[Reference]


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


def _replacement(pinned: Pinned, digest: str) -> str:
    """The text for the finding's span that pins ``digest``; '' for a
    reference assembled from fields, whose pin is written elsewhere."""
    if pinned.ref.digest_edit:
        return ''
    return pinned.reference.with_digest(digest)


def check_pin(
        pinned: Pinned,
        at_digest: Answer,
        at_tag: Answer | None,
) -> list[tuple[str, str, str]]:
    """(code, message, replacement) for one pin, from the source's answers
    about its digest and its tag (None: the source says nothing of the
    tag).  The caller has set aside pins whose answers Failed."""
    ref, reference = pinned.ref, pinned.reference
    name, digest = reference.name, reference.digest
    if not isinstance(at_digest, Found):
        return [('DP007', (
            f'{ref.image!r}: the digest {digest} does not exist in {name} '
            f'({at_digest.reason}); pin it again with digestpin-update (from its '
            f'tag) or by hand'
        ), '')]
    problems: list[tuple[str, str, str]] = []
    platforms = at_digest.manifest.platforms if at_digest.manifest else ()
    if isinstance(at_tag, Found) and at_tag.digest != digest:
        tag_is_index = bool(at_tag.manifest and at_tag.manifest.is_index)
        if tag_is_index and not (at_digest.manifest and at_digest.manifest.is_index):
            platform = ', '.join(platforms) or 'one platform'
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
    elif at_tag is not None and not isinstance(at_tag, Found):
        problems.append(('DP006', (
            f'{ref.image!r}: the tag {reference.tag!r} no longer resolves '
            f'({at_tag.reason}); the pin still works, but its tag misleads readers'
        ), ''))
    # a platform written with variables is known only when the build or
    # Compose runs; Compose's ``platform:`` fails as --platform does
    # ('image ... was found but does not match the specified platform')
    lacking = [
        wanted for wanted in ref.platforms
        if '$' not in wanted and platforms and not provides(platforms, wanted)
    ]
    if lacking:
        asked = (
            f'--platform={lacking[0]}' if ref.source == SOURCE_FROM
            else f'platform: {", ".join(lacking)}'
        )
        problems.append(('DP009', (
            f'{ref.image!r} provides {", ".join(platforms)}, not {asked}'
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
