"""digestpin-fix: pin image references to content digests.

Reads every file first, asks its source (the Docker daemon's images by
default) once for everything that needs a digest, then rewrites only the
reference spans.  Nothing under ``resolve/`` talks to a daemon or registry
unless some reference needs resolving.
"""
from __future__ import annotations

import sys

from digestpin_hooks import cli
from digestpin_hooks.check.findings import checked_refs
from digestpin_hooks.check.findings import Finding
from digestpin_hooks.check.findings import Policy
from digestpin_hooks.check.findings import unknown_syntax_findings
from digestpin_hooks.config import FIX_SOURCES
from digestpin_hooks.edit import Edit
from digestpin_hooks.edit import pinned_text
from digestpin_hooks.edit import ReadBackError
from digestpin_hooks.edit import rewrite_loaded
from digestpin_hooks.edit import write_error
from digestpin_hooks.model import FileError
from digestpin_hooks.model import ImageRef
from digestpin_hooks.model import Note
from digestpin_hooks.model import pin_edit
from digestpin_hooks.model import Record
from digestpin_hooks.read.files import load_all
from digestpin_hooks.read.files import LoadedFile
from digestpin_hooks.read.files import paths_or_here
from digestpin_hooks.report.formats import report
from digestpin_hooks.report.formats import report_failure
from digestpin_hooks.report.formats import shared_message
from digestpin_hooks.resolve.answers import familiar
from digestpin_hooks.resolve.answers import Found
from digestpin_hooks.resolve.answers import SourceError
from digestpin_hooks.resolve.answers import tag_key
from digestpin_hooks.resolve.sources import open_source
from digestpin_hooks.resolve.sources import trusted

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Collection
    from typing import Final
    from typing import Iterable
    from typing import Mapping
    from typing import Sequence
    from typing import TextIO
    from digestpin_hooks.reference import Reference
    from digestpin_hooks.resolve.answers import Answer
    from digestpin_hooks.resolve.answers import Digests
    from digestpin_hooks.resolve.answers import TagKey

PINNABLE = frozenset(('DP001', 'DP002'))
PROG = 'digestpin-fix'
DESCRIPTION = (
    'Pin the images that Dockerfiles, Compose files, Kubernetes manifests, '
    'GitHub Actions and CI files use to content digests.'
)


class Pin(Record):
    """A reference fix pinned: where it was, as written, and as written now."""

    path: Final[str]
    line: Final[int]
    column: Final[int]
    before: Final[str]
    after: Final[str]
    digest: Final[str]


class Plan(Record):
    """A file, and its unpinned references with what to ask the daemon."""

    loaded: Final[LoadedFile]
    # each finding, its reference, and that reference parsed when fix may
    # pin it (None: fix leaves it, the finding says why)
    wanted: Final[list[tuple[ImageRef, Finding, Reference | None]]]


def plan_file(
        loaded: LoadedFile,
        *,
        strict: bool = False,
        allow: Sequence[str] = (),
        ignore: Collection[str] = (),
) -> Plan:
    wanted = []
    for ref, finding, parsed in checked_refs(
        loaded.path, loaded.doc, loaded.refs, Policy(strict, allow, ignore),
    ):
        pinnable = finding.code in PINNABLE and ref.editable
        wanted.append((ref, finding, parsed if pinnable else None))
    return Plan(loaded, wanted)


def fix_file(
        plan: Plan,
        answers: Mapping[TagKey, Answer],
        *,
        keep_tag: bool,
) -> tuple[str, list[Pin], list[Finding], list[Finding]]:
    """The file's new text, its pins, the findings left unpinned, and the
    findings the pins settle (still findings if the write fails).

    A pin whose text other references read too (an anchor, an ARG default)
    is made only when they all get that very edit; else each is left, with
    the lines it shares.  Raises ReadBackError when the new text does not
    read back as exactly these pins.
    """
    index_of = {id(ref): i for i, ref in enumerate(plan.loaded.refs)}
    planned: dict[int, tuple[Edit, str]] = {}
    pins: dict[int, tuple[Pin, Finding]] = {}
    left = []
    for ref, finding, parsed in plan.wanted:
        if parsed is None:
            left.append(finding)  # its message says why fix leaves it
            continue
        answer = answers[tag_key(parsed)]
        if not isinstance(answer, Found):
            left.append(finding.replace(message=(
                f'{ref.image!r} left unpinned: {answer.reason} ({answer.hint})'
            )))
            continue
        digest = answer.digest
        after = parsed.with_digest(digest, keep_tag=keep_tag)
        index = index_of[id(ref)]
        planned[index] = (Edit(*pin_edit(ref, digest, after)), digest)
        pins[index] = (Pin(
            plan.loaded.path, finding.line, finding.column, ref.image, after,
            digest,
        ), finding)
    text, shared = pinned_text(plan.loaded, planned)
    for index, reason in shared.items():
        pin, finding = pins.pop(index)
        left.append(finding.replace(
            message=shared_message(pin.before, finding.line, reason, 'left unpinned'),
        ))
    left.sort(key=lambda f: (f.line, f.column, f.code))
    return (
        text, [pin for pin, _ in pins.values()],
        left, [finding for _, finding in pins.values()],
    )


