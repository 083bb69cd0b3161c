"""digestpin-verify: check that every pin is real, current and multi-platform.

For each pinned reference it asks the registry (directly by default;
through the daemon with ``--source daemon-registry``) about the pinned
digest and about the tag:

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

from digestpin_hooks import cli
from digestpin_hooks.check.findings import Finding
from digestpin_hooks.check.findings import make_finding
from digestpin_hooks.check.findings import statement_starts
from digestpin_hooks.check.findings import waived
from digestpin_hooks.check.pins import check_pin
from digestpin_hooks.check.pins import pinned_refs
from digestpin_hooks.check.pins import Unanswered
from digestpin_hooks.config import VERIFY_SOURCES
from digestpin_hooks.model import failures
from digestpin_hooks.model import FileError
from digestpin_hooks.read.files import load_all
from digestpin_hooks.read.files import paths_or_here
from digestpin_hooks.report.formats import report
from digestpin_hooks.report.formats import report_failure
from digestpin_hooks.report.formats import verified_line
from digestpin_hooks.resolve.matching import DaemonError
from digestpin_hooks.resolve.sources import asker
from digestpin_hooks.text import printable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Collection
    from typing import Iterable
    from typing import Sequence
    from digestpin_hooks.resolve.matching import Asker


PROG = 'digestpin-verify'
DESCRIPTION = (
    'Check that pinned digests exist, are current and fit the platform.'
)


def verify_files(
        paths: Iterable[str],
        ask: Asker,
        *,
        strict: bool = False,
        allow: Sequence[str] = (),
        ignore: Collection[str] = (),
        kind: str = 'auto',
) -> tuple[list[Finding], list[FileError]]:
    """Findings DP006-DP009 for every pin, from what ``ask`` says of them
    (the daemon's sources, or a test's own answers)."""
    findings, errors, _ = verified_files(
        paths, ask, strict=strict, allow=allow, ignore=ignore, kind=kind,
    )
    return findings, errors


def verified_files(
        paths: Iterable[str],
        ask: Asker,
        *,
        strict: bool = False,
        allow: Sequence[str] = (),
        ignore: Collection[str] = (),
        kind: str = 'auto',
) -> tuple[list[Finding], list[FileError], list[str]]:
    """As ``verify_files``, and the path of every pin the answers checked
    (one entry a pin), for the summary line: a silent success would not
    say whether anything was asked at all."""
    files, errors = load_all(paths, kind)
    pins = [pin for loaded in files for pin in pinned_refs(loaded, allow)]
    checked: list[str] = []
    if not pins:
        return [], errors, checked
    try:
        answers = ask(pins)
    except DaemonError as e:
        raise e.after(errors) from None
    findings = []
    starts: dict[str, dict[int, int]] = {}
    for p in pins:
        name, digest, tag = p.reference.name, p.reference.digest, p.reference.tag
        at_tag = answers.get(f'{name}:{tag}') if tag else None
        at_digest = answers.get(f'{name}@{digest}') or 'no answer for the digest'
        if isinstance(at_digest, Unanswered) or isinstance(at_tag, Unanswered):
            # the registry could not be asked: an error at the pin, not a finding
            failure = at_digest if isinstance(at_digest, Unanswered) else at_tag
            reason = failure.reason if isinstance(failure, Unanswered) else ''
            line, _ = p.loaded.doc.position(p.ref.span[0])
            errors.append(FileError(
                p.loaded.path, f'line {line}: cannot verify {p.ref.image!r}: {reason}',
                line,
            ))
            continue
        checked.append(p.loaded.path)
        for code, message, replacement in check_pin(p, at_digest, at_tag):
            doc = p.loaded.doc
            if code in ignore or waived(
                doc, p.ref, code,
                starts.setdefault(p.loaded.path, statement_starts(doc)),
            ):
                continue
            findings.append(make_finding(
                p.loaded.path, doc, p.ref, code, message, strict, replacement,
            ))
    findings.sort(key=lambda f: (f.path, f.line, f.column, f.code))
    return findings, errors, checked


def add_arguments(parser: argparse.ArgumentParser) -> None:
    cli.add_common(parser)
    cli.add_daemon(parser, VERIFY_SOURCES)
    parser.add_argument(
        '--offline-ok', action='store_true',
        help='when no registry can be reached (with a daemon source: no '
        'daemon answers), warn and exit 0 instead of failing',
    )


def run(args: argparse.Namespace) -> int:
    try:
        findings, errors, checked = verified_files(
            paths_or_here(args.filenames),
            asker(
                args.source, args.docker_host, args.timeout,
                insecure=args.insecure_registries,
            ),
            strict=args.strict, allow=args.allow, ignore=args.ignore,
            kind=args.kind,
        )
    except DaemonError as e:
        if args.offline_ok and e.unreachable:
            print(printable(
                f'digestpin-verify: warning: pins not verified, offline: {e}',
            ), file=sys.stderr)
            report(
                [], e.file_errors, args.output_format,
                extra={'verified': False, 'not_verified_because': str(e)},
            )
            return 2 if failures(e.file_errors) else 0
        report_failure(
            'digestpin-verify', e, args.output_format, file_errors=e.file_errors,
        )
        return 2
    # say what was checked, also when that is nothing (a silent success
    # would not say); errors and notes alone are their own lines
    counted = checked or not errors
    report(
        findings, errors, args.output_format, extra={'verified': True},
        done=verified_line(len(checked), len(set(checked))) if counted else '',
    )
    return cli.exit_status(findings, errors)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main_for(PROG, DESCRIPTION, add_arguments, run, argv)


if __name__ == '__main__':
    raise SystemExit(main())
