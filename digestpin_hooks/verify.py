"""digestpin-verify: check that every pin is real, current and multi-platform.

For each pinned reference it asks the registry, through the daemon, about
the pinned digest and about the tag:

- DP006 the tag now resolves to another digest (stale pin);
- DP007 the pinned digest does not exist in that repository;
- DP008 the pin is one platform's manifest of the tag's multi-platform index;
- DP009 ``FROM --platform=`` names a platform the pinned image lacks.

It never edits files.  ``--source local`` checks against local images only:
DP006 from the local tag, DP009 from a local image with the pinned digest.
"""
from __future__ import annotations

import argparse
import sys

from digestpin_hooks import _cli
from digestpin_hooks._dockerfile_refs import ImageRef
from digestpin_hooks._dockerfile_refs import SOURCE_FROM
from digestpin_hooks._files import expand_paths
from digestpin_hooks._files import load_all
from digestpin_hooks._files import LoadedFile
from digestpin_hooks._findings import allowed
from digestpin_hooks._findings import ERROR
from digestpin_hooks._findings import Finding
from digestpin_hooks._findings import instruction_starts
from digestpin_hooks._findings import make_finding
from digestpin_hooks._findings import pinned_reference
from digestpin_hooks._findings import waived
from digestpin_hooks._records import NamedTuple
from digestpin_hooks._records import TYPE_CHECKING
from digestpin_hooks._reference import digest_problem
from digestpin_hooks._reference import Reference
from digestpin_hooks._report import FileError
from digestpin_hooks._report import report
from digestpin_hooks._report import report_failure
from digestpin_hooks._resolve import DaemonError
from digestpin_hooks._text import printable

if TYPE_CHECKING:
    from typing import Any
    from typing import Collection
    from typing import Iterable
    from typing import Sequence

SOURCES = ('registry', 'local')
INDEX_MEDIA_TYPES = frozenset((
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.oci.image.index.v1+json',
))


class Manifest(NamedTuple):
    """What the registry says a digest or a tag is."""

    digest: str
    is_index: bool
    platforms: tuple[str, ...]  # 'os/arch[/variant]'


class Pinned(NamedTuple):
    loaded: LoadedFile
    ref: ImageRef
    reference: Reference


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
            f'({at_digest}); pin it again with digestpin-fix or digestpin-update'
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
            ), reference.with_digest(at_tag.digest)))
        else:
            problems.append(('DP006', (
                f'{ref.image!r} is stale: {name}:{reference.tag} now resolves '
                f'to {at_tag.digest}; check it and run digestpin-update'
            ), reference.with_digest(at_tag.digest)))
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


def _ask_registry(
        pins: Sequence[Pinned], docker_host: str | None, timeout: float,
) -> dict[str, Manifest | str]:
    """One distribution inspect per distinct name@digest and name:tag."""
    from concurrent.futures import ThreadPoolExecutor

    from digestpin_hooks._docker import Daemon
    from digestpin_hooks._docker import find_endpoint

    wanted = sorted({
        text for p in pins for text in (
            f'{p.reference.name}@{p.reference.digest}',
            f'{p.reference.name}:{p.reference.tag}' if p.reference.tag else '',
        ) if text
    })
    daemon = Daemon(find_endpoint(docker_host), timeout)
    try:
        def ask(text: str) -> Manifest | str:
            answer = daemon.distribution(text)
            return answer if isinstance(answer, str) else manifest_from(answer)
        with ThreadPoolExecutor(max(1, min(8, len(wanted)))) as pool:
            return dict(zip(wanted, pool.map(ask, wanted)))
    finally:
        daemon.close()


