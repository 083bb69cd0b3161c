"""Findings and errors -> text or JSON on stdout, one shape per kind of line."""
from __future__ import annotations

import sys
from typing import Any
from typing import NamedTuple
from typing import Sequence
from typing import TextIO

from digestpin_hooks._findings import Finding

JSON_VERSION = 1


class FileError(NamedTuple):
    path: str
    message: str


def printable(text: str) -> str:
    """Text that any stream can take: undecodable bytes become escapes."""
    return text.encode('utf-8', 'backslashreplace').decode('utf-8')


def error_line(error: FileError) -> str:
    return f'{error.path}: error: {error.message}'


def finding_line(finding: Finding) -> str:
    return (
        f'{finding.path}:{finding.line}:{finding.column}: {finding.code} '
        f'{finding.message}'
    )


def write_errors(errors: Sequence[FileError], stream: TextIO) -> None:
    for error in errors:
        print(printable(error_line(error)), file=stream)


def json_document(
        findings: Sequence[Finding],
        errors: Sequence[FileError],
        extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        'version': JSON_VERSION,
        'findings': [f._asdict() for f in findings],
        'errors': [e._asdict() for e in errors],
    }
    document.update(extra or {})
    return document


def report(
        findings: Sequence[Finding],
        errors: Sequence[FileError],
        output_format: str,
        *,
        lines: Sequence[str] = (),
        extra: dict[str, Any] | None = None,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
) -> None:
    """Findings (after ``lines``) on stdout, errors on stderr as well.

    ``lines`` are the text form, ``extra`` the JSON form, of what a command
    reports besides findings (the pins of digestpin-fix).
    """
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    if output_format == 'json':
        import json
        json.dump(json_document(findings, errors, extra), stdout, indent=2)
        stdout.write('\n')
    else:
        for line in lines:
            print(printable(line), file=stdout)
        for finding in findings:
            print(printable(finding_line(finding)), file=stdout)
    write_errors(errors, stderr)
