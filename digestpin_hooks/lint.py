"""digestpin-lint: block files that use an image by a mutable tag.

This path never imports the docker SDK and never touches the network.
"""
from __future__ import annotations

import os

from digestpin_hooks import cli
from digestpin_hooks.check.findings import Finding
from digestpin_hooks.check.findings import findings_for
from digestpin_hooks.check.findings import Policy
from digestpin_hooks.model import FileError
from digestpin_hooks.model import NAMES_A_BUILD
from digestpin_hooks.read.files import BuiltElsewhere
from digestpin_hooks.read.files import load_each
from digestpin_hooks.read.files import paths_or_here
from digestpin_hooks.read.kinds import COMPOSE
from digestpin_hooks.read.kinds import DOCKERFILE
from digestpin_hooks.read.kinds import is_dockerfile_name
from digestpin_hooks.read.kinds import yaml_kind

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
    and nothing kept: a file read is let go before the next is read.

    But for this: an image of a Compose file that a service of a file read
    later extends and builds is reported with the advice of an image
    another service builds (NAMES_A_BUILD), known only once that file is
    read.  So from a Compose file with findings on, while the run may read
    another Compose file (two of them or a folder given, or one that
    includes or extends others), what is handed to ``each`` is held, in its
    order, to the end of the run: a run of one Compose file among other
    files is handed on as it is read."""
    paths = paths_or_here(paths)
    findings: list[Finding] = []
    errors: list[FileError] = []
    policy = Policy(strict, allow, ignore)
    # real path -> the images of BuiltElsewhere records reported, None once
    # its reading again failed (made at the first record with some: never
    # in a run without one)
    said: dict[str, set[str] | None] | None = None
    # with ``each``: what it is handed, held (None: handed at once)
    held: list[tuple[list[Finding], FileError | None]] | None = None
    composes = False  # whether a Compose file read includes or extends others

    def hand(found: list[Finding], error: FileError | None) -> None:
        """What ``each`` is handed, or held."""
        assert each is not None
        if held is not None:
            held.append((found, error))
        else:
            each(found, error)

    for loaded in load_each(paths, kind):
        if isinstance(loaded, BuiltElsewhere):
            # a file reported already, as its own project pulls it; the
            # images it builds that another project pulls (``unbuilt``)
            # are reported here, read again (fix leaves them, as renamed),
            # and those another project builds (``renamed``) reported
            # again with NAMES_A_BUILD's advice in place of the first
            if loaded.handed is None:
                continue
            if said is None:
                said = {}
            done = said.setdefault(loaded.real, set())
            if done is None:  # its error said once, not a record each
                continue
            path, _, _, _, unbuilt_when_read, renamed_when_read, _ = loaded.handed  # (HandedOn)
            sources = loaded.unbuilt - unbuilt_when_read - done
            # the findings reported with another advice (not of ``sources``)
            reported = [findings] if each is None else [f for f, _ in held or ()]
            advised = {
                finding.source for found in reported for finding in found
                if finding.path == path and finding.source in loaded.renamed
                and finding.source not in renamed_when_read
            } - loaded.unbuilt if loaded.renamed - renamed_when_read else set()
            if not sources and not advised:
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
                if advised:
                    left = [
                        ref for ref in again.refs
                        if ref.left == NAMES_A_BUILD and ref.source not in sources
                    ]
                    by_source = {
                        (f.path, f.line, f.column, f.source): f
                        for f in findings_for(again.path, again.doc, left, policy=policy)
                    }
                    for found_before in reported:
                        _advise(found_before, by_source)
            if not found and error is None:
                continue
            if each is not None:
                hand(found, error)
            elif error is not None:
                errors.append(error)
            else:
                findings.extend(found)
            continue
        if isinstance(loaded, FileError):
            if each is None:
                errors.append(loaded)
            else:
                hand([], loaded)
            continue
        found = findings_for(
            loaded.path, loaded.doc, loaded.refs, policy=policy, unknown=loaded.unknown,
        )
        if loaded.kind == COMPOSE:
            composes = composes or _composes(loaded.data)
            if held is None and each is not None and found and (
                composes or _more_compose(paths, kind)
            ):
                held = []
        if each is None:
            findings.extend(found)
        else:
            hand(found, None)
    if each is not None and held:
        for found, error in held:
            each(found, error)
    return findings, errors


def _advise(
        reported: list[Finding], by_source: dict[tuple[str, int, int, str], Finding],
) -> None:
    """Put the findings ``by_source`` (path, line, column, source) in place
    of those ``reported`` of the same: a source alone, a key path shortened
    when long, may be two places' (two services of long names alike)."""
    for i, finding in enumerate(reported):
        new = by_source.get((finding.path, finding.line, finding.column, finding.source))
        if new is not None:
            reported[i] = new


def _composes(data: bytes) -> bool:
    """Whether a Compose file may include or extend others."""
    return data.find(b'extends') >= 0 or data.find(b'include') >= 0


def _more_compose(paths: Sequence[str], kind: str) -> bool:
    """Whether the run may read more than one Compose file: a folder
    given, or more than one path that may name one (by its name, as
    load_each reads it; a name of no kind may be a folder: stat)."""
    count = 0
    for path in paths:
        if kind == 'auto':
            name = os.path.basename(path)
            named = DOCKERFILE if is_dockerfile_name(name) else yaml_kind(path, name)
            if named not in ('', COMPOSE):
                continue
            if not named:
                if os.path.isdir(path):
                    return True
                continue  # a file of no kind by its name: read as a Dockerfile
        elif kind != COMPOSE:
            continue
        elif os.path.isdir(path):
            return True
        count += 1
        if count > 1:
            return True
    return False


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
