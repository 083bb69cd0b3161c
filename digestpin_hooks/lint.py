"""digestpin-lint: block files that use an image by a mutable tag.

This path never imports the docker SDK and never touches the network.
"""
from __future__ import annotations

import argparse

from digestpin_hooks import cli
from digestpin_hooks.check.findings import Finding
from digestpin_hooks.check.findings import findings_for
from digestpin_hooks.model import FileError
from digestpin_hooks.read.files import load_all
from digestpin_hooks.read.files import paths_or_here

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Collection
    from typing import Sequence


PROG = 'digestpin-lint'
DESCRIPTION = (
    'Report images not pinned to a digest in Dockerfiles, Compose files, '
        'Kubernetes manifests, GitHub Actions and CI files.'
)


def lint_files(
        paths: Sequence[str],
        *,
        strict: bool = False,
        allow: Sequence[str] = (),
        ignore: Collection[str] = (),
        kind: str = 'auto',
) -> tuple[list[Finding], list[FileError]]:
    files, errors = load_all(paths_or_here(paths), kind)
    findings: list[Finding] = []
    for loaded in files:
        findings.extend(findings_for(
            loaded.path, loaded.doc, loaded.refs, strict=strict, allow=allow,
            ignore=ignore, unknown=loaded.unknown,
        ))
    return findings, errors


def add_arguments(parser: argparse.ArgumentParser) -> None:
    cli.add_common(parser)


def run(args: argparse.Namespace) -> int:
    findings, errors = lint_files(
        args.filenames, strict=args.strict, allow=args.allow,
        ignore=args.ignore, kind=args.kind,
    )
    return cli.reported(findings, errors, args.output_format)


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main_for(PROG, DESCRIPTION, add_arguments, run, argv)


if __name__ == '__main__':
    raise SystemExit(main())
