"""Write ``.pre-commit-hooks.yaml`` from the table of kinds.

    python scripts/hooks_file.py          # rewrite the file
    python scripts/hooks_file.py --check  # exit 1 when it is out of date

Per command (lint, fix, update, verify): one ``-all`` hook that takes every
kind's files, each file read under the kind its name says; one hook for
Dockerfiles (``types: [dockerfile]``); one hook per other kind, which reads
its files under ``--kind`` (its ``files:`` pattern).  tests/test_kinds.py
checks that the committed file is exactly what this writes.
"""
from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from digestpin_hooks.read.kinds import DOCKERFILE  # noqa: E402
from digestpin_hooks.read.kinds import Kind  # noqa: E402
from digestpin_hooks.read.kinds import TABLE  # noqa: E402

HOOKS_FILE = os.path.join(ROOT, '.pre-commit-hooks.yaml')
COMMANDS = ('lint', 'fix', 'update', 'verify')
# what each command does to a kind's files (``{}``: the kind's title)
DOES = {
    'lint': 'Block references to images by a mutable tag in {}.',
    'fix': 'Pin image references to the digests the local Docker daemon records in {}.',
    'update': "Move name:tag@digest pins to their tag's current digest in {}.",
    'verify': (
        'Check with the registries that pinned digests exist, are current and '
        'fit the platform in {}.'
    ),
}
# the Dockerfile hooks' own words, as they were before the table
DOES_TO_DOCKERFILES = {
    'lint': 'Block Dockerfiles that reference an image by a mutable tag.',
    'fix': 'Pin image references in Dockerfiles to the digests the local Docker daemon records.',
    'update': 'Move name:tag@digest pins to the digest their tag has now (run by hand or on a schedule).',
    'verify': 'Check with the registries that pinned digests exist, are current and fit the platform.',
}


def _quoted(pattern: str) -> str:
    return "'" + pattern.replace("'", "''") + "'"


def _hook(
        command: str, hook_id: str, name: str, description: str, entry: str,
        types: tuple[str, ...], files: str,
) -> list[str]:
    lines = [
        f'-   id: {hook_id}',
        f'    name: {name}',
        f'    description: {description}',
        f'    entry: {entry}',
        '    language: python',
    ]
    if command == 'verify':
        # pre-commit hides what a passing hook prints; DP006 is a warning
        lines.append('    verbose: true')
    field = 'types' if len(types) == 1 else 'types_or'  # types: all of them
    lines.append(f'    {field}: [{", ".join(types)}]')
    if files:
        lines.append(f'    files: {_quoted(files)}')
    if command == 'update':
        lines.append('    stages: [manual]')
    return lines


def all_files(table: tuple[Kind, ...] = TABLE) -> str:
    """One pattern for every kind's files: the ``-all`` hooks' ``files:``."""
    return '|'.join(kind.files for kind in table)


def hooks_file(table: tuple[Kind, ...] = TABLE) -> str:
    """The text of ``.pre-commit-hooks.yaml``."""
    lines = [
        '# Generated from the table of kinds (digestpin_hooks/read/kinds.py) by',
        '# scripts/hooks_file.py: edit the table, then run the script.',
    ]
    for command in COMMANDS:
        # identify gives Kustomization, Dockerfile-dev and web.dockerfile no
        # tags, so every file is a candidate and files: decides
        lines += _hook(
            command, f'digestpin-{command}-all', f'digestpin {command} (every kind)',
            DOES[command].format('every kind of file, each read as its name says'),
            f'digestpin-{command}', ('file',), all_files(table),
        )
    for kind in table:
        for command in COMMANDS:
            if kind.name == DOCKERFILE:
                lines += _hook(
                    command, f'digestpin-{command}', f'digestpin {command}',
                    DOES_TO_DOCKERFILES[command], f'digestpin-{command}', kind.types, '',
                )
            else:
                lines += _hook(
                    command, f'digestpin-{command}-{kind.name}',
                    f'digestpin {command} ({kind.title})',
                    DOES[command].format(kind.title),
                    f'digestpin-{command} --kind {kind.name}', kind.types, kind.files,
                )
    return '\n'.join(lines) + '\n'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true', help='exit 1 when the file is out of date')
    args = parser.parse_args(argv)
    text = hooks_file()
    with open(HOOKS_FILE, encoding='utf-8') as f:
        current = f.read()
    if args.check:
        if current != text:
            print(f'{HOOKS_FILE} is out of date: run python scripts/hooks_file.py', file=sys.stderr)
            return 1
        return 0
    if current != text:
        with open(HOOKS_FILE, 'w', encoding='utf-8', newline='\n') as f:
            f.write(text)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