def _ask_local(
        pins: Sequence[Pinned], docker_host: str | None, timeout: float,
) -> dict[str, Any]:
    """What local images say: the tag's digest, the pinned image's platform."""
    from digestpin_hooks._docker import Daemon
    from digestpin_hooks._docker import find_endpoint
    from digestpin_hooks._resolve import image_key
    from digestpin_hooks._resolve import LocalImages

    daemon = Daemon(find_endpoint(docker_host), timeout)
    try:
        local = LocalImages(daemon.images())
        answers: dict[str, Any] = {}
        for p in pins:
            by_digest = f'{p.reference.name}@{p.reference.digest}'
            image = daemon.image(by_digest)
            platforms: tuple[str, ...] = ()
            if image is not None:
                platforms = (platform_name({
                    'os': image.get('Os'), 'architecture': image.get('Architecture'),
                    'variant': image.get('Variant'),
                }),)
            answers[by_digest] = Manifest(p.reference.digest, False, platforms)
            if p.reference.tag:
                resolution = local.resolve(image_key(p.reference))
                answers[f'{p.reference.name}:{p.reference.tag}'] = (
                    Manifest(resolution.digest, False, ())
                    if resolution.digest else None
                )
        return answers
    finally:
        daemon.close()


def verify_files(
        paths: Iterable[str],
        *,
        source: str = 'registry',
        docker_host: str | None = None,
        timeout: float = _cli.DEFAULT_TIMEOUT,
        strict: bool = False,
        allow: Sequence[str] = (),
        ignore: Collection[str] = (),
        kind: str = 'auto',
) -> tuple[list[Finding], list[FileError]]:
    files, errors = load_all(paths, kind)
    pins = [pin for loaded in files for pin in pinned_refs(loaded, allow)]
    if not pins:
        return [], errors
    answers: dict[str, Any]
    try:
        if source == 'local':
            answers = _ask_local(pins, docker_host, timeout)
        else:
            answers = _ask_registry(pins, docker_host, timeout)
    except DaemonError as e:
        e.file_errors = errors
        raise
    findings = []
    starts: dict[str, dict[int, int]] = {}
    for p in pins:
        name, digest, tag = p.reference.name, p.reference.digest, p.reference.tag
        at_tag = answers.get(f'{name}:{tag}') if tag else None
        for code, message, replacement in check_pin(
            p, answers[f'{name}@{digest}'], at_tag,
        ):
            doc = p.loaded.doc
            if code in ignore or waived(
                doc, p.ref, code,
                starts.setdefault(p.loaded.path, instruction_starts(doc)),
            ):
                continue
            findings.append(make_finding(
                p.loaded.path, doc, p.ref, code, message, strict, replacement,
            ))
    findings.sort(key=lambda f: (f.path, f.line, f.column, f.code))
    return findings, errors


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _cli.add_common(parser)
    _cli.add_daemon(parser, SOURCES, 'registry')
    parser.add_argument(
        '--offline-ok', action='store_true',
        help='when no daemon answers, warn and exit 0 instead of failing',
    )


def run(args: argparse.Namespace) -> int:
    try:
        findings, errors = verify_files(
            expand_paths(args.filenames), source=args.source,
            docker_host=args.docker_host, timeout=args.timeout,
            strict=args.strict, allow=args.allow, ignore=args.ignore,
            kind=args.kind,
        )
    except DaemonError as e:
        if args.offline_ok and e.unreachable:
            print(printable(
                f'digestpin-verify: warning: pins not verified, offline: {e}',
            ), file=sys.stderr)
            report([], e.file_errors, args.output_format)
            return 2 if e.file_errors else 0
        report_failure('digestpin-verify', e, args.output_format)
        return 2
    report(findings, errors, args.output_format)
    if errors:
        return 2
    return int(any(f.severity == ERROR for f in findings))


def main(argv: Sequence[str] | None = None) -> int:
    parser = _cli.parser_for(
        'digestpin-verify',
        'Check that pinned digests exist, are current and fit the platform.',
    )
    add_arguments(parser)
    return _cli.run('digestpin-verify', run, parser.parse_args(argv))


if __name__ == '__main__':
    raise SystemExit(main())
