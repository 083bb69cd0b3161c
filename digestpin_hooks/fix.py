"""digestpin-fix: pin image references to the digests the Docker daemon knows.

Reads every file first, asks the daemon once for everything that needs a
digest, then rewrites only the reference spans.  The docker SDK is imported
only when some reference needs resolving.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any
from typing import Callable
from typing import Iterable
from typing import NamedTuple
from typing import Sequence

from digestpin_hooks._dockerfile import DockerfileError
from digestpin_hooks._dockerfile import encode
from digestpin_hooks._dockerfile import ImageRef
from digestpin_hooks._files import expand_paths
from digestpin_hooks._findings import checked_refs
from digestpin_hooks._findings import ERROR
from digestpin_hooks._findings import Finding
from digestpin_hooks._reference import parse_reference
from digestpin_hooks._report import FileError
from digestpin_hooks._report import printable
from digestpin_hooks._report import report
from digestpin_hooks._resolve import DaemonError
from digestpin_hooks._resolve import image_key
from digestpin_hooks._resolve import ImageKey
from digestpin_hooks._resolve import Resolution
from digestpin_hooks._rewrite import apply_edits
from digestpin_hooks._rewrite import Edit
from digestpin_hooks._rewrite import unified_diff
from digestpin_hooks._rewrite import write_atomically
from digestpin_hooks.lint import _formatter
from digestpin_hooks.lint import add_common_arguments
from digestpin_hooks.lint import load
from digestpin_hooks.lint import LoadedFile

PINNABLE = frozenset(('DP001', 'DP002'))
SOURCES = ('local', 'pull', 'registry')
PARTLY_VARIABLE = (
    'it is partly made of variables: pinning it would silently override a '
    'later --build-arg'
)

Resolver = Callable[[Sequence[ImageKey]], 'dict[ImageKey, Resolution]']


class Pin(NamedTuple):
    path: str
    line: int
    column: int
    before: str
    after: str
    digest: str


class Plan(NamedTuple):
    """What fixing one file does."""

    loaded: LoadedFile
    wanted: list[tuple[ImageRef, Finding, ImageKey | None]]


def _wanted(
        loaded: LoadedFile, strict: bool, allow: Sequence[str],
) -> Plan:
    wanted = []
    for ref, finding in checked_refs(
        loaded.path, loaded.doc, loaded.refs, strict=strict, allow=allow,
    ):
        key = None
        if finding.code in PINNABLE and ref.editable:
            key = image_key(parse_reference(ref.image))
        wanted.append((ref, finding, key))
    return Plan(loaded, wanted)


def fix_file(
        plan: Plan,
        resolutions: dict[ImageKey, Resolution],
        *,
        keep_tag: bool,
) -> tuple[str, list[Pin], list[Finding]]:
    """The file's new text, its pins, and the findings left unpinned."""
    loaded = plan.loaded
    edits = []
    pins = []
    left = []
    for ref, finding, key in plan.wanted:
        if key is None:
            reason = PARTLY_VARIABLE if (
                finding.code in PINNABLE and ref.has_variables
            ) else ''
            if reason:
                finding = finding._replace(
                    message=f'{finding.message}; left unpinned: {reason}',
                )
            left.append(finding)
            continue
        resolution = resolutions[key]
        if not resolution.digest:
            left.append(finding._replace(message=(
                f'{ref.image!r} left unpinned: {resolution.reason} '
                f'({resolution.hint})'
            )))
            continue
        after = parse_reference(ref.image).with_digest(
            resolution.digest, keep_tag=keep_tag,
        )
        edits.append(Edit(ref.span[0], ref.span[1], after))
        pins.append(Pin(
            loaded.path, finding.line, finding.column, ref.image, after,
            resolution.digest,
        ))
    text = apply_edits(loaded.doc.text, edits)
    return text, pins, left


