"""digestpin-lint: block files that use an image by a mutable tag.

This path never imports the docker SDK and never touches the network.
"""
from __future__ import annotations

from digestpin_hooks import cli
from digestpin_hooks.check.findings import Finding
from digestpin_hooks.check.findings import findings_for
from digestpin_hooks.check.findings import Policy
from digestpin_hooks.model import FileError
from digestpin_hooks.read.files import BuiltElsewhere
from digestpin_hooks.read.files import load_each
from digestpin_hooks.read.files import paths_or_here

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Callable
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
        each: Callable[[list[Finding], FileError | None], None] | None = None,
) -> tuple[list[Finding], list[FileError]]:
    """The findings and errors of every file; or, with ``each``, each
    file's findings (or its error) handed to ``each`` as soon as it is read,
    and nothing kept: a file read is let go before the next is read."""
    findings: list[Finding] = []
    errors: list[FileError] = []
    policy = Policy(strict, allow, ignore)
    # real path -> the images of BuiltElsewhere records reported, None once
    # its reading again failed (made at the first record with some: never
    # in a run without one)
    said: dict[str, set[str] | None] | None = None
    for loaded in load_each(paths_or_here(paths), kind):
        if isinstance(loaded, BuiltElsewhere):
            # a file reported already, as its own project pulls it; the
            # images it builds that another project pulls (``unbuilt``)
            # are reported here, read again (fix leaves them, as renamed)
            if not loaded.unbuilt or loaded.handed is None:
                continue
            if said is None:
                said = {}
            done = said.setdefault(loaded.real, set())
            if done is None:  # its error said once, not a record each
                continue
            _, _, _, _, unbuilt_when_read, _, _ = loaded.handed  # (HandedOn)
            sources = loaded.unbuilt - unbuilt_when_read - done
            if not sources:
                continue
            done |= sources
            # (imported here: a run without such a record loads none of it)
            from digestpin_hooks.read.elsewhere import read_again
            again = read_again(loaded)
            error: FileError | None = None
            if isinstance(again, FileError):
                found, error = [], again
                said[loaded.real] = None
            else:
                pulled = [ref for ref in again.refs if ref.source in sources]
                found = findings_for(again.path, again.doc, pulled, policy=policy)
            if each is not None:
                each(found, error)
            elif error is not None:
                errors.append(error)
            else:
                findings.extend(found)
            continue
        if isinstance(loaded, FileError):
            if each is None:
                errors.append(loaded)
            else:
                each([], loaded)
            continue
        found = findings_for(
            loaded.path, loaded.doc, loaded.refs, policy=policy, unknown=loaded.unknown,
        )
        if each is None:
            findings.extend(found)
        else:
            each(found, None)
    return findings, errors


def add_arguments(parser: argparse.ArgumentParser) -> None:
    cli.add_common(parser)


def run(args: argparse.Namespace) -> int:
    if args.output_format != 'text':  # one document, or errors after findings
        findings, errors = lint_files(
            args.filenames, strict=args.strict, allow=args.allow,
            ignore=args.ignore, kind=args.kind,
        )
        return cli.reported(findings, errors, args.output_format)
    # the text report is written as each file is done, so that a run over
    # thousands of files holds one file's reading at a time (and a user
    # sees findings as they come)
    from digestpin_hooks.report.formats import TextReport
    text = TextReport()
    lint_files(
        args.filenames, strict=args.strict, allow=args.allow,
        ignore=args.ignore, kind=args.kind, each=text.add,
    )
    text.close()
    return text.exit_status()


def main(argv: Sequence[str] | None = None) -> int:
    return cli.main_for(
        PROG, DESCRIPTION, add_arguments, run, argv, common_only=True,
    )


if __name__ == '__main__':
    raise SystemExit(main())