def fix_files(
        paths: Iterable[str],
        digests: Digests,
        *,
        keep_tag: bool = True,
        dry_run: bool = False,
        strict: bool = False,
        allow: Sequence[str] = (),
        ignore: Collection[str] = (),
        kind: str = 'auto',
        stdout: TextIO | None = None,
) -> tuple[list[Pin], list[Finding], list[FileError], bool]:
    """Pin what can be pinned; (pins, left unpinned, errors, changed)."""
    files, errors = load_all(paths, kind)
    plans = [
        plan_file(loaded, strict=strict, allow=allow, ignore=ignore)
        for loaded in files
    ]
    keys = sorted({
        tag_key(parsed) for plan in plans for _, _, parsed in plan.wanted
        if parsed is not None
    }, key=familiar)
    # the only daemon call of the run, and before any file is written
    try:
        answers = digests(keys) if keys else {}
    except SourceError as e:
        raise e.after(errors) from None
    pins: list[Pin] = []
    left: list[Finding] = [
        finding for plan in plans for finding in unknown_syntax_findings(
            plan.loaded.path, plan.loaded.doc, plan.loaded.unknown,
            strict=strict, ignore=ignore,
        )
    ]
    changed = False
    for plan in plans:
        try:
            text, file_pins, file_left, settled = fix_file(
                plan, answers, keep_tag=keep_tag,
            )
        except ReadBackError as e:
            # this file only: it stays as it was, and the run fails
            errors.append(FileError(
                plan.loaded.path, f'internal error: {e}: not written',
            ))
            left.extend(finding for _, finding, _ in plan.wanted)
            continue
        left.extend(file_left)
        try:
            changed |= rewrite_loaded(
                plan.loaded, text, dry_run=dry_run, stdout=stdout or sys.stdout,
            )
        except OSError as e:
            # a pin counts once it is on disk: these stay findings
            errors.append(FileError(plan.loaded.path, write_error(e)))
            left.extend(settled)
            continue
        pins.extend(file_pins)
    left.sort(key=lambda f: (f.path, f.line, f.column, f.code))
    return pins, left, errors, changed


# add_arguments' options as a plain command line is read without argparse
PLAIN: tuple[cli.PlainTable, ...] = (cli.daemon_options(FIX_SOURCES), cli.rewrite_options())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    cli.add_common(parser)
    cli.add_daemon(parser, FIX_SOURCES)
    cli.add_rewrite(parser)


def run(args: argparse.Namespace) -> int:
    # a digest that fails its trust rule is not written: not resolved
    digests = trusted(
        open_source(
            args.source, args.docker_host, args.timeout,
            insecure=args.insecure_registries, connections=args.connections,
        ).digests,
        args.trust, args.timeout, args.insecure_registries, args.trust_root,
    )
    try:
        pins, left, errors, changed = fix_files(
            paths_or_here(args.filenames), digests, keep_tag=args.keep_tag,
            dry_run=args.dry_run, strict=args.strict, allow=args.allow,
            ignore=args.ignore, kind=args.kind,
            stdout=cli.diff_stream(args.output_format),
        )
    except SourceError as e:
        # raised before any file is written: all of them stay as they were
        report_failure(
            'digestpin-fix', e, args.output_format, file_errors=e.file_errors,
        )
        return 2
    report(
        left, errors, args.output_format,
        notes=[
            Note(p.path, p.line, p.column, (
                f'{"would pin" if args.dry_run else "pinned"} {p.before} -> {p.after}'
            ))
            for p in pins
        ],
        extra={'pins': [pin.as_dict() for pin in pins]},
        done=(
            f'{len(pins)} {"would be pinned" if args.dry_run else "pinned"}'
            if pins else ''
        ),
    )
    return cli.exit_status(left, errors) or int(changed)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main_for(
        PROG, DESCRIPTION, add_arguments, run, argv,
        plain=PLAIN,
    )


if __name__ == '__main__':
    raise SystemExit(main())