def daemon_resolver(
        source: str, docker_host: str | None, timeout: float,
) -> Resolver:
    """Resolve through the daemon; imported and connected only when called."""
    def resolve(keys: Sequence[ImageKey]) -> dict[ImageKey, Resolution]:
        from digestpin_hooks import _docker
        from digestpin_hooks._resolve import familiar
        from digestpin_hooks._resolve import from_distribution
        from digestpin_hooks._resolve import LocalImages

        daemon = _docker.Daemon(_docker.find_endpoint(docker_host), timeout)
        try:
            if source == 'registry':
                resolved = {}
                for key in keys:
                    answer = daemon.distribution(familiar(key))
                    if isinstance(answer, str):
                        resolved[key] = Resolution(
                            '', f'the registry did not resolve it: {answer}',
                            'check the name and your docker login',
                        )
                    else:
                        resolved[key] = from_distribution(key, answer)
                return resolved
            local = LocalImages(daemon.images())
            failed = {}
            if source == 'pull':
                missing = [key for key in keys if key not in local]
                for key in missing:
                    repository, _, tag = familiar(key).rpartition(':')
                    why = daemon.pull(repository, tag)
                    if why:
                        failed[key] = Resolution(
                            '', f'docker pull failed: {why}',
                            'check the name and your docker login',
                        )
                if len(failed) < len(missing):
                    local = LocalImages(daemon.images())
            return {key: failed.get(key) or local.resolve(key) for key in keys}
        finally:
            daemon.close()
    return resolve


def fix_files(
        paths: Iterable[str],
        resolver: Resolver,
        *,
        keep_tag: bool = True,
        dry_run: bool = False,
        strict: bool = False,
        allow: Sequence[str] = (),
        stdout: Any = None,
) -> tuple[list[Pin], list[Finding], list[FileError], bool]:
    """Pin what can be pinned; (pins, left unpinned, errors, changed)."""
    errors: list[FileError] = []
    plans: list[Plan] = []
    for path in paths:
        try:
            loaded = load(path)
        except DockerfileError as e:
            errors.append(FileError(path, str(e)))
            continue
        plans.append(_wanted(loaded, strict, allow))
    keys = sorted({
        key for plan in plans for _, _, key in plan.wanted if key is not None
    })
    resolutions = resolver(keys) if keys else {}
    pins: list[Pin] = []
    left: list[Finding] = []
    changed = False
    for plan in plans:
        text, file_pins, file_left = fix_file(
            plan, resolutions, keep_tag=keep_tag,
        )
        pins.extend(file_pins)
        left.extend(file_left)
        data = encode(text, plan.loaded.doc.bom)
        if data == plan.loaded.data:
            continue
        changed = True
        if dry_run:
            stream = stdout or sys.stdout
            stream.write(printable(
                unified_diff(plan.loaded.path, plan.loaded.doc.text, text),
            ))
            continue
        try:
            write_atomically(plan.loaded.path, data)
        except OSError as e:
            errors.append(FileError(
                plan.loaded.path, f'cannot write: {e.strerror or e}',
            ))
    return pins, left, errors, changed


def add_fix_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument(
        '--source', choices=SOURCES, default='local',
        help='where digests come from: the local image list (default), '
        'local after pulling what is missing, or the registry via the daemon',
    )
    parser.add_argument(
        '--no-keep-tag', dest='keep_tag', action='store_false',
        help='write name@digest instead of name:tag@digest',
    )
    parser.add_argument(
        '--dry-run', action='store_true',
        help='print a unified diff and write nothing',
    )
    parser.add_argument(
        '--docker-host', metavar='URL',
        help='the daemon to ask (default: as the docker CLI finds it)',
    )
    parser.add_argument(
        '--timeout', type=float, default=10.0, metavar='SECONDS',
        help='bound on every daemon call (default: 10)',
    )


def run(args: argparse.Namespace) -> int:
    resolver = daemon_resolver(args.source, args.docker_host, args.timeout)
    try:
        pins, left, errors, changed = fix_files(
            expand_paths(args.filenames), resolver, keep_tag=args.keep_tag,
            dry_run=args.dry_run, strict=args.strict, allow=args.allow,
        )
    except DaemonError as e:
        # raised before any file is written: all of them stay as they were
        print(printable(f'digestpin-fix: error: {e}'), file=sys.stderr)
        return 2
    report(
        left, errors, args.output_format,
        lines=[
            f'{p.path}:{p.line}:{p.column}: pinned {p.before} -> {p.after}'
            for p in pins
        ],
        extra={'pins': [pin._asdict() for pin in pins]},
    )
    if errors:
        return 2
    unpinned = any(f.severity == ERROR for f in left)
    return int(changed or unpinned)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='digestpin-fix', formatter_class=_formatter,
        description='Pin the images Dockerfiles use to content digests.',
    )
    add_fix_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == '__main__':
    raise SystemExit(main())
