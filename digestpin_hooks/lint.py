"""digestpin-lint: block Dockerfiles that use an image by a mutable tag.

This path never imports the docker SDK and never touches the network.
"""
from __future__ import annotations

import argparse
from typing import NamedTuple
from typing import Sequence

from digestpin_hooks._dockerfile import Dockerfile
from digestpin_hooks._dockerfile import DockerfileError
from digestpin_hooks._dockerfile import image_refs
from digestpin_hooks._dockerfile import ImageRef
from digestpin_hooks._dockerfile import parse
from digestpin_hooks._files import expand_paths
from digestpin_hooks._findings import ERROR
from digestpin_hooks._findings import Finding
from digestpin_hooks._findings import findings_for
from digestpin_hooks._report import FileError
from digestpin_hooks._report import report


def _formatter(prog: str) -> argparse.HelpFormatter:
    """argparse's formatter without its import of shutil (5 ms a commit)."""
    import os
    width = int(os.environ.get('COLUMNS', '80') or 80) - 2
    return argparse.HelpFormatter(prog, width=max(width, 40))


class LoadedFile(NamedTuple):
    path: str
    data: bytes
    doc: Dockerfile
    refs: list[ImageRef]


def load(path: str) -> LoadedFile:
    """Read and parse one Dockerfile; FileError-worthy problems raise."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except IsADirectoryError:
        raise DockerfileError('is a directory') from None
    except OSError as e:
        raise DockerfileError(f'cannot read: {e.strerror or e}') from None
    doc = parse(data)
    return LoadedFile(path, data, doc, image_refs(doc))


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        'filenames', nargs='*', metavar='PATH',
        help='Dockerfiles, or folders to search (default: the current one)',
    )
    parser.add_argument(
        '--format', choices=('text', 'json'), default='text',
        dest='output_format', help='output format (default: text)',
    )
    parser.add_argument(
        '--strict', action='store_true',
        help='report unresolvable variables (DP003) as errors',
    )
    parser.add_argument(
        '--allow', action='append', default=[], metavar='GLOB',
        help='exempt images whose name matches GLOB (repeatable)',
    )


def lint_files(
        paths: Sequence[str], *, strict: bool, allow: Sequence[str],
) -> tuple[list[Finding], list[FileError]]:
    findings: list[Finding] = []
    errors: list[FileError] = []
    for path in expand_paths(paths):
        try:
            loaded = load(path)
        except DockerfileError as e:
            errors.append(FileError(path, str(e)))
            continue
        findings.extend(findings_for(
            path, loaded.doc, loaded.refs, strict=strict, allow=allow,
        ))
    return findings, errors


def run(args: argparse.Namespace) -> int:
    findings, errors = lint_files(
        args.filenames, strict=args.strict, allow=args.allow,
    )
    report(findings, errors, args.output_format)
    if errors:
        return 2
    return int(any(f.severity == ERROR for f in findings))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog='digestpin-lint',
        formatter_class=_formatter,
        description='Report images not pinned to a digest in Dockerfiles.',
    )
    add_common_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == '__main__':
    raise SystemExit(main())
