"""digestpin-update: move every ``name:tag@digest`` pin to the tag's digest now.

What a careful user does by hand (``docker pull name:tag``, read its
``RepoDigests``, edit the pin), for every pin at once, rewriting only the
references whose digest changed, byte-faithfully and atomically.
"""
from __future__ import annotations

import sys

from digestpin_hooks import cli
from digestpin_hooks.check.findings import how_words
from digestpin_hooks.check.findings import statement_starts
from digestpin_hooks.check.findings import waived
from digestpin_hooks.check.pins import Pinned
from digestpin_hooks.check.pins import pinned_refs
from digestpin_hooks.config import UPDATE_SOURCES
from digestpin_hooks.edit import Edit
from digestpin_hooks.edit import pinned_text
from digestpin_hooks.edit import ReadBackError
from digestpin_hooks.edit import rewrite_loaded
from digestpin_hooks.edit import write_error
from digestpin_hooks.model import ESCAPED
from digestpin_hooks.model import failures
from digestpin_hooks.model import FileError
from digestpin_hooks.model import Note
from digestpin_hooks.model import pin_edit
from digestpin_hooks.model import QUOTED
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
from digestpin_hooks.resolve.answers import Untrusted
from digestpin_hooks.resolve.sources import open_source
from digestpin_hooks.resolve.sources import trusted

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Collection
    from typing import Final
    from typing import Iterable
    from typing import Sequence
    from typing import TextIO
    from digestpin_hooks.model import ImageRef
    from digestpin_hooks.resolve.answers import Digests


PROG = 'digestpin-update'
DESCRIPTION = (
    "Move every name:tag@digest pin to the tag's current digest."
)


class Update(Record):
    """A pin update moved: where, the image, the old and the new digest."""

    path: Final[str]
    line: Final[int]
    image: Final[str]
    old: Final[str]
    new: Final[str]


def short(digest: str) -> str:
    algorithm, _, hex_part = digest.partition(':')
    return f'{algorithm}:{hex_part[:12]}'


def not_edited(ref: ImageRef) -> str:
    """Why a pin that follows a tag is left as it is, in one line: one
    made partly of variables is updated where the value is set, one
    written in a form update does not edit (quotes, escapes, across
    lines, a YAML type) by hand; a pin without variables was said to be
    made of them, which sent the user looking for one."""
    if ref.has_variables:
        return f'{ref.image!r} is partly made of variables: update it where the value is set'
    how = how_words(ref) if ref.how in (QUOTED, ESCAPED) else (
        'written in a form digestpin-update does not edit'
    )
    return f'{ref.image!r} is {how}: update it by hand'


def update_files(
        paths: Iterable[str],
        digests: Digests,
        *,
        dry_run: bool = False,
        allow: Sequence[str] = (),
        ignore: Collection[str] = (),
        kind: str = 'auto',
        stdout: TextIO | None = None,
        refused: list[Note] | None = None,
) -> tuple[list[Update], list[Note], list[FileError], bool]:
    """(updates, notes on pins left as they are, errors, changed);
    ``refused`` receives the pins whose tag now names a digest the trust
    policy refuses (left as they are, and a failure of the run)."""
    loaded_files, errors = load_all(paths, kind)
    files: list[tuple[LoadedFile, list[Pinned]]] = []
    notes: list[Note] = []
    for loaded in loaded_files:
        path = loaded.path
        followed = []
        starts = statement_starts(loaded.doc)
        for pinned in pinned_refs(loaded, allow):
            line, column = loaded.doc.position(pinned.ref.span[0])
            if 'DP006' in ignore:
                continue  # run() says once that nothing was checked
            if waived(loaded.doc, pinned.ref, 'DP006', starts):
                notes.append(Note(path, line, column, (
                    f'{pinned.ref.image!r} not checked: a digestpin: '
                    f'ignore comment waives DP006 here'
                )))
                continue
            if not pinned.reference.tag:
                notes.append(Note(path, line, column, (
                    f'{pinned.ref.image!r} is pinned by digest alone: '
                    f'there is no tag to follow, left as it is'
                )))
            elif not pinned.ref.editable:
                notes.append(Note(path, line, column, not_edited(pinned.ref)))
            else:
                followed.append(pinned)
        files.append((loaded, followed))
    keys = sorted({
        tag_key(p.reference) for _, pins in files for p in pins
    }, key=familiar)
    try:
        answers = digests(keys) if keys else {}
    except SourceError as e:
        raise e.after(errors) from None
    updates: list[Update] = []
    refused = [] if refused is None else refused
    changed = False
    for loaded, pins in files:
        index_of = {id(ref): i for i, ref in enumerate(loaded.refs)}
        planned: dict[int, tuple[Edit, str]] = {}
        file_updates: dict[int, Update] = {}
        for p in pins:
            answer = answers[tag_key(p.reference)]
            line, _ = p.loaded.doc.position(p.ref.span[0])
            if isinstance(answer, Untrusted):
                # the tag's digest fails the trust policy: the pin stays
                refused.append(Note(p.loaded.path, line, 0, (
                    f'{p.ref.image!r} not updated: {answer.reason}'
                )))
                continue
            if not isinstance(answer, Found):
                errors.append(FileError(p.loaded.path, (
                    f'line {line}: cannot update {p.ref.image!r}: '
                    f'{answer.reason} ({answer.hint})'
                ), line))
                continue
            digest = answer.digest
            if digest == p.reference.digest:
                continue
            index = index_of[id(p.ref)]
            planned[index] = (Edit(*pin_edit(
                p.ref, digest, p.reference.with_digest(digest),
            )), digest)
            file_updates[index] = Update(
                p.loaded.path, line,
                f'{p.reference.name}:{p.reference.tag}',
                p.reference.digest, digest,
            )
        try:
            text, shared = pinned_text(loaded, planned)
        except ReadBackError as e:
            errors.append(FileError(loaded.path, f'internal error: {e}: not written'))
            continue  # this file only: it stays as it was
        for index, reason in shared.items():
            update = file_updates.pop(index)
            column = loaded.doc.position(loaded.refs[index].span[0])[1]
            notes.append(Note(loaded.path, update.line, column, shared_message(
                loaded.refs[index].image, update.line, reason, 'left at its digest',
            )))
        try:
            changed |= rewrite_loaded(
                loaded, text, dry_run=dry_run, stdout=stdout or sys.stdout,
            )
        except OSError as e:
            errors.append(FileError(loaded.path, write_error(e)))
            continue  # an update counts once it is on disk
        updates.extend(file_updates.values())
    return updates, notes, errors, changed


def table(updates: Sequence[Update]) -> list[str]:
    rows = [('FILE', 'LINE', 'IMAGE', 'OLD', 'NEW')] + [
        (u.path, str(u.line), u.image, short(u.old), short(u.new))
        for u in updates
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return [
        '  '.join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
        for row in rows
    ]


# add_arguments' options as a plain command line is read without argparse
PLAIN: tuple[cli.PlainTable, ...] = (cli.daemon_options(UPDATE_SOURCES), cli.dry_run_options())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    cli.add_common(parser)
    cli.add_daemon(parser, UPDATE_SOURCES)
    cli.add_dry_run(parser)


def run(args: argparse.Namespace) -> int:
    # a digest that fails its trust rule is not written: not resolved
    digests = trusted(
        open_source(
            args.source, args.docker_host, args.timeout, refresh=True,
            insecure=args.insecure_registries, connections=args.connections,
        ).digests,
        args.trust, args.timeout, args.insecure_registries, args.trust_root,
    )
    try:
        refused: list[Note] = []
        updates, notes, errors, changed = update_files(
            paths_or_here(args.filenames), digests, dry_run=args.dry_run,
            stdout=cli.diff_stream(args.output_format),
            allow=args.allow, ignore=args.ignore, kind=args.kind,
            refused=refused,
        )
    except SourceError as e:
        report_failure(
            'digestpin-update', e, args.output_format, file_errors=e.file_errors,
        )
        return 2
    if args.output_format == 'text':
        if updates:
            lines = table(updates)
        elif 'DP006' in args.ignore:
            lines = ['no pin was checked: DP006 (stale pin) is ignored']
        elif not failures(errors) and not refused:
            lines = ['every pin that follows a tag is current']
        else:
            lines = []
        report([], errors, 'text', notes=[*notes, *refused], more_lines=lines)
    else:
        report(
            [], errors, args.output_format,
            notes=[*notes, *refused, *(
                Note(u.path, u.line, 0, f'updated {u.image} {short(u.old)} -> {short(u.new)}')
                for u in updates
            )],
            extra={
                'updates': [u.as_dict() for u in updates],
                'notes': [n.as_dict() for n in notes],
                'refused': [n.as_dict() for n in refused],
            },
        )
    if failures(errors):
        return 2
    # --strict: a pin left as it is (no tag, partly variable) fails too; a
    # digest the trust policy refuses always does
    return int(changed or bool(refused) or (args.strict and bool(notes)))


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main_for(
        PROG, DESCRIPTION, add_arguments, run, argv,
        plain=PLAIN,
    )


if __name__ == '__main__':
    raise SystemExit(main())
